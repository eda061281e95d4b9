"""Jobs on a real Dask cluster (two worker processes × one thread, on 127.0.0.1): ingest
and previews, cancellation from the store within one batch, GPU routing through resource
annotations, a batch of jobs, a LocalCluster started on demand, and a killed worker."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from _jobs_helpers import BATCHES, DEADLINE_S, poll, started
from _seismic_helpers import make_ieee_segy

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.store import open_store
from promethium_lab.jobs import (
    DaskExecutor,
    JobState,
    JobStore,
    register_workflow,
    submit,
    unregister_workflow,
)


@pytest.fixture(scope="module")
def cluster():
    """A scheduler with one plain worker and one declaring a GPU resource."""
    from distributed import Nanny, Scheduler, SpecCluster

    worker = {"nthreads": 1, "host": "127.0.0.1", "memory_limit": "1GiB"}
    spec = {"cpu": {"cls": Nanny, "options": dict(worker)},
            "gpu": {"cls": Nanny, "options": {**worker, "resources": {"GPU": 1}}}}
    with SpecCluster(workers=spec, scheduler={"cls": Scheduler, "options": {
            "host": "127.0.0.1", "dashboard": False, "dashboard_address": "127.0.0.1:0"}},
            silence_logs=40) as c:
        yield c


@pytest.fixture(scope="module")
def executor(cluster):
    ex = DaskExecutor(cluster.scheduler_address)
    ex.client.wait_for_workers(2)
    yield ex
    ex.close()


@pytest.fixture(autouse=True)
def data_dir(promethium_data_dir):
    """The private data dir (tests/conftest.py), with the ``batches`` kind registered."""
    register_workflow("batches", BATCHES, outputs=("out",), replace=True)
    yield promethium_data_dir
    unregister_workflow("batches")


def workers_by_name(executor) -> dict[str, str]:
    info = executor.client.scheduler_info(n_workers=-1)["workers"]
    return {w["name"]: addr for addr, w in info.items()}


def test_ingest_on_dask(executor, tmp_path):
    path = tmp_path / "cube.sgy"
    grid = make_ieee_segy(path, 24, 16, 100)
    out = tmp_path / "cube.zarr"
    job = submit("ingest", executor=executor, path=path, store=out, chunks=[1, 16, 100],
                 access_patterns=[], block_mb=0.001, workers=1)
    assert job.result(DEADLINE_S) == out
    rec = job.record
    assert rec.executor == f"dask:{executor.client.scheduler.address}"
    assert rec.worker in workers_by_name(executor).values()
    assert rec.pid != os.getpid()  # ran in a worker process
    assert rec.progress == 1.0 and rec.artifacts == {"output": str(out)}
    np.testing.assert_array_equal(open_store(out)["amplitude"].values, grid)


def test_progress_and_preview_from_a_worker(executor):
    job = submit("batches", executor=executor, n_batches=8, batch_s=0.15, shape=(900, 300))
    seen = []
    while not job.done():
        seen.append(job.progress)
    assert job.state == JobState.COMPLETED
    assert seen == sorted(seen) and len({p for p in seen if 0 < p < 1}) >= 3
    preview = job.preview
    assert preview is not None and preview.shape == (450, 300)
    assert preview.attrs["batch"] == 8  # the newest preview is flushed at the end


def test_cancel_through_the_store_within_one_batch(executor, tmp_path):
    log, out = tmp_path / "log.txt", tmp_path / "out"
    job = submit("batches", executor=executor, n_batches=100, batch_s=0.3, out=out, log=log)
    poll(lambda: len(started(log)) >= 2, "two batches")
    assert JobStore(job.store.path).request_cancel(job.id) == JobState.STOPPING
    in_flight = max(started(log))
    assert job.wait(DEADLINE_S) == JobState.CANCELED
    assert max(started(log)) <= in_flight + 1
    assert not out.exists() and not Path(str(out) + ".partial").exists()
    assert job.record.partial_outputs == [{"path": str(out) + ".partial", "removed": True}]
    with pytest.raises(PromethiumError) as err:
        job.result()
    assert err.value.code == ErrorCode.CANCELED


def _holed_cube(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 16 × 12 × 64 cube store with every third crossline absent: (store, amplitude,
    live mask)."""
    from promethium_lab.io.store import write_store

    path = tmp_path / "cube.sgy"
    make_ieee_segy(path, 16, 12, 64)
    store = tmp_path / "cube.zarr"
    submit("ingest", path=path, store=store).result(DEADLINE_S)
    ds = open_store(store).load()
    mask = np.ones((16, 12), dtype=bool)
    mask[:, 1::3] = False
    ds["trace_mask"] = (("inline", "crossline"), mask)
    holes = tmp_path / "holes.zarr"
    write_store(ds[["amplitude", "trace_mask"]], holes, access_patterns=(), views=(),
                progress=False)
    return holes, ds["amplitude"].values, mask


