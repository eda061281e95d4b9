"""Chunks of local Zarr v3 arrays read and written straight from and to their files.

zarr-python 3 spends about a millisecond of Python (asyncio tasks, codec pipeline,
indexing) on every chunk it reads or writes. For the plain layouts our stores and MDIO's
use (a regular chunk grid on a local disk, the ``bytes`` codec, optionally Blosc or
Zstandard, no sharding or transposition) this module decodes and encodes chunks with
numcodecs directly, configured from the array's own metadata as zarr configures it:

* :class:`ChunkWindows` (:func:`window_reader`) reads windows: each chunk file is read
  and decoded, the chunks of a window in parallel threads (the codecs release the GIL).
  The views read slices and zooms through it; export reads its trace batches.
* :class:`ChunkFiles` writes whole chunks: ingest writes every block of a survey to
  ``amplitude``, three view copies and their scales, whose chunks the block covers whole
  (a time view's block is 250 chunks of 64 KB; through zarr its views cost 1.5 s of each
  64 MB block, the encoding 0.3 s).

Zarr reads what :class:`ChunkFiles` writes like any chunk it wrote itself. Any other
layout is read or written by zarr (:func:`window_reader` returns the array as is,
:meth:`ChunkFiles.supports` says False).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ChunkFiles", "ChunkWindows", "window_reader"]

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
        A Zarr v3 array of numbers or raw bytes (``raw_bytes``, e.g. trace headers) in a
        ``LocalStore`` with a regular chunk grid and codecs ``bytes`` (+ ``blosc`` or
        ``zstd``).

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
        if dtype.kind not in "biufV" or dtype.fields is not None:
            raise TypeError(f"{dtype} is neither a plain numeric type nor raw bytes")
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


_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}


class ChunkFiles:
    """Writer of whole chunks of one Zarr v3 array (picklable).

    Parameters
    ----------
    path : path-like
        The array's folder (holding its ``zarr.json``).

    Raises
    ------
    ValueError
        When the array's layout is not one this writer encodes (see :meth:`supports`).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        meta = json.loads((self.path / "zarr.json").read_text())
        why = _unsupported(meta)
        if why:
            raise ValueError(f"{self.path.name}: {why}")
        self.shape = tuple(int(s) for s in meta["shape"])
        self.chunks = tuple(int(c) for c in meta["chunk_grid"]["configuration"]["chunk_shape"])
        self.dtype = np.dtype(meta["data_type"]).newbyteorder("<")
        self.fill = _fill_value(meta["fill_value"], self.dtype)
        self.separator = meta["chunk_key_encoding"].get("configuration", {}).get("separator",
                                                                                 "/")
        blosc = [c["configuration"] for c in meta["codecs"] if c["name"] == "blosc"]
        self.blosc = blosc[0] if blosc else None
        self._codec: Any = None

    @staticmethod
    def supports(path: str | os.PathLike) -> bool:
        """True when the array at ``path`` has a layout :class:`ChunkFiles` writes."""
        try:
            meta = json.loads((Path(path) / "zarr.json").read_text())
        except (OSError, ValueError):
            return False
        return not _unsupported(meta)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_codec": None}

    def _encode(self, chunk: np.ndarray) -> bytes:
        raw = np.ascontiguousarray(chunk, dtype=self.dtype)
        if self.blosc is None:
            return raw.tobytes()
        if self._codec is None:
            from numcodecs import Blosc

            cfg = self.blosc
            self._codec = Blosc.from_config({
                "cname": cfg["cname"], "clevel": int(cfg["clevel"]),
                "shuffle": _SHUFFLE[cfg["shuffle"]], "blocksize": int(cfg.get("blocksize", 0)),
                "typesize": int(cfg.get("typesize", self.dtype.itemsize)),
            })
        return bytes(self._codec.encode(raw))

    def aligned(self, region: tuple[slice, ...]) -> bool:
        """True when ``region`` (start/stop slices, one per dim) covers whole chunks: each
        start on the chunk grid, each stop on it or at the array's end."""
        if len(region) != len(self.shape):
            return False
        for sl, n, c in zip(region, self.shape, self.chunks):
            start, stop = sl.start or 0, n if sl.stop is None else sl.stop
            if sl.step not in (None, 1) or not 0 <= start < stop <= n:
                return False
            if start % c or (stop % c and stop != n):
                return False
        return True

    def write(self, region: tuple[slice, ...], data: np.ndarray) -> None:
        """Write ``data`` to ``region``, which must cover whole chunks (:meth:`aligned`).

        Edge chunks are padded with the fill value to the full chunk shape, as zarr stores
        them.
        """
        if not self.aligned(region):
            raise ValueError(f"{self.path.name}: region {region} is not on the chunk grid "
                             f"{self.chunks}")
        starts = [sl.start or 0 for sl in region]
        stops = [n if sl.stop is None else sl.stop for sl, n in zip(region, self.shape)]
        if tuple(data.shape) != tuple(b - a for a, b in zip(starts, stops)):
            raise ValueError(f"{self.path.name}: data of shape {data.shape} for region "
                             f"{region}")
        ranges = [range(a // c, math.ceil(b / c)) for a, b, c in zip(starts, stops, self.chunks)]
        made: set[Path] = set()
        for idx in itertools.product(*ranges):
            lo = [i * c for i, c in zip(idx, self.chunks)]
            hi = [min(x + c, n) for x, c, n in zip(lo, self.chunks, self.shape)]
            piece = data[tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, starts))]
            if piece.shape != self.chunks:
                full = np.full(self.chunks, self.fill, dtype=self.dtype)
                full[tuple(slice(0, n) for n in piece.shape)] = piece
                piece = full
            target = self._key(idx)
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            target.write_bytes(self._encode(piece))

    def _key(self, idx: tuple[int, ...]) -> Path:
        parts = ["c", *(str(i) for i in idx)] if idx else ["c"]
        if self.separator == "/":
            return self.path.joinpath(*parts)
        return self.path / self.separator.join(parts)


