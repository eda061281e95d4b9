"""Jobs on the kernel executor (threads of this process), with the synthetic batched
workflow: submit, progress, previews, cancellation within one batch, failures, results."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs import (
    Job,
    JobState,
    JobStore,
    KernelExecutor,
    get_job,
    list_jobs,
    register_workflow,
    submit,
    unregister_workflow,
)
from promethium_lab.jobs.testing import poll, started

DEADLINE_S = 60  # only a guard against hanging: never a speed assertion


def test_submit_runs_and_records_everything(batches_kind, tmp_path, data_dir):
    out = tmp_path / "out"
    job = submit(batches_kind, n_batches=3, batch_s=0.01, out=out)
    assert job.wait(DEADLINE_S) == JobState.COMPLETED
    assert job.result() == out and (out / "batch_2.npy").is_file()
    rec = job.record
    assert rec.kind == "batches" and rec.executor == "kernel"
    assert rec.parameters == {"n_batches": 3, "batch_s": 0.01, "out": str(out)}
    assert rec.outputs == [str(out)] and rec.artifacts == {"output": str(out)}
    assert rec.progress == 1.0 and rec.message == "batch 3/3" and rec.error is None
    assert rec.created_at <= rec.started_at <= rec.finished_at
    assert rec.worker.endswith(str(__import__("os").getpid()))
    assert Path(rec.preview_path).parent == data_dir / "previews"
    assert get_job(job.id) is job
    assert [r.id for r in list_jobs()] == [job.id]
    assert not Path(str(out) + ".partial").exists()


def test_progress_rises(batches_kind):
    job = submit(batches_kind, n_batches=6, batch_s=0.15, preview=False)
    seen = []
    while not job.done():
        seen.append(job.progress)
        time.sleep(0.01)
    seen.append(job.progress)
    assert job.state == JobState.COMPLETED
    assert seen == sorted(seen)  # never goes back
    assert len({p for p in seen if 0 < p < 1}) >= 3
    assert seen[-1] == 1.0


def test_preview_appears_downsampled(batches_kind):
    job = submit(batches_kind, n_batches=20, batch_s=0.1, shape=(1200, 700))
    preview = poll(lambda: job.preview, "a preview")
    assert isinstance(preview, xr.DataArray)
    assert preview.shape == (400, 350)  # 1200 × 700 decimated by 3 and 2
    assert job.state in (JobState.PREVIEWING, JobState.COMPLETED)
    assert preview.attrs["batch"] >= 1
    job.cancel()
    job.wait(DEADLINE_S)


def test_cancel_stops_within_one_batch(batches_kind, tmp_path):
    log, out = tmp_path / "log.txt", tmp_path / "out"
    job = submit(batches_kind, n_batches=200, batch_s=0.05, out=out, log=log)
    poll(lambda: len(started(log)) >= 3, "three batches")
    assert job.cancel() == JobState.STOPPING
    in_flight = max(started(log))
    assert job.wait(DEADLINE_S) == JobState.CANCELED
    assert max(started(log)) <= in_flight + 1
    rec = job.record
    assert rec.error["code"] == ErrorCode.CANCELED.value and rec.finished_at
    assert rec.partial_outputs == [{"path": str(out) + ".partial", "removed": True}]
    assert not out.exists() and not Path(str(out) + ".partial").exists()
    with pytest.raises(PromethiumError) as err:
        job.result()
    assert err.value.code == ErrorCode.CANCELED


def test_cancel_from_another_process_polls_the_store(batches_kind, tmp_path):
    """A cancel written by another store handle (the server, the CLI) is seen at the next
    check: batches last longer than the poll interval, so at most one more starts."""
    log = tmp_path / "log.txt"
    job = submit(batches_kind, n_batches=100, batch_s=0.3, log=log, preview=False)
    poll(lambda: len(started(log)) >= 2, "two batches")
    other = JobStore(job.store.path)  # no in-process shortcut
    assert other.request_cancel(job.id) == JobState.STOPPING
    in_flight = max(started(log))
    assert job.wait(DEADLINE_S) == JobState.CANCELED
    assert max(started(log)) <= in_flight + 1


def test_canceled_queued_job_never_starts(batches_kind, tmp_path):
    ex = KernelExecutor(max_workers=1)
    gate = tmp_path / "first.log"
    first = submit(batches_kind, executor=ex, n_batches=100, batch_s=0.05, log=gate,
                   preview=False)
    log = tmp_path / "second.log"
    second = submit(batches_kind, executor=ex, n_batches=2, batch_s=0.01, log=log)
    assert second.state == JobState.QUEUED
    assert second.cancel() == JobState.CANCELED
    first.cancel()
    assert first.wait(DEADLINE_S) == JobState.CANCELED
    ex.close()
    assert second.state == JobState.CANCELED and second.record.started_at is None
    assert not log.exists()


def test_unexpected_failure_is_recorded_and_output_cleaned(batches_kind, tmp_path):
    out = tmp_path / "out"
    job = submit(batches_kind, n_batches=5, batch_s=0.01, fail_at=2, out=out)
    assert job.wait(DEADLINE_S) == JobState.FAILED
    rec = job.record
    assert rec.error["code"] == ErrorCode.INTERNAL.value
    assert "synthetic failure at batch 2" in rec.error["message"]
    assert "RuntimeError" in rec.traceback
    assert rec.partial_outputs[0]["removed"] and not Path(str(out) + ".partial").exists()
    assert not out.exists()
    with pytest.raises(PromethiumError) as err:
        job.result()
    assert err.value.code == ErrorCode.INTERNAL


def test_failure_after_the_output_is_complete_removes_it(batches_kind, tmp_path):
    out = tmp_path / "out"
    job = submit(batches_kind, n_batches=2, batch_s=0.0, fail_at=2, out=out)
    assert job.wait(DEADLINE_S) == JobState.FAILED
    assert "after the output was written" in job.error["message"]
    assert not out.exists()  # a failed job leaves nothing that looks complete
    assert job.record.partial_outputs == [
        {"path": str(out), "removed": True, "complete_looking": True}]


def test_workflow_errors_keep_their_code(tmp_path):
    job = submit("ingest", path=tmp_path / "missing.sgy", store=tmp_path / "s.zarr")
    assert job.wait(DEADLINE_S) == JobState.FAILED
    assert job.error["code"] == ErrorCode.PATH_NOT_FOUND.value
    assert job.error["hint"]
    with pytest.raises(PromethiumError) as err:
        job.result()
    assert err.value.code == ErrorCode.PATH_NOT_FOUND


def test_bad_submissions_fail_at_once(batches_kind):
    with pytest.raises(PromethiumError, match="no parameter"):
        submit(batches_kind, n_batchez=3)
    with pytest.raises(PromethiumError, match="needs the parameter"):
        submit("ingest", path="x.sgy")
    with pytest.raises(PromethiumError, match="unknown job kind"):
        submit("nope")
    with pytest.raises(PromethiumError, match="context"):
        submit(batches_kind, context=None)
    with pytest.raises(PromethiumError, match="unknown executor"):
        submit(batches_kind, executor="nowhere")
    assert list_jobs() == []
    with pytest.raises(PromethiumError):
        get_job("nope")


def test_wait_timeout(batches_kind):
    job = submit(batches_kind, n_batches=100, batch_s=0.05, preview=False)
    with pytest.raises(TimeoutError):
        job.wait(timeout=0.05)
    job.cancel()
    assert job.wait(DEADLINE_S) == JobState.CANCELED


def test_hundred_queued_jobs_all_complete(batches_kind):
    ex = KernelExecutor(max_workers=2)
    blockers = [submit(batches_kind, executor=ex, n_batches=10_000, batch_s=0.01,
                       preview=False) for _ in range(2)]
    poll(lambda: all(b.state == JobState.RUNNING for b in blockers), "both threads busy")
    jobs = [submit(batches_kind, executor=ex, n_batches=1, batch_s=0.0, preview=False)
            for _ in range(100)]
    assert {j.state for j in jobs} == {JobState.QUEUED}
    for b in blockers:
        b.cancel()
    assert [j.wait(DEADLINE_S) for j in jobs] == [JobState.COMPLETED] * 100
    assert [j.result() for j in jobs] == [{"batches": 1}] * 100
    assert len(list_jobs(state="completed")) == 100
    assert len(list_jobs(state="canceled")) == 2
    ex.close()


def test_in_memory_results_stay_in_the_kernel(batches_kind):
    job = submit(batches_kind, n_batches=2, batch_s=0.0, preview=False)
    assert job.result(DEADLINE_S) == {"batches": 2}
    assert job.artifacts == {"batches": 2}
    assert get_job(job.id) is job  # this process: the submitting handle
    # a handle without the future (as in another kernel) only has the record
    assert Job(job.id, JobStore(job.store.path)).result() is None


def bad_preview(context=None):
    context.preview(object())  # not an xarray object: logged, never fails the job
    context.progress(1.0, "done")
    return 1


def test_a_bad_preview_does_not_fail_the_job():
    register_workflow("bad_preview", bad_preview, replace=True)
    try:
        job = submit("bad_preview")
        assert job.wait(DEADLINE_S) == JobState.COMPLETED
    finally:
        unregister_workflow("bad_preview")
    assert job.preview is None and job.record.preview_path is None
    assert job.result() == 1
