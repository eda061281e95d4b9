"""Baseline interpolation of missing traces: linear, nearest and band-limited (sinc).

These ignore the wavefield (no dips, no spectra): every time sample is interpolated across
the trace grid on its own. They are the floor any reconstruction method must beat and the
fallback where nothing better applies.

- ``linear``: piecewise-linear between the nearest live traces along the trace axis (2-D),
  or on the Delaunay triangulation of the live traces (3-D, ``scipy.interpolate``),
  nearest beyond the outermost live traces.
- ``nearest``: the nearest live trace (ties: the lower index).
- ``sinc``: band-limited interpolation, Whittaker–Shannon ``Σ d_i sinc((x - x_i) / h)``
  with ``h`` the mean live-trace spacing per trace dim, truncated by a Lanczos window of
  ``lobes`` lobes (Duchon, C. (1979), "Lanczos filtering in one and two dimensions",
  *J. Appl. Meteorology* 18) and normalised by the sum of the weights of the live traces
  (normalised convolution, Knutsson & Westin (1993)); linear where the weights vanish.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from promethium_lab.core.errors import PromethiumError
from promethium_lab.signal.reconstruct.windows import finish, survey_arrays

__all__ = ["linear", "linear_fill", "nearest", "nearest_fill", "sinc", "sinc_fill"]


def _load(arrays: Any) -> np.ndarray:
    data = arrays.data
    if hasattr(data, "compute"):
        data = data.compute()
    out = np.array(data, dtype=np.float64)
    out[~arrays.mask] = 0.0
    return out


def _grid_points(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.argwhere(mask), np.argwhere(~mask)


def linear_fill(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Linear interpolation of the absent traces of ``data`` ``(trace dims..., time)``."""
    out = np.array(data, dtype=np.float64)
    if mask.all():
        return out
    if mask.ndim == 1:
        n = mask.size
        idx = np.arange(n)
        live = np.flatnonzero(mask)
        left = np.maximum.accumulate(np.where(mask, idx, -1))
        right = np.flip(np.minimum.accumulate(np.flip(np.where(mask, idx, n))))
        left = np.where(left < 0, live[0], left)
        right = np.where(right >= n, live[-1], right)
        span = np.maximum(right - left, 1)
        w = np.clip((idx - left) / span, 0.0, 1.0)[:, None]
        miss = ~mask
        out[miss] = ((1 - w) * out[left] + w * out[right])[miss]
        return out
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    pts, query = _grid_points(mask)
    values = out[mask]
    if pts.shape[0] >= 3 and np.linalg.matrix_rank(pts - pts[0]) == 2:
        lin = LinearNDInterpolator(pts, values)(query)
    else:
        lin = np.full((query.shape[0], out.shape[-1]), np.nan)
    bad = np.isnan(lin).any(axis=1)
    if bad.any():
        lin[bad] = NearestNDInterpolator(pts, values)(query[bad])
    out[tuple(query.T)] = lin
    return out


def nearest_fill(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Nearest-live-trace interpolation of the absent traces."""
    out = np.array(data, dtype=np.float64)
    if mask.all():
        return out
    _, idx = ndimage.distance_transform_edt(~mask, return_indices=True)
    miss = ~mask
    src = tuple(i[miss] for i in idx)
    out[miss] = out[src]
    return out


def _mean_spacing(mask: np.ndarray, axis: int) -> float:
    m = np.moveaxis(mask, axis, -1).reshape(-1, mask.shape[axis])
    gaps = []
    for line in m:
        live = np.flatnonzero(line)
        if live.size > 1:
            gaps.append(np.diff(live))
    if not gaps:
        return 1.0
    return float(max(np.mean(np.concatenate(gaps)), 1.0))


def sinc_fill(data: np.ndarray, mask: np.ndarray, lobes: int = 3) -> np.ndarray:
    """Lanczos-windowed sinc (band-limited) interpolation of the absent traces."""
    out = np.array(data, dtype=np.float64)
    if mask.all():
        return out
    ntr = mask.ndim
    kernel = np.ones((1,) * ntr)
    for a in range(ntr):
        h = _mean_spacing(mask, a)
        half = int(np.ceil(lobes * h))
        x = np.arange(-half, half + 1) / h
        k1 = np.sinc(x) * np.sinc(x / lobes) * (np.abs(x) < lobes)
        shape = [1] * ntr
        shape[a] = k1.size
        kernel = kernel * k1.reshape(shape)
    live = mask.astype(np.float64)
    wsum = ndimage.correlate(live, kernel, mode="constant")
    kern_t = kernel[..., None]
    num = ndimage.correlate(out * live[..., None], kern_t, mode="constant")
    ok = np.abs(wsum) > 0.25 * float(np.abs(kernel).max())
    fallback = linear_fill(out, mask)
    est = np.where(ok[..., None], num / np.where(ok, wsum, 1.0)[..., None], fallback)
    return np.where(mask[..., None], out, est)


def _run(ds: xr.Dataset, name: str, fill: Any, params: dict[str, Any]) -> xr.Dataset:
    started = time.perf_counter()
    arrays = survey_arrays(ds)
    filled = fill(_load(arrays), arrays.mask, **params)
    return finish(ds, arrays, filled, name, params, started)


def linear(ds: xr.Dataset) -> xr.Dataset:
    """Fill absent traces by linear interpolation across the trace grid (baseline).

    Parameters
    ----------
    ds : xarray.Dataset
        Survey with ``amplitude`` and ``trace_mask`` (True = live); 1 or 2 trace dims.

    Returns
    -------
    xarray.Dataset
        The filled survey, ``attrs["reconstruction"]["method"] == "linear"``.
    """
    return _run(ds, "linear", linear_fill, {})


def nearest(ds: xr.Dataset) -> xr.Dataset:
    """Fill absent traces with a copy of the nearest live trace (baseline).

    Parameters
    ----------
    ds : xarray.Dataset
        Survey with ``amplitude`` and ``trace_mask`` (True = live); 1 or 2 trace dims.

    Returns
    -------
    xarray.Dataset
        The filled survey, ``attrs["reconstruction"]["method"] == "nearest"``.
    """
    return _run(ds, "nearest", nearest_fill, {})


def sinc(ds: xr.Dataset, lobes: int = 3) -> xr.Dataset:
    """Fill absent traces by Lanczos-windowed sinc (band-limited) interpolation (baseline).

    Parameters
    ----------
    ds : xarray.Dataset
        Survey with ``amplitude`` and ``trace_mask`` (True = live); 1 or 2 trace dims.
    lobes : int, default 3
        Lanczos window half-width in sinc lobes (1 to 8).

    Returns
    -------
    xarray.Dataset
        The filled survey, ``attrs["reconstruction"]["method"] == "sinc"``.
    """
    if isinstance(lobes, bool) or not isinstance(lobes, (int, np.integer)) or not 1 <= lobes <= 8:
        raise PromethiumError.invalid(f"lobes must be an integer from 1 to 8, got {lobes!r}")
    return _run(ds, "sinc", sinc_fill, {"lobes": int(lobes)})
