"""Zarr stores in MDIO v1's layout: atomic, resumable, parallel writes and safe opens.

A store is written into ``<store>.partial`` and becomes ``<store>`` by one atomic rename,
after every block of samples is written, the completion marker set and the metadata
consolidated (last). A journal in the partial store records finished blocks, so an
interrupted write (even ``kill -9``) is resumed on the next call with the same inputs,
or redone when they differ. Readers refuse anything without the completion marker.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from promethium_lab.core.config import get_config
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.progress import Progress, ProgressCallback
from promethium_lab.core.serialize import json_safe
from promethium_lab.io.blocks import aligned_step, run_blocks, tile
from promethium_lab.io.chunk_files import ChunkFiles
from promethium_lab.io.formats import is_partial, partial_path
from promethium_lab.io.overview import write_overview
from promethium_lab.io.templates import geometry_from_mdio_name, get_template
from promethium_lab.io.views import (
    VIEW_ONLY,
    is_view,
    n_windows,
    quantise,
    scale_name,
    view_attrs,
    view_name,
)

__all__ = [
    "ACCESS_PATTERNS",
    "FORMAT_VERSION",
    "StoreAmplitudeArray",
    "array_hashes",
    "choose_chunks",
    "default_access_patterns",
    "default_views",
    "fast_variable",
    "is_complete_store",
    "open_store",
    "store_attributes",
    "store_hash",
    "update_attributes",
    "write_store",
]

# MDIO's header variables use zarr v3 data types that zarr calls unstable; reading a
# store lazily warns at every access. The types are MDIO's convention, which we follow.
warnings.filterwarnings(
    "ignore", message=r"The data type \((Structured|RawBytes|NullTerminatedBytes)",
)

FORMAT_VERSION = 2
JOURNAL = ".promethium_journal.json"
#: MDIO's names for the extra copies of ``amplitude`` chunked for one slice direction.
ACCESS_PATTERNS = ("inline", "crossline", "time")

BlockReader = Callable[[tuple[slice, ...]], np.ndarray]


#: Width (traces) of the ``fast_<dim>`` chunks across the other trace dims; every chunk
#: width is a power of two dividing it, so write blocks aligned to all copies stay small.
FAST_WIDTH = 128
#: traces deep of a view copy's scale chunks along the copy's dim (:func:`_scale_chunks`)
SCALE_DEPTH = 16
#: chunk keys of the view copies and their scales: ``c.i.j.k`` files in one folder (the
#: copies have many small chunks; nested folders would cost an inode per folder too)
VIEW_KEYS = {"name": "default", "separator": "."}
#: samples deep of the time view's chunks: a time slice decodes 16 samples of each trace
#: (16 × 128 × 128 bytes a chunk), the ingest writes a quarter of the chunks of 4-deep ones
VIEW_TIME_DEPTH = 16


def choose_chunks(shape: tuple[int, ...], chunk_mb: float | None = None) -> tuple[int, ...]:
    """Chunk shape of ``amplitude``, about ``chunk_mb`` (default: config) of float32.

    Grids (≥ 2 trace dims) and short or very long records: thin in every trace dim (powers
    of two ≤ :data:`FAST_WIDTH`), long in time, so a section or trace window touches few
    chunks and a whole trace is one read. A 2-D line of many traces longer than a tile
    (``sqrt`` of the budget, 512 samples at 1 MB) is cut into square-ish tiles instead,
    ``(tile, ≈ tile)`` with time split evenly, as MDIO chunks 2-D lines: a zoomed view
    then decodes about the window it shows, not whole traces (a trace read costs the
    same bytes either way).
    """
    chunk_mb = chunk_mb or get_config().chunk_mb
    budget = max(int(chunk_mb * 2**20 / 4), 4096)
    nt = shape[-1]
    ct = min(nt, max(budget // 16, 256))
    trace_dims = shape[:-1]
    if not trace_dims:
        return (ct,)
    per = max(1, budget // ct)
    side = max(1, int(per ** (1 / len(trace_dims))))
    side = min(FAST_WIDTH, 1 << (side.bit_length() - 1))
    if len(trace_dims) == 1:
        side = min(FAST_WIDTH, 1 << (per.bit_length() - 1))
        tile = 1 << (math.isqrt(budget).bit_length() - 1)
        if tile < nt == ct and trace_dims[0] > side:
            width = min(trace_dims[0], tile)
            pieces = -(-nt // max(tile, budget // width))
            return (width, -(-nt // pieces))
    return (*[min(n, side) for n in trace_dims], ct)


def default_access_patterns(dims: tuple[str, ...]) -> tuple[str, ...]:
    """Exact ``fast_<dim>`` copies written by default: none (each would cost as much disk
    as ``amplitude``; the views read the compact ``view_<dim>`` copies instead)."""
    return ()


def default_views(dims: tuple[str, ...]) -> tuple[str, ...]:
    """``view_<dim>`` copies (:mod:`promethium_lab.io.views`) written by default: every
    dim of a grid with ≥ 2 trace dims (a 2-D line is one section: no slices to speed up)."""
    return tuple(dims) if len(dims) >= 3 else ()


def _scale_chunks(view_chunks: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """Chunks of a view copy's scale: its copy's, in windows, and :data:`SCALE_DEPTH`
    traces deep where the copy is one trace deep. A scale chunk of one trace-deep slab
    would be a few KB; sixteen slabs in one chunk cost a slice read a few KB more and the
    store sixteen times fewer files (each file an inode to create on ingest)."""
    n_samples = shape[-1]
    trace = [min(n, SCALE_DEPTH) if c == 1 else c for c, n in zip(view_chunks[:-1], shape)]
    return (*trace, n_windows(view_chunks[-1]) if view_chunks[-1] < n_samples
            else n_windows(n_samples))


def _pattern_chunks(shape: tuple[int, ...], dim_pos: int,
                    time_depth: int = 4) -> tuple[int, ...]:
    """Chunks of a ``fast_<dim>`` copy or view copy: 1 trace (or ``time_depth`` samples)
    deep along ``dim``, :data:`FAST_WIDTH` traces wide in the other trace dims, whole
    traces in time."""
    out = [min(n, FAST_WIDTH) for n in shape[:-1]] + [shape[-1]]
    if dim_pos == len(shape) - 1:
        out[-1] = min(shape[-1], time_depth)
    else:
        out[dim_pos] = 1
    return tuple(out)


def _codec(level: int | None = None, *, fast: bool = False) -> Any:
    """Blosc-zstd (shuffled) for ``amplitude``; Blosc-lz4 for the ``fast_<dim>`` copies,
    which exist to be read quickly (MDIO also compresses its copies differently)."""
    from zarr.codecs import BloscCodec

    if fast:
        return BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")
    return BloscCodec(cname="zstd", clevel=get_config().zstd_level if level is None else level,
                      shuffle="shuffle")


def _view_codec() -> Any:
    """Blosc-zstd level 1, unshuffled, for the int8 view copies (one byte per sample:
    nothing to shuffle; zstd's entropy coder gains most on 7-bit values)."""
    from zarr.codecs import BloscCodec

    return BloscCodec(cname="zstd", clevel=1, shuffle="noshuffle", typesize=1)


class _Journal:
    """Finished-block journal of a partial store (atomic JSON rewrite, thread-safe)."""

    def __init__(self, root: Path, fingerprint: dict[str, Any]) -> None:
        self.path = root / JOURNAL
        self.fingerprint = fingerprint
        self.done: set[int] = set()
        self._lock = threading.Lock()

    def load(self) -> bool:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return False
        if data.get("fingerprint") != self.fingerprint:
            return False
        self.done = set(data.get("done", []))
        return True

    def mark(self, block: int) -> None:
        with self._lock:
            self.done.add(block)
            tmp = self.path.with_suffix(f".tmp{threading.get_ident()}")
            tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "done": sorted(self.done)}))
            os.replace(tmp, self.path)

    def save(self) -> None:
        with self._lock:
            self.path.write_text(json.dumps({"fingerprint": self.fingerprint, "done": []}))


