"""Export a store back to SEG-Y, keeping every header of the source."""

from __future__ import annotations

import base64
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.context import TaskContext, ensure_context
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.progress import Progress

__all__ = ["FORMAT_CODES", "export"]

#: names accepted for ``format``
FORMAT_CODES = {"ibm": 1, "int32": 2, "int16": 3, "ieee": 5, "int8": 8}


def export(
    store: str | os.PathLike | xr.Dataset,
    path: str | os.PathLike,
    *,
    format: str | int = "source",
    overwrite: bool = False,
    block_mb: float = 64.0,
    progress: bool | None = None,
    context: TaskContext | None = None,
) -> Path:
    """Write a survey store (or dataset) as SEG-Y.

    Traces are written in the order of the source file (``segy_trace_index``) with their
    raw 240-byte headers, after the source's textual, binary and extended headers; only
    the binary header's sample format code changes when ``format`` does. The file appears
    at ``path`` only when complete.

    Parameters
    ----------
    store : path-like or xarray.Dataset
    path : path-like
        Output SEG-Y file.
    format : {"source", "ibm", "ieee", "int16", "int32", "int8"} or int
        Sample format; ``source`` keeps the source's.
    overwrite : bool
    block_mb : float
        Traces read per step (uncompressed MB).
    progress : bool, optional
        Show a tqdm bar (default: the context's setting, else the config).
    context : TaskContext, optional
        Progress and cancel hooks; checked between blocks of traces.
    """
    from promethium_lab.io.segy_write import SegyWriter, patch_binary_header
    from promethium_lab.io.store import open_store

    ds = store if isinstance(store, xr.Dataset) else open_store(store)
    out = Path(path).expanduser()
    code = _format_code(format, ds)
    endian = ds.attrs.get("segy_endian", ">")
    trace_dims = ds["amplitude"].dims[:-1]
    ns = ds.sizes["time"]
    text, binary, extended = _file_headers(ds, endian, ns)
    binary = patch_binary_header(binary, endian, data_sample_format=code, samples_per_trace=ns)
    raw = _raw_headers(ds, endian)
    mask = np.asarray(ds["trace_mask"].values, dtype=bool) if "trace_mask" in ds else None
    if mask is None:
        mask = np.ones(tuple(ds.sizes[d] for d in trace_dims), dtype=bool)
    live = np.flatnonzero(mask.reshape(-1))
    if "segy_trace_index" in ds:
        order = np.asarray(ds["segy_trace_index"].values).reshape(-1)[live]
        live = live[np.argsort(order, kind="stable")]
    if live.size == 0:
        raise PromethiumError(ErrorCode.EXPORT_UNSUPPORTED, "the store has no live traces",
                              hint="nothing to export")
    amp = _direct_reader(store, ds)
    per = max(1, int(block_mb * 2**20 // (ns * 4)))
    shape = mask.shape
    ctx = ensure_context(context)
    bar = Progress(live.size, desc=f"export {out.name}", unit="trace",
                   show=ctx.show_progress if progress is None else progress,
                   callback=ctx.progress)
    raw_flat = raw.reshape(-1)
    batches = [live[start : start + per] for start in range(0, live.size, per)]

    def read(flat: np.ndarray) -> np.ndarray:
        return _read_traces(amp, np.unravel_index(flat, shape))

    # read (decompress) the next batch while this one is encoded and written
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(read, batches[0])
        try:
            with SegyWriter(out, text_header=text, binary_header=binary, n_samples=ns,
                            sample_format=code, endian=endian, extended_headers=extended,
                            overwrite=overwrite) as writer:
                for k, flat in enumerate(batches):
                    ctx.check(f"export to {out}")
                    samples = ahead.result()
                    if k + 1 < len(batches):
                        ahead = pool.submit(read, batches[k + 1])
                    writer.write_traces(raw_flat[flat], samples)
                    bar.update(flat.size)
        finally:
            ahead.cancel()
            bar.close()
    return out


def _direct_reader(store: Any, ds: xr.Dataset) -> Any:
    """The amplitude to read from: the store's zarr array itself when exporting a store
    of ours (no dask graph per read; the ``fast_<first dim>`` copy reads whole rows of
    traces in file order), else the dataset's variable."""
    if isinstance(store, xr.Dataset) or ds.attrs.get("store_format") != "promethium":
        return ds["amplitude"]
    import zarr

    first = ds["amplitude"].dims[0]
    name = f"fast_{first}" if f"fast_{first}" in ds else "amplitude"
    return zarr.open_array(Path(store) / name, mode="r")


def _read_traces(amp: xr.DataArray, index: tuple[np.ndarray, ...]) -> np.ndarray:
    """Traces at grid positions ``index`` (one array per trace dim), read box by box."""
    lo = [int(i.min()) for i in index]
    hi = [int(i.max()) + 1 for i in index]
    box_size = math.prod(h - low for low, h in zip(lo, hi))
    if box_size <= 4 * index[0].size:  # dense: read the bounding box once
        box = amp[tuple(slice(a, b) for a, b in zip(lo, hi))]
        box = np.asarray(getattr(box, "values", box))
        return box[tuple(i - a for i, a in zip(index, lo))].astype(np.float32, copy=False)
    if not isinstance(amp, xr.DataArray):  # a zarr array: read each first-dim row once
        out = np.empty((index[0].size, amp.shape[-1]), dtype=np.float32)
        for row in np.unique(index[0]):
            sel = np.flatnonzero(index[0] == row)
            slab = np.asarray(amp[int(row)])
            out[sel] = slab[tuple(i[sel] for i in index[1:])]
        return out
    data = amp.data
    if hasattr(data, "vindex"):
        return np.asarray(data.vindex[index].compute(), dtype=np.float32)
    return np.asarray(amp.values[index], dtype=np.float32)


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
    raise PromethiumError(
        ErrorCode.INVALID_PARAMETER, f"unknown SEG-Y sample format {format!r}",
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


def _raw_headers(ds: xr.Dataset, endian: str) -> np.ndarray:
    """``V240`` headers on the grid: stored raw headers, else encoded from ``headers``."""
    if "raw_headers" in ds:
        return np.asarray(ds["raw_headers"].values).astype("V240")
    if "headers" in ds:
        from promethium_lab.io.segy_spec import trace_header_dtype

        dec = np.asarray(ds["headers"].values)
        enc = np.zeros(dec.shape, dtype=trace_header_dtype(endian))
        for name in dec.dtype.names or ():
            if name in enc.dtype.names:
                enc[name] = dec[name]
        return enc.view("V240")
    raise PromethiumError(
        ErrorCode.EXPORT_UNSUPPORTED, "the store has neither raw_headers nor headers",
        hint="only surveys ingested from SEG-Y (or MDIO stores with headers) export to SEG-Y",
    )
