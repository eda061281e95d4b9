"""Scale-out ingest: the blocks of one ingest decoded and written by the worker processes
of a real Dask cluster on 127.0.0.1, through the workflow and through the CLI; the store
is the one a single process writes, array for array."""

from __future__ import annotations

import pytest
from _seismic_helpers import DATA, cli_env, run_cli

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.store import array_hashes, open_store
from promethium_lab.workflows.ingest import ingest

pytestmark = pytest.mark.xdist_group("dask_ingest")

F3 = "f3_ibm_be.sgy"  # 23 inlines x 18 crosslines x 75 samples
#: chunks and blocks small enough for many blocks, so both workers get some
SMALL = {"chunks": (2, 2, 75), "access_patterns": (), "views": (), "block_mb": 0.001}


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes × one thread, on 127.0.0.1."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", silence_logs=40) as c, \
            Client(c, set_as_default=False) as client:
        client.wait_for_workers(2)
        yield client


def test_both_workers_write_blocks_and_the_store_equals_a_single_process_one(
        cluster, tmp_path):
    from distributed import get_task_stream

    single = ingest(DATA / F3, tmp_path / "single.zarr", progress=False, **SMALL)
    with get_task_stream(cluster) as stream:
        spread = ingest(DATA / F3, tmp_path / "dask.zarr", client=cluster, progress=False,
                        **SMALL)
    blocks = [t for t in stream.data if str(t["key"]).startswith("_call")]
    assert len(blocks) >= 12  # 12 x 9 blocks of 2 x 2 traces, in flight two per worker
    assert len({t["worker"] for t in blocks}) == 2
    assert array_hashes(spread) == array_hashes(single)
    assert open_store(spread)["amplitude"].shape == (23, 18, 75)


def test_default_layout_with_views_is_the_same_through_the_cli(tmp_path):
    """``ingest --dask-workers 2`` (a LocalCluster of its own) writes the default store,
    view copies included, exactly as one process does."""
    single = ingest(DATA / F3, tmp_path / "single.zarr", progress=False)
    res = run_cli("ingest", DATA / F3, tmp_path / "cli.zarr", "--dask-workers", "2",
                  timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"store       {tmp_path / 'cli.zarr'}" in res.stdout
    hashes = array_hashes(tmp_path / "cli.zarr")
    assert {"view_inline", "view_time", "view_time_scale"} <= set(hashes)
    assert hashes == array_hashes(single)


def test_a_cluster_named_twice_is_refused(tmp_path):
    res = run_cli("ingest", DATA / F3, tmp_path / "x.zarr", "--dask-workers", "2",
                  "--scheduler", "tcp://127.0.0.1:1")
    assert res.returncode != 0
    assert "both name a cluster" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "x.zarr").exists()


def test_an_unreachable_scheduler_is_a_typed_error(tmp_path, monkeypatch):
    """After ``scheduler_timeout_s`` (1 s here, 10 s by default) of trying."""
    env = {**cli_env(), "PROMETHIUM_SCHEDULER_TIMEOUT_S": "1"}
    res = run_cli("ingest", DATA / F3, tmp_path / "x.zarr", "--scheduler",
                  "tcp://127.0.0.1:9", env=env)
    assert res.returncode != 0
    assert "cannot reach the Dask scheduler" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "x.zarr").exists()
    monkeypatch.setenv("PROMETHIUM_SCHEDULER_TIMEOUT_S", "1")
    with pytest.raises(PromethiumError) as exc:
        from promethium_lab.jobs.executors import DaskExecutor

        _ = DaskExecutor("tcp://127.0.0.1:9").client
    assert exc.value.code == ErrorCode.BAD_CONFIG
