"""SEG-Y (and Seismic Unix) reading into the survey data model.

The file layout is validated up front (sizes, sample format, sample count, byte order),
all trace headers are scanned once to infer the geometry (:mod:`.geometry`), and the
samples stay on disk: ``amplitude`` is a lazily indexed array that reads only the traces
an index touches, through a memory map, decoded with segyio's C converters.
"""

from __future__ import annotations

import base64
import math
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.geometry import Grid, check_key_bytes, infer_grid
from promethium_lab.io.ibm import ibm_to_ieee
from promethium_lab.io.segy_spec import (
    BINARY_HEADER_SIZE,
    BYTE_ORDER_CONSTANT,
    TEXT_HEADER_SIZE,
    TRACE_HEADER_SIZE,
    UNSUPPORTED_FORMATS,
    SampleFormat,
    binary_sample_count,
    decode_binary_header,
    decode_trace_headers,
)
from promethium_lab.io.templates import get_template

__all__ = [
    "DEFAULT_SAMPLE_INTERVAL_US",
    "SegyLayout",
    "decode_samples",
    "open_segy",
    "read_layout",
]

#: Sample interval (µs) used when no header gives a positive one (segyio's fallback too).
DEFAULT_SAMPLE_INTERVAL_US = 4000
_MAX_SAMPLES = 1_000_000  # beyond this a header is garbage, not a trace length
_SU_SUFFIXES = {".su"}
_END_TEXT = "((SEG:ENDTEXT))"  # the stanza ending a variable count of extended text headers
#: numpy dtype of the stored samples of each (format, byte order)
_VIEWS = {(f.code, e): f.dtype(e) for f in SampleFormat for e in "<>"}


@dataclass(frozen=True)
class SegyLayout:
    """Where everything is in a SEG-Y file.

    Attributes
    ----------
    path : Path
    endian : str
        ``">"`` (standard) or ``"<"`` (byte-swapped files some software writes).
    sample_format : int
        SEG-Y data sample format code (a :class:`~.segy_spec.SampleFormat`).
    n_samples : int
    sample_interval_us : int or float
    data_offset : int
        Byte offset of the first trace header.
    n_traces : int
    is_su : bool
        Seismic Unix file: no textual or binary file header.
    text_header, binary_header, extended_headers : bytes
        Raw file headers (empty for SU); ``extended_headers`` is every byte between the
        binary header and the first trace.
    binary_fields : dict
        The decoded binary header.
    n_extra_headers : int
        SEG-Y rev 2 additional 240-byte trace headers after each standard one.
    trailer : bytes
        Bytes after the last trace (rev 2 data trailer stanzas).
    sample_interval_source : str
        Where the interval came from: ``"binary"``, ``"extended"`` (rev 2 IEEE double),
        ``"trace"`` or ``"default"``.
    notes : tuple of str
        Warnings for the user (fallbacks taken), issued when the file is opened.
    """

    path: Path
    endian: str
    sample_format: int
    n_samples: int
    sample_interval_us: int | float
    data_offset: int
    n_traces: int
    is_su: bool = False
    text_header: bytes = b""
    binary_header: bytes = b""
    extended_headers: bytes = b""
    binary_fields: dict[str, int | float] = field(default_factory=dict)
    n_extra_headers: int = 0
    trailer: bytes = b""
    sample_interval_source: str = "binary"
    notes: tuple[str, ...] = ()

    @property
    def itemsize(self) -> int:
        return SampleFormat(self.sample_format).itemsize

    @property
    def header_size(self) -> int:
        """Header bytes per trace (240, plus 240 per rev 2 additional header)."""
        return TRACE_HEADER_SIZE * (1 + self.n_extra_headers)

    @property
    def trace_size(self) -> int:
        return self.header_size + self.n_samples * self.itemsize

    @property
    def nbytes(self) -> int:
        return self.data_offset + self.n_traces * self.trace_size + len(self.trailer)

    def trace_dtype(self) -> np.dtype:
        """Structured dtype of one trace block (raw header(s) + raw samples)."""
        parts: list[tuple[Any, ...]] = [("header", "V240")]
        if self.n_extra_headers:
            parts.append(("extra", f"V{TRACE_HEADER_SIZE * self.n_extra_headers}"))
        parts.append(("samples", "u1", (self.n_samples * self.itemsize,)))
        return np.dtype(parts)

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
    return code in SampleFormat._value2member_map_ or code in UNSUPPORTED_FORMATS


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


def _word(raw: bytes, start: int, kind: str) -> int:
    """The number of numpy ``kind`` (with byte order) at 0-based ``start`` of ``raw``."""
    return int(np.frombuffer(raw, dtype=kind, count=1, offset=start)[0])


