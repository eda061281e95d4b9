"""What a path holds, from its bytes: the one place for format detection in promethium_lab.

:func:`detect_format` names the kind of a file or store by its content, never by its name,
so each reader reports its own errors: a miniSEED file named ``.sgy`` is read as miniSEED, and
a file named ``.mseed`` or ``.sac`` whose bytes are no waveform gets the waveform reader's
``UNREADABLE_WAVEFORM`` with a hint that says what the bytes look like
(:func:`describe_content`). :data:`FILE_KINDS` maps file-name suffixes to kinds for listings
(e.g. the server's dataset scan), where opening every file would be too slow.

Waveform formats are told apart with ObsPy's own checkers (:func:`guess_waveform_format`),
plus a header-only check for alphanumeric SAC.

Kinds: ``"segy"``, ``"su"`` (Seismic Unix), ``"mseed"``, ``"sac"`` (binary SAC), ``"sacxy"``
(alphanumeric SAC), ``"zarr"`` (a store written here) and ``"mdio"`` (a store written by MDIO).
"""

from __future__ import annotations

import io
import json
import os
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.segy_spec import (
    TEXT_HEADER_SIZE,
    TRACE_HEADER_SIZE,
    UNSUPPORTED_FORMATS,
    SampleFormat,
    binary_sample_count,
    decode_binary_header,
)

__all__ = [
    "FILE_KINDS",
    "KIND_LABELS",
    "PARTIAL_SUFFIX",
    "SEGY_KINDS",
    "STORE_KINDS",
    "WAVEFORM_FORMATS",
    "WAVEFORM_KINDS",
    "check_waveform_path",
    "describe_content",
    "detect_format",
    "guess_waveform_format",
    "has_partial",
    "is_partial",
    "kind_from_suffix",
    "not_waveform_error",
    "partial_path",
    "sacxy_header",
    "sniff_format",
]

#: Suffix of an unfinished output: a store is written into ``<store>.partial`` and renamed
#: onto ``<store>`` when complete; a file into ``<file>.partial-<pid>``. Never read as whole.
PARTIAL_SUFFIX = ".partial"


def make_output_folder(folder: str | os.PathLike, what: str = "the output") -> Path:
    """Make ``folder`` (and its parents) for ``what`` unless it exists; returns it.

    Raises
    ------
    PromethiumError
        ``BAD_OUTPUT_PATH`` when a file stands where a folder must be.
    """
    path = Path(folder).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise PromethiumError(ErrorCode.BAD_OUTPUT_PATH,
                              f"cannot make the folder {path} for {what}: {err.strerror}",
                              hint="give a folder path whose parents are folders, not files",
                              ) from None
    return path


def partial_path(path: str | os.PathLike, pid: int | None = None, *,
                 keep_suffix: bool = False) -> Path:
    """Where the unfinished ``path`` is written.

    Parameters
    ----------
    path : str or os.PathLike
        The final output path.
    pid : int, optional
        A process id for a per-writer name (``<path>.partial-<pid>``); None gives
        ``<path>.partial``.
    keep_suffix : bool
        Keep the file's suffix last (``<stem>.partial<suffix>``), for writers that check
        it (Papermill warns of a notebook not named ``*.ipynb``).

    Returns
    -------
    Path
        The sibling of ``path`` holding the unfinished output.
    """
    p = Path(path)
    suffix = PARTIAL_SUFFIX if pid is None else f"{PARTIAL_SUFFIX}-{pid}"
    if keep_suffix:
        return p.with_name(p.stem + suffix + p.suffix)
    return p.with_name(p.name + suffix)


def is_partial(path: str | os.PathLike) -> bool:
    """True when the name of ``path`` marks an unfinished output (``*.partial*``)."""
    return PARTIAL_SUFFIX in Path(path).name


def has_partial(path: str | os.PathLike) -> bool:
    """True when the unfinished store ``<path>.partial`` exists next to ``path``."""
    return partial_path(path).exists()


