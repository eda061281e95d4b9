"""Survey geometry and regular trace grid inferred from SEG-Y trace headers.

Pure numpy, vectorised, O(N log N) in the number of traces. The input is the
``(N, 240)`` uint8 array of raw trace headers exactly as in the file; the output is a
:class:`Grid`: the geometry name, the trace dims of ``docs/data-model.md``, the label
values of each (regular) grid axis and, for every grid cell, the file trace number
that fills it (``-1`` where the survey has a hole).

Each axis runs from the smallest to the largest label with the spacing found in the
headers (the GCD of the differences of the sorted unique labels), so holes in the
survey become masked cells. When that regular axis would be far longer than the
number of distinct labels (an odd label, irregular station numbers), the axis is the
sorted unique labels instead; no trace is ever moved or merged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.segy_spec import TRACE_FIELDS, TRACE_HEADER_SIZE
from promethium_lab.io.templates import DEFAULT_KEY_BYTES, KEY_BYTE_PARAMS
from promethium_lab.io.templates import TEMPLATES as _TEMPLATES

__all__ = [
    "AXIS_GROWTH",
    "AXIS_SLACK",
    "DEFAULT_KEY_BYTES",
    "GEOMETRIES",
    "KEY_BYTE_PARAMS",
    "MAX_CELLS_PER_TRACE",
    "MIN_FILL",
    "TEMPLATES",
    "Grid",
    "check_key_bytes",
    "infer_grid",
    "read_header_word",
]

#: Geometry names :func:`infer_grid` knows (those of the SEG-Y templates).
GEOMETRIES: tuple[str, ...] = tuple(g for g in _TEMPLATES if g != "waveforms")
#: Trace dims of each geometry (docs/data-model.md).
_DIMS: dict[str, tuple[str, ...]] = {g: _TEMPLATES[g].dims for g in GEOMETRIES}
#: MDIO template name of each geometry.
TEMPLATES: dict[str, str | None] = {g: _TEMPLATES[g].mdio_name for g in GEOMETRIES}

#: (inline, crossline) byte pairs tried, in order, by ``geometry="auto"``.
_CANDIDATES_3D: tuple[tuple[int, int], ...] = ((189, 193), (9, 21), (5, 21), (17, 21), (21, 9))
_ALT_SHOT_BYTE = 17  # energy source point number, tried when FFID (byte 9) does not fit
_FFID_BYTE = 9
# Sorting codes of the binary header (bytes 3229-3230) that name a pre-stack sort.
_SORT_PREFERENCE = {1: "shot", 2: "cdp_offset"}

#: ``auto`` accepts a grid only when live traces / grid cells reaches this.
MIN_FILL = 0.05
#: A forced geometry whose grid has more cells than this many per trace is refused.
MAX_CELLS_PER_TRACE = 1000
#: An axis is regular only if it has at most ``GROWTH * n_unique + SLACK`` cells.
AXIS_GROWTH = 4
AXIS_SLACK = 16

_WORD_SIZE: dict[int, int] = {b: int(k[1]) for _, b, k in TRACE_FIELDS}


@dataclass(frozen=True)
class Grid:
    """Regular trace grid of a survey.

    Attributes
    ----------
    geometry : str
        ``"poststack3d"``, ``"poststack2d"``, ``"shot"``, ``"cdp_offset"`` or ``"irregular"``.
    dims : tuple of str
        Trace dims (``docs/data-model.md``).
    coords : dict of str to ndarray
        Per dim, the sorted int64 labels of the grid axis, labels of absent traces included.
    trace_index : ndarray
        int64 of :attr:`shape`: the 0-based file trace number of each cell, ``-1`` if absent.
    key_bytes : dict of str to int
        Per dim, the 1-based trace header byte of its labels (empty for ``irregular``).
    template : str or None
        MDIO template name.
    """

    geometry: str
    dims: tuple[str, ...]
    coords: dict[str, np.ndarray]
    trace_index: np.ndarray
    key_bytes: dict[str, int]
    template: str | None

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape, one length per dim."""
        return tuple(len(self.coords[d]) for d in self.dims)

    @property
    def live_mask(self) -> np.ndarray:
        """Boolean array of :attr:`shape`, True where a trace exists."""
        return self.trace_index >= 0

    @property
    def n_live(self) -> int:
        """Number of live (present) traces."""
        return int(np.count_nonzero(self.trace_index >= 0))