def _byte_orders(binary: bytes, orders: tuple[str, ...]) -> tuple[str, ...]:
    """``orders``, narrowed by the rev 2 byte-order constant (bytes 3297-3300) when set."""
    for order in orders:
        if _word(binary, 96, order + "u4") == BYTE_ORDER_CONSTANT:
            return (order,)
    return orders


def _sample_format(p: Path, fmt: int) -> SampleFormat:
    if fmt in UNSUPPORTED_FORMATS:
        raise PromethiumError(
            ErrorCode.UNSUPPORTED_FORMAT,
            f"{p}: sample format code {fmt} ({UNSUPPORTED_FORMATS[fmt]}) is valid SEG-Y but "
            "not supported",
            hint="convert it to another format with the software that wrote it; supported "
            "codes: " + ", ".join(f"{f.code} ({f.description})" for f in SampleFormat),
        )
    return SampleFormat(fmt)


def _end_text_record(p: Path, start: int) -> int:
    """Number of 3200-byte records from ``start`` up to and including the one holding the
    ``((SEG: EndText))`` stanza (ASCII or EBCDIC, any case and spacing); 0 when none does."""
    count = 0
    with open(p, "rb") as fh:
        fh.seek(start)
        while True:
            block = fh.read(TEXT_HEADER_SIZE * 256)
            n = len(block) // TEXT_HEADER_SIZE
            for i in range(n):
                record = block[i * TEXT_HEADER_SIZE : (i + 1) * TEXT_HEADER_SIZE]
                for codec in ("ascii", "cp037"):
                    text = record.decode(codec, "replace").upper().replace(" ", "")
                    if _END_TEXT in text:
                        return count + i + 1
            count += n
            if len(block) < TEXT_HEADER_SIZE * 256:
                return 0


def _data_offset(
    p: Path, fields: dict[str, Any], rev2: bool, size: int
) -> tuple[int, tuple[str, ...]]:
    """Byte offset of the first trace, and notes for the user: rev 2's explicit offset
    (bytes 3521-3528) when set, else after the extended textual headers (count in bytes
    3505-3506, read whatever the revision, as segyio does; -1 = up to the
    ``((SEG: EndText))`` stanza). A count of more records than the file holds (noise in
    a rev 0 header) is read as 0."""
    base = TEXT_HEADER_SIZE + BINARY_HEADER_SIZE
    if rev2 and fields["byte_offset_first_trace"]:
        offset = int(fields["byte_offset_first_trace"])
        if not base <= offset <= size:
            raise PromethiumError(
                ErrorCode.NOT_SEGY,
                f"{p}: the binary header puts the first trace at byte {offset}, outside the "
                f"{size}-byte file (or inside its file header)",
                hint="the binary header is damaged; fix bytes 3521-3528 (byte offset of the "
                "first trace) or set them to 0",
            )
        return offset, ()
    n_ext = int(fields["num_extended_text_headers"])
    if n_ext > 0 and base + TEXT_HEADER_SIZE * n_ext >= size:
        return base, (f"bytes 3505-3506 say {n_ext} extended textual headers, more than the "
                      "file holds; read as none",)
    if n_ext == -1:
        n_ext = _end_text_record(p, base)
        if n_ext == 0:
            raise PromethiumError(
                ErrorCode.TRUNCATED_FILE,
                f"{p}: the binary header says a variable number of extended textual headers "
                "(-1 in bytes 3505-3506), but no 3200-byte record after it holds the "
                "((SEG: EndText)) stanza that ends them",
                hint="the file is cut short, or bytes 3505-3506 should hold the number of "
                "extended textual headers",
            )
    elif n_ext < 0:
        raise PromethiumError(
            ErrorCode.NOT_SEGY,
            f"{p}: the binary header says {n_ext} extended textual headers (bytes 3505-3506)",
            hint="the binary header is damaged; bytes 3505-3506 hold a count, or -1 for a "
            "variable number ended by ((SEG: EndText))",
        )
    return base + TEXT_HEADER_SIZE * n_ext, ()


def _extra_headers(p: Path, fields: dict[str, Any], rev2: bool) -> int:
    """Rev 2 additional 240-byte trace headers per trace (bytes 3507-3508)."""
    n = int(fields["max_extended_trace_headers"]) if rev2 else 0
    if n < 0:
        raise PromethiumError(
            ErrorCode.NOT_SEGY,
            f"{p}: the binary header says {n} additional trace headers (bytes 3507-3508)",
            hint="the binary header is damaged; fix bytes 3507-3508 (0 when traces have only "
            "the standard 240-byte header)",
        )
    return n


