"""Small SEG-Y and SU files built byte by byte, for the edge cases of the standard.

Independent of the reader under test: every word is put at its 1-based byte position
(as in the SEG-Y standard) with an explicit numpy kind, so a test says exactly which
bytes the file holds. Not a test module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["KINDS", "Word", "segy_bytes", "su_bytes", "text_record", "write"]

#: SEG-Y sample format code -> numpy kind of the stored samples (no byte order)
KINDS: dict[int, str] = {2: "i4", 3: "i2", 5: "f4", 6: "f8", 8: "i1", 9: "i8", 10: "u4",
                         11: "u2", 12: "u8", 16: "u1"}

#: ``{byte: (numpy kind, value)}``: words at 1-based positions (file bytes for the
#: binary header, 3201-3600; header bytes 1-240 for traces, a value or one per trace)
Word = Mapping[int, tuple[str, Any]]


def text_record(lines: Sequence[str] | str, *, ebcdic: bool = True) -> bytes:
    """One 3200-byte textual record: 40 lines of 80 characters, EBCDIC or ASCII."""
    if isinstance(lines, str):
        lines = [lines]
    text = "".join(line[:80].ljust(80) for line in lines[:40]).ljust(3200)
    return text.encode("cp037" if ebcdic else "ascii")


def _put(buf: np.ndarray, byte: int, kind: str, value: Any, endian: str) -> None:
    """Set the word(s) at 1-based ``byte`` of every row of the uint8 array ``buf``."""
    dtype = np.dtype(endian + kind)
    values = np.asarray(value).astype(dtype)
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(*values.shape, dtype.itemsize)
    buf[..., byte - 1 : byte - 1 + dtype.itemsize] = raw


def segy_bytes(
    samples: np.ndarray,
    *,
    fmt: int = 5,
    endian: str = ">",
    dt: int = 2000,
    delay: int = 0,
    rev: tuple[int, int] = (1, 0),
    binary: Word | None = None,
    traces: Word | None = None,
    extended: Sequence[bytes] = (),
    ext_count: int | None = None,
    extra: np.ndarray | None = None,
    gap: bytes = b"",
    trailer: bytes = b"",
    raw_samples: np.ndarray | None = None,
) -> bytes:
    """A whole SEG-Y file.

    Parameters
    ----------
    samples : ndarray
        ``(n_traces, n_samples)`` values, stored in format ``fmt`` (cast exactly; choose
        values the format holds).
    fmt, endian, dt, delay
        Sample format code, byte order, sample interval (µs, binary header and every
        trace header) and recording delay (trace bytes 109-110).
    rev : (major, minor)
        Revision bytes 3501 and 3502.
    binary, traces : dict, optional
        Words set after the defaults (``{3505: ("i2", -1)}``, ``{215: ("i2", -10)}``).
    extended : sequence of bytes
        Extended textual header records (3200 bytes each), after the binary header.
    ext_count : int, optional
        Bytes 3505-3506; default ``len(extended)``.
    extra : ndarray, optional
        ``(n_traces, 240 * n)`` uint8 rev 2 additional trace headers (bytes 3507-3508 are
        not set here: pass them in ``binary``).
    gap : bytes
        Bytes between the extended headers and the first trace (rev 2 first-trace offset).
    trailer : bytes
        Bytes after the last trace.
    raw_samples : ndarray, optional
        ``(n_traces, n_samples * itemsize)`` uint8 sample bytes, used as they are
        (formats the test cannot encode with numpy).
    """
    samples = np.atleast_2d(np.asarray(samples))
    n_traces, ns = samples.shape
    bh = np.zeros(400, np.uint8)
    defaults: dict[int, tuple[str, Any]] = {
        3217: ("i2", dt), 3221: ("u2", ns if ns <= 0xFFFF else 0), 3225: ("i2", fmt),
        3501: ("u1", rev[0]), 3502: ("u1", rev[1]), 3503: ("i2", 1),
        3505: ("i2", len(extended) if ext_count is None else ext_count),
    }
    for byte, (kind, value) in {**defaults, **(binary or {})}.items():
        _put(bh, byte - 3200, kind, value, endian)
    th = np.zeros((n_traces, 240), np.uint8)
    index = np.arange(1, n_traces + 1)
    tdefaults: dict[int, tuple[str, Any]] = {
        1: ("i4", index), 5: ("i4", index), 21: ("i4", 100 + index), 109: ("i2", delay),
        115: ("u2", ns if ns <= 0xFFFF else 0), 117: ("u2", dt),
    }
    for byte, (kind, value) in {**tdefaults, **(traces or {})}.items():
        _put(th, byte, kind, value, endian)
    if raw_samples is None:
        data = samples.astype(np.dtype(endian + KINDS[fmt]))
        body = np.ascontiguousarray(data).view(np.uint8).reshape(n_traces, -1)
    else:
        body = np.asarray(raw_samples, np.uint8).reshape(n_traces, -1)
    parts = [th] + ([np.asarray(extra, np.uint8).reshape(n_traces, -1)] if extra is not None
                    else []) + [body]
    blocks = np.concatenate(parts, axis=1)
    return (text_record(["C 1 promethium_lab test file", f"C 2 format {fmt} rev {rev}"])
            + bh.tobytes() + b"".join(extended) + gap + blocks.tobytes() + trailer)


def su_bytes(samples: np.ndarray, *, endian: str = "<", dt: int = 0, delay: int = 0,
             traces: Word | None = None) -> bytes:
    """A Seismic Unix file: 240-byte headers and IEEE float samples, no file header."""
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    n_traces, ns = samples.shape
    th = np.zeros((n_traces, 240), np.uint8)
    index = np.arange(1, n_traces + 1)
    defaults: dict[int, tuple[str, Any]] = {
        1: ("i4", index), 21: ("i4", 100 + index), 109: ("i2", delay), 115: ("u2", ns),
        117: ("u2", dt),
    }
    for byte, (kind, value) in {**defaults, **(traces or {})}.items():
        _put(th, byte, kind, value, endian)
    body = samples.astype(endian + "f4").view(np.uint8).reshape(n_traces, -1)
    return np.concatenate([th, body], axis=1).tobytes()


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` and return it."""
    path.write_bytes(data)
    return path
