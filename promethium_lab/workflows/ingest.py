"""Ingest a survey file (SEG-Y, SU, miniSEED, SAC) into a Zarr store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from promethium_lab.core.context import TaskContext, ensure_context
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.formats import KIND_LABELS, STORE_KINDS, WAVEFORM_KINDS, detect_format
from promethium_lab.io.store import write_store
from promethium_lab.io.survey import open_survey

__all__ = ["detect_format", "ingest", "open_survey"]  # detect_format, open_survey: from io


def ingest(
    path: str | os.PathLike,
    store: str | os.PathLike,
    *,
    geometry: str = "auto",
    chunks: tuple[int, ...] | None = None,
    access_patterns: tuple[str, ...] | None = None,
    views: tuple[str, ...] | None = None,
    overwrite: bool = False,
    endian: str = "auto",
    workers: int | None = None,
    block_mb: float = 64.0,
    progress: bool | None = None,
    context: TaskContext | None = None,
    truncated: str = "error",
    client: Any = None,
    **key_bytes: int,
) -> Path:
    """Ingest a SEG-Y / SU / miniSEED / SAC file into a chunked, compressed Zarr store.

    The store follows MDIO v1's layout and appears at ``store`` only when complete; an
    interrupted ingest is resumed by calling again with the same arguments.

    Parameters
    ----------
    path : path-like
        Source file.
    store : path-like
        Output ``.zarr`` folder.
    geometry : str
        ``auto`` or one of the geometries of ``docs/data-model.md``.
    chunks : tuple of int, optional
        Chunks of ``amplitude``; default thin in the trace dims, long in time.
    access_patterns : tuple of str, optional
        Dims that get an exact ``fast_<dim>`` copy (MDIO's convention), each as large as
        ``amplitude``; default none.
    views : tuple of str, optional
        Dims that get a compact, lossy ``view_<dim>`` copy from which the views draw
        slices quickly (:mod:`promethium_lab.io.views`); default every dim of 3-D grids
        (inline, crossline and time slices), ``()`` for none.
    overwrite : bool
        Replace an existing store.
    endian : {"auto", "big", "little"}
    workers : int, optional
        Writer threads.
    block_mb : float
        Uncompressed size of one block of work (see :func:`~promethium_lab.io.store.write_store`).
    progress : bool, optional
        Show a tqdm bar (default: the context's setting, else the config).
    context : TaskContext, optional
        Progress, preview and cancel hooks (jobs, widgets); checked between blocks.
    truncated : {"error", "keep"}
        miniSEED only: ``"keep"`` ingests the whole records of a file whose last record is
        cut, with the cut record's samples masked (see
        :func:`~promethium_lab.io.waveforms.open_waveforms`); ``"error"`` refuses the file.
    client : distributed.Client, optional
        Decode and write the blocks as tasks on this Dask cluster (scale-out ingest). Its
        workers must reach the source file and the store at the same paths (a shared file
        system); the store is the same, array for array, as one written in this process.
    **key_bytes : int
        ``inline_byte``, ``crossline_byte``, ``cdp_byte``, ``offset_byte``, ``shot_byte``,
        ``channel_byte``.

    Returns
    -------
    Path
        The completed store.
    """
    from promethium_lab.io.segy import SegyAmplitudeArray, open_segy

    ctx = ensure_context(context)
    src = Path(path).expanduser()
    fmt = detect_format(src)
    if fmt in STORE_KINDS:
        raise PromethiumError(
            ErrorCode.PATH_IS_DIRECTORY,
            f"{src} is already a {KIND_LABELS[fmt]}, not a file to ingest",
            hint="open it with open_survey / xr.open_dataset(..., engine='promethium')",
        )
    if truncated != "error" and fmt not in WAVEFORM_KINDS:
        raise PromethiumError.invalid(
            f"{src.name} is {KIND_LABELS[fmt]}: keeping a cut last record "
            "(truncated='keep') applies to miniSEED files only",
            hint="drop truncated='keep' for this input",
        )
    stat = src.stat()
    fingerprint = {"source": str(src.resolve()), "size": stat.st_size,
                   "mtime_ns": stat.st_mtime_ns, "geometry": geometry,
                   "key_bytes": dict(sorted(key_bytes.items())), "endian": endian}
    if truncated != "error":
        fingerprint["truncated"] = truncated
    common = dict(fingerprint=fingerprint, chunks=chunks, access_patterns=access_patterns,
                  views=views, client=client,
                  overwrite=overwrite, workers=workers, block_mb=block_mb,
                  progress=ctx.show_progress if progress is None else progress,
                  callback=ctx.progress, should_stop=ctx.should_stop)
    if fmt in WAVEFORM_KINDS:
        if key_bytes or geometry not in ("auto", "waveforms"):
            raise PromethiumError.invalid(
                f"{src.name} is {KIND_LABELS[fmt]}: geometry and header bytes apply to "
                "SEG-Y only",
                hint="drop --geometry/--*-byte for miniSEED and SAC files",
            )
        from promethium_lab.io.waveforms import open_waveforms

        ds = open_waveforms(src, truncated=truncated).load()
        return write_store(ds, store, **common)

    ds = open_segy(src, geometry=geometry, endian=endian, su=(fmt == "su"), **key_bytes)
    source = ds["amplitude"].variable._data.array  # the lazy SEG-Y array under xarray's wrapper
    if not isinstance(source, SegyAmplitudeArray):  # pragma: no cover - guards xarray internals
        source = SegyAmplitudeArray(*_layout_and_index(ds))
    trace_index = source.trace_index

    def read_block(sl: tuple[slice, ...]) -> np.ndarray:
        return source.read(trace_index[sl], private_map=True)

    return write_store(ds, store, read_block=read_block, **common)


def _layout_and_index(ds):  # pragma: no cover - fallback only
    from promethium_lab.io.segy import read_layout

    return read_layout(ds.attrs["source_path"]), ds["segy_trace_index"].values