# --------------------------------------------------------------------------- helpers


def _check_byte(byte: object, name: str = "byte") -> int:
    if isinstance(byte, bool) or not isinstance(byte, int | np.integer) or not 1 <= byte <= 237:
        raise PromethiumError.invalid(
            f"{name}={byte!r} is not a trace header byte",
            "use a 1-based byte position between 1 and 237",
        )
    return int(byte)


def check_key_bytes(key_bytes: dict[str, object]) -> None:
    """Refuse keyword arguments that name no grid key (``inline_byte``, ...)."""
    unknown = sorted(set(key_bytes) - set(KEY_BYTE_PARAMS.values()))
    if unknown:
        raise PromethiumError.invalid(
            f"unknown header-byte parameter(s) {', '.join(unknown)}",
            f"use {', '.join(KEY_BYTE_PARAMS.values())}",
        )


def _as_raw(raw: np.ndarray) -> np.ndarray:
    raw = np.asarray(raw)
    if raw.dtype.kind == "V" and raw.dtype.itemsize == TRACE_HEADER_SIZE and raw.ndim == 1:
        raw = np.ascontiguousarray(raw).view(np.uint8).reshape(-1, TRACE_HEADER_SIZE)
    if raw.dtype != np.uint8 or raw.ndim != 2 or raw.shape[1] != TRACE_HEADER_SIZE:
        raise PromethiumError.invalid(
            f"raw trace headers must be an (N, 240) uint8 array, got {raw.dtype} {raw.shape}",
            "pass the 240-byte trace headers as read from the file",
        )
    return raw