def _sample_interval(
    fields: dict[str, Any] | None, rev2: bool, trace_dt: int
) -> tuple[int | float, str, tuple[str, ...]]:
    """Sample interval (µs), where it came from, and notes for the user.

    A positive interval in the binary header (rev 2: the IEEE double in bytes 3273-3280
    when set, else bytes 3217-3218) or in the first trace header (bytes 117-118); when
    neither is positive, :data:`DEFAULT_SAMPLE_INTERVAL_US` with a note. Both 16-bit words
    are signed, as segyio reads them.
    """
    binary, source = 0.0, "binary"
    if fields is not None:
        binary = float(fields["sample_interval"])
        ext = float(fields["extended_sample_interval"])
        if rev2 and math.isfinite(ext) and ext > 0:
            binary, source = ext, "extended"
    notes: tuple[str, ...] = ()
    if binary > 0:
        if trace_dt > 0 and abs(trace_dt - binary) >= 1:  # 16 bits hold no fraction
            notes = (f"the binary header says a sample interval of {binary:g} µs, the first "
                     f"trace header {trace_dt} µs; the binary header's is used",)
        dt = binary
    elif trace_dt > 0:
        dt, source = float(trace_dt), "trace"
    else:
        dt, source = float(DEFAULT_SAMPLE_INTERVAL_US), "default"
        where = "the binary and first trace headers" if fields is not None else "the trace header"
        notes = (f"no positive sample interval in {where}; assuming "
                 f"{DEFAULT_SAMPLE_INTERVAL_US} µs",)
    return (int(dt) if dt.is_integer() else dt), source, notes


