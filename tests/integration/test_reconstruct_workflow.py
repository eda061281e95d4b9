"""workflows.reconstruct: in memory and store to store, with metrics, progress, previews
and cancel — on a real survey from ../shared/data and on a synthetic one."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import xarray as xr
from _seismic_helpers import DATA

from promethium_lab.core.context import TaskContext
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.segy import open_segy
from promethium_lab.io.store import open_store
from promethium_lab.signal.decimate import decimate
from promethium_lab.signal.synthetic import synthetic_cube
from promethium_lab.workflows import ingest
from promethium_lab.workflows.reconstruct import evaluate, reconstruct


@pytest.fixture(scope="module")
def viking() -> xr.Dataset:
    return open_segy(DATA / "viking_graben_4shots_ibm.segy").load()


def test_traces_absent_from_the_reference_are_not_scored():
    """F3 already lacks 175 traces: removing more and scoring against the file scores only
    the removed ones (the reference holds no truth where it is absent itself)."""
    f3 = open_segy(DATA / "f3_missing_traces_ibm.sgy").load()
    live = f3["trace_mask"].values
    holed = decimate(f3, pattern="random", fraction=0.3, seed=1)
    removed = live & ~holed["trace_mask"].values
    assert (~live).sum() == 175 and removed.sum() > 0
    result = reconstruct(holed, method="pocs", reference=f3, progress=False)
    m = result.attrs["metrics"]
    assert m["n_missing"] == int(removed.sum())
    assert m["snr_missing_db"] > 0.0  # the 175 zero "truths" no longer pull it below
    assert evaluate(result, f3) == m


def test_in_memory_fills_holes_and_measures_against_truth(viking):
    holed = decimate(viking, pattern="random", fraction=0.5, seed=3)
    result = reconstruct(holed, method="pocs", reference=viking, progress=False)
    mask = holed["trace_mask"].values
    # live traces are kept as recorded, holes are filled, masks say what happened
    np.testing.assert_array_equal(result["amplitude"].values[mask],
                                  viking["amplitude"].values[mask])
    assert np.abs(result["amplitude"].values[~mask]).max() > 0
    assert bool(result["trace_mask"].all())
    np.testing.assert_array_equal(result["input_trace_mask"].values, mask)
    m = result.attrs["metrics"]
    assert m["n_missing"] == int((~mask).sum())
    assert m["snr_missing_db"] > 6.0
    assert result.attrs["reconstruction"]["chosen"] == "pocs"
    # evaluate() gives the same numbers from the result alone
    again = evaluate(result, viking)
    assert again["snr_missing_db"] == pytest.approx(m["snr_missing_db"])


def test_without_reference_a_blind_estimate_is_recorded(viking):
    shot = viking.isel(shot_point=[1])
    holed = decimate(shot, pattern="regular", fraction=0.5, seed=0)
    result = reconstruct(holed, method="linear", progress=False)
    m = result.attrs["metrics"]
    assert m["blind_n_hidden"] > 0
    assert np.isfinite(m["blind_snr_db"])


def test_auto_resolves_to_one_method(viking):
    holed = decimate(viking.isel(shot_point=[0]), pattern="gap", fraction=0.1, seed=0)
    result = reconstruct(holed, progress=False)
    rec = result.attrs["reconstruction"]
    assert rec["method"] == "auto"
    assert rec["chosen"] in rec["auto"]["blind_test"]


def test_store_to_store_blocks_join_and_progress_rises(tmp_path):
    cube = synthetic_cube(n_inline=24, n_crossline=20, n_samples=64, seed=1)
    holed = decimate(cube, pattern="random", fraction=0.3, seed=2)
    seen: list[float] = []
    previews: list[xr.DataArray] = []
    ctx = TaskContext(on_progress=lambda f, _m: seen.append(f), on_preview=previews.append)
    # small blocks: many batches, each reconstructed on a window 4 traces wider
    path = reconstruct(holed, method="linear", out=tmp_path / "r.zarr", reference=cube,
                       overlap=4, block_mb=0.02, chunks=(4, 4, 64), access_patterns=(), views=(),
                       context=ctx, progress=False)
    in_memory = reconstruct(holed, method="linear", overlap=4, block_mb=1000, progress=False)
    stored = open_store(path)
    # recorded traces pass through untouched; blockwise filling with margins is as good
    # as one pass over the whole survey (linear interpolation triangulates per window,
    # so values differ slightly, quality does not)
    live = holed["trace_mask"].values
    np.testing.assert_array_equal(stored["amplitude"].values[live], cube["amplitude"].values[live])
    blockwise = stored.attrs["metrics"]["snr_missing_db"]
    whole = evaluate(in_memory, cube)["snr_missing_db"]
    assert blockwise > 3.0
    assert abs(blockwise - whole) < 1.0
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) > 3
    assert previews and previews[-1].ndim == 2
    assert stored.attrs["metrics"]["n_missing"] == int((~holed["trace_mask"]).sum())


@pytest.mark.parametrize("method", ["pocs", "pwd"])
def test_windowed_methods_give_the_same_result_block_by_block(tmp_path, method):
    from promethium_lab.signal.reconstruct import reconstruct as classical

    cube = synthetic_cube(n_inline=44, n_crossline=20, n_samples=64, seed=3)
    holed = decimate(cube, pattern="random", fraction=0.3, seed=4)
    whole = classical(holed, method=method)["amplitude"].values
    # blocks of 8 inlines (chunks 8 × 20): each gets the survey's windows reaching into it
    path = reconstruct(holed, method=method, out=tmp_path / "r.zarr", block_mb=0.04,
                       chunks=(8, 20, 64), access_patterns=(), views=(), blind=False,
                       progress=False)
    stored = open_store(path)["amplitude"].values
    np.testing.assert_allclose(stored, whole, rtol=0, atol=1e-6)
    in_memory = reconstruct(holed, method=method, block_mb=0.04, blind=False, progress=False)
    np.testing.assert_allclose(in_memory["amplitude"].values, whole, rtol=0, atol=1e-6)


def test_auto_on_a_large_survey_decides_where_the_energy_is(tmp_path, monkeypatch):
    import importlib

    from promethium_lab.io.store import write_store

    wr = importlib.import_module("promethium_lab.workflows.reconstruct")

    cube = synthetic_cube(n_inline=40, n_crossline=160, n_samples=64, seed=5)
    amp = cube["amplitude"].values.copy()
    amp[:, 100:140] *= 50.0  # the strong part of the survey: crosslines 100-139
    holed = decimate(cube.assign(amplitude=(cube["amplitude"].dims, amp)), pattern="random",
                     fraction=0.3, seed=6)
    monkeypatch.setattr(wr, "_BLIND_LIMIT", 2**16)  # "large": over the whole-survey limit
    # in memory, and lazy from a default store (view copies, no exact fast copy): the
    # energy is read from whole traces of amplitude, so the window finds the strong part
    store = write_store(holed, tmp_path / "s.zarr", progress=False)
    plain = write_store(holed, tmp_path / "p.zarr", access_patterns=(), views=(), progress=False)
    for source in (holed, wr._open(store), wr._open(plain)):
        sample = wr._auto_sample(source)
        xl = np.searchsorted(cube["crossline"].values, sample["crossline"].values)
        assert sample["amplitude"].shape[:2] == (40, 64)
        assert xl.min() <= 100 and xl.max() >= 139  # the window covers the strong part
        live = sample["trace_mask"].values
        assert live.any() and not live.all()


def test_cancel_stops_between_blocks_and_leaves_nothing_complete(tmp_path):
    cube = synthetic_cube(n_inline=32, n_crossline=16, n_samples=64, seed=1)
    holed = decimate(cube, pattern="random", fraction=0.3, seed=2)
    event = threading.Event()
    calls = {"n": 0}

    def on_progress(_f: float, _m: str) -> None:
        calls["n"] += 1
        if calls["n"] >= 2:  # blocks may report from several threads
            event.set()

    ctx = TaskContext(on_progress=on_progress, cancel_event=event)
    with pytest.raises(PromethiumError) as err:
        reconstruct(holed, method="linear", out=tmp_path / "r.zarr", block_mb=0.01,
                    chunks=(4, 4, 64), access_patterns=(), views=(), context=ctx, progress=False)
    assert err.value.code is ErrorCode.CANCELED
    with pytest.raises(PromethiumError) as err:
        open_store(tmp_path / "r.zarr")
    assert err.value.code is ErrorCode.STORE_INCOMPLETE


def test_from_a_store_path(tmp_path):
    store = ingest(DATA / "f3_missing_traces_ibm.sgy", tmp_path / "f3.zarr", progress=False)
    result = reconstruct(store, method="linear", progress=False)
    before = open_store(store)
    assert int((~before["trace_mask"]).sum()) == 175
    assert bool(result["trace_mask"].all())
    filled = ~before["trace_mask"].values
    assert np.abs(result["amplitude"].values[filled]).sum() > 0


def test_impossible_inputs(viking):
    none_live = viking.assign(trace_mask=xr.zeros_like(viking["trace_mask"]))
    for bad, kwargs in ((none_live, {}), (viking, {"overlap": -1}),
                        (viking, {"method": "magic"})):
        with pytest.raises(PromethiumError) as err:
            reconstruct(bad, progress=False, **kwargs)
        assert err.value.code is ErrorCode.INVALID_PARAMETER


def test_blocks_on_a_dask_cluster_match_threads_and_preview(tmp_path):
    from distributed import Client, LocalCluster

    cube = synthetic_cube(n_inline=24, n_crossline=16, n_samples=64, seed=4)
    holed = decimate(cube, pattern="random", fraction=0.3, seed=5)
    common = dict(method="pocs", overlap=4, block_mb=0.02, chunks=(4, 4, 64),
                  access_patterns=(), views=(), progress=False, n_iter=20)
    threads = open_store(reconstruct(holed, out=tmp_path / "threads.zarr", **common))
    previews: list[xr.DataArray] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", processes=True) as cluster, \
            Client(cluster, set_as_default=False) as client:
        path = reconstruct(holed, out=tmp_path / "dask.zarr", client=client,
                           context=TaskContext(on_preview=previews.append), **common)
    on_dask = open_store(path)
    np.testing.assert_array_equal(on_dask["amplitude"].values, threads["amplitude"].values)
    assert previews and previews[-1].dims == ("crossline", "time")
