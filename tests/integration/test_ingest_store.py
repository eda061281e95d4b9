"""Ingest → store round trips, kill -9 resume, overwrite rules, MDIO interoperability."""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from _seismic_helpers import DATA, cli_command, cli_env, make_ieee_segy, mdio_stores

from promethium_lab.core.context import TaskContext
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.blocks import aligned_step, tile
from promethium_lab.io.formats import partial_path
from promethium_lab.io.segy import open_segy
from promethium_lab.io.store import (
    JOURNAL,
    is_complete_store,
    open_store,
)
from promethium_lab.io.views import WINDOW, open_view, quantise
from promethium_lab.workflows.ingest import ingest

ROUND_TRIP = ["f3_ibm_be.sgy", "viking_graben_4shots_ibm.segy", "f3_missing_traces_ibm.sgy"]


def assert_same_survey(store_ds: xr.Dataset, source: xr.Dataset) -> None:
    """The store holds exactly what the reader gave."""
    assert store_ds["amplitude"].dims == source["amplitude"].dims
    assert np.array_equal(store_ds["amplitude"].values, source["amplitude"].values)
    for name in ["trace_mask", "segy_trace_index", "headers"]:
        got, want = store_ds[name].values, source[name].values
        assert got.dtype == want.dtype, name
        assert np.array_equal(got, want), name
    raw = store_ds["raw_headers"].values
    assert raw.dtype == np.dtype("V240")
    assert raw.tobytes() == source["raw_headers"].values.tobytes()
    for name in source.coords:
        assert np.array_equal(store_ds[name].values, source[name].values, equal_nan=True), name
    for key, value in source.attrs.items():
        if key != "mdio_template" or value:
            assert store_ds.attrs[key] == value, key
    assert store_ds.attrs["store_format"] == "promethium"
    assert store_ds["segy_file_header"].attrs == source["segy_file_header"].attrs


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_ingest_then_open_store_round_trip(name, tmp_path):
    source = open_segy(DATA / name)
    store = ingest(DATA / name, tmp_path / "s.zarr", progress=False)
    assert store == tmp_path / "s.zarr"
    assert is_complete_store(store)
    assert not (store / JOURNAL).exists()
    assert not partial_path(tmp_path / "s.zarr").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]
    ds = open_store(store)
    assert_same_survey(ds, source)
    assert isinstance(ds["amplitude"].data, da.Array)  # lazy
    # the view copies are left out of the dataset; each is the amplitude within half a
    # quantisation step of its window's peak
    assert not [n for n in ds.variables if str(n).startswith("view_")]
    want = source["amplitude"].values
    views = [d for d in ds["amplitude"].dims if open_view(store, d) is not None]
    # every dim of a 3-D grid longer than 4 (the Viking file's 4 shots are not)
    assert views == [d for d in ds["amplitude"].dims
                     if ds["amplitude"].ndim == 3 and ds.sizes[d] > 4]
    for dim in views:
        got = open_view(store, dim)[:]
        _, scale = quantise(want)
        step = np.repeat(scale, WINDOW, axis=-1)[..., : want.shape[-1]]
        assert np.all(np.abs(got - want) <= 0.5 * step * (1 + 1e-5) + 1e-30), dim
    meta = json.loads((store / "zarr.json").read_text())
    attrs = meta["attributes"]
    assert attrs["apiVersion"].startswith("1.")
    assert attrs["attributes"]["defaultVariableName"] == "amplitude"
    assert attrs["promethium"]["complete"] is True
    assert "consolidated_metadata" in meta


def test_store_keeps_the_missing_traces_missing(tmp_path):
    name = "f3_missing_traces_ibm.sgy"
    ds = open_store(ingest(DATA / name, tmp_path / "s.zarr", progress=False))
    mask = ds["trace_mask"].values
    assert int(mask.sum()) == 239
    assert not ds["amplitude"].values[~mask].any()
    assert (ds["segy_trace_index"].values[~mask] == -1).all()


def test_ingest_chunking_and_access_patterns(tmp_path):
    name = "viking_graben_4shots_ibm.segy"
    store = ingest(
        DATA / name, tmp_path / "s.zarr", chunks=(1, 16, 600), access_patterns=(), views=(),
        progress=False
    )
    ds = open_store(store)
    assert "fast_time" not in ds
    assert ds["amplitude"].encoding["chunks"] == (1, 16, 600)
    assert np.array_equal(ds["amplitude"].values, open_segy(DATA / name)["amplitude"].values)
    with pytest.raises(PromethiumError) as exc_info:
        ingest(DATA / name, tmp_path / "t.zarr", chunks=(1, 16), progress=False)
    assert exc_info.value.code is ErrorCode.INVALID_PARAMETER
    assert not (tmp_path / "t.zarr").exists()


