"""Export a store back to SEG-Y, keeping every header of the source."""

from __future__ import annotations

import base64
import math
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from promethium_lab.core.context import TaskContext, ensure_context
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.segy_spec import SampleFormat

if TYPE_CHECKING:
    from promethium_lab.io.segy_headers import FilledTraceHeaders

__all__ = ["FORMAT_CODES", "export"]

#: names accepted for ``format``: every SEG-Y sample format the writer knows
FORMAT_CODES = {f.label: f.code for f in SampleFormat}

#: Threads that read, decode and encode batches of traces while the file is written in
#: order (the chunk codecs and numpy release the GIL).
EXPORT_THREADS = min(2, os.cpu_count() or 1)


def export(
    store: str | os.PathLike | xr.Dataset,
    path: str | os.PathLike,
    *,
    format: str | int = "source",
    overwrite: bool = False,
    live_only: bool = False,
    block_mb: float = 16.0,
    progress: bool | None = None,
    context: TaskContext | None = None,
) -> Path:
    """Write a survey store (or dataset) as SEG-Y.

    One trace per grid cell where ``trace_mask`` is True: for a reconstruction every cell,
    for an ingested survey its live traces. Traces of the source file keep their raw
    240-byte headers and samples; cells filled by a reconstruction get headers made from
    their grid position and live neighbours (:mod:`promethium_lab.io.segy_headers`,
    trace identification code 1000). The order is the grid's, traversed as the source
    file runs (grid order for a source sorted on the grid, the filled traces in their
    places; see :func:`~promethium_lab.io.segy_headers.export_order`). The source's
    textual, binary and extended headers come first; only the binary header's sample
    format code (and sample count) change. The file appears at ``path`` only when
    complete. ``docs/data-model.md`` ("Exported reconstructions") lists every field.

    Parameters
    ----------
    store : path-like or xarray.Dataset
    path : path-like
        Output SEG-Y file.
    format : str or int
        Sample format: ``source`` keeps the source's; else a name of :data:`FORMAT_CODES`
        (``ibm``, ``ieee``, ``float64``, ``int8/16/32/64``, ``uint8/16/32/64``) or a code.
    overwrite : bool
    live_only : bool
        Write only the traces of the source file whose samples are the source's, in
        file order: byte for byte the source's traces (no filled ones).
    block_mb : float
        Traces read per step (uncompressed MB; rounded to whole rows of chunks).
        :data:`EXPORT_THREADS` threads read, decode and encode steps while the file is
        written in order, at most ``EXPORT_THREADS + 1`` steps ahead of it: small steps
        keep every core busy from the first to the last.
    progress : bool, optional
        Show a tqdm bar (default: the context's setting, else the config).
    context : TaskContext, optional
        Progress and cancel hooks; checked between blocks of traces.
    """
    from promethium_lab.io.segy_write import SegyWriter, patch_binary_header, patch_sample_count
    from promethium_lab.io.store import open_store

    ds = store if isinstance(store, xr.Dataset) else open_store(store)
    out = Path(path).expanduser()
    code = _format_code(format, ds)
    endian = ds.attrs.get("segy_endian", ">")
    trace_dims = ds["amplitude"].dims[:-1]
    ns = ds.sizes["time"]
    text, binary, extended = _file_headers(ds, endian, ns)
    binary = patch_sample_count(patch_binary_header(binary, endian, data_sample_format=code),
                                endian, ns)
    extra = ds["raw_extra_headers"] if "raw_extra_headers" in ds else None  # SEG-Y rev 2
    attrs = ds["segy_file_header"].attrs if "segy_file_header" in ds else {}
    trailer = base64.b64decode(attrs.get("rawTrailer", "") or "")
    raw = _HeaderReader(ds, endian, _direct_reader(store, ds, "raw_headers"))
    shape = tuple(ds.sizes[d] for d in trace_dims)
    ctx = ensure_context(context)
    live, synth = _plan(ds, raw, shape, ns, live_only, block_mb, ctx)
    amp = _direct_reader(store, ds)
    per = max(1, int(block_mb * 2**20 // (ns * 4)))
    bar = ctx.progress_bar(live.size, desc=f"export {out.name}", unit="trace", show=progress)
    batches = _batches(live, per, shape, getattr(amp, "chunks", None))
    if synth is not None:
        synth.finish()  # before the threads share it

    with SegyWriter(out, text_header=text, binary_header=binary, n_samples=ns,
                    sample_format=code, endian=endian, extended_headers=extended,
                    extra_trace_headers=0 if extra is None else extra.dtype.itemsize // 240,
                    trailer=trailer, overwrite=overwrite) as writer:

        def encode(flat: np.ndarray) -> np.ndarray:
            """The output bytes of the cells ``flat``: read, decoded and encoded."""
            index = np.unravel_index(flat, shape)
            headers = raw(index)
            if synth is not None:
                headers = synth.block(flat, headers)
            return writer.encode(headers, _read_traces(amp, index),
                                 None if extra is None else _take(extra, index).reshape(-1))

        blocks = _in_threads(encode, batches, EXPORT_THREADS)
        try:
            for flat, block in zip(batches, blocks, strict=True):
                ctx.check(f"export to {out}")
                writer.write_block(block)
                bar.update(flat.size)
        finally:
            blocks.close()  # cancels the steps not started, waits for the running ones
            bar.close()
    return out


def _in_threads(fn: Callable[[Any], Any], items: Sequence[Any], threads: int) -> Iterator[Any]:
    """``fn(item)`` of each item, in order, computed by ``threads`` threads at most
    ``threads + 1`` items ahead of the consumer (closing the generator cancels the rest)."""
    if threads <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="promethium-export") as pool:
        ahead: deque[Future[Any]] = deque(pool.submit(fn, x) for x in items[:threads + 1])
        try:
            for k in range(len(items)):
                result = ahead.popleft().result()
                if k + threads + 1 < len(items):
                    ahead.append(pool.submit(fn, items[k + threads + 1]))
                yield result
        finally:
            for future in ahead:
                future.cancel()


def _batches(live: np.ndarray, per: int, shape: tuple[int, ...],
             chunks: Any) -> list[np.ndarray]:
    """``live`` (flat cells in output order) cut into batches of about ``per`` traces,
    each cut where the output crosses a chunk boundary of the first dim when one is
    within reach, so no chunk is decoded by two batches (a cube written in grid order is
    cut into whole rows of chunks)."""
    if not live.size:
        return []
    cuts = np.arange(per, live.size, per)
    first = chunks[0] if isinstance(chunks, tuple) and chunks else None
    if isinstance(first, int | np.integer) and first > 0 and shape:
        row = int(np.prod(shape[1:], dtype=np.int64))
        band = live // (row * first)
        edges = np.flatnonzero(band[1:] != band[:-1]) + 1  # where a new band of chunks starts
        if edges.size:
            step = max(1, round(per / max(1, int(np.median(np.diff(np.r_[0, edges]))))))
            cuts = edges[step - 1::step]
    return np.split(live, cuts)


def _direct_reader(store: Any, ds: xr.Dataset, name: str = "amplitude") -> Any:
    """The variable to read from: the store's zarr array itself when exporting a store of
    ours, its chunks decoded in threads by
    :func:`~promethium_lab.io.chunk_files.window_reader` (no dask graph, no zarr pipeline
    per read; for ``amplitude`` an exact ``fast_<first dim>`` copy, when the store has one,
    reads whole rows of traces in file order); else the dataset's variable (``None`` for
    a variable the dataset lacks)."""
    if name not in ds:
        return None
    if isinstance(store, xr.Dataset) or ds.attrs.get("store_format") != "promethium":
        return ds[name]
    import zarr

    from promethium_lab.io.chunk_files import window_reader

    if name == "amplitude":
        first = ds["amplitude"].dims[0]
        name = f"fast_{first}" if f"fast_{first}" in ds else "amplitude"
    return window_reader(zarr.open_array(Path(store) / name, mode="r"))


def _read_traces(amp: xr.DataArray, index: tuple[np.ndarray, ...]) -> np.ndarray:
    """Traces at grid positions ``index`` (one array per trace dim), as float32."""
    return _take(amp, index).astype(np.float32, copy=False)


def _in_order(rel: tuple[np.ndarray, ...], shape: tuple[int, ...]) -> bool:
    """True when the cells ``rel`` are every cell of a box of ``shape``, in C order."""
    flat = np.ravel_multi_index(rel, shape)
    return bool(flat.size == math.prod(shape) and (flat == np.arange(flat.size)).all())


def _take(arr: Any, index: tuple[np.ndarray, ...]) -> np.ndarray:
    """Values of ``arr`` (DataArray or zarr array) at grid positions ``index`` (one array
    per leading dim), read box by box: the bounding box once when it is dense, else each
    first-dim row once."""
    lo = [int(i.min()) for i in index]
    hi = [int(i.max()) + 1 for i in index]
    box_size = math.prod(h - low for low, h in zip(lo, hi))
    if box_size <= 4 * index[0].size:  # dense: read the bounding box once
        box = arr[tuple(slice(a, b) for a, b in zip(lo, hi))]
        box = np.asarray(getattr(box, "values", box))
        rel = tuple(i - a for i, a in zip(index, lo))
        if box_size == index[0].size and _in_order(rel, box.shape[:len(index)]):
            return box.reshape(box_size, *box.shape[len(index):])  # the box, cell by cell
        return box[rel]
    if not isinstance(arr, xr.DataArray):  # a zarr array: read each first-dim row once
        out = np.empty((index[0].size, *arr.shape[len(index):]), dtype=arr.dtype)
        for row in np.unique(index[0]):
            sel = np.flatnonzero(index[0] == row)
            slab = np.asarray(arr[int(row)])
            out[sel] = slab[tuple(i[sel] for i in index[1:])]
        return out
    data = arr.data
    if hasattr(data, "vindex"):
        return np.asarray(data.vindex[index].compute())
    return np.asarray(arr.values[index])


def _format_code(format: str | int, ds: xr.Dataset) -> int:
    if format == "source":
        code = ds.attrs.get("segy_format")
        if code is None and "segy_file_header" in ds:  # MDIO stores: the source's binary header
            code = (ds["segy_file_header"].attrs.get("binaryHeader") or {}).get(
                "data_sample_format")
        code = int(code or 5)
        return code if code in FORMAT_CODES.values() else 5
    if isinstance(format, int | np.integer) and int(format) in FORMAT_CODES.values():
        return int(format)
    if isinstance(format, str) and format.lower() in FORMAT_CODES:
        return FORMAT_CODES[format.lower()]
    raise PromethiumError.invalid(f"unknown SEG-Y sample format {format!r}",
        hint=f"use 'source' or one of {sorted(FORMAT_CODES)} "
        f"(codes {sorted(FORMAT_CODES.values())})",
    )


def _file_headers(ds: xr.Dataset, endian: str, ns: int) -> tuple[bytes, bytes, bytes]:
    """Textual, binary and extended headers of the source, or standard ones made up."""
    attrs = ds["segy_file_header"].attrs if "segy_file_header" in ds else {}
    text = base64.b64decode(attrs.get("rawTextHeader", "") or "")
    binary = base64.b64decode(attrs.get("rawBinaryHeader", "") or "")
    extended = base64.b64decode(attrs.get("rawExtendedTextHeaders", "") or "")
    if len(text) != 3200:
        lines = str(attrs.get("textHeader", "")).splitlines() or [
            "C 1 SEG-Y written by promethium_lab"]
        text = "".join(line[:80].ljust(80) for line in lines[:40]).ljust(3200)
        text = text.encode("cp037", errors="replace")  # MDIO keeps decoded text (with U+FFFD)
    if len(binary) != 400:
        from promethium_lab.io.segy_spec import binary_header_dtype

        rec = np.zeros((), dtype=binary_header_dtype(endian))
        interval = ds.attrs.get("sample_interval_us")
        if interval is None:
            t = np.asarray(ds["time"].values, dtype=float)
            interval = round((t[1] - t[0]) * 1000) if t.size > 1 else 1000
        rec["sample_interval"] = int(interval)
        rec["samples_per_trace"] = ns
        rec["data_sample_format"] = 5
        rec["segy_revision"] = 0x0100
        rec["fixed_length_trace_flag"] = 1
        binary = rec.tobytes()
        extended = b""
    return text, binary, extended


class _HeaderReader:
    """Raw ``V240`` headers of grid cells: the stored raw headers, else encoded from
    ``headers`` (MDIO's default), read block by block."""

    def __init__(self, ds: xr.Dataset, endian: str, direct: Any = None) -> None:
        self.endian = endian
        self._decoded = "raw_headers" not in ds
        if self._decoded and "headers" not in ds:
            raise PromethiumError(
                ErrorCode.EXPORT_UNSUPPORTED, "the store has neither raw_headers nor headers",
                hint="only surveys ingested from SEG-Y (or MDIO stores with headers) export "
                "to SEG-Y",
            )
        # ``direct``: the store's raw_headers array read without a dask graph per batch
        self._var = direct if direct is not None and not self._decoded else \
            ds["headers" if self._decoded else "raw_headers"]

    def _encode(self, values: np.ndarray) -> np.ndarray:
        if self._decoded:
            from promethium_lab.io.segy_headers import encode_trace_headers

            return encode_trace_headers(values, self.endian).reshape(-1)
        return np.asarray(values).astype("V240").reshape(-1)

    def __call__(self, index: tuple[np.ndarray, ...]) -> np.ndarray:
        """Headers at grid positions ``index``."""
        return self._encode(_take(self._var, index))

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Headers of the first-dim rows ``start:stop``, flattened in C order."""
        rows = self._var[start:stop]
        return self._encode(np.asarray(getattr(rows, "values", rows)))


def _plan(ds: xr.Dataset, raw: _HeaderReader, shape: tuple[int, ...], ns: int,
          live_only: bool, block_mb: float,
          ctx: TaskContext) -> tuple[np.ndarray, FilledTraceHeaders | None]:
    """Flat cells to write, in output order, and the maker of the filled traces' headers
    (None when every trace written is a source trace)."""
    from promethium_lab.io.segy_headers import (
        FilledTraceHeaders,
        default_key_bytes,
        export_order,
        source_order,
    )

    def grid(name: str) -> np.ndarray | None:
        return np.asarray(ds[name].values).reshape(shape) if name in ds else None

    cells = grid("trace_mask")
    cells = np.ones(shape, dtype=bool) if cells is None else cells.astype(bool)
    src, given = grid("segy_trace_index"), grid("input_trace_mask")
    # known: the cell has the header of a source trace; original: and its samples
    known = (src >= 0) if src is not None else cells if given is None else given.astype(bool)
    original = known if given is None else given.astype(bool) & known
    order = source_order(src, cells & original) if live_only else export_order(src, cells)
    if order.size == 0:
        raise PromethiumError(ErrorCode.EXPORT_UNSUPPORTED, "the store has no live traces",
                              hint="nothing to export")
    filled = order[~known.reshape(-1)[order]]
    if live_only or not (filled.size or (cells & known & ~original).any()):
        return order, None
    dims = ds["amplitude"].dims[:-1]
    key_bytes = {**default_key_bytes(dims), **(ds.attrs.get("key_bytes") or {})}
    labels = [np.asarray(ds[d].values) if d in ds.coords else np.arange(n)
              for d, n in zip(dims, shape)]
    t = np.asarray(ds["time"].values, dtype=float) if "time" in ds.coords else np.zeros(1)
    interval = ds.attrs.get("sample_interval_us")
    if interval is None:
        interval = (t[1] - t[0]) * 1000 if t.size > 1 else 0
    synth = FilledTraceHeaders(
        filled, known, labels, [key_bytes.get(d) for d in dims], raw.endian, n_samples=ns,
        sample_interval_us=round(float(interval)), delay_ms=float(t[0]),
        original=original)
    if filled.size:  # one pass over the source headers, a block of rows at a time
        row = math.prod(shape[1:])
        step = max(1, int(block_mb * 2**20 // (240 * row)))
        for start in range(0, shape[0], step):
            ctx.check("export: reading the source headers")
            synth.scan(start * row, raw.rows(start, min(shape[0], start + step)))
    return order, synth
