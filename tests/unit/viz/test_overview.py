"""Overview pyramid and clip percentiles kept in the store (issue 13)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from _viz_helpers import masked, survey_2d

from promethium_lab.io.overview import (
    ATTR,
    block_reduce,
    build_overview,
    read_overview,
    write_overview,
)
from promethium_lab.io.store import is_complete_store, open_store, write_store


def test_levels_equal_a_numpy_block_reduction():
    ds = survey_2d(1100, 700, dead=(0, 500, 501))
    ov = build_overview(ds["amplitude"], ds["trace_mask"], max_size=64)
    assert ov.dims == ("trace", "time") and ov.factor == 4
    full = masked(ds)
    assert [lv.shape for lv in ov.levels] == [(275, 175), (69, 44), (18, 11)]
    for k, lv in enumerate(ov.levels, start=1):
        np.testing.assert_array_equal(np.asarray(lv), block_reduce(full, (4**k, 4**k)))


def test_other_trace_dims_are_kept_and_gaps_never_win():
    rng = np.random.default_rng(0)
    amp = rng.standard_normal((3, 40, 36)).astype("f4")
    gaps = np.ones(amp.shape, bool)
    gaps[:, :, 10:20] = False
    amp[~gaps] = 1e6  # garbage in the gaps
    ov = build_overview(amp, sample_mask=gaps, max_size=8, dims=("shot", "channel", "time"))
    assert [lv.shape for lv in ov.levels] == [(3, 10, 9), (3, 3, 3)]
    expect = np.where(gaps, amp, np.nan)
    np.testing.assert_array_equal(np.asarray(ov.levels[1]), block_reduce(expect, (1, 16, 16)))
    assert ov.clip[99.9] < 10


def test_clip_percentiles_of_live_samples():
    ds = survey_2d(50, 80, dead=(1, 2))
    ov = build_overview(ds["amplitude"], ds["trace_mask"])
    assert ov.levels == []  # small: no levels, still percentiles
    live = np.abs(ds["amplitude"].values[ds["trace_mask"].values])
    for p in (90, 99, 99.9):
        assert ov.clip[p] == pytest.approx(np.percentile(live, p))
    assert ov.clip_value(99.0) == pytest.approx(ov.clip[99.0])


def test_the_sample_is_bounded():
    import dask.array as da

    amp = da.random.default_rng(1).standard_normal((400, 2000), chunks=(16, 2000))
    ov = build_overview(amp, sample_mb=1.0, max_size=4096)
    # 1 MB of 128 kB chunks: 8 chunks, evenly spread; the percentile is still right
    assert ov.clip[90.0] == pytest.approx(1.645, rel=0.05)


def test_write_then_read_on_a_complete_store(tmp_path):
    path = tmp_path / "s.zarr"
    ds = survey_2d(900, 600, dead=(3,))
    write_store(ds, path, progress=False)
    first = read_overview(path)  # write_store leaves one: clip only, 900 x 600 is small
    assert first is not None and first.levels == [] and 99.0 in first.clip
    ov = write_overview(path, max_size=128)
    assert is_complete_store(path)
    back = read_overview(path)
    assert back is not None and back.clip == pytest.approx(ov.clip)
    assert [lv.shape for lv in back.levels] == [(225, 150), (57, 38)]
    np.testing.assert_array_equal(back.levels[1][:], block_reduce(masked(ds), (16, 16)))
    meta = json.loads((path / "zarr.json").read_text())
    assert "overview/level_2" in meta["consolidated_metadata"]["metadata"]
    reopened = open_store(path)  # the overview does not show up as survey variables
    assert set(reopened.data_vars) == set(ds.data_vars)


def test_written_before_consolidation_keeps_the_store_atomic(tmp_path):
    done = tmp_path / "done.zarr"
    write_store(survey_2d(700, 300), done, progress=False)
    partial = tmp_path / "s.zarr.partial"  # as write_store leaves it before _finish
    shutil.copytree(done, partial)
    meta = json.loads((partial / "zarr.json").read_text())
    meta.pop("consolidated_metadata")
    (partial / "zarr.json").write_text(json.dumps(meta))
    write_overview(partial, max_size=128)
    meta = json.loads((partial / "zarr.json").read_text())
    assert "consolidated_metadata" not in meta  # left for the writer, which finishes last
    assert ATTR in meta["attributes"]
    assert read_overview(partial) is not None


def test_real_store(tmp_path):
    import os

    from promethium_lab.workflows.ingest import ingest

    src = os.path.join(os.environ["PROMETHIUM_TEST_DATA"], "f3_missing_traces_ibm.sgy")
    path = ingest(src, tmp_path / "f3.zarr", progress=False)
    ov = write_overview(path)
    ds = open_store(path)
    live = ds["trace_mask"].values
    values = np.abs(ds["amplitude"].values[live])
    assert ov.levels == [] and read_overview(path).clip[99.0] == pytest.approx(
        np.percentile(values, 99.0))


def test_the_ingest_hook_before_finish(tmp_path):
    """``write_store`` writes the overview into the ``.partial`` store just before it
    finishes: the finished store is complete, consolidated last, and has its overview."""
    path = write_store(survey_2d(5000, 300), tmp_path / "s.zarr", progress=False)
    assert is_complete_store(path)
    ov = read_overview(path)
    assert ov is not None and [lv.shape for lv in ov.levels] == [(1250, 75), (313, 19)]
    meta = json.loads((path / "zarr.json").read_text())
    assert meta["attributes"]["promethium"]["complete"] and ATTR in meta["attributes"]
    assert "overview/level_1" in meta["consolidated_metadata"]["metadata"]
