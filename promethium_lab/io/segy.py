"""SEG-Y (and Seismic Unix) reading into the survey data model.

The file layout is validated up front (sizes, sample format, sample count, byte order),
all trace headers are scanned once to infer the geometry (:mod:`.geometry`), and the
samples stay on disk: ``amplitude`` is a lazily indexed array that reads only the traces
an index touches, through a memory map, decoded with segyio's C converters.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.geometry import Grid, infer_grid
from promethium_lab.io.ibm import ibm_to_ieee
from promethium_lab.io.segy_spec import (
    BINARY_HEADER_SIZE,
    TEXT_HEADER_SIZE,
    TRACE_HEADER_SIZE,
    decode_binary_header,
    decode_trace_headers,
)

__all__ = ["SAMPLE_FORMATS", "SegyLayout", "decode_samples", "open_segy", "read_layout"]

#: SEG-Y data sample format code -> (itemsize, description)
SAMPLE_FORMATS: dict[int, tuple[int, str]] = {
    1: (4, "4-byte IBM floating point"),
    2: (4, "4-byte two's complement integer"),
    3: (2, "2-byte two's complement integer"),
    5: (4, "4-byte IEEE floating point"),
    8: (1, "1-byte two's complement integer"),
}
_MAX_SAMPLES = 1_000_000  # beyond this a header is garbage, not a trace length
_SU_SUFFIXES = {".su"}


@dataclass(frozen=True)
class SegyLayout:
    """Where everything is in a SEG-Y file.

    Attributes
    ----------
    path : Path
    endian : str
        ``">"`` (standard) or ``"<"`` (byte-swapped files some software writes).
    sample_format : int
        SEG-Y data sample format code (see :data:`SAMPLE_FORMATS`).
    n_samples : int
    sample_interval_us : int
    data_offset : int
        Byte offset of the first trace header.
    n_traces : int
    is_su : bool
        Seismic Unix file: no textual or binary file header.
    text_header, binary_header, extended_headers : bytes
        Raw file headers (empty for SU).
    """

    path: Path
    endian: str
    sample_format: int
    n_samples: int
    sample_interval_us: int
    data_offset: int
    n_traces: int
    is_su: bool = False
    text_header: bytes = b""
    binary_header: bytes = b""
    extended_headers: bytes = b""
    binary_fields: dict[str, int] = field(default_factory=dict)

    @property
    def itemsize(self) -> int:
        return SAMPLE_FORMATS[self.sample_format][0]

    @property
    def trace_size(self) -> int:
        return TRACE_HEADER_SIZE + self.n_samples * self.itemsize

    @property
    def nbytes(self) -> int:
        return self.data_offset + self.n_traces * self.trace_size

    def trace_dtype(self) -> np.dtype:
        """Structured dtype of one trace block (raw header + raw samples)."""
        return np.dtype([("header", "V240"), ("samples", "u1", (self.n_samples * self.itemsize,))])

    def memmap(self) -> np.memmap:
        """Read-only memory map of the trace blocks."""
        return np.memmap(
            self.path, dtype=self.trace_dtype(), mode="r", offset=self.data_offset,
            shape=(self.n_traces,),
        )


def _check_path(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise PromethiumError(
            ErrorCode.PATH_NOT_FOUND, f"{p} does not exist",
            hint="check the path (relative paths are taken from the current directory)",
        )
    if p.is_dir():
        raise PromethiumError(
            ErrorCode.PATH_IS_DIRECTORY, f"{p} is a directory, not a SEG-Y file",
            hint="give the path of a .sgy/.segy file; open a Zarr store with open_store()",
        )
    return p


def _plausible_format(code: int) -> bool:
    return code in SAMPLE_FORMATS or code in (4, 6, 7, 9, 10, 11, 12, 15, 16)  # SEG-Y rev 2


def _decode_text(raw: bytes) -> str:
    """Textual header as str: EBCDIC (cp037) unless it already reads as ASCII."""
    if not raw:
        return ""
    # EBCDIC bytes are mostly printable ASCII too (its space 0x40 is "@"), so compare
    # how many letters, digits and spaces each decoding gives
    as_ascii, as_ebcdic = raw.decode("ascii", "replace"), raw.decode("cp037", "replace")

    def score(text: str) -> int:
        return sum(c.isascii() and (c.isalnum() or c == " ") for c in text)

    text = as_ascii if score(as_ascii) >= score(as_ebcdic) else as_ebcdic
    return "\n".join(text[i : i + 80] for i in range(0, len(text), 80))


def read_layout(
    path: str | os.PathLike, *, endian: str = "auto", su: bool | None = None
) -> SegyLayout:
    """Validate a SEG-Y/SU file and describe its layout.

    Parameters
    ----------
    path : path-like
    endian : {"auto", "big", "little"}
        Byte order; "auto" tries big-endian first, then little-endian, by checking that the
        sample format code and sample count are plausible and that the size adds up.
    su : bool, optional
        Seismic Unix file (no file headers, IEEE samples). Default: by the ``.su`` suffix.

    Raises
    ------
    PromethiumError
        ``NOT_SEGY``, ``TRUNCATED_FILE``, ``UNSUPPORTED_FORMAT``, ``BAD_SAMPLE_COUNT``,
        ``BAD_SAMPLE_INTERVAL``, ``PATH_NOT_FOUND``, ``PATH_IS_DIRECTORY``.
    """
    p = _check_path(path)
    size = p.stat().st_size
    if su is None:
        su = p.suffix.lower() in _SU_SUFFIXES
    orders = {"auto": (">", "<"), "big": (">",), "little": ("<",), ">": (">",), "<": ("<",)}
    if endian not in orders:
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER, f"endian={endian!r} is not one of auto, big, little",
            hint="use endian='auto' unless the file is known to be byte-swapped",
        )
    with open(p, "rb") as fh:
        head = fh.read(TEXT_HEADER_SIZE + BINARY_HEADER_SIZE + TRACE_HEADER_SIZE)
    if su:
        return _su_layout(p, head, size, orders[endian])
    if size < TEXT_HEADER_SIZE + BINARY_HEADER_SIZE:
        raise PromethiumError(
            ErrorCode.NOT_SEGY,
            f"{p} has {size} bytes, fewer than the 3600 of a SEG-Y file header",
            hint="is this a SEG-Y file? Seismic Unix files need su=True or a .su suffix",
        )
    binary = head[TEXT_HEADER_SIZE : TEXT_HEADER_SIZE + BINARY_HEADER_SIZE]
    problems: list[str] = []
    deferred: PromethiumError | None = None
    for order in orders[endian]:
        fields = decode_binary_header(binary, order)
        fmt = fields["data_sample_format"]
        if not _plausible_format(fmt):
            problems.append(f"{'big' if order == '>' else 'little'}-endian format code {fmt}")
            continue
        if fmt not in SAMPLE_FORMATS:
            raise PromethiumError(
                ErrorCode.UNSUPPORTED_FORMAT,
                f"{p}: sample format code {fmt} is valid SEG-Y but not supported",
                hint="supported codes: " + ", ".join(
                    f"{c} ({d})" for c, (_, d) in SAMPLE_FORMATS.items()),
            )
        n_ext = max(fields["num_extended_text_headers"], 0) if fields["segy_revision"] else 0
        data_offset = TEXT_HEADER_SIZE + BINARY_HEADER_SIZE + TEXT_HEADER_SIZE * n_ext
        ns = fields["samples_per_trace"] & 0xFFFF
        first = head[TEXT_HEADER_SIZE + BINARY_HEADER_SIZE :]
        trace_ns = None
        if len(first) >= 118 and n_ext == 0:
            trace_ns = int(np.frombuffer(first[114:116], dtype=order + "u2")[0])
        if ns == 0 and trace_ns:
            ns = trace_ns
        if ns == 0 or ns > _MAX_SAMPLES:
            raise PromethiumError(
                ErrorCode.BAD_SAMPLE_COUNT,
                f"{p}: the binary header says {ns} samples per trace",
                hint="the file header is damaged; fix bytes 3221-3222 (samples per trace)",
            )
        dt = fields["sample_interval"] & 0xFFFF
        if dt == 0 and len(first) >= 120:
            dt = int(np.frombuffer(first[116:118], dtype=order + "u2")[0])
        if dt == 0:
            raise PromethiumError(
                ErrorCode.BAD_SAMPLE_INTERVAL,
                f"{p}: sample interval is 0 in the binary and the first trace header",
                hint="fix bytes 3217-3218 (sample interval in microseconds)",
            )
        itemsize = SAMPLE_FORMATS[fmt][0]
        trace_size = TRACE_HEADER_SIZE + ns * itemsize
        n_traces, rest = divmod(size - data_offset, trace_size)
        if n_traces <= 0 or rest:
            if (trace_ns and trace_ns != ns and size > data_offset
                    and (size - data_offset) % (TRACE_HEADER_SIZE + trace_ns * itemsize) == 0):
                error = PromethiumError(
                    ErrorCode.BAD_SAMPLE_COUNT,
                    f"{p}: the binary header says {ns} samples per trace, which does not "
                    f"divide the file into whole traces; the first trace header says "
                    f"{trace_ns}, which does",
                    hint="the binary header is damaged; fix bytes 3221-3222 (samples per trace)",
                )
            elif n_traces <= 0:
                error = PromethiumError(
                    ErrorCode.TRUNCATED_FILE,
                    f"{p}: {size} bytes hold no complete trace of {trace_size} bytes",
                    hint="the file is empty or cut short; copy it again from its source",
                )
            else:
                error = PromethiumError(
                    ErrorCode.TRUNCATED_FILE,
                    f"{p}: {rest} bytes after {n_traces} complete traces of {trace_size} bytes "
                    f"({ns} samples, format {fmt})",
                    hint="the file was cut short (interrupted copy?) or its samples-per-trace "
                    "header is wrong; copy it again, or trim it to whole traces",
                )
            if len(orders[endian]) > 1 and trace_ns is not None and trace_ns != ns:
                # maybe the other byte order reads right; if none does, this is the error
                problems.append(f"sample count {ns} does not divide the file")
                deferred = deferred or error
                continue
            raise error
        return SegyLayout(
            path=p, endian=order, sample_format=fmt, n_samples=ns, sample_interval_us=dt,
            data_offset=data_offset, n_traces=int(n_traces),
            text_header=head[:TEXT_HEADER_SIZE], binary_header=binary,
            extended_headers=_read_bytes(p, TEXT_HEADER_SIZE + BINARY_HEADER_SIZE, data_offset),
            binary_fields=fields,
        )
    if deferred is not None:  # a plausible SEG-Y header whose sizes do not add up
        raise deferred
    raise PromethiumError(
        ErrorCode.NOT_SEGY,
        f"{p} is not a SEG-Y file: {'; '.join(problems)} (bytes 3225-3226)",
        hint="check the file type; a damaged binary header can be repaired with segyio",
    )


def _read_bytes(p: Path, start: int, stop: int) -> bytes:
    if stop <= start:
        return b""
    with open(p, "rb") as fh:
        fh.seek(start)
        return fh.read(stop - start)


def _su_layout(p: Path, head: bytes, size: int, orders: tuple[str, ...]) -> SegyLayout:
    if size < TRACE_HEADER_SIZE:
        raise PromethiumError(
            ErrorCode.TRUNCATED_FILE, f"{p}: {size} bytes hold no SU trace header",
            hint="the file is empty or cut short",
        )
    for order in orders:
        ns = int(np.frombuffer(head[114:116], dtype=order + "u2")[0])
        dt = int(np.frombuffer(head[116:118], dtype=order + "u2")[0])
        if not 0 < ns <= _MAX_SAMPLES:
            continue
        n_traces, rest = divmod(size, TRACE_HEADER_SIZE + 4 * ns)
        if rest == 0 and n_traces > 0:
            if dt == 0:
                raise PromethiumError(
                    ErrorCode.BAD_SAMPLE_INTERVAL, f"{p}: sample interval is 0",
                    hint="fix trace bytes 117-118 (sample interval in microseconds)",
                )
            return SegyLayout(
                path=p, endian=order, sample_format=5, n_samples=ns, sample_interval_us=dt,
                data_offset=0, n_traces=int(n_traces), is_su=True,
            )
    raise PromethiumError(
        ErrorCode.NOT_SEGY,
        f"{p} is not a Seismic Unix file: no byte order gives a sample count that divides "
        "the file into whole traces",
        hint="check the file type; SEG-Y files with a file header must not be read with su=True",
    )


def decode_samples(raw: np.ndarray, sample_format: int, endian: str) -> np.ndarray:
    """Decode raw sample bytes ``(..., ns*itemsize)`` uint8 to float32 ``(..., ns)``."""
    raw = np.ascontiguousarray(raw)
    isz = SAMPLE_FORMATS[sample_format][0]
    out = np.empty((*raw.shape[:-1], raw.shape[-1] // isz), dtype=np.float32)
    decode_into(raw, out, sample_format, endian)
    return out


def decode_into(raw: np.ndarray, out: np.ndarray, sample_format: int, endian: str) -> None:
    """Decode raw sample bytes into the C-contiguous float32 array ``out`` (same rows).

    IBM floats go through segyio's C converter in place, except unnormalised words
    (leading hex digit 0, as some recorders write), which segyio decodes wrongly: those
    are decoded exactly by :func:`promethium_lab.io.ibm.ibm_to_ieee`.
    """
    if sample_format == 1:
        import segyio._segyio as _segyio

        out.view(np.uint8).reshape(raw.shape)[...] = raw
        if endian == "<":
            out.view(np.uint32).byteswap(inplace=True)  # segyio converts big-endian words
        words = out.view(">u4")
        odd = ((words & 0x00F00000) == 0) & ((words & 0x00FFFFFF) != 0)
        fix = ibm_to_ieee(words[odd].astype(np.uint32)) if odd.any() else None
        _segyio.native(out.reshape(-1), 1)
        if fix is not None:
            out[odd] = fix
        return
    kinds = {2: "i4", 3: "i2", 5: "f4", 8: "i1"}
    out[...] = raw.view(endian + kinds[sample_format])


def _runs(sorted_values: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` positions of runs of consecutive integers in a sorted array."""
    breaks = np.flatnonzero(np.diff(sorted_values) != 1) + 1
    edges = np.concatenate(([0], breaks, [sorted_values.size]))
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


