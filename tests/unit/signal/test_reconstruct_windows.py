"""Windows with a tapered partition of unity, and the survey plumbing of the reconstruction."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.signal.reconstruct.windows import (
    BlockGrid,
    apply_windowed,
    block_extent,
    finish,
    resolve_windows,
    survey_arrays,
    taper_weights,
    window_starts,
)
from promethium_lab.signal.synthetic import make_survey, synthetic_section


def _raises_param(fn, *args, **kwargs) -> PromethiumError:
    with pytest.raises(PromethiumError) as info:
        fn(*args, **kwargs)
    assert info.value.code is ErrorCode.INVALID_PARAMETER
    return info.value


@pytest.mark.parametrize("n,size,overlap", [(100, 32, 8), (64, 64, 16), (65, 20, 5), (7, 3, 1)])
def test_window_starts_cover_everything(n: int, size: int, overlap: int) -> None:
    starts = window_starts(n, size, overlap)
    covered = np.zeros(n, dtype=bool)
    for s in starts:
        covered[s: s + size] = True
    assert covered.all()
    assert starts[0] == 0 and starts[-1] + min(size, n) == n


@pytest.mark.parametrize("start,stop", [(0, 10), (10, 30), (45, 60), (0, 60), (59, 60)])
def test_block_extent_holds_every_window_touching_the_block(start: int, stop: int) -> None:
    lo, hi = block_extent(60, 16, 4, start, stop)
    for s in window_starts(60, 16, 4):
        if s < stop and s + 16 > start:
            assert lo <= s and s + 16 <= hi
    assert lo <= start and stop <= hi


def test_blocks_with_a_grid_reproduce_the_whole_survey() -> None:
    rng = np.random.default_rng(3)
    data = rng.standard_normal((50, 17, 40))
    mask = rng.random((50, 17)) > 0.3
    sizes, overlaps = [12, 8, 16], [3, 2, 4]

    def kernel(b: np.ndarray, m: np.ndarray) -> np.ndarray:  # depends on the whole window
        return b + b.mean() + m.mean()

    whole = apply_windowed(kernel, data, mask, sizes, overlaps)
    out = np.empty_like(whole)
    for a, b in [(0, 7), (7, 23), (23, 50)]:
        lo, hi = block_extent(50, 12, 3, a, b)
        grid = BlockGrid(origin=(lo, 0), shape=(50, 17), core=(slice(a - lo, b - lo),
                                                               slice(0, 17)))
        part = apply_windowed(kernel, data[lo:hi], mask[lo:hi], sizes, overlaps, grid=grid)
        out[a:b] = part[a - lo:b - lo]
    np.testing.assert_allclose(out, whole, rtol=0, atol=1e-12)
    # a block cut without the windows that reach into it is refused, not blended wrong
    grid = BlockGrid(origin=(10, 0), shape=(50, 17), core=(slice(0, 10), slice(0, 17)))
    _raises_param(apply_windowed, kernel, data[10:20], mask[10:20], sizes, overlaps,
                  grid=grid)


def test_taper_weights_positive_and_flat_at_data_edges() -> None:
    w_first = taper_weights(100, 0, 32, 8)
    w_mid = taper_weights(100, 24, 32, 8)
    assert w_first[0] == 1.0 and w_first[-1] < 0.1
    assert (w_mid > 0).all() and w_mid[0] < 0.1 and w_mid[16] == 1.0


@pytest.mark.parametrize("sizes,overlaps", [([16, 40], [4, 10]), ([9, 17], [3, 0]),
                                            ([64, 128], [0, 0])])
def test_identity_kernel_is_a_partition_of_unity(sizes: list[int], overlaps: list[int]) -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((37, 90))
    mask = np.ones(37, dtype=bool)
    sizes = [min(s, n) for s, n in zip(sizes, data.shape)]
    out = apply_windowed(lambda b, m: b, data, mask, sizes, overlaps, skip_full=False)
    np.testing.assert_allclose(out, data, rtol=0, atol=1e-12)


def test_identity_kernel_3d_and_threads_match() -> None:
    rng = np.random.default_rng(1)
    data = rng.standard_normal((13, 11, 40))
    mask = rng.random((13, 11)) > 0.3
    one = apply_windowed(lambda b, m: b * 2.0, data, mask, [6, 5, 16], [2, 2, 4])
    two = apply_windowed(lambda b, m: b * 2.0, data, mask, [6, 5, 16], [2, 2, 4], n_jobs=3)
    np.testing.assert_array_equal(one, two)
    expect = np.where(mask[..., None], data * 2.0, 0.0)
    np.testing.assert_allclose(one, expect, atol=1e-12)


def test_windows_larger_than_the_data_are_clipped() -> None:
    sizes, overlaps = resolve_windows((40, 100), ("trace", "time"), (500, None), None,
                                      [32, None])
    assert sizes == [40, 100] and overlaps == [0, 0]
    sizes, overlaps = resolve_windows((40, 100), ("trace", "time"), 1000, None, [32, 64])
    assert sizes == [40, 100] and overlaps == [0, 0]
    sizes, overlaps = resolve_windows((40, 100), ("trace", "time"), {"trace": 20}, None,
                                      [32, 64])
    assert sizes == [20, 64] and overlaps == [5, 16]
    sizes, _ = resolve_windows((40, 100), ("trace", "time"), [16], [4], [32, None])
    assert sizes == [16, 100]


@pytest.mark.parametrize("window,overlap", [
    (1, None), ((16, 0), None), ((16, 32), (16, 4)), ((16, 32), (-1, 4)), ("big", None),
    ({"offset": 8}, None), ((8, 8, 8), None), ((2.5, 32), None),
])
def test_bad_windows_are_invalid_parameters(window, overlap) -> None:
    _raises_param(resolve_windows, (40, 100), ("trace", "time"), window, overlap, [32, 64])


def test_survey_arrays_checks_the_survey() -> None:
    ds = synthetic_section(n_traces=8, n_samples=32)
    arrays = survey_arrays(ds)
    assert arrays.trace_dims == ("trace",) and arrays.time_dim == "time"
    assert arrays.dt_ms == 4.0 and arrays.mask.all()
    _raises_param(survey_arrays, ds["amplitude"])
    _raises_param(survey_arrays, ds.drop_vars("trace_mask"))
    dead = ds.copy()
    dead["trace_mask"] = xr.zeros_like(ds["trace_mask"])
    err = _raises_param(survey_arrays, dead)
    assert "no live trace" in err.message
    four = make_survey(np.zeros((2, 3, 4, 16)), 4.0, dims=("a", "b", "c", "time"))
    _raises_param(survey_arrays, four)


def test_time_need_not_be_last() -> None:
    ds = synthetic_section(n_traces=8, n_samples=32)
    flipped = ds.transpose("time", "trace")
    arrays = survey_arrays(flipped)
    assert arrays.shape == (8, 32)


def test_finish_keeps_live_traces_and_records() -> None:
    ds = synthetic_section(n_traces=8, n_samples=32)
    mask = np.array([True, False] * 4)
    dec = ds.copy()
    dec["trace_mask"] = ("trace", mask)
    dec["amplitude"] = dec["amplitude"].where(dec["trace_mask"], 0.0)
    arrays = survey_arrays(dec)
    filled = np.full(arrays.shape, 7.0)
    out = finish(dec, arrays, filled, "test", {"window": (3, 4), "x": np.float32(2)}, 0.0)
    amp = out["amplitude"].values
    np.testing.assert_array_equal(amp[mask], dec["amplitude"].values[mask])
    assert (amp[~mask] == 7.0).all()
    assert out["trace_mask"].values.all()
    np.testing.assert_array_equal(out["input_trace_mask"].values, mask)
    rec = out.attrs["reconstruction"]
    assert rec["method"] == "test" and rec["n_filled"] == 4
    assert rec["params"] == {"window": [3, 4], "x": 2.0}
    assert "reconstruction" not in dec.attrs
