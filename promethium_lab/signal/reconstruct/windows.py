"""Overlapping windows with a tapered partition of unity, and the survey plumbing shared by
the reconstruction methods.

A reconstruction method is a kernel ``func(data, mask) -> filled`` on one window:
``data`` is a float64 array ``(trace dims..., time)`` whose absent traces are 0, ``mask``
the boolean live-trace grid over its trace dims. :func:`apply_windowed` cuts the survey
into overlapping windows along the trace dims (and optionally ``time``), runs the kernel on
each, and blends the results with weights that ramp as ``sin²`` over the overlaps and are
normalised by their sum, so that they form an exact partition of unity (the weighted
overlap-add of sliding-window f-x processing, e.g. Abma & Claerbout (1995), "Lateral
prediction for noise attenuation by t-x and f-x techniques", *Geophysics* 60(6)).

Window sizes are in samples along ``time`` and in traces along the trace dims. A window
larger than the data along a dim is **clipped** to the data (one window spans that dim):
it is not an error, because "at least this large" is what a user asking for a big window
means. A window smaller than 2, a negative overlap or an overlap not smaller than the
window is an ``INVALID_PARAMETER`` error. Windows without a live trace are skipped, so
the windows must be wider than the widest gap (the middle of a wider gap stays 0).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.errors import PromethiumError
from promethium_lab.core.serialize import json_safe
from promethium_lab.io.blocks import filled_survey

__all__ = [
    "WINDOW_DEFAULTS",
    "BlockGrid",
    "Kernel",
    "SurveyArrays",
    "WindowSpec",
    "apply_windowed",
    "block_extent",
    "finish",
    "resolve_windows",
    "survey_arrays",
    "survey_shape",
    "taper_weights",
    "window_starts",
    "window_tiling",
]

#: A window kernel: ``func(data (trace dims..., time), live mask (trace dims)) -> filled``.
Kernel = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Window (or overlap) sizes: one int for every dim, one per dim (trace dims then time,
#: ``None`` = the whole dim), or a mapping from dim name to size.
WindowSpec = int | Sequence[int | None] | Mapping[str, int | None] | None


#: Default windows of the windowed methods, per number of trace dims: traces per trace
#: dim, then samples (``None``: the whole trace).
WINDOW_DEFAULTS: dict[str, dict[int, list[int | None]]] = {
    "pocs": {1: [32, 64], 2: [32, 32, 128]},
    "mssa": {1: [48, 128], 2: [32, 32, 128]},
    "pwd": {1: [64, None], 2: [32, 32, None]},
}


@dataclass
class SurveyArrays:
    """A survey taken apart for a reconstruction kernel.

    Attributes
    ----------
    data : ndarray or dask array
        ``(trace dims..., time)``, absent traces not yet zeroed (see :func:`survey_arrays`).
    mask : ndarray of bool
        Live-trace grid over the trace dims.
    trace_dims : tuple of str
    time_dim : str
    dt_ms : float
        Sample interval (ms); 1.0 when the survey does not say.
    lazy : bool
        True when the amplitude is dask-backed.
    chunks : tuple or None
        The dask chunks of ``data`` (to rechunk the output alike).
    """

    data: Any
    mask: np.ndarray
    trace_dims: tuple[str, ...]
    time_dim: str
    dt_ms: float
    lazy: bool = False
    chunks: tuple | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.data.shape)

    @property
    def dims(self) -> tuple[str, ...]:
        return (*self.trace_dims, self.time_dim)


def survey_arrays(ds: xr.Dataset, *, max_trace_dims: int = 2) -> SurveyArrays:
    """Check a survey and take out its amplitude ``(trace dims..., time)`` and live mask.

    Raises ``INVALID_PARAMETER`` for anything that is not a survey Dataset with
    ``amplitude`` and ``trace_mask``, for more than ``max_trace_dims`` trace dims and for a
    mask with no live trace (nothing to reconstruct from).
    """
    if not isinstance(ds, xr.Dataset):
        raise PromethiumError.invalid(
            f"expected a survey xarray.Dataset, got {type(ds).__name__}",
            hint="pass a Dataset with 'amplitude' and 'trace_mask' "
            "(docs/data-model.md)")
    if "amplitude" not in ds:
        raise PromethiumError.invalid(
            "the dataset has no 'amplitude' variable",
            hint="pass a survey Dataset (docs/data-model.md)")
    if "trace_mask" not in ds:
        raise PromethiumError.invalid(
            "the dataset has no 'trace_mask': the reconstruction cannot tell "
            "absent traces from live ones",
            hint="add a boolean trace_mask over the trace dims (True = live)")
    amp = ds["amplitude"]
    mask_da = ds["trace_mask"]
    tdims = tuple(str(d) for d in mask_da.dims)
    rest = [str(d) for d in amp.dims if d not in tdims]
    if set(tdims) - set(amp.dims) or len(rest) != 1:
        raise PromethiumError.invalid(
            f"trace_mask dims {list(tdims)} must be all the dims of amplitude "
            f"{list(amp.dims)} but its sample dim")
    if not 1 <= len(tdims) <= max_trace_dims:
        raise PromethiumError.invalid(
            f"reconstruction handles 1 to {max_trace_dims} trace dims, the "
            f"survey has {len(tdims)} ({list(tdims)})",
            hint="select 2-D sections or 3-D sub-cubes first (ds.isel)")
    tdim = rest[0]
    amp = amp.transpose(*tdims, tdim)
    mask = np.asarray(mask_da.values).astype(bool)
    if not mask.any():
        raise PromethiumError.invalid(
            "trace_mask has no live trace: there is nothing to reconstruct from",
            hint="at least one trace must be live (True)")
    if amp.sizes[tdim] < 2:
        raise PromethiumError.invalid(f"the sample dim {tdim!r} has fewer than 2 samples")
    dt = 1.0
    if tdim in amp.coords and amp.sizes[tdim] > 1:
        t = np.asarray(amp[tdim].values, dtype=np.float64)
        step = float(np.median(np.diff(t)))
        if np.isfinite(step) and step > 0:
            dt = step
    elif float(ds.attrs.get("sample_interval_us", 0) or 0) > 0:
        dt = float(ds.attrs["sample_interval_us"]) / 1000.0
    data = amp.data
    lazy = hasattr(data, "compute") and hasattr(data, "chunks")
    return SurveyArrays(data=data, mask=mask, trace_dims=tdims, time_dim=tdim, dt_ms=dt,
                        lazy=lazy, chunks=data.chunks if lazy else None)


def _check_int(name: str, v: Any, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < lo:
        raise PromethiumError.invalid(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _per_dim(spec: WindowSpec, dims: Sequence[str], name: str) -> list[Any]:
    if spec is None:
        return [None] * len(dims)
    if isinstance(spec, Mapping):
        unknown = set(spec) - set(dims)
        if unknown:
            raise PromethiumError.invalid(
                f"{name} names unknown dims {sorted(unknown)}",
                hint=f"dims are {list(dims)}")
        return [spec.get(d) for d in dims]
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        return [int(spec)] * len(dims)
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        vals = list(spec)
        if len(vals) == len(dims) - 1:  # trace dims only: time whole
            vals.append(None)
        if len(vals) != len(dims):
            raise PromethiumError.invalid(
                f"{name} has {len(vals)} entries for dims {list(dims)}",
                hint="one per trace dim (then optionally time), or a dict")
        return vals
    raise PromethiumError.invalid(f"{name} must be an int, a sequence or a dict, got {spec!r}")


def resolve_windows(
    shape: Sequence[int],
    dims: Sequence[str],
    window: WindowSpec,
    overlap: WindowSpec,
    default_window: Sequence[int | None],
    default_overlap: float = 0.25,
) -> tuple[list[int], list[int]]:
    """Window and overlap sizes per dim, validated and clipped to the data.

    Parameters
    ----------
    shape, dims : sequence
        Shape and dim names of the data (trace dims then time).
    window : WindowSpec
        Requested window sizes; ``None`` entries take ``default_window``'s (whose
        ``None`` means the whole dim). Larger than the data → clipped to the data.
    overlap : WindowSpec
        Overlap in samples/traces; ``None`` entries take ``default_overlap`` × window.
    default_window : sequence
        Per dim default, ``None`` for the whole dim.
    default_overlap : float
        Default overlap as a fraction of the window.

    Returns
    -------
    sizes, overlaps : list of int
    """
    win = _per_dim(window, dims, "window")
    ovl = _per_dim(overlap, dims, "overlap")
    sizes, overlaps = [], []
    for n, d, w, o, w0 in zip(shape, dims, win, ovl, default_window):
        if w is None:
            w = n if w0 is None else w0
        w = min(_check_int(f"window[{d!r}]", w, 2), n)
        if o is None:
            o = 0 if w >= n else round(default_overlap * w)
        o = _check_int(f"overlap[{d!r}]", o, 0)
        if o >= w and w < n:
            raise PromethiumError.invalid(
                f"overlap[{d!r}]={o} must be smaller than the window ({w})")
        sizes.append(int(w))
        overlaps.append(min(int(o), max(int(w) - 1, 0)))
    return sizes, overlaps


def window_tiling(n: int, size: int, overlap: int) -> tuple[list[int], int]:
    """Starts and common size of the windows along a dim of ``n``.

    Windows of ``size`` step by ``size - overlap`` from 0, and the last one is put flush
    with the end, so every sample is covered. (Stretching the windows to tile the dim
    evenly was tried: it saves up to a third of the windows on small dims, but POCS lost
    3-4 dB across gaps and MSSA up to 8 dB on random holes, because the extra overlap of
    the last window averages two estimates.)

    Returns
    -------
    starts : list of int
        First index of every window.
    size : int
        The size of every window (``n`` when one window spans the dim).
    """
    if size >= n:
        return [0], n
    step = max(size - overlap, 1)
    starts = list(range(0, n - size + 1, step))
    if starts[-1] + size < n:
        starts.append(n - size)
    return starts, size


def window_starts(n: int, size: int, overlap: int) -> list[int]:
    """Start indices of the windows of :func:`window_tiling`."""
    return window_tiling(n, size, overlap)[0]


@dataclass(frozen=True)
class BlockGrid:
    """Where a block of a larger survey sits, so that its windows are the survey's.

    A survey reconstructed block by block (``workflows.reconstruct``) gives each block its
    traces plus the windows of the whole survey that reach into them
    (:func:`block_extent`). With a ``BlockGrid``, :func:`apply_windowed` runs exactly
    those windows of the whole-survey tiling with the whole-survey blending weights, so
    the block's own traces come out as they would from one pass over the whole survey:
    no seams, and no extra windows from block edges but the ones that straddle them.

    Attributes
    ----------
    origin : tuple of int
        Index in the survey of the block data's first trace, per trace dim.
    shape : tuple of int
        Trace-dim sizes of the whole survey.
    core : tuple of slice
        The block's own traces (indices into the block data), per trace dim; only the
        windows that overlap them are run.
    """

    origin: tuple[int, ...]
    shape: tuple[int, ...]
    core: tuple[slice, ...]


def survey_shape(shape: Sequence[int], grid: BlockGrid | None) -> tuple[int, ...]:
    """Shape of the whole survey a block of ``shape`` belongs to (trace dims, then time)."""
    return tuple(shape) if grid is None else (*grid.shape, shape[-1])


def block_extent(n: int, size: int, overlap: int, start: int, stop: int) -> tuple[int, int]:
    """The span ``[lo, hi)`` of the windows of a dim of ``n`` (tiled by
    :func:`window_tiling`) that overlap the traces ``[start, stop)``: the data a block
    of those traces needs."""
    starts, size = window_tiling(n, size, overlap)
    used = [s for s in starts if s < stop and s + size > start]
    return min(used), max(used) + size


def taper_weights(n: int, start: int, size: int, overlap: int) -> np.ndarray:
    """1-D blending weights of the window ``[start, start + size)`` of a dim of ``n``.

    ``sin²`` ramps of ``overlap`` samples on the sides that have a neighbouring window,
    1 elsewhere (also at the data edges); strictly positive, so that dividing the
    weighted sum by the sum of the weights is always defined.
    """
    w = np.ones(size)
    if overlap <= 0:
        return w
    k = min(overlap, size)
    ramp = np.sin(0.5 * np.pi * (np.arange(k) + 0.5) / k) ** 2
    if start > 0:
        w[:k] = np.minimum(w[:k], ramp)
    if start + size < n:
        w[-k:] = np.minimum(w[-k:], ramp[::-1])
    return w


def read_block(data: Any, sl: tuple[slice, ...], dtype: Any = np.float64) -> np.ndarray:
    """``data[sl]`` as a numpy array of ``dtype`` (computing it when it is a dask array)."""
    block = data[sl]
    if hasattr(block, "compute"):
        block = block.compute()
    return np.asarray(block, dtype=dtype)


_read = read_block


def apply_windowed(
    func: Kernel,
    data: Any,
    mask: np.ndarray,
    sizes: Sequence[int],
    overlaps: Sequence[int],
    *,
    n_jobs: int = 1,
    skip_full: bool = True,
    grid: BlockGrid | None = None,
) -> np.ndarray:
    """Run ``func`` on overlapping windows and blend the results (partition of unity).

    Parameters
    ----------
    func : Kernel
        ``func(block, block_mask) -> filled block`` (same shape as ``block``).
    data : ndarray or dask array
        ``(trace dims..., time)``; dask input is read one window at a time.
    mask : ndarray of bool
        Live traces over the trace dims.
    sizes, overlaps : sequence of int
        Per dim (trace dims then time), e.g. from :func:`resolve_windows`; the windows
        are laid out by :func:`window_tiling`.
    n_jobs : int, default 1
        Windows processed concurrently in threads (numpy/scipy release the GIL).
        Results are blended in a fixed order, so they do not depend on ``n_jobs``.
    skip_full : bool, default True
        Windows with no absent trace are copied, not processed; windows with no live
        trace are left for the neighbours (their weight is 0).
    grid : BlockGrid, optional
        ``data`` is a block of a larger survey: tile the whole survey's trace dims and run
        only its windows that overlap ``grid.core`` (which must lie inside ``data``);
        only the core of the result is complete.

    Returns
    -------
    ndarray
        float64, the shape of ``data``; live traces are those of the kernel output (the
        callers put the recorded samples back).
    """
    shape = tuple(int(n) for n in data.shape)
    nd = len(shape)
    full = list(shape) if grid is None else [*grid.shape, shape[-1]]
    origin = [0] * nd if grid is None else [*grid.origin, 0]
    core = [(0, n) for n in shape]
    if grid is not None:
        core[:-1] = [(c.start + o, c.stop + o) for c, o in zip(grid.core, grid.origin)]
    starts: list[list[int]] = []
    sizes = list(sizes)
    tapers: list[dict[int, np.ndarray]] = []
    for a in range(nd):
        st, sizes[a] = window_tiling(full[a], min(sizes[a], full[a]), overlaps[a])
        st = [s for s in st if s < core[a][1] and s + sizes[a] > core[a][0]]
        if st[0] < origin[a] or st[-1] + sizes[a] > origin[a] + shape[a]:
            raise PromethiumError.invalid(
                f"the block does not hold the windows of its traces along "
                f"dim {a}", hint="take the block's extent from block_extent()")
        tapers.append({s - origin[a]: taper_weights(full[a], s, sizes[a], overlaps[a])
                       for s in st})
        starts.append([s - origin[a] for s in st])
    jobs = []
    for corner in np.ndindex(*[len(s) for s in starts]):
        sl = tuple(slice(starts[a][i], starts[a][i] + sizes[a]) for a, i in enumerate(corner))
        jobs.append(sl)

    def run(sl: tuple[slice, ...]) -> tuple[np.ndarray, np.ndarray] | None:
        msub = mask[sl[:-1]]
        if not msub.any():
            return None
        block = _read(data, sl)
        block[~msub] = 0.0
        if skip_full and msub.all():
            return block, msub
        return np.asarray(func(block, msub), dtype=np.float64), msub

    n_jobs = _check_int("n_jobs", n_jobs, 1)
    if n_jobs > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            results = list(pool.map(run, jobs))
    else:
        results = [run(sl) for sl in jobs]

    if len(jobs) == 1 and results[0] is not None and results[0][0].shape == shape:
        return results[0][0]
    out = np.zeros(shape)
    wsum = np.zeros(shape)
    for sl, res in zip(jobs, results):
        if res is None:
            continue
        w = np.ones(1)
        for a in range(nd):
            s = sl[a].start
            shape_a = [1] * nd
            shape_a[a] = sizes[a]
            w = w * tapers[a][s].reshape(shape_a)
        out[sl] += w * res[0]
        wsum[sl] += np.broadcast_to(w, res[0].shape)
    covered = wsum > 0
    out[covered] /= wsum[covered]
    return out


def finish(
    ds: xr.Dataset,
    arrays: SurveyArrays,
    filled: np.ndarray,
    method: str,
    params: Mapping[str, Any],
    started: float,
    *,
    keep_live: bool = True,
) -> xr.Dataset:
    """The reconstructed survey: a new Dataset with ``filled`` as its amplitude.

    Recorded samples are put back on the live traces unless ``keep_live`` is False;
    ``trace_mask`` becomes True on every trace (each now holds samples, so the filters
    of :mod:`promethium_lab.signal` do not zero them) and the mask that was given is kept
    as ``input_trace_mask``; ``attrs["reconstruction"]`` records ``method``, ``params``
    (JSON-safe), ``seconds`` and ``n_filled``. Dask-backed input gives a dask-backed
    amplitude with the input's chunks.
    """
    mask = arrays.mask
    out_arr = np.asarray(filled, dtype=np.float64)
    if keep_live:
        live = _read(arrays.data, tuple(slice(None) for _ in arrays.shape))
        out_arr = np.where(mask[..., None], live, out_arr)
    out_arr = out_arr.astype(np.float32)
    if arrays.lazy:
        import dask.array as da

        out_data: Any = da.from_array(out_arr, chunks=arrays.chunks)
    else:
        out_data = out_arr
    old = ds["amplitude"]
    amp = xr.DataArray(out_data, dims=arrays.dims,
                       coords={k: v for k, v in old.coords.items()},
                       attrs=dict(old.attrs), name=old.name).transpose(*old.dims)
    out = filled_survey(ds, amp)
    out.attrs = {
        **ds.attrs,
        "reconstruction": {
            "method": method,
            "params": json_safe(dict(params)),
            "seconds": round(time.perf_counter() - started, 6),
            "n_filled": int((~mask).sum()),
        },
    }
    return out


