"""Amplitude-honest reduction: signed max-abs and RMS, never the mean (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

from promethium_lab.core.errors import PromethiumError
from promethium_lab.io.overview import block_reduce
from promethium_lab.viz.raster import reduce_window


def brute(a: np.ndarray, f: tuple[int, ...], how: str) -> np.ndarray:
    """Block reduction one block at a time (the definition)."""
    out = np.empty([-(-n // k) for n, k in zip(a.shape, f)])
    for idx in np.ndindex(*out.shape):
        blk = a[tuple(slice(i * k, (i + 1) * k) for i, k in zip(idx, f))].ravel()
        blk = blk[np.isfinite(blk)]
        if not blk.size:
            out[idx] = np.nan
        elif how == "maxabs":
            peak = np.abs(blk).max()
            out[idx] = blk[np.abs(blk) == peak].max()  # ties: the positive one
        else:
            out[idx] = np.sqrt(np.mean(blk.astype(np.float64) ** 2))
    return out


@pytest.mark.parametrize("how", ["maxabs", "rms"])
@pytest.mark.parametrize(("shape", "factors"), [
    ((13, 17), (3, 4)), ((5, 7, 9), (1, 2, 3)), ((40, 30), (1, 1)), ((1, 50), (1, 7)),
    ((12, 60), (5, 20)), ((64, 64), (16, 1)),
])
def test_block_reduce_is_the_blockwise_definition(shape, factors, how):
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal(shape).astype("f4")
    a.flat[::7] = np.nan
    a[..., :2] = np.nan  # an all-NaN block where the last factor is ≤ 2
    got = block_reduce(a, factors, how)
    np.testing.assert_allclose(got, brute(a, factors, how), rtol=1e-5, equal_nan=True)


def test_signed_maxabs_keeps_sign_and_peak_where_the_mean_cancels():
    # a zero-mean wiggle: the mean of each block is 0, max-abs keeps the trough's sign
    a = np.tile(np.array([1.0, -3.0, 2.0, 0.0], dtype="f4"), (2, 4))
    assert np.all(block_reduce(a, (2, 4), "maxabs") == -3.0)
    np.testing.assert_allclose(block_reduce(a, (2, 4), "rms"), np.sqrt(14 / 4))
    assert block_reduce(np.array([[2.0, -2.0]]), (1, 2))[0, 0] == 2.0  # tie: positive


@pytest.mark.parametrize("how", ["maxabs", "rms"])
def test_datashader_and_numpy_agree_with_the_numpy_reference(how):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((120, 90)).astype("f4")
    a[10, 5] = np.nan
    a[40:43, :] = np.nan  # absent traces
    ref = brute(a, (6, 9), how)
    np.testing.assert_allclose(reduce_window(a, 20, 10, how), ref, rtol=1e-5, equal_nan=True)
    np.testing.assert_allclose(reduce_window(a, 20, 10, how, engine="datashader"), ref,
                               rtol=1e-5, equal_nan=True)


def test_datashader_non_integral_keeps_exact_size_and_the_peak():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((101, 77)).astype("f4")
    a[50, 30] = -25.0
    out = reduce_window(a, 30, 20, engine="datashader")
    assert out.shape == (30, 20)
    assert np.nanmin(out) == -25.0  # the peak survives with its sign (a mean would not)


def test_degenerate_windows():
    one_trace = np.random.default_rng(0).standard_normal((1, 12684)).astype("f4")
    for engine in ("numpy", "datashader"):
        out = reduce_window(one_trace, 800, 500, engine=engine)
        assert out.shape == (1, 488)  # 26 samples per pixel, ≤ 500 pixels
        assert np.abs(out).max() == np.abs(one_trace).max()
    assert reduce_window(np.full((3, 2), np.nan), 10, 10).shape == (3, 2)
    assert np.all(reduce_window(np.full((30, 20), 5.0), 4, 4) == 5.0)


def test_the_mean_is_refused():
    with pytest.raises(PromethiumError, match=r"never|one of"):
        reduce_window(np.zeros((4, 4)), 2, 2, how="mean")
