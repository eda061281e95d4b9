"""Overview pyramid and clip percentiles of a survey, kept in its Zarr store.

Seismic traces swing around zero, so an image reduced by averaging cancels their
amplitude. The pyramid reduces by **signed max-abs** instead: each pixel keeps the sample of
largest ``|x|`` in its block, with its sign (ties keep the positive one). Level ``k`` is the
amplitude reduced by ``factor**k`` (default 4) over the last trace dim and time (the other
trace dims are kept), for ``k = 1, 2, …`` until both reduced dims are at most ``max_size``
long; small surveys have no levels. Absent traces (``trace_mask`` False) and gaps
(``sample_mask`` False) are NaN in the levels and never win a block.

Clip percentiles of ``|amplitude|`` over the live samples come from a bounded sample (a
fixed number of evenly spread chunks), so no view needs a full pass to choose its colour
scale.

In a store the pyramid is the subgroup ``overview/`` (arrays ``level_1``, ``level_2``, …)
and the root attribute ``promethium_overview`` (factor, dims, level shapes, percentiles).
:func:`write_overview` writes both into a store *before* its metadata is consolidated when
given a ``.partial`` store (the writer consolidates last, so the store's atomicity holds), and
re-consolidates a store that is already complete. :func:`read_overview` returns ``None`` for
stores without one (they still open; views then take the clip from the data they show).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ATTR",
    "PERCENTILES",
    "Overview",
    "block_reduce",
    "build_overview",
    "clip_percentiles",
    "read_overview",
    "reduce_dask",
    "write_overview",
]

#: Root attribute of a store that holds an overview.
ATTR = "promethium_overview"
#: Subgroup holding the levels.
GROUP = "overview"
#: Percentiles of ``|amplitude|`` kept with the overview.
PERCENTILES: tuple[float, ...] = (90.0, 95.0, 98.0, 99.0, 99.5, 99.9)
#: Chunk edge of the stored levels along the reduced dims.
LEVEL_CHUNK = 256


def block_reduce(x: Any, factors: Sequence[int], how: str = "maxabs") -> np.ndarray:
    """Reduce an array by integer ``factors`` per axis, honestly for zero-mean signals.

    Blocks are taken from index 0; a last partial block is reduced over what it holds
    (the array is padded with NaN). NaNs are skipped; an all-NaN block gives NaN.

    Parameters
    ----------
    x : array_like
        Any shape.
    factors : sequence of int
        Block length per axis (1 = no reduction), one per axis of ``x``.
    how : {"maxabs", "rms"}
        ``"maxabs"``: the sample of largest ``|x|`` with its sign (ties keep the positive
        one); ``"rms"``: ``sqrt(mean(x**2))`` over the finite samples.

    Returns
    -------
    numpy.ndarray
        Shape ``ceil(n / f)`` per axis; float32 for float32 input, else float64.
    """
    a = np.asarray(x)
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    f = [max(1, int(v)) for v in factors]
    if len(f) != a.ndim:
        raise ValueError(f"{len(f)} factors for an array of {a.ndim} dims")
    if how not in ("maxabs", "rms"):
        raise ValueError(f"how must be 'maxabs' or 'rms', not {how!r}")
    if all(v == 1 for v in f):
        return np.array(a, copy=True) if how == "maxabs" else np.abs(a)
    out_shape = [-(-n // v) for n, v in zip(a.shape, f)]
    pad = [(0, o * v - n) for n, v, o in zip(a.shape, f, out_shape)]
    if any(p[1] for p in pad):
        a = np.pad(a, pad, constant_values=np.nan)
    if how == "maxabs":
        hi = _reduce(a, f, np.fmax)
        lo = _reduce(a, f, np.fmin)
        return np.where(np.abs(hi) >= np.abs(lo), hi, lo)
    finite = np.isfinite(a)
    sq = _reduce(np.where(finite, a * a, 0), f, np.add)
    count = _reduce(finite.astype(np.int64), f, np.add)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(sq / count).astype(a.dtype, copy=False)


def _reduce(a: np.ndarray, factors: Sequence[int], op: np.ufunc) -> np.ndarray:
    """``op``-reduce blocks of ``factors`` (dividing the shape), one axis at a time: the
    leading axes as a reduction over a middle axis (contiguous rows), the last by pairwise
    ``op`` of strided views (fast for the short blocks of screen reductions)."""
    out = a
    for ax, f in enumerate(factors[:-1]):
        if f > 1:
            shape = (*out.shape[:ax], out.shape[ax] // f, f, *out.shape[ax + 1:])
            out = op.reduce(out.reshape(shape), axis=ax + 1)
    f = factors[-1]
    if f > 1:
        blocks = out.reshape((*out.shape[:-1], out.shape[-1] // f, f))
        if f > 16:
            return op.reduce(blocks, axis=-1)
        acc = np.array(blocks[..., 0])
        for i in range(1, f):
            op(acc, blocks[..., i], out=acc)
        return acc
    return out if out is not a else np.array(a)


def reduce_dask(arr: Any, axes: Sequence[int], factor: int, how: str = "maxabs",
                target_chunk: int = LEVEL_CHUNK) -> Any:
    """Lazy :func:`block_reduce` of a dask array by ``factor`` along ``axes``.

    The input is rechunked so that every chunk along ``axes`` is ``factor × target_chunk``
    long (the last may be shorter): each output chunk along ``axes`` is ``target_chunk``.
    """
    import dask.array as da

    chunks = list(arr.chunksize)
    for ax in axes:
        chunks[ax] = min(arr.shape[ax], factor * target_chunk)
    src = arr.rechunk(tuple(chunks))
    factors = [factor if i in axes else 1 for i in range(arr.ndim)]
    out_chunks = tuple(
        tuple(-(-c // factor) for c in src.chunks[i]) if i in axes else src.chunks[i]
        for i in range(arr.ndim)
    )
    return da.map_blocks(block_reduce, src, factors, how, chunks=out_chunks,
                         dtype=src.dtype if src.dtype.kind == "f" else np.float64)


@dataclass
class Overview:
    """A signed max-abs pyramid and the clip percentiles of one survey's amplitude.

    Attributes
    ----------
    dims : tuple of str
        Dims of ``amplitude`` (the levels have the same dims).
    shape : tuple of int
        Shape of ``amplitude``.
    factor : int
        Reduction per level along the last trace dim and time.
    levels : list
        Level ``k`` (reduced by ``factor**k``) at index ``k - 1``: dask arrays from
        :func:`build_overview`, zarr arrays from :func:`read_overview`.
    clip : dict of float to float
        Percentile → value of ``|amplitude|`` over the live samples.
    method : str
        ``"maxabs"``.
    """

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    factor: int = 4
    levels: list[Any] = field(default_factory=list)
    clip: dict[float, float] = field(default_factory=dict)
    method: str = "maxabs"

    @property
    def reduced_dims(self) -> tuple[str, str]:
        """The two reduced dims: the last trace dim and time."""
        return self.dims[-2], self.dims[-1]

    def clip_value(self, percentile: float = 99.0) -> float | None:
        """The stored clip at ``percentile`` (interpolated between stored ones), or None."""
        if not self.clip:
            return None
        keys = sorted(self.clip)
        return float(np.interp(percentile, keys, [self.clip[k] for k in keys]))

    def to_attrs(self) -> dict[str, Any]:
        """JSON form kept in the store's root attribute :data:`ATTR`."""
        return {
            "version": 1, "method": self.method, "factor": self.factor,
            "dims": list(self.dims), "shape": list(self.shape),
            "levels": [f"{GROUP}/level_{k}" for k in range(1, len(self.levels) + 1)],
            "level_shapes": [list(lv.shape) for lv in self.levels],
            "clip_percentiles": {repr(float(p)): float(v) for p, v in self.clip.items()},
        }


