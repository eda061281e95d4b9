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
  records before a cut (or skips garbage records) and only warns. Those warnings are turned
  into :class:`~promethium_lab.core.errors.PromethiumError` (``TRUNCATED_FILE`` for a file
  that ends inside a record, ``UNREADABLE_WAVEFORM`` for corrupt records). A file cut exactly
  at a record boundary is a valid, shorter miniSEED file and cannot be detected. Zero or blank
  padding between records is ignored. Other ObsPy warnings are passed on unchanged.
* **One sampling rate.** Traces with different sampling rates raise ``INVALID_PARAMETER``.
* ``attrs["sample_interval_us"]`` is an int (as from the SEG-Y reader) when the interval is a
  whole number of microseconds, else a float.
* **Precision.** Samples are stored as float32, so integer counts above 2**24 are rounded.
"""

from __future__ import annotations

import glob
import math
import os
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError

__all__ = ["MAX_GRID_SAMPLES", "WAVEFORM_FORMATS", "guess_waveform_format", "open_waveforms"]

#: Formats this reader accepts (ObsPy format names).
WAVEFORM_FORMATS: tuple[str, ...] = ("MSEED", "SAC")

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


def _check_path(path: PathLike) -> str:
    """Return ``path`` as str, raising PATH_NOT_FOUND / PATH_IS_DIRECTORY."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if os.path.isdir(text):
        raise PromethiumError(
            ErrorCode.PATH_IS_DIRECTORY,
            f"{text!r} is a directory, not a waveform file",
            hint="pass the miniSEED/SAC file(s) inside it, e.g. sorted(Path(dir).glob('*.mseed'))",
        )
    if not os.path.exists(text):
        raise PromethiumError(
            ErrorCode.PATH_NOT_FOUND,
            f"waveform file {text!r} does not exist",
            hint="check the path and the current working directory",
        )
    return text


def _format_checks() -> dict[str, Any]:
    from obspy.io.mseed.core import _is_mseed
    from obspy.io.sac.core import _is_sac

    return {"MSEED": _is_mseed, "SAC": _is_sac}


def _looks_like(path: str, fmt: str) -> bool:
    try:
        return bool(_format_checks()[fmt](path))
    except Exception:  # the checkers can fail on short or odd files: not that format
        return False


def guess_waveform_format(path: PathLike) -> str | None:
    """Detect the waveform format of a file from its bytes.

    Uses ObsPy's own format checkers, so the file name and extension do not matter.

    Parameters
    ----------
    path : str or os.PathLike
        The file to look at.

    Returns
    -------
    str or None
        ``"MSEED"``, ``"SAC"``, or None when the file is neither.

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND`` or ``PATH_IS_DIRECTORY``.
    """
    text = _check_path(path)
    for fmt in WAVEFORM_FORMATS:
        if _looks_like(text, fmt):
            return fmt
    return None


def _resolve_format(path: str, requested: str | None) -> str:
    detected = guess_waveform_format(path)
    if requested is None and detected is not None:
        return detected
    if requested is not None and requested == detected:
        return requested
    size = os.path.getsize(path)
    if requested is None:
        what = "is empty" if size == 0 else "is neither miniSEED nor SAC"
        hint = (
            "the file has no bytes; copy or download it again"
            if size == 0
            else "open SEG-Y/SU files with the SEG-Y reader; convert other formats with "
            "obspy.read(...).write(..., format='MSEED')"
        )
    else:
        found = f"it looks like {detected}" if detected else "it is neither miniSEED nor SAC"
        what = f"does not look like {requested} ({found})"
        hint = "pass format=None to detect the format from the file's bytes"
    raise PromethiumError(
        ErrorCode.UNREADABLE_WAVEFORM,
        f"waveform file {path!r} ({size} bytes) {what}",
        hint=hint,
    )


def _is_padding(path: str, start: int, stop: int) -> bool:
    """True when bytes ``start..stop`` (inclusive) of ``path`` are all NUL or blank."""
    with open(path, "rb") as fh:
        fh.seek(start)
        chunk = fh.read(stop - start + 1)
    return len(chunk) > 0 and not chunk.strip(b"\x00 ")