def _unsupported(meta: dict[str, Any]) -> str:
    """Why :class:`ChunkFiles` cannot write an array with this metadata ('' when it can)."""
    if meta.get("zarr_format") != 3 or meta.get("node_type") != "array":
        return "not a Zarr v3 array"
    if meta.get("chunk_grid", {}).get("name") != "regular":
        return "chunk grid is not regular"
    if meta.get("chunk_key_encoding", {}).get("name") != "default":
        return "chunk keys are not in the default encoding"
    if meta.get("storage_transformers"):
        return "storage transformers"
    try:
        dtype = np.dtype(meta.get("data_type"))
    except TypeError:
        return f"data type {meta.get('data_type')!r}"
    if dtype.kind not in "biuf":
        return f"data type {dtype}"
    codecs = meta.get("codecs", [])
    names = [c.get("name") for c in codecs]
    if names not in (["bytes"], ["bytes", "blosc"]):
        return f"codecs {names}"
    endian = codecs[0].get("configuration", {}).get("endian", "little")
    if dtype.itemsize > 1 and endian != "little":
        return "big-endian bytes codec"
    if "blosc" in names:
        cfg = codecs[1].get("configuration", {})
        if cfg.get("shuffle") not in _SHUFFLE or "cname" not in cfg:
            return "blosc configuration"
    return ""


def _fill_value(value: Any, dtype: np.dtype) -> Any:
    """A zarr v3 fill value (JSON: number, bool, "NaN", "Infinity", "-Infinity") as a
    scalar of ``dtype``."""
    if isinstance(value, str):
        named = {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}
        if value in named:
            return dtype.type(named[value])
        if value.startswith("0x"):  # hex bytes of a float
            return np.frombuffer(bytes.fromhex(value[2:]), dtype=dtype.newbyteorder(">"))[0]
    return dtype.type(value)