class SegyAmplitudeArray(BackendArray):
    """Lazy ``(trace dims..., time)`` view of the samples of a SEG-Y file.

    Indexing reads only the traces it touches (sorted, through a memory map); absent
    grid cells read as 0. Picklable: the memory map is reopened in each process.
    """

    def __init__(self, layout: SegyLayout, trace_index: np.ndarray) -> None:
        self.layout = layout
        self.trace_index = trace_index
        self.shape = (*trace_index.shape, layout.n_samples)
        self.dtype = np.dtype(np.float32)
        self._mm: np.memmap | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"layout": self.layout, "trace_index": self.trace_index}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["layout"], state["trace_index"])

    def _map(self) -> np.memmap:
        if self._mm is None:
            with self._lock:
                if self._mm is None:
                    self._mm = self.layout.memmap()
        return self._mm

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER, self._raw_getitem
        )

    def _raw_getitem(self, key: tuple) -> np.ndarray:
        trace_key, time_key = key[:-1], key[-1]
        grids = [_as_index(k, n) for k, n in zip(trace_key, self.trace_index.shape)]
        idx = self.trace_index[np.ix_(*grids)] if grids else self.trace_index
        scalar_axes = tuple(i for i, k in enumerate(trace_key) if np.ndim(k) == 0
                            and not isinstance(k, slice))
        if scalar_axes:
            idx = idx.reshape([n for i, n in enumerate(idx.shape) if i not in scalar_axes])
        return self.read(idx, time_key)

    def read(self, idx: np.ndarray, time_key: Any = slice(None), *,
             private_map: bool = False) -> np.ndarray:
        """Samples of the file traces ``idx`` (any shape, -1 = absent) as float32.

        ``private_map`` maps the file for this call only and unmaps it after, so a pass
        over a whole file (ingest) does not keep every page it touched mapped.
        """
        times = np.arange(self.layout.n_samples)[time_key]
        out = np.zeros((*idx.shape, np.size(times)), dtype=np.float32)
        flat = idx.reshape(-1)
        live = np.flatnonzero(flat >= 0)
        full_time = isinstance(time_key, slice) and time_key == slice(None)
        if live.size and out.size and full_time:
            mm = self.layout.memmap() if private_map else self._map()
            try:
                self._read_runs(mm, flat, live, out.reshape(-1, out.shape[-1]))
            finally:
                if private_map:
                    mm._mmap.close()
        elif live.size and out.size:  # nothing to read for an empty selection
            wanted = flat[live]
            order = np.argsort(wanted, kind="stable")
            mm = self._map()
            lo, hi = int(wanted[order[0]]), int(wanted[order[-1]]) + 1
            if hi - lo == live.size:  # one contiguous run of traces: a plain slice
                block = mm["samples"][lo:hi]
                raw = block[wanted[order] - lo]
            else:
                raw = mm["samples"][wanted[order]]
            isz = self.layout.itemsize
            if not isinstance(time_key, slice) or time_key != slice(None):
                b = np.arange(isz)
                cols = (np.atleast_1d(times)[:, None] * isz + b).reshape(-1)
                raw = raw[:, cols]
            data = decode_samples(raw, self.layout.sample_format, self.layout.endian)
            res = out.reshape(-1, out.shape[-1])
            res[live[order]] = data.reshape(len(live), -1)
        if np.ndim(times) == 0:
            out = out[..., 0]
        return out

    def _read_runs(self, mm: np.memmap, flat: np.ndarray, live: np.ndarray,
                   res: np.ndarray) -> None:
        """Whole traces: decode each run of consecutive file traces straight from the
        memory map into its rows of ``res`` (one copy), through a buffer only where the
        run's rows are not consecutive in ``res``."""
        wanted = flat[live]
        order = np.argsort(wanted, kind="stable")
        wanted = wanted[order]
        dest = live[order]
        samples = mm["samples"]
        fmt, endian = self.layout.sample_format, self.layout.endian
        for start, stop in _runs(wanted):
            raw = samples[wanted[start] : wanted[stop - 1] + 1]
            rows = dest[start:stop]
            if rows[-1] - rows[0] == stop - start - 1 and np.all(np.diff(rows) == 1):
                decode_into(raw, res[rows[0] : rows[-1] + 1], fmt, endian)
            else:
                res[rows] = decode_samples(raw, fmt, endian)