def _check_warnings(path: str, fmt: str, caught: list[warnings.WarningMessage]) -> list[Any]:
    """Raise for warnings that mean damaged data; return the others to re-emit."""
    passed: list[Any] = []
    for item in caught:
        text = str(item.message)
        if any(p in text for p in _TRUNCATION_PATTERNS):
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
    sizes = _SAC_SIZE_RE.search(str(exc)) if fmt == "SAC" else None
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


def _read_traces(path: str, fmt: str) -> list[Any]:
    """Read one file with ObsPy; damaged files raise, never return partial data."""
    import obspy

    error: Exception | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # glob.escape: obspy.read expands wildcards, a file name is taken literally here
            stream = obspy.read(glob.escape(path), format=fmt, check_compression=False)
        except Exception as exc:  # mapped below, after the warnings are looked at
            error = exc
    passed = _check_warnings(path, fmt, caught)
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
    return list(stream)


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
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
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
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
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
) -> xr.Dataset:
    """Read miniSEED/SAC file(s) into a ``waveforms`` dataset.

    Parameters
    ----------
    path : str, os.PathLike or sequence of them
        One file, or several files combined on one time axis.
    format : {"MSEED", "SAC"} or None, default None
        None detects each file's format from its bytes; a given format is checked
        against the bytes too (case-insensitive).
    merge : bool, default True
        True: one trace per SEED id, its segments merged with gaps masked.
        False: one trace per recorded segment (ordered by SEED id, then start time).
    chunks : int, optional
        When given, the arrays are dask arrays with this many samples per chunk along
        ``time`` (one chunk along ``trace``).

    Returns
    -------
    xarray.Dataset
        ``amplitude`` (float32), ``sample_mask`` (bool, True = recorded) over
        ``("trace", "time")``; ``trace_mask`` (bool, True = any recorded sample);
        per-trace coords ``network, station, location, channel, starttime,
        sampling_rate``; ``time`` in ms from ``attrs["reference_time"]``. ``source_path``
        and ``source_format`` are str for one file and lists (one entry per file) for several.

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND``, ``PATH_IS_DIRECTORY``, ``UNREADABLE_WAVEFORM`` (not miniSEED/SAC,
        corrupt records), ``TRUNCATED_FILE`` (file ends inside a record or before the samples
        its SAC header announces), ``INVALID_PARAMETER`` (bad arguments, mixed sampling rates,
        a time axis too large for memory; see :data:`MAX_GRID_SAMPLES`).
    """
    from promethium_lab import __version__

    single = isinstance(path, str | bytes | os.PathLike)
    raw_paths = [path] if single else list(path)  # type: ignore[arg-type]
    if not raw_paths:
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            "no waveform files given",
            hint="pass a path or a non-empty list of paths",
        )
    requested: str | None = None
    if format is not None:
        requested = str(format).upper()
        if requested not in WAVEFORM_FORMATS:
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER,
                f"format={format!r} is not a waveform format this reader supports",
                hint=f"use one of {', '.join(WAVEFORM_FORMATS)} or None to detect it",
            )
    if not isinstance(merge, bool):
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"merge={merge!r} must be True or False",
            hint="merge=True gives one trace per SEED id",
        )
    if chunks is not None and (
        isinstance(chunks, bool) or not isinstance(chunks, int | np.integer) or chunks < 1
    ):
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"chunks={chunks!r} must be a positive number of samples",
            hint="e.g. chunks=4096, or None for in-memory numpy arrays",
        )

    paths = [_check_path(p) for p in raw_paths]
    formats = [_resolve_format(p, requested) for p in paths]
    traces: list[Any] = []
    for p, fmt in zip(paths, formats):
        traces.extend(_read_traces(p, fmt))

    ds = _build(traces, merge)
    ds.attrs = {
        "geometry": "waveforms",
        "source_path": paths[0] if single else paths,
        "source_format": formats[0] if single else formats,
        **ds.attrs,
        "promethium_version": __version__,
    }
    if chunks is not None:
        ds = ds.chunk({"trace": -1, "time": int(chunks)})
    return ds
