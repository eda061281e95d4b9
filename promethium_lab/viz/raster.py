"""Amplitude-honest reduction of 2-D windows to screen pixels.

Seismic traces swing around zero: averaging the samples that fall into a pixel (the
default of Datashader's regridding) cancels their amplitude, so a zoomed-out section looks
weaker than it is. Here a pixel keeps either the **signed max-abs** of its samples (the
sample of largest ``|x|``, with its sign; the default) or their **RMS**, never the mean.

Two engines give the same numbers where both apply:

- ``"numpy"`` (default): integral blocks of ``ceil(n / pixels)`` samples
  (:func:`promethium_lab.io.overview.block_reduce`), at most ``width × height`` pixels;
- ``"datashader"``: ``Canvas.raster`` with ``agg="max"`` and ``agg="min"`` (signed
  max-abs: the one of larger magnitude) or ``agg="mean"`` of the squares (RMS), exactly
  ``min(width, nx) × min(height, ny)`` pixels, also for non-integral ratios.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from promethium_lab.core.errors import PromethiumError
from promethium_lab.io.overview import block_reduce

__all__ = ["HOWS", "block_reduce", "reduce_window", "symmetric_clip"]

#: The reductions a view may use (never the mean).
HOWS = ("maxabs", "rms")


def _check(how: str) -> None:
    if how not in HOWS:
        raise PromethiumError.invalid(f"reduction {how!r} is not one of {HOWS}",
                                      hint="'maxabs' keeps peaks and sign; 'rms' shows energy")


def reduce_window(data: Any, width: int, height: int, how: str = "maxabs",
                  engine: str = "numpy") -> np.ndarray:
    """Reduce a 2-D ``(x, y)`` window to at most ``width × height`` pixels.

    Parameters
    ----------
    data : array_like
        2-D, ``(x, y)`` (e.g. ``(trace, time)``); NaNs are skipped.
    width, height : int
        Pixels along x and y (≥ 1). Axes already shorter are left as they are.
    how : {"maxabs", "rms"}
        Signed max-abs (default) or RMS per pixel.
    engine : {"numpy", "datashader"}
        Integral blocks (numpy) or Datashader's ``Canvas.raster``; Datashader needs at
        least 2 samples along each reduced axis and falls back to numpy otherwise.

    Returns
    -------
    numpy.ndarray
        ``(x pixels, y pixels)``.
    """
    _check(how)
    a = np.asarray(data)
    if a.ndim != 2:
        raise PromethiumError.invalid(f"a window is 2-D, this one has shape {a.shape}")
    width, height = max(1, int(width)), max(1, int(height))
    nx, ny = a.shape
    if engine == "datashader" and min(nx, ny) >= 2 and (nx > width or ny > height):
        return _datashader(a, min(width, nx), min(height, ny), how)
    if engine not in ("numpy", "datashader"):
        raise PromethiumError.invalid(f"engine {engine!r} is not 'numpy' or 'datashader'")
    return block_reduce(a, (-(-nx // width), -(-ny // height)), how)


def _datashader(a: np.ndarray, width: int, height: int, how: str) -> np.ndarray:
    """``Canvas.raster`` on index coordinates (so a resolution is always defined)."""
    import datashader as dsh
    import xarray as xr

    nx, ny = a.shape
    vals = a.astype(np.float64, copy=False)
    grid = xr.DataArray(vals.T, dims=("y", "x"),
                        coords={"y": np.arange(ny, dtype=float), "x": np.arange(nx, dtype=float)})
    canvas = dsh.Canvas(plot_width=width, plot_height=height,
                        x_range=(-0.5, nx - 0.5), y_range=(-0.5, ny - 0.5))
    if how == "rms":
        mean_sq = canvas.raster(grid * grid, agg="mean")
        return np.sqrt(np.asarray(mean_sq.values)).T
    hi = np.asarray(canvas.raster(grid, agg="max").values)
    lo = np.asarray(canvas.raster(grid, agg="min").values)
    return np.where(np.abs(hi) >= np.abs(lo), hi, lo).T


#: most samples :func:`symmetric_clip` looks at (an evenly strided subset beyond that)
CLIP_SAMPLES = 1 << 20


def symmetric_clip(values: Any, percentile: float = 99.0) -> float:
    """Symmetric colour clip: the ``percentile`` of ``|values|`` over the finite samples.

    The grey or red-white-blue map spans ``[-clip, clip]``, so zero is always mid-scale.
    Arrays larger than :data:`CLIP_SAMPLES` are subsampled with an even stride (a
    percentile needs no more). Falls back to the largest ``|value|``, then to 1, when the
    percentile is 0 (mostly silent data, all zeros, or no finite sample).
    """
    v = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    if v.size > CLIP_SAMPLES:
        v = v[:: -(-v.size // CLIP_SAMPLES)]
    v = v[np.isfinite(v)]
    if not v.size:
        return 1.0
    c = float(np.percentile(v, percentile))
    if not c > 0:
        c = float(v.max())
    return c if c > 0 and math.isfinite(c) else 1.0
