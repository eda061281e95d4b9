"""The real workflows as jobs on the kernel executor: ingest of a generated multi-block
SEG-Y (progress, result, cancellation within one block, no output left that looks
complete), export, and reconstruct once it exists."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from _jobs_helpers import DEADLINE_S
from _seismic_helpers import make_ieee_segy

from promethium_lab.core.context import TaskContext
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.store import open_store
from promethium_lab.jobs import (
    JobState,
    get_job,
    register_workflow,
    submit,
    unregister_workflow,
    workflow_kinds,
)
from promethium_lab.jobs.runner import call_workflow

N_IL, N_XL, NS = 24, 16, 100
#: one inline per block: 24 blocks of work
SMALL_BLOCKS = {"chunks": [1, N_XL, NS], "access_patterns": [], "views": [], "block_mb": 0.001,
                "workers": 1}


@pytest.fixture
def segy(tmp_path):
    path = tmp_path / "cube.sgy"
    grid = make_ieee_segy(path, N_IL, N_XL, NS)
    return path, grid


def test_ingest_job_progress_and_result(segy, tmp_path):
    path, grid = segy
    out = tmp_path / "cube.zarr"
    job = submit("ingest", path=path, store=out, **SMALL_BLOCKS)
    seen = []
    while not job.done():
        seen.append(job.progress)
        time.sleep(0.005)
    seen.append(job.progress)
    assert job.state == JobState.COMPLETED, job.error
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert job.result() == out
    assert job.artifacts == {"output": str(out)}
    assert job.record.parameters["store"] == str(out)
    ds = open_store(out)
    np.testing.assert_array_equal(ds["amplitude"].values, grid)


PROBE: dict[str, int | None] = {}


def probe(workflow: str, *, cancel_at: int, context, **kw):
    """Run the workflow ``workflow``, counting its progress reports (one per block) and
    canceling the job through the public API when block ``cancel_at`` is done."""
    from promethium_lab.jobs.registry import load_target

    PROBE.update(blocks=0, at_cancel=None)
    lock = threading.Lock()  # blocks finish on several writer threads

    def on_progress(fraction: float, message: str) -> None:
        with lock:
            PROBE["blocks"] += 1
            if PROBE["blocks"] == cancel_at:
                get_job(context.job_id).cancel()
                PROBE["at_cancel"] = PROBE["blocks"]
        context.progress(fraction, message)

    inner = TaskContext(on_progress=on_progress, on_preview=context.preview,
                        is_canceled=context.should_stop, show_progress=False)
    return call_workflow(load_target(workflow), kw, inner)


@pytest.fixture
def probe_kind():
    register_workflow("probe", probe, outputs=("store", "out"), replace=True)
    yield "probe"
    unregister_workflow("probe")


def assert_canceled_without_output(job, out: Path, n_blocks: int) -> None:
    assert job.wait(DEADLINE_S) == JobState.CANCELED
    assert PROBE["at_cancel"] == 5
    assert PROBE["blocks"] - PROBE["at_cancel"] <= 1  # within one block
    assert PROBE["blocks"] < n_blocks
    rec = job.record
    assert rec.error["code"] == ErrorCode.CANCELED.value
    # nothing that looks complete: no store, and the .partial folder removed and recorded
    assert not out.exists()
    assert not Path(str(out) + ".partial").exists()
    assert rec.partial_outputs == [{"path": str(out) + ".partial", "removed": True}]
    with pytest.raises(PromethiumError) as err:
        open_store(out)
    assert err.value.code == ErrorCode.PATH_NOT_FOUND


def test_cancel_ingest_within_one_block(probe_kind, segy, tmp_path):
    out = tmp_path / "cube.zarr"
    job = submit(probe_kind, workflow="promethium_lab.workflows.ingest:ingest", cancel_at=5,
                 path=segy[0], store=out, **SMALL_BLOCKS)
    assert_canceled_without_output(job, out, N_IL)


def decimated(store: Path):
    """The survey in memory with every third crossline dead."""
    ds = open_store(store).load()
    mask = np.ones((N_IL, N_XL), dtype=bool)
    mask[:, 1::3] = False
    ds["trace_mask"] = (("inline", "crossline"), mask)
    ds["amplitude"] = ds["amplitude"].where(ds["trace_mask"], np.float32(0))
    return ds


def test_reconstruct_job(segy, tmp_path):
    assert "reconstruct" in workflow_kinds()
    store = tmp_path / "cube.zarr"
    submit("ingest", path=segy[0], store=store).result(DEADLINE_S)
    ds = decimated(store)
    out = tmp_path / "rec.zarr"
    job = submit("reconstruct", source=ds, method="linear", out=out, chunks=[4, N_XL, NS],
                 blind=False, access_patterns=[], views=[], block_mb=0.001)
    assert job.record.parameters["source"] == "<Dataset>"  # kernel jobs take objects
    assert job.result(DEADLINE_S) == out
    assert job.progress == 1.0
    preview = job.preview
    assert preview is not None and preview.dims == ("crossline", "time")
    rec = open_store(out)
    assert rec["amplitude"].shape == (N_IL, N_XL, NS)
    assert bool(rec["trace_mask"].all())
    live = ds["trace_mask"].values
    np.testing.assert_array_equal(rec["amplitude"].values[live], ds["amplitude"].values[live])


def test_cancel_reconstruct_within_one_block(probe_kind, segy, tmp_path):
    store = tmp_path / "cube.zarr"
    submit("ingest", path=segy[0], store=store).result(DEADLINE_S)
    out = tmp_path / "rec.zarr"
    job = submit(probe_kind, workflow="promethium_lab.workflows.reconstruct:reconstruct",
                 cancel_at=5, source=decimated(store), method="linear", out=out, blind=False,
                 chunks=[1, N_XL, NS], access_patterns=[], views=[], block_mb=0.001)
    assert_canceled_without_output(job, out, N_IL)


def test_export_job_round_trip(segy, tmp_path):
    path, _ = segy
    store = tmp_path / "cube.zarr"
    assert submit("ingest", path=path, store=store).result(DEADLINE_S) == store
    out = tmp_path / "back.sgy"
    job = submit("export", store=store, path=out)
    assert job.result(DEADLINE_S) == out
    assert out.read_bytes() == path.read_bytes()
    assert job.record.outputs == [str(out)]
    assert not list(tmp_path.glob("back.sgy.partial*"))


def test_export_failure_leaves_no_partial(tmp_path):
    out = tmp_path / "x.sgy"
    job = submit("export", store=tmp_path / "missing.zarr", path=out)
    assert job.wait(DEADLINE_S) == JobState.FAILED
    assert job.error["code"] == ErrorCode.PATH_NOT_FOUND.value
    assert not list(tmp_path.glob("x.sgy*"))
