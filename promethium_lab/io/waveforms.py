"""Read miniSEED and SAC recordings (through ObsPy) into the ``waveforms`` data model.

:func:`open_waveforms` returns an :class:`xarray.Dataset` with dims ``("trace", "time")``:
one row per SEED id (``NET.STA.LOC.CHA``) and a dense time axis shared by all rows.

Decisions
---------
* **Common time axis.** It starts at the earliest start time of all segments
  (``attrs["reference_time"]``, ISO-8601 UTC) and steps by the common sampling interval.
  ``time`` is in milliseconds relative to that reference.
* **Sub-sample offsets.** Each segment is placed at the *nearest* sample of the common axis:
  index ``floor((start - reference) * rate + 0.5)``, so ties go to the later sample. A
  segment can therefore move by up to half a sample interval. The exact start of each row is
  kept in the ``starttime`` coordinate.
* **Gaps and edges** are masked: ``amplitude`` is 0 and ``sample_mask`` is False wherever no
  sample was recorded (gaps, before a trace starts, after it ends).
* **Overlaps.** Samples recorded twice with the same value are kept once. Samples recorded
  twice with *different* values are ambiguous: they are masked (like ObsPy's
  ``Stream.merge(method=0)``) and a :class:`UserWarning` names how many.
* **Damaged files are errors, never partial data.** ObsPy's miniSEED reader returns the
  records before a cut (or skips garbage records), only warns, and says nothing when the last
  record lacks fewer than half its bytes. The reader walks the record headers itself and turns
  both into :class:`~promethium_lab.core.errors.PromethiumError` (``TRUNCATED_FILE`` for a file
  that ends inside a record, ``UNREADABLE_WAVEFORM`` for corrupt records). A file cut exactly
  at a record boundary is a valid, shorter miniSEED file and cannot be detected. Zero or blank
  padding between records is ignored. Other ObsPy warnings are passed on unchanged.
* **A cut last record can be kept on request.** ``truncated="keep"`` reads the whole records
  and masks (``sample_mask`` False) the samples the cut record would have held, as far as its
  header says (start time and sample count); it is reported in ``attrs["truncated_records"]``
  and as a warning of the ``promethium_lab.io.waveforms`` logger.
* **Text records** (miniSEED encoding 0, e.g. ``LOG`` channels with sampling rate 0) hold no
  samples: their text is kept in ``attrs["log_text"]`` (``{SEED id: text}``) and the data
  channels are read normally. A file with text records only is ``UNREADABLE_WAVEFORM``.
* **SAC** files must be evenly sampled time series: ``leven = 0`` or an ``iftype`` other than
  ``ITIME`` (spectra, x-y data) raise ``UNSUPPORTED_FORMAT``; an undefined ``iftype`` or
  ``leven`` is taken as SAC's default (evenly sampled time series). Alphanumeric SAC
  (``SACXY``) is read like binary SAC.
* **One sampling rate.** Traces with different sampling rates raise ``INVALID_PARAMETER``;
  numeric channels without a sampling rate (0 Hz) raise ``UNSUPPORTED_FORMAT``.
* ``attrs["sample_interval_us"]`` is an int (as from the SEG-Y reader) when the interval is a
  whole number of microseconds, else a float.
* **Precision.** Samples are stored as float32, so integer counts above 2**24 are rounded.
"""

from __future__ import annotations

import glob
import math
import os
import re
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.formats import (
    WAVEFORM_FORMATS,
    check_waveform_path,
    guess_waveform_format,
    not_waveform_error,
    sacxy_header,
)

__all__ = [
    "MAX_GRID_SAMPLES",
    "TRUNCATED_OPTIONS",
    "WAVEFORM_FORMATS",
    "guess_waveform_format",
    "open_waveforms",
]

#: Values of ``truncated``: raise for a cut last miniSEED record, or keep the whole ones.
TRUNCATED_OPTIONS: tuple[str, ...] = ("error", "keep")

#: Largest dense grid (traces x time samples) built in memory; beyond it a typed error is
#: raised instead of exhausting memory (e.g. files recorded years apart).
MAX_GRID_SAMPLES = 500_000_000

PathLike = str | os.PathLike

