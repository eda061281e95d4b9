"""choose_chunks: square-ish tiles for long 2-D lines, thin and long chunks otherwise; a
tiled line still ingests, reads and exports byte for byte."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _segy_factory import segy_bytes, write

from promethium_lab.io.store import choose_chunks, open_store
from promethium_lab.workflows.export import export
from promethium_lab.workflows.ingest import ingest


@pytest.mark.parametrize(("shape", "chunks"), [
    ((30000, 4000), (512, 500)),   # a long 2-D line: ~1 MB tiles, time cut evenly
    ((23716, 1000), (512, 500)),
    ((100, 4000), (100, 2000)),    # a few traces: all of them, time in halves
    ((600, 200), (128, 200)),      # short traces: whole traces, as before
    ((1, 12684), (1, 12684)),      # one trace
    ((3, 8_640_000), (3, 16384)),  # records longer than a chunk (waveforms): as before
    ((50, 8_640_000), (16, 16384)),
    ((200, 150, 300), (16, 16, 300)),  # grids: thin in the trace dims, whole traces
    ((4000,), (4000,)),
])
def test_chunk_shapes(shape, chunks):
    assert choose_chunks(shape, 1.0) == chunks


@pytest.mark.parametrize("nt", [513, 1000, 1500, 4000, 9999, 16384])
def test_tiles_fill_the_budget_and_cut_time_evenly(nt):
    width, ct = choose_chunks((50_000, nt), 1.0)
    assert width == 512 and 256 < ct <= 512  # at most 1 MB of float32
    pieces = -(-nt // ct)
    assert pieces * ct - nt < pieces  # the last time chunk is as long as the others (±1)


def test_a_tiled_line_round_trips_byte_for_byte(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHIUM_CHUNK_MB", "0.02")  # tiles of 64 traces x 67 samples
    rng = np.random.default_rng(5)
    samples = rng.standard_normal((300, 200)).astype(">f4")
    src = write(tmp_path / "line.sgy", segy_bytes(samples, fmt=5, traces={
        1: ("i4", np.arange(1, 301)), 21: ("i4", np.arange(1001, 1301))}))
    store = ingest(src, tmp_path / "line.zarr", geometry="irregular", progress=False)
    meta = json.loads((store / "amplitude" / "zarr.json").read_text())
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [64, 67]
    ds = open_store(store)
    np.testing.assert_array_equal(ds["amplitude"].values, samples.astype("f4"))
    out = export(store, tmp_path / "back.sgy", progress=False)
    assert out.read_bytes() == src.read_bytes()
