"""Shared plumbing of the signal layer: survey in, survey out, numpy or dask inside.

Every public operator of :mod:`promethium_lab.signal` follows one pattern:

1. :func:`split` takes the survey (an ``xarray.Dataset`` with ``amplitude`` and
   ``trace_mask``, see ``docs/data-model.md``) or a bare ``amplitude`` DataArray and
   returns the amplitude and the live-trace mask (``None`` for a bare DataArray: every
   trace counts as live);
2. a numpy kernel runs on the samples, through :func:`apply_along_time` for per-trace
   operators (``xarray.apply_ufunc(..., dask="parallelized")`` with ``time`` as one
   chunk), :func:`apply_over` for operators that need whole ``(trace dim, time)`` panels
   (e.g. 2-D FFTs), or :func:`apply_overlap` for local spatial stencils
   (``dask.array.map_overlap``; the halo makes chunked results equal to unchunked ones);
3. :func:`merge` puts the new amplitude back: attrs kept, absent traces set to 0.

numpy-backed input gives numpy-backed output; dask-backed input stays lazy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.errors import PromethiumError

__all__ = [
    "TIME",
    "Survey",
    "apply_along_time",
    "apply_mask",
    "apply_over",
    "apply_overlap",
    "as_amplitude",
    "is_dask",
    "merge",
    "sample_interval_ms",
    "split",
    "trace_dims",
]

#: Name of the sample dim (always last in our stores, coordinate in ms).
TIME = "time"

Survey = xr.Dataset | xr.DataArray


def is_dask(obj: xr.DataArray | xr.Variable) -> bool:
    """True when ``obj`` is backed by a dask array."""
    return getattr(obj, "chunks", None) is not None


def split(obj: Survey, *, need_time: bool = True) -> tuple[xr.DataArray, xr.DataArray | None]:
    """The ``amplitude`` and the ``trace_mask`` (True = live) of a survey.

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
        A survey Dataset, or its amplitude DataArray (then the mask is ``None``).
    need_time : bool, default True
        Require a ``time`` dim.

    Returns
    -------
    amplitude : xarray.DataArray
    mask : xarray.DataArray or None
        Boolean over the trace dims, or ``None`` when there is none (all traces live).
    """
    if isinstance(obj, xr.Dataset):
        if "amplitude" not in obj:
            raise PromethiumError.invalid("the dataset has no 'amplitude' variable",
                                          hint="pass a survey Dataset (docs/data-model.md)")
        amp = obj["amplitude"]
        mask = obj["trace_mask"].astype(bool) if "trace_mask" in obj else None
    elif isinstance(obj, xr.DataArray):
        amp, mask = obj, None
    else:
        raise PromethiumError.invalid(
            f"expected an xarray Dataset or DataArray, got {type(obj).__name__}",
            hint="wrap numpy arrays with promethium_lab.signal.synthetic"
                 ".make_survey")
    if need_time and TIME not in amp.dims:
        raise PromethiumError.invalid(f"the amplitude has no {TIME!r} dim (dims: {list(amp.dims)})",
                                      hint="the sample dim must be named 'time' (in ms)")
    if mask is not None:
        if set(mask.dims) != {d for d in amp.dims if d != TIME}:
            raise PromethiumError.invalid(
                f"trace_mask dims {list(mask.dims)} are not trace dims of "
                f"amplitude {list(amp.dims)}")
    return amp, mask


def as_amplitude(obj: Any, name: str = "array") -> xr.DataArray:
    """The amplitude of a survey, a DataArray as is, or a numpy array wrapped (dims ``dim_i``)."""
    if isinstance(obj, xr.Dataset):
        return split(obj, need_time=False)[0]
    if isinstance(obj, xr.DataArray):
        return obj
    try:
        arr = np.asarray(obj)
    except Exception as exc:  # pragma: no cover - defensive
        raise PromethiumError.invalid(f"{name} is not array-like: {type(obj).__name__}") from exc
    if arr.dtype.kind not in "biuf":
        raise PromethiumError.invalid(f"{name} must be numeric, got dtype {arr.dtype}")
    return xr.DataArray(arr)


def trace_dims(amp: xr.DataArray) -> list[str]:
    """The dims of ``amp`` other than ``time``, in order."""
    return [str(d) for d in amp.dims if d != TIME]


def sample_interval_ms(obj: Survey) -> float:
    """The sample interval in ms, from the ``time`` coordinate (else ``sample_interval_us``).

    Raises ``INVALID_PARAMETER`` when the time axis is irregular or unknown.
    """
    amp = obj["amplitude"] if isinstance(obj, xr.Dataset) and "amplitude" in obj else obj
    if TIME in amp.coords and amp.sizes.get(TIME, 0) > 1:
        t = np.asarray(amp[TIME].values, dtype=np.float64)
        steps = np.diff(t)
        dt = float(np.median(steps))
        if not np.isfinite(dt) or dt <= 0 or np.max(np.abs(steps - dt)) > 1e-6 * max(dt, 1.0):
            raise PromethiumError.invalid(
                "the time coordinate is not regularly sampled and increasing",
                hint="resample to a regular time axis (ms) first")
        return dt
    us = obj.attrs.get("sample_interval_us") if hasattr(obj, "attrs") else None
    if us is not None and float(us) > 0:
        return float(us) / 1000.0
    raise PromethiumError.invalid("cannot tell the sample interval",
                                  hint="give the data a 'time' coordinate in ms")


def apply_mask(amp: xr.DataArray, mask: xr.DataArray | None) -> xr.DataArray:
    """``amp`` with absent traces (``mask`` False) set to 0 (dtype kept)."""
    if mask is None:
        return amp
    out = amp.where(mask, amp.dtype.type(0))
    out.attrs = dict(amp.attrs)
    return out.transpose(*amp.dims)


def merge(obj: Survey, amp: xr.DataArray, mask: xr.DataArray | None = None) -> Survey:
    """Put a new amplitude back into the survey it came from.

    Absent traces (``mask`` False) are set to 0, the amplitude's attrs and name and the
    Dataset's attrs, coordinates and other variables are kept.
    """
    old = obj["amplitude"] if isinstance(obj, xr.Dataset) else obj
    amp = apply_mask(amp, mask).transpose(*old.dims)
    amp.attrs = dict(old.attrs)
    if isinstance(obj, xr.Dataset):
        out = obj.copy()
        out["amplitude"] = amp
        out.attrs = dict(obj.attrs)
        return out
    amp.name = old.name
    return amp


def _rechunk_whole(amp: xr.DataArray, dims: Sequence[str]) -> xr.DataArray:
    if not is_dask(amp):
        return amp
    chunks = dict(zip(amp.dims, amp.chunks))
    need = {d: -1 for d in dims if len(chunks[d]) > 1}
    return amp.chunk(need) if need else amp


def apply_along_time(
    amp: xr.DataArray,
    func: Callable[..., np.ndarray],
    *,
    kwargs: dict[str, Any] | None = None,
    dtype: Any = np.float32,
) -> xr.DataArray:
    """Apply a per-trace kernel ``func(x, **kwargs)`` along ``time``.

    ``func`` receives an ndarray whose last axis is ``time`` (any leading shape) and
    returns one of the same shape. Dask-backed input is rechunked to one ``time`` chunk
    and processed chunk by chunk with ``xarray.apply_ufunc(dask="parallelized")``.
    """
    amp = _rechunk_whole(amp, [TIME])
    out = xr.apply_ufunc(
        func, amp,
        input_core_dims=[[TIME]], output_core_dims=[[TIME]],
        dask="parallelized", output_dtypes=[dtype], kwargs=kwargs or {}, keep_attrs=True,
    )
    return out.transpose(*amp.dims).astype(dtype, copy=False)


def apply_over(
    amp: xr.DataArray,
    func: Callable[..., np.ndarray],
    dims: Sequence[str],
    *,
    kwargs: dict[str, Any] | None = None,
    dtype: Any = np.float32,
) -> xr.DataArray:
    """Apply a kernel to whole panels over ``dims`` (e.g. ``(trace dim, time)``).

    ``func`` receives an ndarray whose last ``len(dims)`` axes are ``dims`` in that order
    and returns one of the same shape. Dask-backed input is rechunked so that ``dims``
    are single chunks; the other dims keep their chunks and are processed in parallel.
    """
    dims = [str(d) for d in dims]
    amp = _rechunk_whole(amp, dims)
    out = xr.apply_ufunc(
        func, amp,
        input_core_dims=[dims], output_core_dims=[dims],
        dask="parallelized", output_dtypes=[dtype], kwargs=kwargs or {}, keep_attrs=True,
    )
    return out.transpose(*amp.dims).astype(dtype, copy=False)


def apply_overlap(
    func: Callable[..., np.ndarray],
    *arrays: xr.DataArray,
    depth: dict[str, int],
    boundary: str = "reflect",
    dtype: Any = np.float32,
) -> xr.DataArray:
    """Apply a local (stencil) kernel with a halo: ``dask.array.map_overlap``.

    ``func(*blocks)`` maps ndarrays with the axes of ``arrays[0]`` to one array of the
    same shape, and its value at a sample depends only on samples within ``depth[dim]``
    of it along each dim. All ``arrays`` share dims and shape. For numpy-backed input
    ``func`` runs once on the whole arrays; for dask-backed input each chunk is extended
    by the halo (``boundary`` at the array edges, as in ``map_overlap``), processed and
    trimmed, so the result equals the unchunked one wherever ``func`` treats the array
    edges as ``boundary`` does (and everywhere at least ``depth`` from the edges).
    """
    first = arrays[0]
    arrays = tuple(a.transpose(*first.dims) for a in arrays)
    if any(a.shape != first.shape for a in arrays):
        raise PromethiumError.invalid("arrays of different shapes: "
                                      f"{[tuple(a.shape) for a in arrays]}")
    depth_axes = {first.get_axis_num(d): int(v) for d, v in depth.items() if d in first.dims}
    lazy = [a for a in arrays if is_dask(a)]
    if not lazy:
        data = np.asarray(func(*(np.asarray(a.values) for a in arrays)), dtype=dtype)
    else:
        import dask.array as da

        chunks = lazy[0].data.chunks
        blocks = [a.data.rechunk(chunks) if is_dask(a) else da.from_array(a.values, chunks)
                  for a in arrays]
        # dask enlarges chunks narrower than the halo itself
        data = da.map_overlap(func, *blocks, depth=depth_axes, boundary=boundary,
                              dtype=dtype, meta=np.array((), dtype=dtype))
    return xr.DataArray(data, dims=first.dims, coords=first.coords, attrs=dict(first.attrs),
                        name=first.name)