_TRUNCATION_PATTERNS = (
    "Unexpected end of file",
    "not enough to constitute a full SEED record",
    "reclen exceeds buflen",
)
_CORRUPTION_PATTERNS = (
    "Data integrity check",
    "This is an invalid MiniSEED file",
)
_SKIP_RE = re.compile(r"Not a SEED record\. Will skip bytes (\d+) to (\d+)")
_SAC_SIZE_RE = re.compile(r"Actual/Theoretical:\s*(-?\d+)\s*/\s*(-?\d+)")


def _resolve_format(path: str, requested: str | None) -> str:
    detected = guess_waveform_format(path)
    if requested is None and detected is not None:
        return detected
    if requested is not None and requested == detected:
        return requested
    if requested is not None and detected is not None:
        raise PromethiumError(
            ErrorCode.UNREADABLE_WAVEFORM,
            f"waveform file {path!r} ({os.path.getsize(path)} bytes) does not look like "
            f"{requested} (it looks like {detected})",
            hint="pass format=None to detect the format from the file's bytes",
        )
    raise not_waveform_error(path, requested)


def _is_padding(path: str, start: int, stop: int) -> bool:
    """True when bytes ``start..stop`` (inclusive) of ``path`` are all NUL or blank."""
    with open(path, "rb") as fh:
        fh.seek(start)
        chunk = fh.read(stop - start + 1)
    return len(chunk) > 0 and not chunk.strip(b"\x00 ")


# --------------------------------------------------------------------------- miniSEED records

_HEAD_BYTES = 512  # enough for the fixed header and the usual blockettes (1000, 1001, 100)
_QUALITY_CODES = b"DRQM"
_CONTROL_SCAN = 1 << 20  # how far to look past SEED volume control records for the data
_UNEXPECTED_END_RE = re.compile(r"record starting at offset (\d+)")
_LAST_RECORD_RE = re.compile(r"Last record only has (\d+) byte")


@dataclass(frozen=True)
class _RecordHeader:
    """What the header of one miniSEED 2 data record says (None where it is cut off)."""

    seed_id: str | None
    start_ns: int | None
    npts: int | None
    sampling_rate: float | None
    record_length: int | None
    encoding: int | None
    cut_short: bool = False  # the buffer ends inside the fixed header or the blockette chain


_NO_HEADER = _RecordHeader(None, None, None, None, None, None, cut_short=True)


@dataclass(frozen=True)
class _CutRecord:
    """The last record of a miniSEED file, which the file ends inside."""

    path: str
    offset: int  # byte offset of the record in the file
    present: int  # bytes of it that are in the file
    header: _RecordHeader
    data_start: int = 0  # offset of the first data record (after SEED control records)

    @property
    def lost_span(self) -> tuple[str, int, int, float] | None:
        """(SEED id, start ns, samples, rate) of the samples it held, when its header says."""
        h = self.header
        if (h.seed_id is None or h.start_ns is None or not h.npts or not h.sampling_rate
                or h.sampling_rate <= 0 or h.encoding == 0):
            return None
        return h.seed_id, h.start_ns, h.npts, h.sampling_rate

    def describe(self) -> str:
        h = self.header
        size = f"{self.present} of its {h.record_length} bytes" if h.record_length else (
            f"{self.present} byte{'s' * (self.present != 1)}, not even its whole header")
        text = f"the record at byte {self.offset} has {size}"
        if h.encoding == 0:
            return text + f" ({h.seed_id} text)"
        if self.lost_span is not None:
            text += f" ({h.seed_id}: {h.npts} samples from {_iso_utc(h.start_ns or 0)})"
        return text

    def to_attr(self) -> dict[str, Any]:
        """JSON-safe entry of ``attrs["truncated_records"]``."""
        h = self.header
        return {
            "path": self.path,
            "offset": self.offset,
            "bytes_present": self.present,
            "record_length": h.record_length,
            "seed_id": h.seed_id,
            "starttime": _iso_utc(h.start_ns) if h.start_ns is not None else None,
            "npts": h.npts,
            "sampling_rate": h.sampling_rate,
            "masked": self.lost_span is not None,
        }


def _starts_like_record(buf: bytes) -> bool:
    """Sequence number (digits, blanks) and a data-quality code, as far as ``buf`` goes."""
    if any(c not in b"0123456789 \x00" for c in buf[:6]):
        return False
    return len(buf) < 7 or buf[6] in _QUALITY_CODES