def test_reconstruct_job_on_dask(executor, tmp_path):
    holes, amplitude, mask = _holed_cube(tmp_path)
    out = tmp_path / "rec.zarr"
    job = submit("reconstruct", executor=executor, source=holes, out=out, method="linear",
                 blind=False, chunks=[4, 12, 64], access_patterns=[], block_mb=0.001)
    assert job.result(DEADLINE_S) == out
    assert job.record.worker in workers_by_name(executor).values()
    rec = open_store(out)
    assert bool(rec["trace_mask"].all())
    np.testing.assert_array_equal(rec["amplitude"].values[mask], amplitude[mask])


def test_deep_reconstruction_blocks_go_to_gpu_workers(executor, tmp_path):
    """One GPU rule for jobs and for the blocks of a deep reconstruction given a client."""
    from distributed import get_task_stream

    from promethium_lab.core.resources import gpu_resources
    from promethium_lab.workflows.reconstruct import reconstruct

    client = executor.client
    assert gpu_resources(client) == {"GPU": 1}
    assert gpu_resources(client.scheduler_info(n_workers=-1)) == {"GPU": 1}
    assert gpu_resources(client, wants_gpu=False) is None
    assert gpu_resources(None) is None  # no cluster: nothing to ask of it
    holes, amplitude, mask = _holed_cube(tmp_path)
    out = tmp_path / "rec.zarr"
    with get_task_stream(client) as stream:
        assert reconstruct(holes, method="unet", out=out, client=client, blind=False,
                           chunks=(4, 12, 64), access_patterns=(), views=(), block_mb=0.025) == out
    blocks = [t for t in stream.data if str(t["key"]).startswith("_call")]
    assert len(blocks) >= 2
    assert {t["worker"] for t in blocks} == {workers_by_name(executor)["gpu"]}
    rec = open_store(out)
    assert bool(rec["trace_mask"].all())
    np.testing.assert_array_equal(rec["amplitude"].values[mask], amplitude[mask])


def test_close_executors_closes_and_forgets_the_shared_ones(cluster):
    from promethium_lab.jobs.executors import close_executors, get_executor

    address = cluster.scheduler_address
    ex = get_executor(address)
    job = submit("batches", executor=address, n_batches=1, batch_s=0.0, preview=False)
    assert job.wait(DEADLINE_S) == JobState.COMPLETED
    close_executors()  # the job's Dask future settles first, then the client closes
    assert ex._client is None
    assert poll(lambda: not ex._in_flight or None, "the job's done-callback")
    assert get_executor(address) is not ex  # a fresh one on next use
    close_executors()
    assert cluster.scheduler_address == address  # a cluster given by address stays up


def test_gpu_jobs_go_to_gpu_workers(executor):
    gpu_worker = workers_by_name(executor)["gpu"]
    jobs = [submit("batches", executor=executor, gpu=True, n_batches=1, batch_s=0.05,
                   preview=False) for _ in range(4)]
    assert [j.wait(DEADLINE_S) for j in jobs] == [JobState.COMPLETED] * 4
    assert {j.record.worker for j in jobs} == {gpu_worker}
    assert executor.resources_for(True) == {"GPU": 1}
    assert executor.resources_for(False) is None