@contextmanager
def _quiet_zarr() -> Iterator[None]:
    """Silence zarr's notes that MDIO's header dtypes and consolidated v3 metadata are
    outside the written v3 spec: both are MDIO's own conventions, which we follow."""
    import zarr.errors

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", zarr.errors.UnstableSpecificationWarning)
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        yield


def is_complete_store(path: str | os.PathLike) -> bool:
    """True for a finished promethium store or an MDIO store."""
    p = Path(path)
    try:
        meta = json.loads((p / "zarr.json").read_text())
    except (OSError, ValueError):
        return False
    attrs = meta.get("attributes", {})
    if "promethium" in attrs:
        return bool(attrs["promethium"].get("complete")) and "consolidated_metadata" in meta
    return "apiVersion" in attrs


def write_store(
    ds: xr.Dataset,
    store: str | os.PathLike,
    *,
    read_block: BlockReader | None = None,
    fingerprint: dict[str, Any] | None = None,
    chunks: tuple[int, ...] | None = None,
    access_patterns: tuple[str, ...] | None = None,
    views: tuple[str, ...] | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    block_mb: float = 64.0,
    progress: bool | None = None,
    callback: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    client: Any = None,
    resources: dict[str, float] | None = None,
    on_block: Callable[[tuple[slice, ...], Path], None] | None = None,
) -> Path:
    """Write a survey dataset to a Zarr v3 store in MDIO's layout, atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        Survey dataset (``amplitude`` may be lazy); other variables are written as they are.
    store : path-like
        Final store path. Work happens in ``<store>.partial``.
    read_block : callable, optional
        ``read_block(trace_slices) -> ndarray`` of ``amplitude`` for a block of the trace
        dims (all samples); default indexes ``ds.amplitude``.
    fingerprint : dict, optional
        Identity of the inputs; a partial store with the same fingerprint is resumed.
    chunks : tuple of int, optional
        ``amplitude`` chunks; default :func:`choose_chunks`.
    access_patterns : tuple of str, optional
        Dims for which an exact ``fast_<dim>`` copy is written (MDIO's convention; each
        costs as much disk as ``amplitude``); default none.
    views : tuple of str, optional
        Dims for which a compact, lossy ``view_<dim>`` copy for viewing is written
        (:mod:`promethium_lab.io.views`); default :func:`default_views` (all dims of
        3-D grids), ``()`` for none.
    overwrite : bool
        Replace an existing complete store.
    workers : int, optional
        Threads writing blocks in parallel (default: config, else one per core).
    block_mb : float
        Uncompressed size of one block of work; peak memory is about ``workers × block_mb``.
    progress, callback, should_stop
        Progress bar switch, progress callback, and a cancel check run between blocks.
    client : distributed.Client, optional
        Run the blocks as tasks on this Dask cluster (workers must share the file system);
        default: Dask's threaded scheduler in this process.
    resources : dict, optional
        Dask resource annotations of each block task (e.g. ``{"GPU": 1}``).
    on_block : callable, optional
        ``on_block(trace_slices, partial_path)`` in this process after each block is
        written (e.g. to publish a preview read back from the partial store).

    Returns
    -------
    Path
        The completed store.
    """
    final = Path(store).expanduser()
    partial = partial_path(final)
    if final.exists():
        if not overwrite:
            complete = is_complete_store(final)
            raise PromethiumError(
                ErrorCode.OUTPUT_EXISTS,
                f"{final} already exists" + ("" if complete else " and is not a complete store"),
                hint="pass overwrite=True (CLI: --overwrite) or choose another path",
            )
    if not final.parent.exists():
        raise PromethiumError(
            ErrorCode.PATH_NOT_FOUND, f"the folder {final.parent} does not exist",
            hint="create it first or choose another output path",
        )

    amp = ds["amplitude"]
    shape = tuple(amp.shape)
    dims = tuple(amp.dims)
    chunks = tuple(chunks or choose_chunks(shape))
    if len(chunks) != len(shape) or any(c < 1 for c in chunks):
        raise PromethiumError.invalid(
            f"chunks {chunks} do not fit amplitude of shape {shape}",
            hint=f"give one positive chunk length per dim {dims}",
        )
    if access_patterns is None:
        access_patterns = default_access_patterns(dims)
    if views is None:
        views = default_views(dims)
    unknown = [d for d in (*access_patterns, *views) if d not in dims]
    if unknown:
        raise PromethiumError.invalid(
            f"access patterns or views {unknown} are not dims of {dims}",
            hint=f"choose among {list(dims)}, or () for no copies",
        )
    patterns: dict[str, tuple[int, ...]] = {}
    for dim in access_patterns:
        if shape[dims.index(dim)] > 4:
            patterns[f"fast_{dim}"] = _pattern_chunks(shape, dims.index(dim))
    view_chunks: dict[str, tuple[int, ...]] = {}
    for d in views:
        if shape[dims.index(d)] > 4:
            ch = _pattern_chunks(shape, dims.index(d), VIEW_TIME_DEPTH)
            view_chunks[view_name(d)] = ch
            view_chunks[scale_name(d)] = _scale_chunks(ch, shape)

    trace_shape = shape[:-1]
    chunk_sets = [chunks[:-1]] + [c[:-1] for c in (*patterns.values(), *view_chunks.values())]
    step = aligned_step(trace_shape, chunk_sets, shape[-1], int(block_mb * 2**20))
    # the journal numbers blocks, so their shape is part of the identity of a partial store
    fp = {"format": FORMAT_VERSION, "shape": list(shape), "dims": list(dims),
          "chunks": list(chunks), "patterns": {k: list(v) for k, v in patterns.items()},
          "views": {k: list(v) for k, v in view_chunks.items()},
          "block_step": list(step), **(fingerprint or {})}
    fp = json.loads(json.dumps(fp, default=str))
    journal = _Journal(partial, fp)
    resumed = partial.exists() and journal.load()
    if not resumed:
        if partial.exists():
            shutil.rmtree(partial)
        _create_layout(ds, partial, chunks, patterns, view_chunks)
        journal.save()

    blocks = tile(trace_shape, step) if trace_shape else [()]
    todo = [i for i in range(len(blocks)) if i not in journal.done]

    if read_block is None:
        read_block = _AmplitudeReader(amp)
    writer = _BlockWriter(partial, ("amplitude", *patterns), read_block, blocks,
                          views=tuple(d for d in views if view_name(d) in view_chunks))
    nbytes_block = [math.prod(s.stop - s.start for s in b) * shape[-1] * 4 for b in blocks]
    bar = Progress(sum(nbytes_block[i] for i in todo) / 2**20, desc=f"write {final.name}",
                   unit="MB", show=progress, callback=callback)

    def done(i: int) -> None:
        journal.mark(i)
        bar.update(nbytes_block[i] / 2**20)
        if on_block is not None:
            on_block(blocks[i], partial)

    n_workers = workers or get_config().workers or os.cpu_count() or 1
    try:
        stopped = run_blocks(writer, todo, workers=n_workers, client=client,
                             resources=resources, should_stop=should_stop, on_done=done)
    finally:
        bar.close()
    if stopped:
        raise PromethiumError(
            ErrorCode.CANCELED,
            f"writing {final} was canceled; {partial} holds the finished blocks",
            hint="run the same call again to resume, or delete the .partial folder",
        )
    write_overview(partial)  # overview pyramid + clip percentiles, read by the views
    _finish(partial, final, ds, overwrite)
    return final