def _sample_rate(factor: int, mult: int) -> float:
    """Nominal sampling rate from the SEED rate factor and multiplier (SEED manual, ch. 8)."""
    if factor > 0 and mult > 0:
        return float(factor * mult)
    if factor > 0 and mult < 0:
        return -float(factor) / mult
    if factor < 0 and mult > 0:
        return -float(mult) / factor
    if factor < 0 and mult < 0:
        return 1.0 / (factor * mult)
    return 0.0


def _parse_record_header(buf: bytes) -> _RecordHeader | None:
    """Parse the data record header at the start of ``buf``; None when it is not one.

    A ``buf`` shorter than the header gives the fields it holds and None for the others.
    """
    from obspy import UTCDateTime

    if len(buf) < 7 or not _starts_like_record(buf):
        return None
    seed_id = None
    if len(buf) >= 20:
        fields = [buf[i:j].decode("ascii", "replace").strip()
                  for i, j in ((18, 20), (8, 13), (13, 15), (15, 18))]
        seed_id = ".".join(fields)
    if len(buf) < 48:
        return _RecordHeader(seed_id, None, None, None, None, None, cut_short=True)
    for order in "><":
        (year, day, hour, minute, sec, _, frac, npts, factor, mult, act, _io, _dq, _n,
         tcorr, _data, blk) = struct.unpack(order + "HHBBBBHHhhBBBBiHH", buf[20:48])
        if 1900 <= year <= 2500 and 1 <= day <= 366 and hour < 24 and minute < 60 and sec <= 60:
            break
    else:
        return None
    start_ns = UTCDateTime(year=year, julday=day, hour=hour, minute=minute).ns
    start_ns += sec * 1_000_000_000 + frac * 100_000
    if not act & 0x02:  # time correction not yet applied
        start_ns += tcorr * 100_000
    rate = _sample_rate(factor, mult)
    record_length = encoding = None
    seen, cut_short = 0, False
    while blk and seen < 32:
        if blk + 8 > len(buf):
            cut_short = True  # the blockette chain is cut off (or beyond what was read)
            break
        kind, nxt = struct.unpack(order + "HH", buf[blk : blk + 4])
        if kind == 1000:
            encoding, exponent = buf[blk + 4], buf[blk + 6]
            record_length = 2**exponent if 7 <= exponent <= 20 else None
        elif kind == 1001:
            start_ns += struct.unpack("b", buf[blk + 5 : blk + 6])[0] * 1000
        elif kind == 100:
            rate = float(struct.unpack(order + "f", buf[blk + 4 : blk + 8])[0])
        if nxt and nxt <= blk:
            break
        blk, seen = nxt, seen + 1
    return _RecordHeader(seed_id, start_ns, npts, rate, record_length, encoding, cut_short)