#: File-name suffix (lower case) -> kind; a hint for listings, not how files are opened.
FILE_KINDS: dict[str, str] = {
    ".sgy": "segy",
    ".segy": "segy",
    ".su": "su",
    ".mseed": "mseed",
    ".miniseed": "mseed",
    ".sac": "sac",
    ".zarr": "zarr",
    ".mdio": "mdio",
}

#: Waveform formats read through ObsPy (its format names; SACXY is alphanumeric SAC).
WAVEFORM_FORMATS: tuple[str, ...] = ("MSEED", "SAC", "SACXY")

#: Human names of the kinds, for messages.
KIND_LABELS: dict[str, str] = {
    "segy": "SEG-Y",
    "su": "Seismic Unix",
    "mseed": "miniSEED",
    "sac": "SAC",
    "sacxy": "alphanumeric SAC",
    "zarr": "Zarr store",
    "mdio": "MDIO store",
}

SEGY_KINDS: tuple[str, ...] = ("segy", "su")
WAVEFORM_KINDS: tuple[str, ...] = ("mseed", "sac", "sacxy")
STORE_KINDS: tuple[str, ...] = ("zarr", "mdio")

_SEGY_HEADER_SIZE = 3600  # textual (3200) + binary (400) file header
#: Every sample format code a SEG-Y binary header may name, read here or refused by name.
_SEGY_FORMAT_CODES = frozenset({int(f) for f in SampleFormat} | set(UNSUPPORTED_FORMATS))
_ITEMSIZE = {int(f): f.itemsize for f in SampleFormat}  # bytes per sample of each format
_SU_TRACE_HEADER = 240
_MAX_SAMPLES = 1_000_000
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (unpack it first)"),
    (b"\x1f\x8b", "gzip-compressed data (decompress it first)"),
    (b"BZh", "bzip2-compressed data (decompress it first)"),
    (b"\xfd7zXZ", "xz-compressed data (decompress it first)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data (decompress it first)"),
    (b"\x89HDF", "HDF5 / netCDF-4"),
    (b"CDF\x01", "netCDF-3"),
    (b"CDF\x02", "netCDF-3"),
)


def check_waveform_path(path: str | os.PathLike) -> str:
    """``path`` as str, for the waveform reader: PATH_NOT_FOUND / PATH_IS_DIRECTORY if not a
    file."""
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