def read_layout(
    path: str | os.PathLike, *, endian: str = "auto", su: bool | None = None
) -> SegyLayout:
    """Validate a SEG-Y/SU file and describe its layout.

    Reads SEG-Y rev 0, 1 and 2.1: extended textual headers (fixed count, whatever the
    revision, or ended by a ``((SEG: EndText))`` stanza), the 32-bit sample count, the
    explicit first-trace offset, trace count and data trailer, additional trace headers,
    and every sample format of :class:`~.segy_spec.SampleFormat`.

    Parameters
    ----------
    path : path-like
    endian : {"auto", "big", "little"}
        Byte order; "auto" tries big-endian first, then little-endian, by checking that the
        sample format code and sample count are plausible and that the size adds up (a
        rev 2 byte-order constant, when set, decides).
    su : bool, optional
        Seismic Unix file (no file headers, IEEE samples). Default: by the ``.su`` suffix.

    Raises
    ------
    PromethiumError
        ``NOT_SEGY``, ``TRUNCATED_FILE``, ``UNSUPPORTED_FORMAT``, ``BAD_SAMPLE_COUNT``,
        ``PATH_NOT_FOUND``, ``PATH_IS_DIRECTORY``, ``INVALID_PARAMETER``.
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
    candidates = _byte_orders(binary, orders[endian])
    for order in candidates:
        fields = decode_binary_header(binary, order)
        fmt = int(fields["data_sample_format"])
        if not _plausible_format(fmt):
            problems.append(f"{'big' if order == '>' else 'little'}-endian format code {fmt}")
            continue
        itemsize = _sample_format(p, fmt).itemsize
        rev2 = fields["segy_revision_major"] == 2
        data_offset, offset_notes = _data_offset(p, fields, rev2, size)
        n_extra = _extra_headers(p, fields, rev2)
        first = _read_bytes(p, data_offset, data_offset + TRACE_HEADER_SIZE)
        trace_ns = _word(first, 114, order + "u2") if len(first) >= 116 else None
        trace_dt = _word(first, 116, order + "i2") if len(first) >= 118 else 0
        ns = binary_sample_count(fields)
        if ns == 0 and trace_ns:
            ns = trace_ns
        if ns == 0 or ns > _MAX_SAMPLES:
            raise PromethiumError(
                ErrorCode.BAD_SAMPLE_COUNT,
                f"{p}: the binary header says {ns} samples per trace",
                hint="the file header is damaged; fix bytes 3221-3222 (samples per trace)",
            )
        dt, dt_source, notes = _sample_interval(fields, rev2, trace_dt)
        notes = offset_notes + notes
        header_size = TRACE_HEADER_SIZE * (1 + n_extra)
        trace_size = header_size + ns * itemsize
        body = max(size - data_offset, 0)
        declared = int(fields["num_traces"]) if rev2 else 0
        n_trailer = int(fields["num_data_trailer_stanzas"]) if rev2 else 0
        if declared and declared * trace_size <= body:
            n_traces, rest = declared, 0
            trailer_size = body - declared * trace_size
            if trailer_size and trailer_size != TEXT_HEADER_SIZE * max(n_trailer, 0):
                notes = (*notes, f"the {trailer_size} bytes after the {declared} traces the "
                         "binary header counts (bytes 3513-3520) are kept as a data trailer")
        else:
            trailer_size = TEXT_HEADER_SIZE * n_trailer if 0 < n_trailer * 3200 < body else 0
            n_traces, rest = divmod(body - trailer_size, trace_size)
        if declared and n_traces != declared:
            raise PromethiumError(
                ErrorCode.TRUNCATED_FILE,
                f"{p}: the binary header says {declared} traces of {trace_size} bytes "
                f"(bytes 3513-3520), but the file holds {body} bytes of traces",
                hint="the file was cut short (interrupted copy?); copy it again from its source",
            )
        if n_traces <= 0 or rest:
            if (trace_ns and trace_ns != ns and body
                    and body % (header_size + trace_ns * itemsize) == 0):
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
                    f"({ns} samples, format {fmt}"
                    + (f", {n_extra} additional trace headers)" if n_extra else ")"),
                    hint="the file was cut short (interrupted copy?) or its samples-per-trace "
                    "header is wrong; copy it again, or trim it to whole traces"
                    + ("; traces with fewer additional headers than the maximum in bytes "
                       "3507-3508 are not supported" if n_extra else ""),
                )
            if len(candidates) > 1 and trace_ns is not None and trace_ns != ns:
                # maybe the other byte order reads right; if none does, this is the error
                problems.append(f"sample count {ns} does not divide the file")
                deferred = deferred or error
                continue
            raise error
        end = data_offset + n_traces * trace_size
        return SegyLayout(
            path=p, endian=order, sample_format=fmt, n_samples=ns, sample_interval_us=dt,
            data_offset=data_offset, n_traces=int(n_traces),
            text_header=head[:TEXT_HEADER_SIZE], binary_header=binary,
            extended_headers=_read_bytes(p, TEXT_HEADER_SIZE + BINARY_HEADER_SIZE, data_offset),
            binary_fields=fields, n_extra_headers=n_extra,
            trailer=_read_bytes(p, end, end + trailer_size) if trailer_size else b"",
            sample_interval_source=dt_source, notes=notes,
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
        ns = _word(head, 114, order + "u2")
        if not 0 < ns <= _MAX_SAMPLES:
            continue
        n_traces, rest = divmod(size, TRACE_HEADER_SIZE + 4 * ns)
        if rest == 0 and n_traces > 0:
            # SU's dt is an unsigned short; segyread leaves it 0 when only the binary
            # header had the interval
            dt, source, notes = _sample_interval(None, False, _word(head, 116, order + "u2"))
            return SegyLayout(
                path=p, endian=order, sample_format=5, n_samples=ns, sample_interval_us=dt,
                data_offset=0, n_traces=int(n_traces), is_su=True,
                sample_interval_source=source, notes=notes,
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
    isz = SampleFormat(sample_format).itemsize
    out = np.empty((*raw.shape[:-1], raw.shape[-1] // isz), dtype=np.float32)
    decode_into(raw, out, sample_format, endian)
    return out


def decode_into(raw: np.ndarray, out: np.ndarray, sample_format: int, endian: str) -> None:
    """Decode raw sample bytes into the C-contiguous float32 array ``out`` (same rows).

    IBM floats go through segyio's C converter in place, except unnormalised words
    (leading hex digit 0, as some recorders write), which segyio decodes wrongly: those
    are decoded exactly by :func:`promethium_lab.io.ibm.ibm_to_ieee`. Other formats are
    cast to float32 (8-byte and 4-byte integer samples beyond 2**24 are rounded to float32's
    24-bit precision).
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
    out[...] = raw.view(_VIEWS[sample_format, endian])


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
    """All standard trace headers as an ``(n_traces,)`` ``V240`` array.

    One sequential pass over the file in batches of ``batch_mb``, so memory holds the
    headers and one batch, never the whole file (a memory map would keep every page).
    """
    return read_trace_headers(layout, batch_mb)[0]