class _AmplitudeReader:
    """Default block reader: index ``amplitude`` (picklable for Dask workers)."""

    def __init__(self, amp: xr.DataArray) -> None:
        self.amp = amp

    def __call__(self, sl: tuple[slice, ...]) -> np.ndarray:
        # synchronous: inside a Dask worker task the default scheduler is the cluster
        return np.asarray(self.amp[sl].load(scheduler="synchronous").values, dtype=np.float32)


class _BlockWriter:
    """Reads block ``i`` and writes it to every amplitude copy and, quantised once, to
    every view copy and their scale; picklable, so it runs in threads of this process or
    on Dask workers sharing the file system."""

    def __init__(self, root: Path, names: tuple[str, ...], read_block: BlockReader,
                 blocks: list[tuple[slice, ...]], views: tuple[str, ...] = ()) -> None:
        self.root, self.names, self.read_block, self.blocks = root, names, read_block, blocks
        self.views = views
        self._arrays: dict[str, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_arrays": None}

    def _open(self) -> dict[str, Any]:
        if self._arrays is None:
            names = (*self.names, *(f(d) for d in self.views for f in (view_name, scale_name)))
            # whole chunks go straight to their files (io.chunk_files); any other layout
            # through zarr, skipping its compare-with-fill-value pass
            self._arrays = {n: self._target(self.root / n) for n in names}
        return self._arrays

    @staticmethod
    def _target(path: Path) -> Any:
        import zarr

        try:
            return ChunkFiles(path)  # reads zarr.json once; refuses layouts it cannot write
        except ValueError:
            return zarr.open_array(path, mode="r+", config={"write_empty_chunks": True})

    def _put(self, name: str, region: tuple[slice, ...], data: np.ndarray) -> None:
        target = self._arrays[name]  # type: ignore[index]
        if isinstance(target, ChunkFiles) and target.aligned(region):
            target.write(region, data)
        else:
            with _quiet_zarr():
                target[region] = data

    def __call__(self, i: int) -> int:
        sl = self.blocks[i]
        data = self.read_block(sl)
        self._open()
        region = (*sl, slice(None))
        for name in self.names:
            self._put(name, region, data)
        if self.views:
            q, scale = quantise(data)
            for dim in self.views:
                self._put(view_name(dim), region, q)
                self._put(scale_name(dim), region, scale)
        return i


def _create_layout(ds: xr.Dataset, partial: Path, chunks: tuple[int, ...],
                   patterns: dict[str, tuple[int, ...]],
                   views: dict[str, tuple[int, ...]] | None = None) -> None:
    """Write all metadata and the small variables; ``amplitude`` and copies stay empty."""
    import dask.array as da

    amp = ds["amplitude"]
    template = ds.drop_vars([v for v in ds.data_vars if str(v).startswith("fast_")
                             or is_view(str(v), ds[v].attrs)])
    for name in list(template.variables):
        if name != "amplitude":
            template[name] = template[name].load()
    template["amplitude"] = xr.Variable(amp.dims, da.zeros(amp.shape, chunks=amp.shape, dtype="f4"),
                                        attrs=dict(amp.attrs))
    encoding: dict[str, dict[str, Any]] = {
        "amplitude": {"chunks": chunks, "compressors": [_codec()]},
    }
    for name, ch in patterns.items():
        template[name] = xr.Variable(
            amp.dims, da.zeros(amp.shape, chunks=amp.shape, dtype="f4"),
            attrs={"long_name": f"Amplitude, chunked for {name[5:]} access"},
        )
        encoding[name] = {"chunks": ch, "compressors": [_codec(fast=True)]}
    for name, ch in (views or {}).items():
        if name.endswith("_scale"):
            dims = (*amp.dims[:-1], f"{amp.dims[-1]}_window")
            shape = (*amp.shape[:-1], n_windows(amp.shape[-1]))
            data = da.zeros(shape, chunks=shape, dtype="f4")
            attrs, codec = view_attrs(name[len("view_"):-len("_scale")], scale=True), _codec(1)
        else:
            dims, data = amp.dims, da.zeros(amp.shape, chunks=amp.shape, dtype="i1")
            attrs, codec = view_attrs(name[len("view_"):]), _view_codec()
        template[name] = xr.Variable(dims, data, attrs=attrs)
        encoding[name] = {"chunks": ch, "compressors": [codec], "fill_value": 0,
                          "chunk_key_encoding": VIEW_KEYS}
    for name, var in template.variables.items():
        if name in encoding:
            continue
        if isinstance(var.data, np.ndarray) and var.ndim:
            encoding[name] = {"compressors": [_codec(1)]}
        var.encoding = {}
    template.attrs = _root_attrs(ds, complete=False)
    partial.mkdir(parents=True)
    with _quiet_zarr():
        template.to_zarr(partial, mode="w", compute=False, consolidated=False, zarr_format=3,
                         encoding=encoding)


def _root_attrs(ds: xr.Dataset, complete: bool) -> dict[str, Any]:
    from promethium_lab.core.version import __version__

    geometry = ds.attrs.get("geometry", "irregular")
    template = get_template(geometry)  # MDIO's surveyType / gatherType of the geometry
    own = {k: v for k, v in ds.attrs.items() if k not in ("apiVersion", "createdOn", "name",
                                                         "attributes", "promethium")}
    return {
        # MDIO v1 root attributes
        "apiVersion": "1.1.3",
        "createdOn": datetime.now(UTC).isoformat(sep=" "),
        "name": ds.attrs.get("mdio_template") or f"Promethium{geometry.capitalize()}",
        "attributes": {"surveyType": template.survey_type, "gatherType": template.gather_type,
                       "defaultVariableName": "amplitude", **json_safe(own)},
        # ours
        "promethium": {"format": FORMAT_VERSION, "complete": complete, "version": __version__},
    }


def _finish(partial: Path, final: Path, ds: xr.Dataset, overwrite: bool) -> None:
    """Mark complete, consolidate metadata last, then rename into place."""
    import zarr

    (partial / JOURNAL).unlink(missing_ok=True)
    group = zarr.open_group(partial, mode="r+")
    attrs = _root_attrs(ds, complete=True)
    group.attrs.update(attrs)
    with _quiet_zarr():
        zarr.consolidate_metadata(partial)
    trash = None
    if final.exists() and overwrite:
        trash = final.with_name(f"{final.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(final, trash)
    os.replace(partial, final)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def store_attributes(path: str | os.PathLike) -> dict[str, Any]:
    """The dataset attributes of a complete store, read from its ``zarr.json`` alone
    (empty for anything else): cheap enough for a job record or a listing."""
    p = Path(path)
    if not is_complete_store(p):
        return {}
    attrs = json.loads((p / "zarr.json").read_text()).get("attributes", {})
    inner = attrs.get("attributes", attrs)
    return inner if isinstance(inner, dict) else {}


def update_attributes(store: str | os.PathLike, **attrs: Any) -> None:
    """Add entries to a complete store's dataset attributes (e.g. metrics measured after
    the write), re-consolidating the metadata; the store stays complete throughout."""
    import zarr

    p = Path(store)
    if not is_complete_store(p):
        raise PromethiumError(ErrorCode.STORE_INCOMPLETE, f"{p} is not a complete store",
                              hint="only finished stores can be annotated")
    group = zarr.open_group(p, mode="r+")
    inner = dict(group.attrs.get("attributes", {}))
    inner.update(json_safe(attrs))
    group.attrs["attributes"] = inner
    with _quiet_zarr():
        zarr.consolidate_metadata(p)


#: what ``open_store(chunks=...)`` takes: ``"store"`` (dask, the store's chunks), ``"auto"``
#: or a dict (dask), None (no dask: lazily indexed)
Chunks = dict[str, int] | Literal["store", "auto"] | None


def open_store(path: str | os.PathLike, *, chunks: Chunks = "store") -> xr.Dataset:
    """Open a complete store (ours or MDIO's) as a survey dataset, lazily.

    Parameters
    ----------
    path : path-like
        The store folder.
    chunks : {"store", "auto"}, dict or None
        ``"store"`` (default): every variable a dask array with the store's own chunks;
        ``"auto"`` or a dict (dims not named keep the store's chunks): dask arrays with
        those chunks; None: no dask at all, as ``xr.open_dataset(path,
        engine="promethium")`` gives. Then ``amplitude`` is lazily indexed
        (:class:`StoreAmplitudeArray`): each selection reads only the chunks it touches,
        from whichever of ``amplitude`` and its ``fast_<dim>`` copies decodes the fewest
        samples for it, and builds no task graph.

    Returns
    -------
    xarray.Dataset
        ``amplitude``, ``trace_mask``, headers, coordinates and the ``fast_<dim>`` copies
        of a store of ours; MDIO's dead traces read as 0.

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND``, ``NOT_A_STORE``, or ``STORE_INCOMPLETE`` for an interrupted
        write (a ``.partial`` folder, or a store without its completion marker);
        ``INVALID_PARAMETER`` for a ``chunks`` value of another kind.
    """
    p = Path(path).expanduser()
    partial = partial_path(p)
    if not p.exists():
        if partial.exists():
            raise PromethiumError(
                ErrorCode.STORE_INCOMPLETE,
                f"{p} was never completed: only {partial.name} exists (interrupted write)",
                hint="run the ingest again with the same arguments to resume it",
            )
        raise PromethiumError(ErrorCode.PATH_NOT_FOUND, f"{p} does not exist",
                              hint="check the store path")
    if is_partial(p):
        raise PromethiumError(
            ErrorCode.STORE_INCOMPLETE, f"{p} is an unfinished write",
            hint="run the ingest again to resume it; do not open .partial folders",
        )
    if not (p / "zarr.json").is_file():
        raise PromethiumError(
            ErrorCode.NOT_A_STORE, f"{p} is not a Zarr v3 store (no zarr.json)",
            hint="ingest the survey first: promethium-lab ingest FILE STORE",
        )
    if not is_complete_store(p):
        raise PromethiumError(
            ErrorCode.STORE_INCOMPLETE, f"{p} has no completion marker",
            hint="it was not finished; ingest again with overwrite=True",
        )
    if not (chunks is None or chunks in ("store", "auto") or isinstance(chunks, dict)):
        raise PromethiumError.invalid(
            f"chunks={chunks!r} is not a chunk choice",
            hint='give "store", "auto", a dict of dim -> chunk length, or None for no dask',
        )
    meta = json.loads((p / "zarr.json").read_text())
    ours = "promethium" in meta.get("attributes", {})
    with _quiet_zarr():
        ds = xr.open_zarr(p, consolidated=ours, chunks={} if chunks == "store" else chunks,
                          mask_and_scale=True)
        return _normalise(ds, ours, root=p if chunks is None else None)


def _normalise(ds: xr.Dataset, ours: bool, root: Path | None = None) -> xr.Dataset:
    """Map an MDIO store to the survey model (dead traces read as 0, geometry attr).

    ``root``: the store of a dataset opened without dask, whose ``amplitude`` then becomes
    a :class:`StoreAmplitudeArray` (which also zeroes MDIO's dead traces as it reads).
    """
    views = [n for n in ds.data_vars if ds[n].attrs.get(VIEW_ONLY)]
    if views:  # lossy copies for the views (io.views): never part of a survey dataset
        ds = ds.drop_vars(views)
    attrs = dict(ds.attrs)
    inner = attrs.get("attributes", {}) or {}
    out_attrs = {k: v for k, v in inner.items()
                 if k not in ("surveyType", "gatherType", "defaultVariableName")}
    if "geometry" not in out_attrs:
        out_attrs["geometry"] = geometry_from_mdio_name(attrs.get("name", ""))
    out_attrs["mdio_template"] = out_attrs.get("mdio_template") or attrs.get("name", "")
    out_attrs["store_format"] = "promethium" if ours else "mdio"
    var = inner.get("defaultVariableName", "amplitude")
    if var != "amplitude" and var in ds:
        ds = ds.rename({var: "amplitude"})
    masked = not ours and "trace_mask" in ds
    routed = _lazy_amplitude(ds, root, var, mask="trace_mask" if masked else None) \
        if root is not None and "amplitude" in ds else None
    if routed is not None:
        ds["amplitude"] = routed
    elif masked:
        amp = ds["amplitude"] if root is None else ds["amplitude"].chunk({})  # never eager
        ds["amplitude"] = amp.where(ds["trace_mask"], np.float32(0)).astype("f4")
    if "time" in ds.coords:
        ds["time"].attrs.setdefault("units", "ms")
    ds.attrs = out_attrs
    return ds


#: encodings that change the stored values on reading, which StoreAmplitudeArray does not
#: reproduce (a store with them keeps xarray's own lazy decoding)
_PACKING = ("scale_factor", "add_offset", "_Unsigned")


def _plain_float(var: xr.Variable) -> bool:
    """True when ``var`` reads as its stored floats (no packing, no dtype change)."""
    enc = var.encoding
    return (var.dtype.kind == "f" and not any(k in enc for k in _PACKING)
            and np.dtype(enc.get("dtype", var.dtype)) == var.dtype)


def _lazy_amplitude(ds: xr.Dataset, root: Path, var: str, mask: str | None) -> xr.Variable | None:
    """``amplitude`` of a dataset opened without dask, as a :class:`StoreAmplitudeArray`
    over the stored array and its faithful ``fast_<dim>`` copies (None: keep xarray's)."""
    amp = ds["amplitude"].variable
    if not _plain_float(amp):
        return None
    enc = dict(amp.encoding)
    fills = tuple(float(v) for k in ("_FillValue", "missing_value") if k in enc
                  for v in np.ravel(enc[k]) if not np.isnan(v))
    copies = [f"fast_{d}" for d in amp.dims
              if f"fast_{d}" in ds and ds[f"fast_{d}"].dims == amp.dims
              and ds[f"fast_{d}"].shape == amp.shape and ds[f"fast_{d}"].dtype == amp.dtype
              and _plain_float(ds[f"fast_{d}"].variable)]
    try:
        array = StoreAmplitudeArray(root, (var, *copies), mask=mask, fill_values=fills)
    except (OSError, ValueError, KeyError):  # not plain zarr arrays: keep xarray's reading
        return None
    if array.shape != amp.shape:
        return None
    # wrapped as xarray wraps what it opens: copied before a write, kept once fully read
    data = indexing.MemoryCachedArray(indexing.CopyOnWriteArray(
        indexing.LazilyIndexedArray(array)))
    return xr.Variable(amp.dims, data, attrs=dict(amp.attrs), encoding=enc)


class StoreAmplitudeArray(BackendArray):
    """Lazy ``amplitude`` of a store: every selection read from the cheapest copy.

    A store of ours holds ``amplitude`` and ``fast_<dim>`` copies of it chunked for one
    slice direction each (MDIO's access patterns). Indexing (xarray's outer indexing,
    through :func:`xarray.core.indexing.explicit_indexing_adapter`) counts, for each copy,
    the samples of the chunks the selection touches and reads the selection from the copy
    with the fewest (ties: the fewest chunks), with one zarr call: an inline from
    ``fast_inline``, a time slice from ``fast_time``, a small box from ``amplitude``. No
    dask graph is built; picklable (arrays reopened in each process).

    Parameters
    ----------
    root : path-like
        The store.
    names : tuple of str
        Array paths of the amplitude (first) and of its copies (same shape and dims).
    mask : str, optional
        Array path of a ``trace_mask`` over the trace dims: samples of dead traces read
        as 0 (MDIO writes them as NaN).
    fill_values : tuple of float
        Stored values that mean "missing" (read as NaN); NaN fill values need nothing.
    """

    def __init__(self, root: str | os.PathLike, names: tuple[str, ...], *,
                 mask: str | None = None, fill_values: tuple[float, ...] = ()) -> None:
        import zarr

        self.root = Path(root)
        self.names = tuple(names)
        self.mask = mask
        self.fill_values = tuple(fill_values)
        with _quiet_zarr():
            group = zarr.open_group(self.root, mode="r")
            arrays = [group[n] for n in self.names]
            self._mask = group[mask] if mask is not None else None
        if not all(isinstance(a, zarr.Array) for a in arrays) or \
                len({tuple(a.shape) for a in arrays}) != 1:
            raise ValueError(f"{self.names} are not arrays of one shape in {self.root}")
        self._arrays = arrays
        self._chunks = [tuple(int(c) for c in a.chunks) for a in arrays]
        self.shape = tuple(int(n) for n in arrays[0].shape)
        self.dtype = np.dtype(arrays[0].dtype)

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root, "names": self.names, "mask": self.mask,
                "fill_values": self.fill_values}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["root"], state["names"], mask=state["mask"],
                      fill_values=state["fill_values"])

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        if isinstance(key, indexing.BasicIndexer) and all(
                isinstance(k, int) or (isinstance(k, slice) and (k.step or 1) > 0)
                for k in key.tuple):
            return self._raw_getitem(key.tuple)  # nothing for numpy to do after the read
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER, self._raw_getitem)

    def source(self, key: tuple[Any, ...]) -> str:
        """Path of the array that ``key`` (ints, positive-step slices, sorted int arrays
        per dim) is read from: the one whose touched chunks hold the fewest samples."""
        return self.names[self._choose(key)]

    def _choose(self, key: tuple[Any, ...]) -> int:
        if len(self._arrays) == 1:
            return 0
        costs = [_touched(key, self.shape, chunks) for chunks in self._chunks]
        return min(range(len(costs)), key=lambda i: (costs[i], i))

    def _raw_getitem(self, key: tuple[Any, ...]) -> np.ndarray:
        arr = self._arrays[self._choose(key)]
        basic = all(isinstance(k, int | np.integer | slice) for k in key)
        data = np.asarray(arr[key] if basic else arr.oindex[key])
        if self.fill_values:
            data = np.where(np.isin(data, self.fill_values), np.nan, data).astype(self.dtype)
        if self._mask is not None:
            trace_key = key[: len(self.shape) - 1]
            live = np.asarray(self._mask[trace_key] if basic else self._mask.oindex[trace_key],
                              dtype=bool)
            if not live.all():
                data = data if data.flags.writeable else data.copy()
                data[~live] = 0
        return data