def sacxy_header(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Float, int and string header arrays of an alphanumeric SAC file, or None.

    Only the 30 header lines are read (ObsPy's own check reads the whole file, and refuses
    a file whose values do not match ``npts``: that is reported as a cut file instead).
    """
    from obspy.io.sac import arrayio

    with open(path, "rb") as fh:
        head = fh.read(8192)
    if not head or any(c not in b"0123456789.+-eE \t\r\n" for c in head[:64]):
        return None  # not text that starts with numbers: no need to parse
    lines = head.splitlines(keepends=True)[:30]
    if len(lines) < 30:
        return None
    try:
        floats, ints, strings, _ = arrayio.read_sac_ascii(io.BytesIO(b"".join(lines)),
                                                          headonly=True)
    except Exception:  # not the 14 + 8 + 8 header lines of alphanumeric SAC
        return None
    if floats.size != 70 or ints.size != 40 or int(ints[6]) not in (6, 7):  # nvhdr
        return None
    return floats, ints, strings


def _is_sac_xy(path: str) -> bool:
    return sacxy_header(path) is not None


def _format_checks() -> dict[str, Callable[[str], bool]]:
    from obspy.io.mseed.core import _is_mseed
    from obspy.io.sac.core import _is_sac

    return {"MSEED": _is_mseed, "SAC": _is_sac, "SACXY": _is_sac_xy}


def _looks_like(path: str, fmt: str) -> bool:
    try:
        return bool(_format_checks()[fmt](path))
    except Exception:  # the checkers can fail on short or odd files: not that format
        return False


def guess_waveform_format(path: str | os.PathLike) -> str | None:
    """Detect the waveform format of a file from its bytes.

    Uses ObsPy's own format checkers, so the file name and extension do not matter.

    Parameters
    ----------
    path : str or os.PathLike
        The file to look at.

    Returns
    -------
    str or None
        ``"MSEED"``, ``"SAC"``, ``"SACXY"`` (alphanumeric SAC), or None when the file is
        none of them.

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND`` or ``PATH_IS_DIRECTORY``.
    """
    text = check_waveform_path(path)
    for fmt in WAVEFORM_FORMATS:
        if _looks_like(text, fmt):
            return fmt
    return None


def kind_from_suffix(path: str | os.PathLike) -> str | None:
    """The kind a file name suggests (:data:`FILE_KINDS`), or None."""
    return FILE_KINDS.get(Path(path).suffix.lower())


def _store_kind(p: Path) -> str | None:
    """``"zarr"`` / ``"mdio"`` for a folder holding a Zarr v3 store, else None."""
    if p.name.endswith(PARTIAL_SUFFIX):
        return "zarr"
    try:
        meta = json.loads((p / "zarr.json").read_text())
    except (OSError, ValueError):
        return None
    attrs = meta.get("attributes", {}) if isinstance(meta, dict) else {}
    if "promethium" not in attrs and "apiVersion" in attrs:
        return "mdio"
    return "zarr"


def _head(p: Path, n: int = _SEGY_HEADER_SIZE + _SU_TRACE_HEADER) -> bytes:
    with open(p, "rb") as fh:
        return fh.read(n)


def _looks_like_segy(head: bytes) -> bool:
    """A full file header whose binary header names a SEG-Y sample format (either order)."""
    if len(head) < _SEGY_HEADER_SIZE:
        return False
    return any(
        struct.unpack(order + "H", head[3224:3226])[0] in _SEGY_FORMAT_CODES
        for order in "><"
    )


def _surely_segy(head: bytes, size: int) -> bool:
    """SEG-Y beyond doubt, without ObsPy's checkers (whose import costs 0.1 s): a textual
    header starting with ``C`` (ASCII or EBCDIC), then a binary header naming a sample
    format, whose fixed-length traces, after the extended headers it counts, fill the
    file exactly. A miniSEED record starts with digits (or ``MS``), and no SAC file
    meets all three."""
    if len(head) < _SEGY_HEADER_SIZE or head[0] not in (0x43, 0xC3):  # "C"
        return False
    for order in "><":
        fields = decode_binary_header(head[TEXT_HEADER_SIZE:_SEGY_HEADER_SIZE], order)
        itemsize = _ITEMSIZE.get(int(fields["data_sample_format"]))
        ns, n_ext = binary_sample_count(fields), int(fields["num_extended_text_headers"])
        if itemsize is None or not ns or n_ext < 0:
            continue
        body = size - _SEGY_HEADER_SIZE - TEXT_HEADER_SIZE * n_ext
        if body > 0 and body % (TRACE_HEADER_SIZE + ns * itemsize) == 0:
            return True
    return False


def _looks_like_su(head: bytes, size: int) -> bool:
    """Traces of 240 header bytes + ns float32 samples that divide the file exactly."""
    if size < _SU_TRACE_HEADER or len(head) < 116:
        return False
    for order in "><":
        ns = struct.unpack(order + "H", head[114:116])[0]
        if 0 < ns <= _MAX_SAMPLES and size % (_SU_TRACE_HEADER + 4 * ns) == 0:
            return True
    return False


def sniff_format(path: str | os.PathLike) -> str | None:
    """The kind of a file or store from its content alone; None when it is none of ours.

    A ``.su`` name decides between SEG-Y and Seismic Unix only where the bytes fit both.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        return _store_kind(p)
    if not p.is_file():
        return None
    head, size = _head(p), p.stat().st_size
    if _surely_segy(head, size):
        return "segy"
    fmt = guess_waveform_format(p)
    if fmt is not None:
        return fmt.lower()
    su_fits = _looks_like_su(head, size)
    if su_fits and kind_from_suffix(p) == "su":
        return "su"
    if _looks_like_segy(head):
        return "segy"
    return "su" if su_fits else None


def _text_line(head: bytes) -> str | None:
    """The first line of ``head`` when it reads as text, else None."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if sum(c.isprintable() or c in "\r\n\t" for c in text) < 0.95 * len(text):
        return None
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line[:60]


def describe_content(path: str | os.PathLike) -> str:
    """A short phrase that says what a file's bytes look like, for error hints.

    Examples: ``"a SEG-Y file"``, ``"text (first line: 'hello')"``, ``"a PNG image"``,
    ``"unrecognised binary data"``.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        kind = _store_kind(p)
        return f"a {KIND_LABELS[kind]}" if kind else "a folder"
    size = p.stat().st_size
    if size == 0:
        return "an empty file"
    kind = sniff_format(p)
    if kind is not None:
        return f"a{'n' if kind == 'sacxy' else ''} {KIND_LABELS[kind]} file"
    head = _head(p, 4096)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if len(head) >= 7 and head[6:7] in (b"D", b"R", b"Q", b"M") and all(
        c in b"0123456789 \x00" for c in head[:6]
    ):
        return "a damaged miniSEED record (its header starts like one, ObsPy does not read it)"
    line = _text_line(head)
    if line is not None:
        return f"text (first line: {line!r})" if line else "blank text"
    return "unrecognised binary data"


def not_waveform_error(path: str | os.PathLike, requested: str | None = None) -> PromethiumError:
    """``UNREADABLE_WAVEFORM`` for a file that is no miniSEED/SAC, naming what it looks like.

    Parameters
    ----------
    path : path-like
        The file.
    requested : str, optional
        The ObsPy format name the caller asked for (``"MSEED"``, ``"SAC"``, ``"SACXY"``).
    """
    p = Path(path)
    size = p.stat().st_size
    content = describe_content(p)
    if size == 0:
        what, hint = "is empty", "the file has no bytes; copy or download it again"
    else:
        what = (f"is not {requested} ({content})" if requested
                else "is neither miniSEED nor SAC")
        kind = sniff_format(p)
        if kind in SEGY_KINDS:
            hint = (f"its bytes look like {content}: open it with open_segy"
                    f"{'(su=True)' if kind == 'su' else ''} or give it a "
                    f"{'.su' if kind == 'su' else '.sgy'} name")
        elif kind in WAVEFORM_KINDS:
            hint = f"its bytes look like {content}: pass format=None to detect the format"
        else:
            hint = (f"its bytes look like {content}; convert other waveform formats with "
                    "obspy.read(...).write(..., format='MSEED')")
    return PromethiumError(
        ErrorCode.UNREADABLE_WAVEFORM, f"waveform file '{p}' ({size} bytes) {what}", hint=hint
    )


def detect_format(path: str | os.PathLike) -> str:
    """The kind of a file or store, from its content (see the module docstring).

    Returns
    -------
    str
        One of ``segy``, ``su``, ``mseed``, ``sac``, ``sacxy``, ``zarr``, ``mdio``.

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND``; ``PATH_IS_DIRECTORY`` for a folder that is no store;
        ``UNREADABLE_WAVEFORM`` for a file named as a waveform (``.mseed``, ``.sac``, ...)
        whose bytes are no waveform; for other unrecognised files, the SEG-Y reader's error
        (e.g. ``NOT_SEGY``).
    """
    p = Path(path).expanduser()
    if p.is_dir():
        kind = _store_kind(p)
        if kind is None:
            raise PromethiumError(
                ErrorCode.PATH_IS_DIRECTORY,
                f"{p} is a directory, not a survey file or a Zarr store (no zarr.json)",
                hint="give a SEG-Y/SU/miniSEED/SAC file, or a store written by ingest or MDIO",
            )
        return kind
    if not p.exists():
        raise PromethiumError(
            ErrorCode.PATH_NOT_FOUND, f"{p} does not exist",
            hint="check the path (relative paths are taken from the current directory)",
        )
    kind = sniff_format(p)
    named = kind_from_suffix(p)
    if named in WAVEFORM_KINDS and kind not in WAVEFORM_KINDS:
        raise not_waveform_error(p)
    if kind is not None:
        return kind
    from promethium_lab.io.segy import read_layout

    read_layout(p, su=named == "su")  # raises the SEG-Y / SU reader's own typed error
    return named if named == "su" else "segy"
