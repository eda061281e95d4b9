"""Decimation: exactly the asked fraction, reproducible, recorded, on 2-D and 3-D grids."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.signal import decimate
from promethium_lab.signal.decimate import removed_mask
from promethium_lab.signal.synthetic import make_survey


def raises_invalid():
    return pytest.raises(PromethiumError, match=ErrorCode.INVALID_PARAMETER.value)


def check_consistent(original: xr.Dataset, out: xr.Dataset) -> np.ndarray:
    """Removed traces are masked and zero, the others untouched; returns the removed cells."""
    before = original["trace_mask"].values
    after = out["trace_mask"].values
    removed = before & ~after
    assert not (after & ~before).any()  # nothing revived
    amp = out["amplitude"].values
    assert not amp[removed].any()
    np.testing.assert_array_equal(amp[after], original["amplitude"].values[after])
    assert out["amplitude"].dtype == original["amplitude"].dtype
    assert out.attrs["decimation"]["n_removed"] == int(removed.sum())
    json.dumps(out.attrs["decimation"])  # storable in Zarr attrs
    return removed


@pytest.mark.parametrize("fraction, expected", [(0.5, 32), (0.25, 16), (0.1, 6), (0.9, 58)])
def test_random_removes_exactly_the_rounded_fraction(section, fraction, expected):
    out = decimate(section, "random", fraction, seed=7)
    removed = check_consistent(section, out)
    assert removed.sum() == expected  # round(fraction * 64), half up
    rec = out.attrs["decimation"]
    assert rec["pattern"] == "random" and rec["seed"] == 7 and rec["fraction"] == fraction
    np.testing.assert_array_equal(np.flatnonzero(removed), rec["removed_flat_index"])


def test_random_is_reproducible_by_seed(section):
    a = decimate(section, "random", 0.5, seed=3)
    b = decimate(section, "random", 0.5, seed=3)
    c = decimate(section, "random", 0.5, seed=4)
    xr.testing.assert_identical(a, b)
    assert not np.array_equal(a["trace_mask"], c["trace_mask"])
    assert section["trace_mask"].all()  # input untouched
    assert "decimation" not in section.attrs


def test_random_counts_live_traces_only(holey_section):
    out = decimate(holey_section, "random", 0.5, seed=0)
    removed = check_consistent(holey_section, out)
    assert removed.sum() == 31  # 61 live traces: 30.5 rounds half up
    assert out["trace_mask"].sum() == 61 - 31


def test_random_on_a_cube_draws_over_all_cells(cube):
    out = decimate(cube, "random", 0.3, seed=1)
    removed = check_consistent(cube, out)
    assert removed.shape == (16, 24)
    assert removed.sum() == 115  # 0.3 * 384 = 115.2
    # scattered over both dims, not whole lines
    assert 0 < removed.sum(axis=0).max() < 16 and 0 < removed.sum(axis=1).max() < 24


def test_regular_removes_every_other_trace(section):
    out = decimate(section, "regular", 0.5)
    removed = check_consistent(section, out)
    np.testing.assert_array_equal(np.flatnonzero(removed), np.arange(1, 64, 2))
    assert out.attrs["decimation"]["removed_index"] == list(range(1, 64, 2))


def test_regular_fraction_spreads_removals_evenly(section):
    out = decimate(section, "regular", 0.25)
    removed = np.flatnonzero(check_consistent(section, out))
    assert removed.size == 16
    np.testing.assert_array_equal(np.diff(removed), 4)


def test_regular_on_a_cube_removes_whole_lines_along_dim(cube):
    out = decimate(cube, "regular", 0.5, dim="inline")
    removed = check_consistent(cube, out)
    np.testing.assert_array_equal(removed.all(axis=1), np.arange(16) % 2 == 1)
    assert not removed[::2].any()
    assert out.attrs["decimation"]["removed_labels"] == list(range(101, 116, 2))
    default = decimate(cube, "regular", 0.5)  # the last trace dim: crosslines
    assert check_consistent(cube, default).all(axis=0).sum() == 12


def test_gap_is_one_contiguous_block_inside_the_line(section):
    out = decimate(section, "gap", 0.5, gap_width=10, seed=2)
    removed = np.flatnonzero(check_consistent(section, out))
    assert removed.size == 10
    np.testing.assert_array_equal(np.diff(removed), 1)
    assert 0 < removed[0] and removed[-1] < 63  # live traces on both sides
    rec = out.attrs["decimation"]
    assert rec["gap_start"] == removed[0] and rec["gap_width"] == 10
    by_fraction = decimate(section, "gap", 0.25, seed=2)
    assert (~by_fraction["trace_mask"].values).sum() == 16
    other = decimate(section, "gap", 0.25, seed=5)
    assert other.attrs["decimation"]["gap_start"] != by_fraction.attrs["decimation"]["gap_start"]


def test_dask_backed_amplitude_stays_lazy_and_equal(section):
    lazy = decimate(section.chunk({"trace": 16}), "random", 0.5, seed=1)
    eager = decimate(section, "random", 0.5, seed=1)
    assert lazy["amplitude"].chunks is not None
    np.testing.assert_array_equal(lazy["amplitude"].values, eager["amplitude"].values)
    np.testing.assert_array_equal(removed_mask(section, lazy), ~eager["trace_mask"].values)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5, np.nan, True, "half"])
def test_fraction_outside_the_open_interval(section, fraction):
    with raises_invalid():
        decimate(section, "random", fraction)


@pytest.mark.parametrize("kwargs", [
    {"pattern": "jittered"},
    {"pattern": "regular", "dim": "inline"},
    {"pattern": "gap", "gap_width": 0},
    {"pattern": "gap", "gap_width": 64},
    {"pattern": "gap", "gap_width": 2.5},
    {"pattern": "regular", "gap_width": 4},
    {"pattern": "random", "fraction": 0.005},  # rounds to no trace
])
def test_impossible_parameters(section, kwargs):
    kwargs = {"fraction": 0.5, **kwargs}
    with raises_invalid():
        decimate(section, **kwargs)


def test_result_without_live_traces_is_refused():
    ds = make_survey(np.ones((4, 10)), 4.0, mask=np.array([False, True, False, False]))
    with raises_invalid() as excinfo:
        decimate(ds, "random", 0.6)  # round(0.6 * 1 live) = 1: nothing left
    assert "no live trace" in excinfo.value.message
    with raises_invalid():
        decimate(ds, "regular", 0.5)  # removes columns 1 and 3: the live one goes


def test_not_a_dataset():
    with raises_invalid():
        decimate(np.zeros((4, 10)), "random", 0.5)  # type: ignore[arg-type]