# --------------------------------------------------------------------------- kill -9 and resume

BIG_SHAPE = (200, 150, 300)  # 30000 IEEE traces: 43 MB of SEG-Y
KILL_ENV = {"PROMETHIUM_CHUNK_MB": "0.1"}  # chunks of 8 x 8 traces
KILL_ARGS = ("--views", "none", "--workers", "1", "--block-mb", "0.01")  # one chunk per block


@pytest.fixture(scope="module")
def big_segy(tmp_path_factory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("big") / "big_ieee.sgy"
    grid = make_ieee_segy(path, *BIG_SHAPE, seed=11)
    assert 20 * 2**20 < path.stat().st_size < 80 * 2**20
    return path, grid


def _amplitude_layout(partial: Path) -> tuple[tuple[int, ...], tuple[int, ...]]:
    meta = json.loads((partial / "amplitude" / "zarr.json").read_text())
    return tuple(meta["shape"]), tuple(meta["chunk_grid"]["configuration"]["chunk_shape"])


def _block_chunk_files(root: Path, shape, chunks, block: tuple[slice, ...]) -> list[Path]:
    """The chunk files of ``amplitude`` that a block of trace dims writes."""
    ranges = [range(s.start // c, math.ceil(s.stop / c)) for s, c in zip(block, chunks)]
    ranges.append(range(math.ceil(shape[-1] / chunks[-1])))
    return [
        root / "amplitude" / "c" / "/".join(map(str, idx)) for idx in itertools.product(*ranges)
    ]


def _read_journal(partial: Path) -> list[int]:
    try:
        return json.loads((partial / JOURNAL).read_text())["done"]
    except (OSError, ValueError, KeyError):
        return []


def test_kill_9_mid_ingest_then_resume(big_segy, tmp_path):
    source, grid = big_segy
    store = tmp_path / "big.zarr"
    partial = partial_path(tmp_path / "big.zarr")
    env = cli_env(**KILL_ENV)
    cmd = cli_command("ingest", source, store, *KILL_ARGS)

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if len(_read_journal(partial)) >= 5:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]

    # the interrupted write: only the partial store, refused by readers
    assert not store.exists()
    with pytest.raises(PromethiumError) as exc_info:
        open_store(store)
    assert exc_info.value.code is ErrorCode.STORE_INCOMPLETE
    with pytest.raises(PromethiumError) as exc_info:
        open_store(partial)
    assert exc_info.value.code is ErrorCode.STORE_INCOMPLETE

    shape, chunks = _amplitude_layout(partial)
    assert shape == BIG_SHAPE
    step = aligned_step(shape[:-1], [chunks[:-1]], shape[-1], int(0.01 * 2**20))
    blocks = tile(shape[:-1], step)
    done = _read_journal(partial)
    assert 0 < len(done) < len(blocks), (len(done), len(blocks))
    finished = {}
    for i in done:
        for f in _block_chunk_files(partial, shape, chunks, blocks[i]):
            assert f.is_file(), f  # a journalled block is on disk
            finished[f.relative_to(partial)] = f.stat().st_mtime_ns
    time.sleep(0.05)  # any rewrite now gets a later mtime

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"store       {store}" in rerun.stdout
    assert not partial.exists()
    # the journalled blocks were skipped: their chunk files are the very same files
    for rel, mtime in finished.items():
        assert (store / rel).stat().st_mtime_ns == mtime, rel
    # ... and every other block was written by the rerun
    for i in set(range(len(blocks))) - set(done):
        for f in _block_chunk_files(store, shape, chunks, blocks[i]):
            rel = f.relative_to(store)
            assert f.is_file() and rel not in finished, rel
    ds = open_store(store)
    assert np.array_equal(ds["amplitude"].values, grid)
    assert bool(ds["trace_mask"].values.all())
    assert ds["inline"].values[0] == 1000 and ds["crossline"].values[-1] == 2298
    assert np.allclose(ds["cdp_x"].values[:, 0], 500_000 + 25 * np.arange(200))


def _cancel_after(n: int) -> TaskContext:
    """A context that asks to stop at the ``n``-th check (between blocks)."""
    calls = itertools.count()
    return TaskContext(is_canceled=lambda: next(calls) >= n)


def _negate_ibm_samples(path: Path, n_samples: int) -> None:
    """Flip the sign bit of every IBM sample in place (same size, new content)."""
    data = bytearray(path.read_bytes())
    trace = 240 + 4 * n_samples
    for start in range(3600, len(data), trace):
        for pos in range(start + 240, start + trace, 4):
            data[pos] ^= 0x80
    path.write_bytes(bytes(data))


def test_a_changed_source_is_ingested_again_not_resumed(tmp_path):
    name = "viking_graben_4shots_ibm.segy"
    source = tmp_path / name
    shutil.copy(DATA / name, source)
    store = tmp_path / "v.zarr"
    partial = partial_path(tmp_path / "v.zarr")
    kwargs = dict(chunks=(1, 8, 600), access_patterns=(), views=(), workers=1, block_mb=0.01,
                  progress=False)
    with pytest.raises(PromethiumError) as exc_info:
        ingest(source, store, context=_cancel_after(40), **kwargs)
    assert exc_info.value.code is ErrorCode.CANCELED
    done = _read_journal(partial)
    assert len(done) >= 30
    before = open_segy(source)["amplitude"].values

    _negate_ibm_samples(source, 600)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after = open_segy(source)["amplitude"].values
    assert np.array_equal(after, -before) and before.any()

    ds = open_store(ingest(source, store, **kwargs))
    assert np.array_equal(ds["amplitude"].values, after)  # no stale block of the old file


def test_touching_the_source_redoes_the_ingest(tmp_path):
    name = "viking_graben_4shots_ibm.segy"
    source = tmp_path / name
    shutil.copy(DATA / name, source)
    store = tmp_path / "v.zarr"
    partial = partial_path(tmp_path / "v.zarr")
    kwargs = dict(chunks=(1, 8, 600), access_patterns=(), views=(), workers=1, block_mb=0.01,
                  progress=False)
    with pytest.raises(PromethiumError):
        ingest(source, store, context=_cancel_after(20), **kwargs)
    chunk = partial / "amplitude" / "c"
    first = {p: p.stat().st_mtime_ns for p in chunk.rglob("*") if p.is_file()}
    assert first
    time.sleep(0.05)
    os.utime(source)  # same bytes, new mtime: the fingerprint differs
    ingest(source, store, **kwargs)
    rewritten = [
        p for p in first if (store / p.relative_to(partial)).stat().st_mtime_ns != first[p]
    ]
    assert sorted(rewritten) == sorted(first)


def test_resume_with_another_block_size_writes_every_block(tmp_path):
    """Journal block numbers only mean something with the same block shape."""
    name = "viking_graben_4shots_ibm.segy"
    store = tmp_path / "v.zarr"
    common = dict(chunks=(1, 8, 600), access_patterns=(), views=(), workers=1, progress=False)
    with pytest.raises(PromethiumError):
        ingest(DATA / name, store, block_mb=0.01, context=_cancel_after(55), **common)
    # 55 of the 60 blocks of 1 x 8 traces are done; at 0.1 MB the blocks are 1 x 32 traces,
    # numbered 0..15, most of which the old journal lists as done
    assert len(_read_journal(partial_path(tmp_path / "v.zarr"))) >= 50
    ds = open_store(ingest(DATA / name, store, block_mb=0.1, **common))
    assert np.array_equal(ds["amplitude"].values, open_segy(DATA / name)["amplitude"].values)


def test_resume_after_cancel_in_process_equals_source(tmp_path):
    name = "f3_missing_traces_ibm.sgy"
    store = tmp_path / "m.zarr"
    common = dict(
        chunks=(2, 2, 75), access_patterns=(), views=(), workers=2, block_mb=0.001, progress=False
    )
    with pytest.raises(PromethiumError):
        ingest(DATA / name, store, context=_cancel_after(10), **common)
    progress: list[float] = []
    context = TaskContext(on_progress=lambda f, _m: progress.append(f))
    ds = open_store(ingest(DATA / name, store, context=context, **common))
    assert_same_survey(ds, open_segy(DATA / name))
    assert progress and progress[-1] == pytest.approx(1.0)


# --------------------------------------------------------------------------- overwrite


def test_overwrite_false_refuses_an_existing_store(tmp_path):
    store = ingest(DATA / "f3_ibm_be.sgy", tmp_path / "s.zarr", progress=False)
    meta = (store / "zarr.json").read_bytes()
    with pytest.raises(PromethiumError) as exc_info:
        ingest(DATA / "f3_int16_be.sgy", store, progress=False)
    assert exc_info.value.code is ErrorCode.OUTPUT_EXISTS
    assert (store / "zarr.json").read_bytes() == meta
    assert open_store(store).attrs["segy_format"] == 1
    other = tmp_path / "plain"
    other.mkdir()
    with pytest.raises(PromethiumError) as exc_info:
        ingest(DATA / "f3_ibm_be.sgy", other, progress=False)
    assert exc_info.value.code is ErrorCode.OUTPUT_EXISTS


def test_overwrite_true_replaces_the_store_atomically(tmp_path):
    store = ingest(DATA / "f3_ibm_be.sgy", tmp_path / "s.zarr", progress=False)
    # a failed or canceled replacement leaves the old store untouched and complete
    bad = tmp_path / "bad.sgy"
    bad.write_bytes((DATA / "f3_ibm_be.sgy").read_bytes()[:-7])
    with pytest.raises(PromethiumError):
        ingest(bad, store, overwrite=True, progress=False)
    with pytest.raises(PromethiumError) as exc_info:
        ingest(
            DATA / "viking_graben_4shots_ibm.segy",
            store,
            overwrite=True,
            chunks=(1, 8, 600),
            access_patterns=(), views=(),
            workers=1,
            block_mb=0.01,
            context=_cancel_after(3),
            progress=False,
        )
    assert exc_info.value.code is ErrorCode.CANCELED
    kept = open_store(store)
    assert kept.attrs["geometry"] == "poststack3d"
    assert np.array_equal(
        kept["amplitude"].values, open_segy(DATA / "f3_ibm_be.sgy")["amplitude"].values
    )
    # a finished replacement swaps in the new survey, leaving nothing else behind
    ingest(
        DATA / "viking_graben_4shots_ibm.segy",
        store,
        overwrite=True,
        chunks=(1, 8, 600),
        workers=1,
        block_mb=0.01,
        progress=False,
    )
    new = open_store(store)
    assert new.attrs["geometry"] == "shot"
    assert_same_survey(new, open_segy(DATA / "viking_graben_4shots_ibm.segy"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.sgy", "s.zarr"]


# --------------------------------------------------------------------------- MDIO


@pytest.fixture(scope="session")
def mdio_written(tmp_path_factory) -> dict[str, Path]:
    return mdio_stores(tmp_path_factory.getbasetemp() / "mdio")


def test_mdio_opens_a_store_written_here(tmp_path):
    import mdio

    for name in ["f3_ibm_be.sgy", "f3_missing_traces_ibm.sgy"]:
        source = open_segy(DATA / name)
        store = ingest(DATA / name, tmp_path / f"{name}.zarr", progress=False)
        ds = mdio.open_mdio(store)
        assert np.array_equal(ds["amplitude"].values, source["amplitude"].values)
        assert np.array_equal(ds["trace_mask"].values, source["trace_mask"].values)
        assert np.array_equal(ds["inline"].values, source["inline"].values)
        assert np.array_equal(
            ds["headers"].values["crossline"], source["headers"].values["crossline"]
        )
        assert ds.attrs["name"] == "PostStack3DTime"
        # MDIO sees the compact view copies as what they are: int8, marked view-only
        assert ds["view_time"].dtype == np.int8 and ds["view_time"].attrs["lossy"]
        assert ds["view_inline"].attrs["promethium_view_only"] is True


@pytest.mark.xdist_group("mdio")  # one worker writes the MDIO stores for all their tests
@pytest.mark.parametrize("name", ["f3_ibm_be.sgy", "f3_missing_traces_ibm.sgy"])
def test_open_store_reads_a_store_written_by_mdio(name, mdio_written):
    source = open_segy(DATA / name)
    ds = open_store(mdio_written[name])
    assert ds.attrs["store_format"] == "mdio"
    assert ds.attrs["geometry"] == "poststack3d"
    assert ds["amplitude"].dims == ("inline", "crossline", "time")
    assert ds["amplitude"].dtype == np.float32
    mask = source["trace_mask"].values
    assert np.array_equal(ds["trace_mask"].values, mask)
    values = ds["amplitude"].values
    assert not np.isnan(values).any()  # MDIO's NaN dead traces read as 0
    assert not values[~mask].any()
    assert np.array_equal(values, source["amplitude"].values)
    assert np.array_equal(ds["inline"].values, source["inline"].values)
    assert np.array_equal(ds["crossline"].values, source["crossline"].values)
    # MDIO's time axis starts at 0 (it ignores the 4 ms delay); the spacing agrees
    assert np.allclose(np.diff(ds["time"].values), 4.0)
    assert ds.sizes["time"] == source.sizes["time"]
    for field in ["inline", "crossline", "cdp_x", "coordinate_scalar", "delay_recording_time"]:
        assert np.array_equal(
            ds["headers"].values[field][mask], source["headers"].values[field][mask]
        ), field
    if "raw_headers" in ds:
        raw = np.asarray(ds["raw_headers"].values)
        assert raw[mask].tobytes() == source["raw_headers"].values[mask].tobytes()
    assert xr.open_dataset(mdio_written[name], engine="promethium").attrs["store_format"] == "mdio"