def _find_cut_record(path: str) -> _CutRecord | None:
    """The record a miniSEED file ends inside, or None (whole records, or not walkable).

    Walks the record headers by their blockette-1000 record lengths, from the first data
    record (after the control records of a full SEED volume), skipping zero and blank
    padding. Files it cannot walk (no blockette 1000, garbage between records) give None:
    ObsPy's own warnings are then the only check.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        offset, first = 0, _parse_record_header(fh.read(_HEAD_BYTES))
        while first is None and offset < min(size, _CONTROL_SCAN):
            # a full SEED volume: control records (V, A, S, T) come first, in 256-byte steps
            offset += 256
            fh.seek(offset)
            first = _parse_record_header(fh.read(_HEAD_BYTES))
        if first is None or first.record_length is None:
            return None
        data_start, reclen = offset, first.record_length
        if (size - offset) % reclen == 0:  # fast path: a whole record ends the file
            fh.seek(size - reclen)
            last = _parse_record_header(fh.read(_HEAD_BYTES))
            if last is not None and last.record_length == reclen:
                return None
        while offset < size:
            fh.seek(offset)
            chunk = fh.read(_HEAD_BYTES)
            head = _parse_record_header(chunk)
            if head is None or head.record_length is None:
                blank = len(chunk) - len(chunk.lstrip(b"\x00 "))
                if blank:
                    offset += blank
                    continue
                at_end = offset + len(chunk) >= size
                if at_end and (head.cut_short if head is not None
                               else _starts_like_record(chunk)):
                    return _CutRecord(path, offset, size - offset, head or _NO_HEADER,
                                      data_start)
                return None
            if offset + head.record_length > size:
                return _CutRecord(path, offset, size - offset, head, data_start)
            offset += head.record_length
    return None


# --------------------------------------------------------------------------- SAC header

#: SAC ``iftype`` codes (header word 85) and what a file of each holds.
_SAC_IFTYPES = {
    1: "a time series (ITIME)",
    2: "a spectrum as real and imaginary parts (IRLIM)",
    3: "a spectrum as amplitude and phase (IAMPH)",
    4: "general x-y data (IXY)",
    51: "x-y-z data (IXYZ)",
}
_SAC_UNDEFINED = -12345


def _check_sac_header(path: str, fmt: str) -> None:
    """Raise UNSUPPORTED_FORMAT for SAC files that are no evenly sampled time series."""
    from obspy.io.sac import arrayio

    try:
        if fmt == "SACXY":
            _, ints, _ = sacxy_header(path)  # type: ignore[misc]
        else:
            _, ints, _, _ = arrayio.read_sac(path, headonly=True)
        iftype, leven = int(ints[15]), int(ints[35])  # header words 85 and 105
    except Exception:  # a damaged header: the reader says what is wrong
        return
    if iftype not in (1, _SAC_UNDEFINED):
        what = _SAC_IFTYPES.get(iftype, f"data of unknown type (iftype {iftype})")
        raise PromethiumError(
            ErrorCode.UNSUPPORTED_FORMAT,
            f"SAC file {path!r} holds {what}, not a time series (iftype {iftype}, "
            "header word 86)",
            hint="only time series (iftype ITIME = 1) are read; transform it back to a time "
            "series first (SAC: ifft) and write it again",
        )
    if leven == 0:
        raise PromethiumError(
            ErrorCode.UNSUPPORTED_FORMAT,
            f"SAC file {path!r} is unevenly sampled (leven = 0, header word 106): its samples "
            "have their own times, and a survey needs a regular time axis",
            hint="resample it to a constant interval first (SAC: interpolate delta ...) "
            "and write it again",
        )


def _read_sacxy(path: str) -> Any:
    """Read alphanumeric SAC like ObsPy's SACXY reader, for any number of samples.

    ObsPy 1.5 fails (numpy >= 1.24) when the last line holds fewer than 5 values.
    """
    import obspy
    from obspy.io.sac import SACTrace

    header = sacxy_header(path)
    if header is None:
        raise PromethiumError(
            ErrorCode.UNREADABLE_WAVEFORM,
            f"{path!r} has no alphanumeric SAC header (30 lines of numbers and names)",
            hint="the file is damaged or not alphanumeric SAC; check it with obspy.read",
        )
    hf, hi, hs = header
    with open(path, encoding="ascii", errors="replace") as fh:
        lines = fh.read().splitlines()
    values = np.array(" ".join(lines[30:]).split(), dtype="<f4")  # as ObsPy converts them
    npts = int(hi[9])
    if values.size != npts:
        short = values.size < npts
        raise PromethiumError(
            ErrorCode.TRUNCATED_FILE if short else ErrorCode.UNREADABLE_WAVEFORM,
            f"alphanumeric SAC file {path!r} holds {values.size} values, its header says "
            f"npts = {npts}",
            hint="the file is cut off; copy or download it again" if short
            else "the file is damaged or its npts header is wrong; check it with obspy.read",
        )
    return obspy.Stream([SACTrace._from_arrays(hf, hi, hs, values).to_obspy_trace()])


# --------------------------------------------------------------------------- reading


def _about_cut(text: str, cut: _CutRecord | None) -> bool:
    """True when an ObsPy truncation warning is about the cut record ``cut``."""
    if cut is None:
        return False
    end = _UNEXPECTED_END_RE.search(text)
    if end:  # ObsPy counts from the first data record
        return int(end.group(1)) == cut.offset - cut.data_start
    last = _LAST_RECORD_RE.search(text)
    if last:
        return int(last.group(1)) == cut.present
    return "reclen exceeds buflen" in text


def _check_warnings(
    path: str, fmt: str, caught: list[warnings.WarningMessage], cut: _CutRecord | None = None
) -> list[Any]:
    """Raise for warnings that mean damaged data; return the others to re-emit.

    Truncation warnings about ``cut`` (a cut last record the caller keeps) are dropped.
    """
    passed: list[Any] = []
    for item in caught:
        text = str(item.message)
        if any(p in text for p in _TRUNCATION_PATTERNS):
            if _about_cut(text, cut):
                continue
            raise PromethiumError(
                ErrorCode.TRUNCATED_FILE,
                f"{fmt} file {path!r} is truncated: {text}",
                hint="the file ends inside a record; copy or download it again",
            )
        skip = _SKIP_RE.search(text)
        if skip and _is_padding(path, int(skip.group(1)), int(skip.group(2))):
            continue
        if skip or any(p in text for p in _CORRUPTION_PATTERNS):
            raise PromethiumError(
                ErrorCode.UNREADABLE_WAVEFORM,
                f"{fmt} file {path!r} has corrupt records: {text}",
                hint="the file is damaged; copy or download it again",
            )
        passed.append(item)
    return passed


def _read_error(path: str, fmt: str, exc: Exception) -> PromethiumError:
    """Map an ObsPy read failure to a typed error."""
    from obspy.io.mseed import ObsPyMSEEDFilesizeTooSmallError

    text = " ".join(str(exc).split())
    if isinstance(exc, ObsPyMSEEDFilesizeTooSmallError):
        return PromethiumError(
            ErrorCode.TRUNCATED_FILE,
            f"miniSEED file {path!r} is shorter than one record: {text}",
            hint="the file is cut off; copy or download it again",
        )
    sizes = _SAC_SIZE_RE.search(str(exc)) if fmt.startswith("SAC") else None
    if sizes and int(sizes.group(1)) < int(sizes.group(2)):
        return PromethiumError(
            ErrorCode.TRUNCATED_FILE,
            f"SAC file {path!r} is shorter than its header says ({text})",
            hint="the file is cut off; copy or download it again",
        )
    return PromethiumError(
        ErrorCode.UNREADABLE_WAVEFORM,
        f"could not read {fmt} file {path!r}: {type(exc).__name__}: {text}",
        hint="the file is damaged or not valid " + fmt + "; check it with obspy.read",
    )


def _truncated_error(cut: _CutRecord) -> PromethiumError:
    return PromethiumError(
        ErrorCode.TRUNCATED_FILE,
        f"miniSEED file {cut.path!r} ends inside its last record: {cut.describe()}",
        hint="copy or download it again; or keep the whole records with truncated='keep' "
        "(the cut record's samples are then masked and reported)",
    )


def _lost_trace(cut: _CutRecord) -> Any:
    """An all-masked trace over the samples the cut record held (for ``sample_mask``)."""
    import obspy

    seed_id, start_ns, npts, rate = cut.lost_span  # type: ignore[misc]
    network, station, location, channel = seed_id.split(".")
    header = {"network": network, "station": station, "location": location,
              "channel": channel, "sampling_rate": rate,
              "starttime": obspy.UTCDateTime(ns=start_ns)}
    return obspy.Trace(np.ma.masked_all(npts, dtype=np.float32), header=header)


def _read_traces(path: str, fmt: str, truncated: str = "error") -> tuple[list[Any], list[Any]]:
    """Read one file with ObsPy; damaged files raise, never return partial data.

    Returns the traces and, with ``truncated="keep"``, the cut last record(s) kept out.
    """
    import obspy

    cut = _find_cut_record(path) if fmt == "MSEED" else None
    if cut is not None and truncated != "keep":
        raise _truncated_error(cut)
    if fmt in ("SAC", "SACXY"):
        _check_sac_header(path, fmt)
    error: Exception | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if fmt == "SACXY":
                stream = _read_sacxy(path)
            else:
                # glob.escape: obspy.read expands wildcards, a file name is taken literally
                stream = obspy.read(glob.escape(path), format=fmt, check_compression=False)
        except Exception as exc:  # mapped below, after the warnings are looked at
            error = exc
    passed = _check_warnings(path, fmt, caught, cut)
    if cut is not None and cut.offset == cut.data_start and (error or len(stream) == 0):
        raise PromethiumError(
            ErrorCode.TRUNCATED_FILE,
            f"miniSEED file {path!r} has no whole record to keep: {cut.describe()}",
            hint="the file is cut off; copy or download it again",
        ) from error
    if isinstance(error, PromethiumError):
        raise error
    if error is not None:
        raise _read_error(path, fmt, error) from error
    for item in passed:
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    if len(stream) == 0:
        raise PromethiumError(
            ErrorCode.UNREADABLE_WAVEFORM,
            f"{fmt} file {path!r} holds no waveform data",
            hint="the file may hold only metadata records",
        )
    return list(stream), [cut] if cut is not None else []


def _is_text(tr: Any) -> bool:
    """A miniSEED text record (encoding 0, e.g. a LOG channel): bytes, not samples."""
    encoding = getattr(getattr(tr.stats, "mseed", None), "encoding", None)
    return encoding == "ASCII" or tr.data.dtype.kind in "SUV"


def _split_text(traces: list[Any], paths: list[str]) -> tuple[list[Any], dict[str, str]]:
    """Data traces, and the text of text records per SEED id (in time order)."""
    data = [tr for tr in traces if not _is_text(tr)]
    text: dict[str, str] = {}
    for tr in sorted((tr for tr in traces if _is_text(tr)),
                     key=lambda tr: int(tr.stats.starttime.ns)):  # stable: file order kept
        chunk = np.asarray(tr.data).tobytes().decode("utf-8", "replace").rstrip("\x00")
        text[tr.id] = text.get(tr.id, "") + chunk
    if not data:
        listing = ", ".join(f"{k} ({len(v)} characters)" for k, v in sorted(text.items()))
        raise PromethiumError(
            ErrorCode.UNREADABLE_WAVEFORM,
            f"{', '.join(map(repr, paths))} hold{'s' if len(paths) == 1 else ''} only text "
            f"records ({listing}), no waveform samples",
            hint="text (LOG) channels are kept in attrs['log_text'] when read together with "
            "the data channels' file(s); read the text alone with obspy.read",
        )
    rateless = sorted({tr.id for tr in data if float(tr.stats.sampling_rate) == 0})
    if rateless:
        raise PromethiumError(
            ErrorCode.UNSUPPORTED_FORMAT,
            f"{', '.join(rateless)} ha{'s' if len(rateless) == 1 else 've'} numeric samples "
            "but sampling rate 0 (a channel without a time axis, e.g. state of health)",
            hint="only text (LOG) channels may have no sampling rate; read these channels "
            "with obspy.read, or select the waveform channels first (obspy Stream.select)",
        )
    return data, text


def _iso_utc(ns: int) -> str:
    unit = "us" if ns % 1000 == 0 else "ns"
    return str(np.datetime_as_string(np.datetime64(ns, "ns"), unit=unit)) + "Z"


def _common_rate(traces: list[Any]) -> float:
    rates = sorted({float(tr.stats.sampling_rate) for tr in traces})
    if not math.isclose(rates[0], rates[-1], rel_tol=1e-9):
        per_id: dict[str, set[float]] = {}
        for tr in traces:
            per_id.setdefault(tr.id, set()).add(float(tr.stats.sampling_rate))
        listing = ", ".join(f"{k}: {sorted(v)}" for k, v in sorted(per_id.items()))
        raise PromethiumError.invalid(
            f"traces have different sampling rates ({listing} Hz); one dataset needs one rate",
            hint="read the channels separately or resample them to one rate first "
            "(e.g. obspy Stream.resample / Stream.interpolate)",
        )
    if rates[0] <= 0:
        raise PromethiumError(
            ErrorCode.UNREADABLE_WAVEFORM,
            f"sampling rate {rates[0]} Hz is not positive",
            hint="the file header is damaged",
        )
    return rates[0]


def _build(traces: list[Any], merge: bool) -> xr.Dataset:
    rate = _common_rate(traces)
    ref_ns = min(int(tr.stats.starttime.ns) for tr in traces)

    def offset(tr: Any) -> int:
        # nearest sample of the common axis; ties go to the later sample
        return math.floor((int(tr.stats.starttime.ns) - ref_ns) * rate / 1e9 + 0.5)

    ordered = sorted(traces, key=lambda tr: (tr.id, int(tr.stats.starttime.ns)))
    groups: list[list[Any]] = []
    for tr in ordered:
        if merge and groups and groups[-1][0].id == tr.id:
            groups[-1].append(tr)
        else:
            groups.append([tr])

    n_time = max(offset(tr) + tr.stats.npts for tr in ordered)
    if len(groups) * n_time > MAX_GRID_SAMPLES:
        span_s = n_time / rate
        raise PromethiumError.invalid(
            f"{len(groups)} traces over {span_s:.0f} s at {rate} Hz would need "
            f"{len(groups) * n_time} samples (limit {MAX_GRID_SAMPLES})",
            hint="read files recorded at different times separately, or trim them "
            "(obspy Stream.trim) before reading",
        )

    amplitude = np.zeros((len(groups), n_time), dtype=np.float32)
    live = np.zeros((len(groups), n_time), dtype=bool)
    conflict = np.zeros((len(groups), n_time), dtype=bool)
    for row, group in enumerate(groups):
        for tr in group:
            valid = ~np.ma.getmaskarray(tr.data)
            values = np.asarray(np.ma.getdata(tr.data), dtype=np.float32)
            start = offset(tr)
            seg_amp = amplitude[row, start : start + values.size]
            seg_live = live[row, start : start + values.size]
            both = seg_live & valid
            if both.any():
                same = (seg_amp == values) | (np.isnan(seg_amp) & np.isnan(values))
                conflict[row, start : start + values.size] |= both & ~same
            new = valid & ~seg_live
            seg_amp[new] = values[new]
            seg_live |= valid
    n_conflict = int(conflict.sum())
    if n_conflict:
        ids = sorted({groups[r][0].id for r in np.flatnonzero(conflict.any(axis=1))})
        warnings.warn(
            f"{n_conflict} samples of {', '.join(ids)} were recorded twice with different "
            "values (overlapping records); they are masked",
            UserWarning,
            stacklevel=3,
        )
        live &= ~conflict
    amplitude[~live] = 0.0

    heads = [g[0] for g in groups]
    starts = np.array([min(int(tr.stats.starttime.ns) for tr in g) for g in groups])
    coords = {
        "time": ("time", np.arange(n_time) * (1000.0 / rate), {"units": "ms"}),
        "network": ("trace", np.array([tr.stats.network for tr in heads], dtype=str)),
        "station": ("trace", np.array([tr.stats.station for tr in heads], dtype=str)),
        "location": ("trace", np.array([tr.stats.location for tr in heads], dtype=str)),
        "channel": ("trace", np.array([tr.stats.channel for tr in heads], dtype=str)),
        "starttime": ("trace", starts.astype("datetime64[ns]")),
        "sampling_rate": (
            "trace",
            np.array([tr.stats.sampling_rate for tr in heads], dtype=np.float64),
            {"units": "Hz"},
        ),
    }
    data_vars = {
        "amplitude": (("trace", "time"), amplitude),
        "sample_mask": (("trace", "time"), live),
        "trace_mask": ("trace", live.any(axis=1)),
    }
    interval_us = 1e6 / rate  # int like the SEG-Y reader's when whole, else float
    attrs = {
        "reference_time": _iso_utc(ref_ns),
        "sample_interval_us": int(interval_us) if interval_us.is_integer() else interval_us,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def open_waveforms(
    path: PathLike | Sequence[PathLike],
    *,
    format: str | None = None,
    merge: bool = True,
    chunks: int | None = None,
    truncated: str = "error",
) -> xr.Dataset:
    """Read miniSEED/SAC file(s) into a ``waveforms`` dataset.

    Parameters
    ----------
    path : str, os.PathLike or sequence of them
        One file, or several files combined on one time axis.
    format : {"MSEED", "SAC", "SACXY"} or None, default None
        None detects each file's format from its bytes; a given format is checked
        against the bytes too (case-insensitive). SACXY is alphanumeric SAC.
    merge : bool, default True
        True: one trace per SEED id, its segments merged with gaps masked.
        False: one trace per recorded segment (ordered by SEED id, then start time).
    chunks : int, optional
        When given, the arrays are dask arrays with this many samples per chunk along
        ``time`` (one chunk along ``trace``).
    truncated : {"error", "keep"}, default "error"
        A miniSEED file that ends inside its last record: ``"error"`` raises
        ``TRUNCATED_FILE``; ``"keep"`` reads the whole records, masks the samples the cut
        record held (as far as its header says: start time and sample count), lists it in
        ``attrs["truncated_records"]`` and logs a warning.

    Returns
    -------
    xarray.Dataset
        ``amplitude`` (float32), ``sample_mask`` (bool, True = recorded) over
        ``("trace", "time")``; ``trace_mask`` (bool, True = any recorded sample);
        per-trace coords ``network, station, location, channel, starttime,
        sampling_rate``; ``time`` in ms from ``attrs["reference_time"]``. ``source_path``
        and ``source_format`` are str for one file and lists (one entry per file) for several.
        ``attrs["log_text"]`` (``{SEED id: text}``) holds the text of text records (LOG
        channels), ``attrs["truncated_records"]`` the cut records kept out; both only when
        there are any.

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND``, ``PATH_IS_DIRECTORY``, ``UNREADABLE_WAVEFORM`` (not miniSEED/SAC,
        corrupt records, text records only), ``TRUNCATED_FILE`` (file ends inside a record or
        before the samples its SAC header announces), ``UNSUPPORTED_FORMAT`` (unevenly sampled
        or non-time-series SAC, numeric channels without a sampling rate),
        ``INVALID_PARAMETER`` (bad arguments, mixed sampling rates, a time axis too large for
        memory; see :data:`MAX_GRID_SAMPLES`).
    """
    from promethium_lab.core.version import __version__

    single = isinstance(path, str | bytes | os.PathLike)
    raw_paths = [path] if single else list(path)  # type: ignore[arg-type]
    if not raw_paths:
        raise PromethiumError.invalid("no waveform files given",
            hint="pass a path or a non-empty list of paths",
        )
    requested: str | None = None
    if format is not None:
        requested = str(format).upper()
        if requested not in WAVEFORM_FORMATS:
            raise PromethiumError.invalid(
                f"format={format!r} is not a waveform format this reader supports",
                hint=f"use one of {', '.join(WAVEFORM_FORMATS)} or None to detect it",
            )
    if not isinstance(merge, bool):
        raise PromethiumError.invalid(f"merge={merge!r} must be True or False",
            hint="merge=True gives one trace per SEED id",
        )
    if chunks is not None and (
        isinstance(chunks, bool) or not isinstance(chunks, int | np.integer) or chunks < 1
    ):
        raise PromethiumError.invalid(f"chunks={chunks!r} must be a positive number of samples",
            hint="e.g. chunks=4096, or None for in-memory numpy arrays",
        )
    if truncated not in TRUNCATED_OPTIONS:
        raise PromethiumError.invalid(
            f"truncated={truncated!r} must be one of {', '.join(TRUNCATED_OPTIONS)}",
            hint="truncated='keep' reads the whole records of a miniSEED file whose last "
            "record is cut, and masks the cut one",
        )

    paths = [check_waveform_path(p) for p in raw_paths]
    formats = [_resolve_format(p, requested) for p in paths]
    traces: list[Any] = []
    cuts: list[_CutRecord] = []
    for p, fmt in zip(paths, formats):
        read, cut = _read_traces(p, fmt, truncated)
        traces.extend(read)
        cuts.extend(cut)
    traces, log_text = _split_text(traces, paths)
    traces.extend(_lost_trace(c) for c in cuts if c.lost_span is not None)

    ds = _build(traces, merge)
    extra: dict[str, Any] = {}
    if log_text:
        extra["log_text"] = log_text
    if cuts:
        extra["truncated_records"] = [c.to_attr() for c in cuts]
        from promethium_lab.core.logging import get_logger

        log = get_logger("io.waveforms")
        for c in cuts:
            lost = ("its samples are masked in sample_mask" if c.lost_span is not None
                    else "no samples could be masked (its header does not say which)")
            log.warning("kept the whole records of %s; %s was cut off: %s",
                        c.path, c.describe(), lost)
    ds.attrs = {
        "geometry": "waveforms",
        "source_path": paths[0] if single else paths,
        "source_format": formats[0] if single else formats,
        **ds.attrs,
        **extra,
        "promethium_version": __version__,
    }
    if chunks is not None:
        ds = ds.chunk({"trace": -1, "time": int(chunks)})
    return ds