def read_trace_headers(
    layout: SegyLayout, batch_mb: float = 32.0
) -> tuple[np.ndarray, np.ndarray | None]:
    """All trace headers: the standard ones (``(n_traces,)`` ``V240``) and the rev 2
    additional ones (``V{240 * n}``, None when the file has none), in one pass."""
    out = np.empty(layout.n_traces, dtype="V240")
    n_extra = layout.n_extra_headers
    extra = np.empty(layout.n_traces, dtype=f"V{TRACE_HEADER_SIZE * n_extra}") if n_extra else None
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
            if extra is not None:
                extra[start : start + count] = block["extra"]
    return out, extra


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
        ``amplitude`` (lazy), ``trace_mask``, ``headers``, ``raw_headers`` (and
        ``raw_extra_headers`` for rev 2 additional trace headers), ``segy_file_header``
        and coordinates.

    Warns
    -----
    UserWarning
        When a fallback was taken (no positive sample interval in the headers, headers
        that disagree on it, unexplained bytes after the counted traces).
    """
    check_key_bytes(key_bytes)
    layout = read_layout(path, endian=endian, su=su)
    raw, extra = read_trace_headers(layout)
    raw_u8 = raw.view(np.uint8).reshape(layout.n_traces, TRACE_HEADER_SIZE)
    grid = infer_grid(raw_u8, layout.endian, geometry=geometry,
                      binary_header=layout.binary_fields or None, **key_bytes)
    for note in layout.notes:
        warnings.warn(f"{layout.path.name}: {note}", UserWarning, stacklevel=2)
    return build_dataset(layout, grid, raw, chunks=chunks, extra=extra)


def build_dataset(
    layout: SegyLayout, grid: Grid, raw: np.ndarray, *,
    chunks: dict[str, int] | str | None = None, extra: np.ndarray | None = None,
) -> xr.Dataset:
    """Assemble the survey dataset from a layout, its grid and its raw headers (``extra``:
    the rev 2 additional trace headers of every file trace, kept raw)."""
    decoded = decode_trace_headers(raw, layout.endian)
    live = grid.live_mask
    idx = grid.trace_index[live]
    headers = np.zeros(grid.shape, dtype=decoded.dtype)
    headers[live] = decoded[idx]
    raw_grid = np.zeros(grid.shape, dtype="V240")
    raw_grid[live] = raw[idx]

    first = decoded[0]
    dt_ms = layout.sample_interval_us / 1000.0
    # times in trace bytes 95-114 are scaled by the time scalar (bytes 215-216), which SU's
    # header does not have (unassigned there)
    scalar = np.int16(0) if layout.is_su else first["times_scalar"]
    delay = float(_scaled(first["delay_recording_time"], scalar))
    time = delay + dt_ms * np.arange(layout.n_samples)
    dims = (*grid.dims, "time")

    lazy = indexing.LazilyIndexedArray(SegyAmplitudeArray(layout, grid.trace_index))
    amplitude = xr.Variable(dims, lazy, attrs={"long_name": "Amplitude"})
    coords: dict[str, Any] = {
        d: xr.Variable((d,), grid.coords[d].astype(np.int64)) for d in grid.dims
    }
    coords["time"] = xr.Variable(("time",), time, attrs={"units": "ms", "long_name": "Time"})
    scalar = headers["coordinate_scalar"]
    for coord in get_template(grid.geometry).coordinates:
        values = _scaled(headers[coord.header], scalar)
        values[~live] = np.nan
        coords[coord.name] = xr.Variable(grid.dims, values, attrs={"units": coord.units})

    file_header = xr.Variable((), np.array(b"", dtype="S1"), attrs=_file_header_attrs(layout))
    variables = {
        "amplitude": amplitude,
        "trace_mask": xr.Variable(grid.dims, live),
        "headers": xr.Variable(grid.dims, headers),
        "raw_headers": xr.Variable(grid.dims, raw_grid, attrs={"long_name": "Raw Headers"}),
        "segy_trace_index": xr.Variable(
            grid.dims, grid.trace_index.astype(np.int64),
            attrs={"long_name": "Trace number in the source file (-1: absent)"},
        ),
        "segy_file_header": file_header,
    }
    if extra is not None:
        extra_grid = np.zeros(grid.shape, dtype=extra.dtype)
        extra_grid[live] = extra[idx]
        variables["raw_extra_headers"] = xr.Variable(
            grid.dims, extra_grid,
            attrs={"long_name": "Raw additional trace headers (SEG-Y rev 2)",
                   "count": layout.n_extra_headers},
        )
    ds = xr.Dataset(
        variables,
        coords=coords,
        attrs={
            "geometry": grid.geometry,
            "source_path": str(layout.path),
            "segy_format": layout.sample_format,
            "segy_endian": layout.endian,
            "segy_su": int(layout.is_su),
            "sample_interval_us": layout.sample_interval_us,
            "sample_interval_source": layout.sample_interval_source,
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
        **({"rawTrailer": b64(layout.trailer)} if layout.trailer else {}),
    }