def _touched(key: tuple[Any, ...], shape: tuple[int, ...],
             chunks: tuple[int, ...]) -> tuple[int, int]:
    """(samples, number) of the chunks of an array chunked ``chunks`` that ``key`` (ints,
    positive-step slices, int arrays) touches."""
    samples, count = 1, 1
    for k, n, c in zip(key, shape, chunks):
        if isinstance(k, slice):
            start, stop, step = k.indices(n)
            size = len(range(start, stop, step))
            if size == 0:
                return 0, 0
            last = start + (size - 1) * step
            touched = size if step >= c else last // c - start // c + 1
        elif isinstance(k, int | np.integer):
            touched = 1
        else:
            idx = np.asarray(k).ravel()
            if idx.size == 0:
                return 0, 0
            touched = int(np.unique(idx // c).size)
        samples *= touched * c
        count *= touched
    return samples, count


def fast_variable(ds: xr.Dataset, dim: str) -> str:
    """Name of the variable to read a slice at fixed ``dim`` from (``fast_<dim>`` if present)."""
    name = f"fast_{dim}"
    return name if name in ds else "amplitude"



# ----------------------------------------------------------------------------- hashes
#: bytes of samples read at once while hashing an array (whole chunk rows, at least one)
_HASH_BLOCK = 64 * 2**20


def _dtype_text(dtype: np.dtype) -> str:
    """A dtype as text that names its byte order and, for records, every field."""
    return json.dumps(dtype.descr) if dtype.fields else dtype.str


def _block_bytes(block: np.ndarray) -> bytes:
    """The bytes of a block in C order (text values as UTF-8, one per line)."""
    if block.dtype.kind in "OT":  # variable-length strings: no fixed bytes to hash
        return "\n".join(map(str, block.ravel().tolist())).encode() + b"\n"
    return np.ascontiguousarray(block).tobytes()


def _array_hash(arr: Any) -> str:
    """``sha256:<hex>`` of one zarr array: shape, dtype, then its decoded samples in C
    order, read in whole chunk rows along the first axis (bounded memory)."""
    dtype = np.dtype(arr.dtype)
    h = hashlib.sha256(json.dumps({"shape": list(arr.shape),
                                   "dtype": _dtype_text(dtype)}).encode())
    if arr.ndim == 0:
        h.update(_block_bytes(np.asarray(arr[()], dtype=dtype)))
        return "sha256:" + h.hexdigest()
    n0 = arr.shape[0]
    row = max(1, math.prod(arr.shape[1:]) * max(dtype.itemsize, 1))
    chunk0 = max(1, int(arr.chunks[0]))
    step = max(chunk0, (_HASH_BLOCK // row) // chunk0 * chunk0)
    for start in range(0, n0, step):
        h.update(_block_bytes(np.asarray(arr[start:start + step])))
    return "sha256:" + h.hexdigest()


def array_hashes(path: str | os.PathLike) -> dict[str, str]:
    """The ``sha256:<hex>`` of every array of a complete store, by its path in the store.

    Each digest covers the array's shape, its dtype (byte order and record fields
    included) and its decoded values in C order, so it does not depend on chunks,
    compression or how the store was written; attributes (creation time, metrics,
    provenance, run times) are not part of it. Arrays of nested groups (the overview
    pyramid) are named ``group/array``.

    Parameters
    ----------
    path : path-like
        A complete store (ours or MDIO's).

    Returns
    -------
    dict of str to str
        Array path -> digest, sorted by path.

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND``, ``NOT_A_STORE`` or ``STORE_INCOMPLETE`` (as :func:`open_store`).
    """
    import zarr

    p = Path(path).expanduser()
    if is_partial(p) or not is_complete_store(p):
        open_store(p)  # raises the error that says why
        raise PromethiumError(ErrorCode.STORE_INCOMPLETE, f"{p} is not a complete store",
                              hint="only finished stores have a result hash")
    with _quiet_zarr():
        group = zarr.open_group(p, mode="r")
        arrays = {name: member for name, member in group.members(max_depth=None)
                  if isinstance(member, zarr.Array)}
        return {name: _array_hash(arrays[name]) for name in sorted(arrays)}


def store_hash(path: str | os.PathLike) -> str:
    """The result hash of a store: one ``sha256:<hex>`` over :func:`array_hashes`.

    Two stores have the same hash exactly when they hold the same arrays (names, shapes,
    dtypes, values) — byte-identical results, however they were chunked or compressed and
    whatever their attributes say. This is the "result hash" of a reproduced job
    (``promethium-lab jobs reproduce``).

    Parameters
    ----------
    path : path-like
        A complete store.

    Returns
    -------
    str
        ``sha256:<hex>``.
    """
    text = json.dumps(array_hashes(path), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
