"""Windows of a local Zarr v3 array, read chunk by chunk without zarr's per-chunk overhead.

zarr-python 3 spends about a millisecond of Python (asyncio tasks, codec pipeline,
indexing) on every chunk it reads, more than decoding a 256 × 256 overview chunk takes;
a zoom reads tens of chunks. For the plain layouts our stores and MDIO's use (a regular
chunk grid on a local disk, the ``bytes`` codec, optionally Blosc or Zstandard, no
sharding or transposition) :class:`ChunkWindows` reads each chunk file and decodes it
with numcodecs directly, the chunks of a window in parallel threads (the codecs release
the GIL; zarr turns Blosc's own threads off). Any other array is read by zarr itself
(:func:`window_reader` returns it as is).
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ChunkWindows", "window_reader"]

Selection = tuple[int | slice, ...]

#: Threads decoding the chunks of a window (one per core, at most 4).
THREADS = min(4, os.cpu_count() or 1)
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The decoding threads, started on first use."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(THREADS, thread_name_prefix="promethium-chunks")
        return _POOL


def window_reader(arr: Any) -> Any:
    """A :class:`ChunkWindows` of a zarr array when its layout allows, else ``arr``."""
    try:
        return ChunkWindows(arr)
    except (TypeError, ValueError, AttributeError, ImportError):
        return arr


class ChunkWindows:
    """``reader[sel]``: a window of a Zarr v3 array (ints and step-1 slices), as zarr gives.

    Parameters
    ----------
    arr : zarr.Array
        A Zarr v3 array in a ``LocalStore`` with a regular chunk grid and codecs
        ``bytes`` (+ ``blosc`` or ``zstd``).

    Raises
    ------
    TypeError, ValueError
        When the array's layout is another one (read it with zarr).
    """

    def __init__(self, arr: Any) -> None:
        from numcodecs import Blosc, Zstd
        from zarr.codecs import BloscCodec, BytesCodec, ZstdCodec
        from zarr.core.chunk_grids import RegularChunkGrid
        from zarr.storage import LocalStore

        meta = arr.metadata
        store = arr.store_path.store
        if getattr(meta, "zarr_format", None) != 3 or not isinstance(store, LocalStore):
            raise TypeError("not a Zarr v3 array on a local disk")
        if not isinstance(meta.chunk_grid, RegularChunkGrid):
            raise TypeError("not a regular chunk grid")
        codecs = list(meta.codecs)
        decoders = {BloscCodec: Blosc, ZstdCodec: Zstd}  # both decode from their header
        if not codecs or not isinstance(codecs[0], BytesCodec) or len(codecs) > 2 or (
                len(codecs) == 2 and type(codecs[1]) not in decoders):
            raise TypeError(f"codecs {codecs} are not bytes (+ blosc or zstd)")
        dtype = np.dtype(arr.dtype)
        if dtype.kind not in "biuf":
            raise TypeError(f"{dtype} is not a plain numeric type")
        endian = getattr(codecs[0].endian, "value", codecs[0].endian)
        if dtype.itemsize > 1 and endian is not None:
            dtype = dtype.newbyteorder("<" if endian == "little" else ">")
        self.root = Path(store.root) / arr.store_path.path
        self.meta = meta
        self.shape = tuple(int(n) for n in arr.shape)
        self.chunks = tuple(int(c) for c in meta.chunk_grid.chunk_shape)
        self.dtype = np.dtype(arr.dtype)
        self._stored = dtype
        self._fill = meta.fill_value
        self._decoder = decoders[type(codecs[1])]() if len(codecs) == 2 else None

    def _chunk(self, coords: tuple[int, ...]) -> np.ndarray | None:
        """One chunk (full chunk shape), or None when it was never written."""
        try:
            raw = (self.root / self.meta.encode_chunk_key(coords)).read_bytes()
        except FileNotFoundError:
            return None
        buf = self._decoder.decode(raw) if self._decoder is not None else raw
        return np.frombuffer(buf, dtype=self._stored).reshape(self.chunks)

    def __getitem__(self, sel: Selection) -> np.ndarray:
        if not isinstance(sel, tuple):
            sel = (sel,)
        sel = sel + (slice(None),) * (len(self.shape) - len(sel))
        if len(sel) != len(self.shape):
            raise IndexError(f"{len(sel)} indices for {len(self.shape)} dims")
        spans, keep = [], []
        for s, n in zip(sel, self.shape):
            if isinstance(s, slice):
                start, stop, step = s.indices(n)
                if step != 1:
                    raise IndexError("only step-1 slices")
                spans.append((start, max(start, stop)))
                keep.append(True)
            else:
                i = int(s) + (n if int(s) < 0 else 0)
                if not 0 <= i < n:
                    raise IndexError(f"index {s} out of range for a dim of {n}")
                spans.append((i, i + 1))
                keep.append(False)
        out = np.empty([b - a for a, b in spans], dtype=self.dtype)
        grids = [range(a // c, -(-b // c)) for (a, b), c in zip(spans, self.chunks)]

        def copy(coords: tuple[int, ...]) -> None:
            dst, src = [], []
            for (a, b), c, k in zip(spans, self.chunks, coords):
                lo, hi = max(a, k * c), min(b, (k + 1) * c)
                dst.append(slice(lo - a, hi - a))
                src.append(slice(lo - k * c, hi - k * c))
            chunk = self._chunk(coords)
            out[tuple(dst)] = self._fill if chunk is None else chunk[tuple(src)]

        def copy_all(part: list[tuple[int, ...]]) -> None:
            for coords in part:
                copy(coords)

        todo = list(itertools.product(*grids))
        n = min(len(todo), THREADS)
        if n > 1:  # one batch per thread; list() re-raises a chunk's error here
            list(_pool().map(copy_all, [todo[i::n] for i in range(n)]))
        else:
            copy_all(todo)
        return out[tuple(slice(None) if k else 0 for k in keep)]