def _as_index(k: Any, n: int) -> np.ndarray:
    if isinstance(k, slice):
        return np.arange(n)[k]
    return np.atleast_1d(np.asarray(k))


def _scaled(values: np.ndarray, scalar: np.ndarray) -> np.ndarray:
    """Apply the SEG-Y coordinate scalar (negative = divide, positive = multiply, 0 = 1)."""
    s = scalar.astype(np.float64)
    factor = np.where(s < 0, 1.0 / np.abs(np.where(s == 0, 1, s)), np.where(s == 0, 1.0, s))
    return values.astype(np.float64) * factor


def read_raw_headers(layout: SegyLayout, batch_mb: float = 32.0) -> np.ndarray:
    """All trace headers as an ``(n_traces,)`` ``V240`` array.

    One sequential pass over the file in batches of ``batch_mb``, so memory holds the
    headers and one batch, never the whole file (a memory map would keep every page).
    """
    out = np.empty(layout.n_traces, dtype="V240")
    per = max(1, int(batch_mb * 2**20 // layout.trace_size))
    dtype = layout.trace_dtype()
    with open(layout.path, "rb") as fh:
        fh.seek(layout.data_offset)
        for start in range(0, layout.n_traces, per):
            count = min(per, layout.n_traces - start)
            block = np.fromfile(fh, dtype=dtype, count=count)
            if block.size != count:
                raise PromethiumError(
                    ErrorCode.TRUNCATED_FILE,
                    f"{layout.path}: ended after {start + block.size} of {layout.n_traces} "
                    "traces while reading headers", hint="the file changed while reading it",
                    retryable=True)
            out[start : start + count] = block["header"]
    return out


def open_segy(
    path: str | os.PathLike,
    *,
    geometry: str = "auto",
    endian: str = "auto",
    su: bool | None = None,
    chunks: dict[str, int] | str | None = None,
    **key_bytes: int,
) -> xr.Dataset:
    """Open a SEG-Y or SU file as a lazy survey dataset (see ``docs/data-model.md``).

    Parameters
    ----------
    path : path-like
    geometry : {"auto", "poststack3d", "poststack2d", "shot", "cdp_offset", "irregular"}
    endian : {"auto", "big", "little"}
    su : bool, optional
        Seismic Unix file; default by the ``.su`` suffix.
    chunks : dict or "auto", optional
        Wrap ``amplitude`` in a dask array with these chunks; None keeps it lazily indexed.
    **key_bytes : int
        Header bytes of the grid keys: ``inline_byte``, ``crossline_byte``, ``cdp_byte``,
        ``offset_byte``, ``shot_byte``, ``channel_byte``.

    Returns
    -------
    xarray.Dataset
        ``amplitude`` (lazy), ``trace_mask``, ``headers``, ``raw_headers``,
        ``segy_file_header`` and coordinates.
    """
    layout = read_layout(path, endian=endian, su=su)
    raw = read_raw_headers(layout)
    raw_u8 = raw.view(np.uint8).reshape(layout.n_traces, TRACE_HEADER_SIZE)
    grid = infer_grid(raw_u8, layout.endian, geometry=geometry,
                      binary_header=layout.binary_fields or None, **key_bytes)
    return build_dataset(layout, grid, raw, chunks=chunks)


def build_dataset(
    layout: SegyLayout, grid: Grid, raw: np.ndarray, *, chunks: dict[str, int] | str | None = None
) -> xr.Dataset:
    """Assemble the survey dataset from a layout, its grid and its raw headers."""
    decoded = decode_trace_headers(raw, layout.endian)
    live = grid.live_mask
    idx = grid.trace_index[live]
    headers = np.zeros(grid.shape, dtype=decoded.dtype)
    headers[live] = decoded[idx]
    raw_grid = np.zeros(grid.shape, dtype="V240")
    raw_grid[live] = raw[idx]

    first = decoded[0]
    dt_ms = layout.sample_interval_us / 1000.0
    delay = float(first["delay_recording_time"])
    time = delay + dt_ms * np.arange(layout.n_samples)
    dims = (*grid.dims, "time")

    lazy = indexing.LazilyIndexedArray(SegyAmplitudeArray(layout, grid.trace_index))
    amplitude = xr.Variable(dims, lazy, attrs={"long_name": "Amplitude"})
    coords: dict[str, Any] = {
        d: xr.Variable((d,), grid.coords[d].astype(np.int64)) for d in grid.dims
    }
    coords["time"] = xr.Variable(("time",), time, attrs={"units": "ms", "long_name": "Time"})
    scalar = headers["coordinate_scalar"]
    xy_pairs = {"poststack3d": ("cdp_x", "cdp_y"), "poststack2d": ("cdp_x", "cdp_y"),
                "cdp_offset": ("cdp_x", "cdp_y"),
                "shot": ("source_coord_x", "source_coord_y", "group_coord_x", "group_coord_y")}
    for name in xy_pairs.get(grid.geometry, ("cdp_x", "cdp_y")):
        values = _scaled(headers[name], scalar)
        values[~live] = np.nan
        coords[name] = xr.Variable(grid.dims, values, attrs={"units": "m"})

    file_header = xr.Variable((), np.array(b"", dtype="S1"), attrs=_file_header_attrs(layout))
    ds = xr.Dataset(
        {
            "amplitude": amplitude,
            "trace_mask": xr.Variable(grid.dims, live),
            "headers": xr.Variable(grid.dims, headers),
            "raw_headers": xr.Variable(grid.dims, raw_grid, attrs={"long_name": "Raw Headers"}),
            "segy_trace_index": xr.Variable(
                grid.dims, grid.trace_index.astype(np.int64),
                attrs={"long_name": "Trace number in the source file (-1: absent)"},
            ),
            "segy_file_header": file_header,
        },
        coords=coords,
        attrs={
            "geometry": grid.geometry,
            "source_path": str(layout.path),
            "segy_format": layout.sample_format,
            "segy_endian": layout.endian,
            "segy_su": int(layout.is_su),
            "sample_interval_us": layout.sample_interval_us,
            "key_bytes": {k: int(v) for k, v in grid.key_bytes.items()},
            "mdio_template": grid.template or "",
        },
    )
    ds["amplitude"].encoding["preferred_chunks"] = {}
    if chunks is not None:
        ds = ds.chunk({"time": -1, **chunks} if isinstance(chunks, dict) else chunks)
    return ds


def _file_header_attrs(layout: SegyLayout) -> dict[str, Any]:
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return {
        "textHeader": _decode_text(layout.text_header),
        "binaryHeader": dict(layout.binary_fields),
        "rawTextHeader": b64(layout.text_header),
        "rawBinaryHeader": b64(layout.binary_header),
        "rawExtendedTextHeaders": b64(layout.extended_headers),
    }