def read_header_word(raw: np.ndarray, byte: int, size: int, endian: str) -> np.ndarray:
    """Read one signed integer word from every trace header.

    Parameters
    ----------
    raw : ndarray
        ``(N, 240)`` uint8 trace headers (a 1-D ``V240`` array is accepted too).
    byte : int
        1-based first byte of the word (1..237).
    size : int
        Word size in bytes, 2 or 4.
    endian : str
        ``">"`` (big, standard SEG-Y) or ``"<"``.

    Returns
    -------
    ndarray
        int64, shape ``(N,)``.
    """
    byte = _check_byte(byte)
    if size not in (2, 4):
        raise PromethiumError.invalid(f"size={size!r} is not a header word size", "use 2 or 4")
    if endian not in (">", "<"):
        raise PromethiumError.invalid(f"endian={endian!r} is not a byte order", "use '>' or '<'")
    raw = _as_raw(raw)
    cols = np.ascontiguousarray(raw[:, byte - 1 : byte - 1 + size])
    return cols.view(f"{endian}i{size}").reshape(-1).astype(np.int64)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` by one sort (faster than numpy's hash path for int64)."""
    s = np.sort(values)
    if s.size < 2:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _regular_axis(uniq: np.ndarray) -> np.ndarray:
    """Regular axis min..max at the GCD spacing of ``uniq``, or ``uniq`` if too sparse."""
    if uniq.size <= 2:
        return uniq
    step = int(np.gcd.reduce(np.diff(uniq)))
    n = (int(uniq[-1]) - int(uniq[0])) // step + 1
    if n == uniq.size or n > AXIS_GROWTH * uniq.size + AXIS_SLACK:
        return uniq
    return uniq[0] + step * np.arange(n, dtype=np.int64)


class _Key:
    """Values of one header word over all traces, with lazily computed unique labels."""

    def __init__(self, values: np.ndarray, byte: int) -> None:
        self.byte = byte
        self.values = values
        self.varies = bool(values.size) and bool(values.min() != values.max())
        self._uniq: np.ndarray | None = None
        self._inverse: np.ndarray | None = None

    @property
    def uniq(self) -> np.ndarray:
        """Sorted unique values."""
        if self._uniq is None:
            self._uniq = _sorted_unique(self.values)
        return self._uniq

    @property
    def inverse(self) -> np.ndarray:
        """Index of every trace's value in :attr:`uniq`."""
        if self._inverse is None:
            self._inverse = np.searchsorted(self.uniq, self.values)
        return self._inverse


class _Keys:
    """Cache of :class:`_Key` per byte for one header array."""

    def __init__(self, raw: np.ndarray, endian: str) -> None:
        self.raw = raw
        self.endian = endian
        self.n = raw.shape[0]
        self._cache: dict[int, _Key] = {}

    def __getitem__(self, byte: int) -> _Key:
        if byte not in self._cache:
            size = _WORD_SIZE.get(byte, 4)
            self._cache[byte] = _Key(read_header_word(self.raw, byte, size, self.endian), byte)
        return self._cache[byte]


@dataclass
class _Attempt:
    """A candidate grid before the trace index is built."""

    geometry: str
    keys: tuple[_Key, ...]
    axes: tuple[np.ndarray, ...]
    n: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes)

    @property
    def cells(self) -> int:
        return math.prod(self.shape)

    @property
    def fill(self) -> float:
        return self.n / self.cells if self.cells else 0.0

    def flat(self) -> np.ndarray:
        """Flat grid cell of every trace."""
        flat = np.zeros(self.n, dtype=np.int64)
        for key, axis in zip(self.keys, self.axes):
            pos = np.searchsorted(axis, key.uniq)[key.inverse]
            flat = flat * len(axis) + pos
        return flat

    def duplicates(self, flat: np.ndarray | None = None) -> int:
        """Number of traces whose cell is already taken by another trace."""
        if self.n < 2:
            return 0
        s = np.sort(self.flat() if flat is None else flat)
        return int(np.count_nonzero(s[1:] == s[:-1]))

    def grid(self, flat: np.ndarray | None = None) -> Grid:
        flat = self.flat() if flat is None else flat
        trace_index = np.full(self.cells, -1, dtype=np.int64)
        trace_index[flat] = np.arange(self.n, dtype=np.int64)
        dims = _DIMS[self.geometry]
        return Grid(
            geometry=self.geometry,
            dims=dims,
            coords={d: np.asarray(a, dtype=np.int64) for d, a in zip(dims, self.axes)},
            trace_index=trace_index.reshape(self.shape),
            key_bytes={d: k.byte for d, k in zip(dims, self.keys)},
            template=TEMPLATES[self.geometry],
        )


def _attempt(geometry: str, keys: tuple[_Key, ...], n: int) -> _Attempt:
    return _Attempt(geometry, keys, tuple(_regular_axis(k.uniq) for k in keys), n)


def _irregular(n: int) -> Grid:
    return Grid(
        geometry="irregular",
        dims=("trace",),
        coords={"trace": np.arange(n, dtype=np.int64)},
        trace_index=np.arange(n, dtype=np.int64),
        key_bytes={},
        template=_TEMPLATES["irregular"].mdio_name,
    )


# --------------------------------------------------------------------------- auto


def _auto_ok(att: _Attempt) -> bool:
    """Filled enough and no two traces on one cell."""
    return att.fill >= MIN_FILL and att.duplicates() == 0


def _auto_3d(
    keys: _Keys, pairs: list[tuple[int, int]], offsets_vary: bool, user_given: bool
) -> _Attempt | None:
    for il_b, xl_b in pairs:
        # Fallback byte pairs (FFID, CDP, ...) also fit shot-sorted pre-stack data, whose
        # offsets vary; only the standard pair or the user's bytes may override that.
        if offsets_vary and not user_given and (il_b, xl_b) != _CANDIDATES_3D[0]:
            continue
        il, xl = keys[il_b], keys[xl_b]
        if not (il.varies and xl.varies):
            continue
        # A key unique per trace makes a diagonal (a 2-D line), not a cube.
        if il.uniq.size >= keys.n or xl.uniq.size >= keys.n:
            continue
        att = _attempt("poststack3d", (il, xl), keys.n)
        if _auto_ok(att):
            return att
    return None


def _gather(geometry: str, ens: _Key, within: _Key, n: int) -> _Attempt | None:
    """A gather grid if the ensemble key groups traces and the grid fits."""
    if ens.uniq.size >= n:
        return None
    att = _attempt(geometry, (ens, within), n)
    return att if _auto_ok(att) else None


def _auto_shot(keys: _Keys, shot_byte: int | None, channel_byte: int) -> _Attempt | None:
    chan = keys[channel_byte]
    att = _gather("shot", keys[shot_byte or _FFID_BYTE], chan, keys.n)
    if att is not None or shot_byte is not None:
        return att
    # Energy source point number, if each of its groups is one field record (one FFID).
    sp, ffid = keys[_ALT_SHOT_BYTE], keys[_FFID_BYTE]
    att = _gather("shot", sp, chan, keys.n)
    if att is None:
        return None
    pairs = _sorted_unique(sp.inverse.astype(np.int64) * ffid.uniq.size + ffid.inverse)
    return att if pairs.size == sp.uniq.size else None


def _choose_prestack(
    shot: _Attempt | None, cdp: _Attempt | None, sorting_code: int | None
) -> _Attempt | None:
    if shot is None or cdp is None:
        return shot or cdp
    by_name = {"shot": shot, "cdp_offset": cdp}
    preferred = by_name.get(_SORT_PREFERENCE.get(sorting_code or 0, ""))
    if preferred is not None:
        other = cdp if preferred is shot else shot
        if preferred.fill >= 0.5 * other.fill:
            return preferred
    return cdp if cdp.fill > shot.fill else shot


def _infer_auto(keys: _Keys, b: dict[str, int | None], sorting_code: int | None) -> Grid:
    n = keys.n
    if n == 0:
        return _irregular(0)
    r = {d: b[d] or DEFAULT_KEY_BYTES[d] for d in DEFAULT_KEY_BYTES}
    offsets_vary = keys[r["offset"]].varies

    user_3d = b["inline"] is not None or b["crossline"] is not None
    pairs = [(r["inline"], r["crossline"])] if user_3d else list(_CANDIDATES_3D)
    att = _auto_3d(keys, pairs, offsets_vary, user_3d)
    if att is not None:
        return att.grid()

    shot = _auto_shot(keys, b["shot_point"], r["channel"])
    cdp = _gather("cdp_offset", keys[r["cdp"]], keys[r["offset"]], n)
    prestack = _choose_prestack(shot, cdp, sorting_code)

    line = None
    cdp_key = keys[r["cdp"]]
    if cdp_key.varies and cdp_key.uniq.size == n:
        line = _attempt("poststack2d", (cdp_key,), n)
        line = line if line.fill >= MIN_FILL else None

    # Varying offsets mean pre-stack data; constant ones favour a stacked line.
    first, second = (prestack, line) if offsets_vary else (line, prestack)
    chosen = first or second
    return chosen.grid() if chosen is not None else _irregular(n)


# --------------------------------------------------------------------------- forced


def _infer_forced(keys: _Keys, geometry: str, b: dict[str, int | None]) -> Grid:
    n = keys.n
    if geometry == "irregular":
        return _irregular(n)
    dims = _DIMS[geometry]
    bytes_ = tuple(b[d] or DEFAULT_KEY_BYTES[d] for d in dims)
    where = ", ".join(f"{d} byte {bb}" for d, bb in zip(dims, bytes_))
    hint = ("pass " + "/".join(f"{KEY_BYTE_PARAMS[d]}=" for d in dims)
            + "... or geometry='irregular'")
    if n == 0:
        raise PromethiumError(
            ErrorCode.INCONSISTENT_GEOMETRY,
            f"{geometry}: no traces to place on a grid ({where})",
            hint,
        )
    ks = tuple(keys[bb] for bb in bytes_)
    att = _attempt(geometry, ks, n)
    flat = att.flat()
    dup = att.duplicates(flat)
    if dup:
        const = [
            f"{d} byte {k.byte} is constant ({int(k.values[0])})"
            for d, k in zip(dims, ks)
            if not k.varies
        ]
        raise PromethiumError(
            ErrorCode.INCONSISTENT_GEOMETRY,
            f"{geometry}: {dup} of {n} traces duplicate the ({', '.join(dims)}) labels of "
            f"another trace ({where})" + ("; " + "; ".join(const) if const else ""),
            hint,
        )
    if att.cells > MAX_CELLS_PER_TRACE * n:
        raise PromethiumError(
            ErrorCode.INCONSISTENT_GEOMETRY,
            f"{geometry}: the grid {'×'.join(map(str, att.shape))} has {att.cells} cells for "
            f"only {n} traces ({where})",
            hint,
        )
    return att.grid(flat)


# --------------------------------------------------------------------------- public


def infer_grid(
    raw: np.ndarray,
    endian: str = ">",
    *,
    geometry: str = "auto",
    inline_byte: int | None = None,
    crossline_byte: int | None = None,
    cdp_byte: int | None = None,
    offset_byte: int | None = None,
    shot_byte: int | None = None,
    channel_byte: int | None = None,
    binary_header: dict[str, int] | None = None,
) -> Grid:
    """Infer the survey geometry and its regular trace grid from raw trace headers.

    Parameters
    ----------
    raw : ndarray
        ``(N, 240)`` uint8 trace headers of all traces, in file order.
    endian : str, default ">"
        Byte order of the header words.
    geometry : str, default "auto"
        ``"auto"`` or one of :data:`GEOMETRIES` to force it.
    inline_byte, crossline_byte, cdp_byte, offset_byte, shot_byte, channel_byte : int, optional
        1-based header bytes of the labels; defaults 189, 193, 21, 37, 9 (FFID), 13.
        The word size comes from the standard field starting there, else 4 bytes.
    binary_header : dict, optional
        Decoded binary header; its ``trace_sorting_code`` (1 as recorded, 2 CDP) breaks
        ties between shot and CDP gathers.

    Returns
    -------
    Grid

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for an unknown geometry, a bad byte or bad ``raw``;
        ``INCONSISTENT_GEOMETRY`` when a forced geometry does not fit the headers
        (duplicate or constant labels, or a grid absurdly larger than the trace count).

    Notes
    -----
    ``auto`` tries a 3-D post-stack cube on the given (inline, crossline) bytes or on
    the pairs (189, 193), (9, 21), (5, 21), (17, 21), (21, 9): both keys must vary,
    neither may be unique per trace, every pair must be unique and live / cells must
    reach :data:`MIN_FILL`. The fallback pairs are skipped when offsets (byte 37) vary.
    Then pre-stack gathers (shot: FFID or energy source point, channel 13; CDP: 21,
    offset 37; the ensemble key must group traces, the sorting code breaks ties) and a
    2-D line (CDP unique per trace) are compared: gathers win when offsets vary, the
    line otherwise. Anything else is ``irregular``. A forced geometry uses the given
    bytes or the defaults above, without searching other bytes.
    """
    if geometry != "auto" and geometry not in _DIMS:
        raise PromethiumError.invalid(
            f"geometry={geometry!r} is unknown",
            "use 'auto' or one of " + ", ".join(repr(g) for g in GEOMETRIES),
        )
    if endian not in (">", "<"):
        raise PromethiumError.invalid(f"endian={endian!r} is not a byte order", "use '>' or '<'")
    given = {
        "inline": inline_byte,
        "crossline": crossline_byte,
        "cdp": cdp_byte,
        "offset": offset_byte,
        "shot_point": shot_byte,
        "channel": channel_byte,
    }
    b: dict[str, int | None] = {
        d: None if v is None else _check_byte(v, KEY_BYTE_PARAMS[d]) for d, v in given.items()
    }
    keys = _Keys(_as_raw(raw), endian)
    if geometry == "auto":
        code = (binary_header or {}).get("trace_sorting_code")
        return _infer_auto(keys, b, None if code is None else int(code))
    return _infer_forced(keys, geometry, b)