def _n_levels(shape: Sequence[int], factor: int, max_size: int) -> int:
    n = 0
    sizes = list(shape[-2:])
    while any(s > max_size for s in sizes) and all(s > 1 for s in sizes):
        sizes = [-(-s // factor) for s in sizes]
        n += 1
    return n


def _masked(amp: Any, trace_mask: Any = None, sample_mask: Any = None) -> Any:
    """``amplitude`` as float with absent traces and gaps set to NaN (dask, lazily)."""
    import dask.array as da

    out = amp if amp.dtype.kind == "f" else amp.astype(np.float32)
    if trace_mask is not None:
        live = da.asarray(trace_mask).astype(bool)
        out = da.where(live[..., None], out, np.nan).astype(out.dtype)
    if sample_mask is not None:
        out = da.where(da.asarray(sample_mask).astype(bool), out, np.nan).astype(out.dtype)
    return out


def _as_dask(x: Any) -> Any:
    import dask.array as da

    data = getattr(x, "data", x)  # xarray -> its array
    if isinstance(data, da.Array):
        return data
    if hasattr(data, "shape") and not isinstance(data, np.ndarray) and hasattr(data, "chunks"):
        return da.from_zarr(data)
    return da.from_array(np.asarray(data), chunks="auto")


def clip_percentiles(amplitude: Any, trace_mask: Any = None, sample_mask: Any = None, *,
                     percentiles: Sequence[float] = PERCENTILES, sample_mb: float = 64.0,
                     max_values: int = 4_000_000) -> dict[float, float]:
    """Percentiles of ``|amplitude|`` over the live, finite samples of a bounded sample.

    The sample is whole chunks spread evenly over the chunk grid, about ``sample_mb`` of
    them (every chunk when the array is smaller), thinned to ``max_values`` values, so the
    cost does not grow with the survey.

    Parameters
    ----------
    amplitude : dask array, zarr array, numpy array or xarray.DataArray
        A zarr array's sampled chunks are read directly (no task graph).
    trace_mask, sample_mask : array_like, optional
        True = live trace / recorded sample.
    percentiles : sequence of float
    sample_mb : float
        Uncompressed size of the sample.
    max_values : int
        At most this many values enter the percentile computation.

    Returns
    -------
    dict of float to float
        ``0.0`` for every percentile when there is no live finite sample.
    """
    if _is_zarr(amplitude):
        shape, chunks = tuple(amplitude.shape), tuple(amplitude.chunks)
        itemsize = amplitude.dtype.itemsize
    else:
        amp = _masked(_as_dask(amplitude),
                      None if trace_mask is None else _as_dask(trace_mask),
                      None if sample_mask is None else _as_dask(sample_mask))
        shape, chunks, itemsize = amp.shape, amp.chunksize, amp.dtype.itemsize
    grid = tuple(-(-n // c) for n, c in zip(shape, chunks))
    n_blocks = math.prod(grid)
    block_bytes = max(1, math.prod(chunks) * itemsize)
    take = int(min(n_blocks, max(1, sample_mb * 2**20 // block_bytes)))
    flat = np.unique(np.linspace(0, n_blocks - 1, take).round().astype(int))
    per_block = max(1, max_values // len(flat))

    def thin(block: np.ndarray) -> np.ndarray:
        v = np.abs(block[np.isfinite(block)]).ravel()
        step = max(1, -(-v.size // per_block))
        return v[::step]

    picks = [tuple(int(i) for i in np.unravel_index(i, grid)) for i in flat]
    if _is_zarr(amplitude):
        # whole chunks read straight from their files: no task graph for a 16-chunk sample
        from promethium_lab.io.chunk_files import window_reader

        amp_r, tm_r, sm_r = (None if a is None else window_reader(a)
                             for a in (amplitude, trace_mask, sample_mask))
        values = [thin(_zarr_block(amp_r, tm_r, sm_r, idx, chunks)) for idx in picks]
    else:
        import dask

        values = list(dask.compute(*[dask.delayed(thin)(amp.blocks[idx]) for idx in picks]))
    sample = np.concatenate(values) if values else np.empty(0)
    if sample.size == 0:
        return {float(p): 0.0 for p in percentiles}
    got = np.percentile(sample.astype(np.float64), list(percentiles))
    return {float(p): float(v) for p, v in zip(percentiles, got)}


def _is_zarr(x: Any) -> bool:
    return type(x).__module__.startswith("zarr") and hasattr(x, "get_block_selection")


def _zarr_block(amp: Any, trace_mask: Any, sample_mask: Any, idx: tuple[int, ...],
                chunks: tuple[int, ...]) -> np.ndarray:
    """Chunk ``idx`` (of shape ``chunks``) of a zarr ``amp`` as float, absent traces and
    gaps NaN."""
    sl = tuple(slice(i * c, min((i + 1) * c, n))
               for i, c, n in zip(idx, chunks, amp.shape))
    block = np.asarray(amp[sl])
    block = block if block.dtype.kind == "f" else block.astype(np.float32)
    if trace_mask is not None:
        live = np.asarray(trace_mask[sl[:-1]], dtype=bool)
        block = np.where(live[..., None], block, np.nan).astype(block.dtype)
    if sample_mask is not None:
        block = np.where(np.asarray(sample_mask[sl], dtype=bool), block,
                         np.nan).astype(block.dtype)
    return block


def build_overview(amplitude: Any, trace_mask: Any = None, sample_mask: Any = None, *,
                   factor: int = 4, max_size: int = 1024,
                   percentiles: Sequence[float] = PERCENTILES,
                   sample_mb: float = 64.0, dims: Sequence[str] | None = None) -> Overview:
    """The overview pyramid (lazy) and the clip percentiles of an amplitude array.

    Parameters
    ----------
    amplitude : xarray.DataArray, dask array, zarr array or numpy array
        Dims ``(*trace dims, time)``; at least 2-D.
    trace_mask : array_like, optional
        Over the trace dims, True = live; absent traces are NaN in the levels and left out
        of the percentiles. Taken from nothing else: pass ``ds["trace_mask"]``.
    sample_mask : array_like, optional
        Same shape as ``amplitude``, True = recorded sample (waveform gaps are False).
    factor : int, default 4
        Reduction per level along the last trace dim and time.
    max_size : int, default 1024
        Levels are added until both reduced dims are at most this long.
    percentiles : sequence of float
        Percentiles of ``|amplitude|`` to keep.
    sample_mb : float
        Size of the sample for the percentiles (see :func:`clip_percentiles`).
    dims : sequence of str, optional
        Dim names (default: the DataArray's, else ``dim_0, …``).

    Returns
    -------
    Overview
        Levels are dask arrays (level ``k`` reduced from level ``k - 1``); the percentiles
        are computed.
    """
    from promethium_lab.core.errors import PromethiumError

    if factor < 2:
        raise PromethiumError.invalid(f"factor must be >= 2, got {factor}")
    if dims is None:
        dims = getattr(amplitude, "dims", None) or [f"dim_{i}" for i in
                                                   range(len(amplitude.shape))]
    dims = tuple(str(d) for d in dims)
    amp = _as_dask(amplitude)
    if amp.ndim < 2:
        raise PromethiumError.invalid(f"an overview needs (trace dims, time); got {dims}")
    tm = None if trace_mask is None else _as_dask(trace_mask)
    sm = None if sample_mask is None else _as_dask(sample_mask)
    clip = clip_percentiles(amp, tm, sm, percentiles=percentiles, sample_mb=sample_mb)
    levels = []
    prev = _masked(amp, tm, sm)
    axes = (amp.ndim - 2, amp.ndim - 1)
    for _ in range(_n_levels(amp.shape, factor, max_size)):
        prev = reduce_dask(prev, axes, factor)
        levels.append(prev)
    return Overview(dims=dims, shape=tuple(int(s) for s in amp.shape), factor=factor,
                    levels=levels, clip=clip)


@contextmanager
def _quiet_zarr() -> Iterator[None]:
    """Silence zarr's notes that consolidated v3 metadata is outside the written spec and
    that a partial store's write journal is no zarr node."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"Object at .* is not recognized")
        warnings.filterwarnings("ignore", message=r"The data type \(")
        yield


def _root_meta(path: Path) -> dict[str, Any]:
    return json.loads((path / "zarr.json").read_text())


def write_overview(store: str | os.PathLike, *, factor: int = 4, max_size: int = 1024,
                   percentiles: Sequence[float] = PERCENTILES, sample_mb: float = 16.0,
                   variable: str = "amplitude") -> Overview:
    """Build the overview of a store's amplitude and write it into the store.

    Writes ``overview/level_k`` (each level reduced from the previous stored one, so memory
    stays bounded) and then the root attribute :data:`ATTR`. A store whose metadata is
    already consolidated (a complete store) is re-consolidated last; a ``.partial`` store
    is left for its writer to consolidate, so call this before the writer finishes.

    Parameters
    ----------
    store : path-like
        A Zarr v3 store in our layout (complete or ``.partial``).
    factor, max_size, percentiles, sample_mb
        See :func:`build_overview`; the clip sample here is 16 MB of whole chunks spread
        over the store (4 M values, as many as the percentiles use at most).
    variable : str
        The amplitude variable.

    Returns
    -------
    Overview
        With the stored zarr arrays as levels.
    """
    import dask.array as da
    import zarr
    from zarr.codecs import BloscCodec

    from promethium_lab.core.errors import ErrorCode, PromethiumError

    path = Path(store).expanduser()
    if not (path / "zarr.json").is_file():
        raise PromethiumError(ErrorCode.NOT_A_STORE, f"{path} is not a Zarr v3 store",
                              hint="ingest the survey first: promethium-lab ingest FILE STORE")
    consolidated = "consolidated_metadata" in _root_meta(path)
    with _quiet_zarr():
        root = zarr.open_group(path, mode="r+", use_consolidated=False)
        amp_z = root[variable]
        dims = tuple(amp_z.metadata.dimension_names or
                     [f"dim_{i}" for i in range(amp_z.ndim)])
        names = set(root.array_keys())
        tm = da.from_zarr(root["trace_mask"]) if "trace_mask" in names else None
        sm = None
        if "sample_mask" in names and root["sample_mask"].shape == amp_z.shape:
            sm = da.from_zarr(root["sample_mask"])
        amp = da.from_zarr(amp_z)
        clip = clip_percentiles(amp_z, root["trace_mask"] if tm is not None else None,
                                root["sample_mask"] if sm is not None else None,
                                percentiles=percentiles, sample_mb=sample_mb)
        n = _n_levels(amp.shape, factor, max_size)
        if GROUP in set(root.group_keys()):
            del root[GROUP]
        group = root.create_group(GROUP, attributes={"description": (
            f"signed max-abs pyramid of {variable}, x{factor} per level over "
            f"{dims[-2]} and {dims[-1]}")})
        prev = _masked(amp, tm, sm) if n else None  # no graph for a survey of no levels
        axes = (amp.ndim - 2, amp.ndim - 1)
        levels = []
        for k in range(1, n + 1):
            lvl = reduce_dask(prev, axes, factor)
            zchunks = tuple(1 if i < amp.ndim - 2 else min(s, LEVEL_CHUNK)
                            for i, s in enumerate(lvl.shape))
            arr = group.create_array(
                f"level_{k}", shape=lvl.shape, dtype="f4", chunks=zchunks,
                fill_value=np.float32(np.nan), dimension_names=dims,
                compressors=[BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")],
                attributes={"factor": factor**k, "method": "maxabs"},
            )
            # dask chunks along the reduced dims are LEVEL_CHUNK (aligned with zarr's);
            # along the other trace dims each dask chunk holds whole zarr chunks of 1
            da.store(lvl.astype("f4"), arr, lock=False)
            levels.append(arr)
            prev = da.from_zarr(arr)
        ov = Overview(dims=dims, shape=tuple(int(s) for s in amp.shape), factor=factor,
                      levels=levels, clip=clip)
        root.attrs[ATTR] = ov.to_attrs()
        if consolidated:
            zarr.consolidate_metadata(path)
    return ov


def read_overview(store: str | os.PathLike) -> Overview | None:
    """The overview kept in a store, or ``None`` when it has none.

    Levels are opened lazily as zarr arrays (nothing is read). A store whose attribute
    names a level that is missing is treated as having no overview.
    """
    import zarr

    path = Path(store).expanduser()
    try:
        meta = _root_meta(path)
    except (OSError, ValueError):
        return None
    info = meta.get("attributes", {}).get(ATTR)
    if not isinstance(info, dict):
        return None
    levels = []
    try:
        with _quiet_zarr():
            for rel in info.get("levels", []):
                levels.append(zarr.open_array(path / rel, mode="r"))
    except (OSError, ValueError, KeyError):  # a level named but not there
        return None
    clip = {float(k): float(v) for k, v in info.get("clip_percentiles", {}).items()}
    return Overview(dims=tuple(info.get("dims", ())), shape=tuple(info.get("shape", ())),
                    factor=int(info.get("factor", 4)), levels=levels, clip=clip,
                    method=str(info.get("method", "maxabs")))