def test_a_batch_of_jobs_on_dask(executor):
    jobs = [submit("batches", executor=executor, n_batches=1, batch_s=0.0, preview=False)
            for _ in range(20)]
    assert [j.wait(DEADLINE_S) for j in jobs] == [JobState.COMPLETED] * 20
    assert [j.result() for j in jobs] == [{"batches": 1}] * 20
    assert len({j.record.worker for j in jobs}) >= 1


def test_local_cluster_started_on_demand():
    ex = DaskExecutor(n_workers=1, threads_per_worker=1)
    assert ex._cluster is None  # nothing started yet
    try:
        job = submit("batches", executor=ex, n_batches=2, batch_s=0.0, preview=False)
        assert job.result(DEADLINE_S) == {"batches": 2}
        assert ex._cluster is not None
        assert ex.client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert not ex.resources_for(True)  # no GPU worker: GPU jobs run anywhere
        from distributed import default_client

        with pytest.raises(ValueError):  # the user's dask computations are not hijacked
            default_client()
    finally:
        ex.close()


def test_gateway_without_dask_gateway_is_a_typed_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_gateway", None)  # as if not installed
    ex = DaskExecutor(gateway=True)
    with pytest.raises(PromethiumError) as err:
        ex.client  # noqa: B018
    assert err.value.code == ErrorCode.BAD_CONFIG
    assert "pip install dask-gateway" in err.value.hint


def test_killed_worker_ends_as_runner_lost(executor, tmp_path):
    log, out = tmp_path / "log.txt", tmp_path / "out"
    job = submit("batches", executor=executor, n_batches=1000, batch_s=0.05, out=out,
                 log=log, preview=False)
    poll(lambda: len(started(log)) >= 2, "the job running")
    rec = job.record
    assert rec.state == JobState.RUNNING and rec.pid != os.getpid()
    assert Path(str(out) + ".partial").is_dir()
    os.kill(rec.pid, signal.SIGKILL)
    assert job.wait(DEADLINE_S) == JobState.FAILED
    rec = job.record
    assert rec.error["code"] == ErrorCode.RUNNER_LOST.value
    assert rec.error["retryable"] is True
    assert not out.exists() and not Path(str(out) + ".partial").exists()
    assert JobStore(job.store.path).recover() == []  # already recorded
    with pytest.raises(PromethiumError) as err:
        job.result()
    assert err.value.code == ErrorCode.RUNNER_LOST
    executor.client.wait_for_workers(2, timeout=60)  # the nanny restarts it


EXITS_WITHOUT_CLOSING = """
import sys

from promethium_lab.jobs import submit

if __name__ == "__main__":  # the LocalCluster's worker processes import this file
    job = submit("reconstruct", executor="dask", source=sys.argv[1], out=sys.argv[2],
                 method="linear", blind=False)
    print(job.wait(90).value, flush=True)
    # no close: the process's exit closes the client and the LocalCluster
"""


def test_a_script_that_never_closes_its_cluster_exits_cleanly(tmp_path):
    """The shared executors close at exit before concurrent.futures' pools stop, so a Dask
    future settling late finds them open (no 'cannot schedule new futures after
    interpreter shutdown' traceback)."""
    import subprocess

    from _jobs_helpers import env_for

    holes, _, _ = _holed_cube(tmp_path)
    script = tmp_path / "script.py"
    script.write_text(EXITS_WITHOUT_CLOSING)
    out = tmp_path / "rec.zarr"
    done = subprocess.run([sys.executable, str(script), str(holes), str(out)],
                          env=env_for(tmp_path / "data"), capture_output=True, text=True,
                          timeout=DEADLINE_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "completed"
    for bad in ("Traceback", "RuntimeError", "Error", "Task was destroyed"):
        assert bad not in done.stderr, done.stderr
    assert bool(open_store(out)["trace_mask"].all())
