"""Trace headers and trace order of SEG-Y written from a survey grid.

An exported reconstruction has one trace per grid cell. Cells that hold a trace of the
source file keep its 240 header bytes unchanged; cells filled by a reconstruction get a
header made here from their grid position and their live neighbours
(:class:`FilledTraceHeaders`), marked with :data:`INTERPOLATED_TRACE_ID`. The field list
and the rule for each field are in ``docs/data-model.md`` ("Exported reconstructions").

Everything is vectorised over traces: the neighbour search is a running max/min along
each grid axis, the header words are read and written as numpy columns.
"""

from __future__ import annotations

from itertools import permutations, product
from typing import Final

import numpy as np

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.segy_spec import TRACE_FIELDS, TRACE_HEADER_SIZE, trace_header_dtype
from promethium_lab.io.templates import DEFAULT_KEY_BYTES

__all__ = [
    "COORDINATE_FIELDS",
    "ELEVATION_FIELDS",
    "INTERPOLATED_TRACE_ID",
    "LABEL_FIELDS",
    "SEQUENCE_FIELDS",
    "FilledTraceHeaders",
    "default_key_bytes",
    "encode_trace_headers",
    "export_order",
    "source_order",
]

#: Trace identification code (bytes 29-30) of a trace filled by a reconstruction. SEG-Y
#: leaves codes above the defined ones to optional use (rev 1: 23..32767, rev 2.0:
#: 42..32767); Seismic Unix reserves 109-130 and 201-202 for its own flags (segy.h), so
#: 1000 collides with neither and stays clear of codes a later revision may define.
INTERPOLATED_TRACE_ID: Final = 1000

#: Coordinates (scaled by the coordinate scalar, bytes 71-72), interpolated in metres
#: (or the survey's unit) and written back with the scalar of the nearer live neighbour.
COORDINATE_FIELDS: Final = ("source_coord_x", "source_coord_y", "group_coord_x",
                            "group_coord_y", "cdp_x", "cdp_y")
#: Elevations and depths (scaled by the elevation scalar, bytes 69-70), likewise.
ELEVATION_FIELDS: Final = ("receiver_group_elevation", "source_surface_elevation",
                           "source_depth_below_surface", "receiver_datum_elevation",
                           "source_datum_elevation", "source_water_depth",
                           "receiver_water_depth")
#: Integer labels and the offset, interpolated and rounded (unless they are a grid key).
LABEL_FIELDS: Final = ("orig_field_record_num", "trace_num_orig_record",
                       "energy_source_point_num", "ensemble_num", "trace_num_ensemble",
                       "source_to_receiver_distance", "inline", "crossline", "shot_point")
#: Trace sequence numbers within the line and within the file: filled traces continue
#: after the largest number of the source's traces, in output order.
SEQUENCE_FIELDS: Final = ("trace_seq_num_line", "trace_seq_num_reel")

_FIELD: dict[str, tuple[int, int]] = {n: (b - 1, int(k[1])) for n, b, k in TRACE_FIELDS}
_SIZE_AT: dict[int, int] = {b: int(k[1]) for _, b, k in TRACE_FIELDS}
#: (offset, size) of every header word, plus the unassigned tail (bytes 233-240).
_SPANS: tuple[tuple[int, int], ...] = (*((b - 1, int(k[1])) for _, b, k in TRACE_FIELDS),
                                       (232, TRACE_HEADER_SIZE - 232))
_SCALED = {**dict.fromkeys(COORDINATE_FIELDS, "coordinate_scalar"),
           **dict.fromkeys(ELEVATION_FIELDS, "elevation_depth_scalar")}
_SYNTHESISED = (*SEQUENCE_FIELDS, "trace_id_code", "samples_per_trace", "sample_interval")


def default_key_bytes(dims: tuple[str, ...]) -> dict[str, int]:
    """Header bytes of the grid keys ``dims`` as :func:`~promethium_lab.io.geometry.infer_grid`
    reads them by default (the templates' ``key_bytes``: inline 189, crossline 193, cdp 21,
    offset 37, shot 9, channel 13)."""
    return {d: DEFAULT_KEY_BYTES[d] for d in dims if d in DEFAULT_KEY_BYTES}


def encode_trace_headers(decoded: np.ndarray, endian: str = ">") -> np.ndarray:
    """Raw ``V240`` headers from decoded ones (MDIO's ``headers`` records, any shape)."""
    dec = np.asarray(decoded)
    enc = np.zeros(dec.shape, dtype=trace_header_dtype(endian))
    for name in dec.dtype.names or ():
        if name in enc.dtype.names:
            enc[name] = dec[name]
    return enc.view("V240")


# --------------------------------------------------------------------------- order


def _view(a: np.ndarray, perm: tuple[int, ...], flips: tuple[bool, ...]) -> np.ndarray:
    """``a`` read along the axes ``perm`` (outer first), axes flipped where ``flips``."""
    out = np.transpose(a, perm)
    return np.flip(out, [i for i, f in enumerate(flips) if f]) if any(flips) else out


def export_order(source_index: np.ndarray | None, cells: np.ndarray) -> np.ndarray:
    """Flat indices of the grid ``cells`` to write, in output order.

    The order is a traversal of the grid: the axes in some order, each ascending or
    descending. The first traversal (grid C order, ascending labels, first) that visits
    the source's traces in file order is used, so the live traces keep their file order
    and the filled ones sit in their places: grid order for a source sorted on the grid,
    crossline by crossline for a crossline-sorted cube, descending for a line recorded
    with falling CDP numbers. When no traversal matches (a file sorted on nothing), the
    live traces alone are written in file order, or, with filled cells, every cell in
    grid C order.

    Parameters
    ----------
    source_index : ndarray or None
        int grid: each cell's trace number in the source file, -1 where it has none.
    cells : ndarray
        bool grid of the cells to write.

    Returns
    -------
    ndarray
        int64 flat cell indices.
    """
    cells = np.asarray(cells, dtype=bool)
    if source_index is None:
        return np.flatnonzero(cells)
    src = np.asarray(source_index).reshape(cells.shape)
    live = cells & (src >= 0)
    flat = np.arange(cells.size, dtype=np.int64).reshape(cells.shape)
    for perm in permutations(range(cells.ndim)):
        for flips in product((False, True), repeat=cells.ndim):
            seq = _view(src, perm, flips)[_view(live, perm, flips)]
            if np.all(seq[1:] > seq[:-1]):
                return _view(flat, perm, flips)[_view(cells, perm, flips)]
    if not (cells & (src < 0)).any():
        return source_order(src, cells)
    return np.flatnonzero(cells)


def source_order(source_index: np.ndarray | None, cells: np.ndarray) -> np.ndarray:
    """Flat indices of ``cells`` in the order of the source file (grid order without one)."""
    picked = np.flatnonzero(np.asarray(cells, dtype=bool))
    if source_index is None:
        return picked
    order = np.asarray(source_index).reshape(-1)[picked]
    return picked[np.argsort(order, kind="stable")]


# --------------------------------------------------------------------------- neighbours


def _neighbours(known: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                              np.ndarray]:
    """For each flat cell, two known cells ``a``, ``b`` and a weight ``w``: its value is
    ``(1 - w) * v[a] + w * v[b]``.

    Along every axis the nearest known cells before and after are found. The axis whose
    two neighbours enclose the cell most tightly is used: linear interpolation
    (``0 < w < 1``). Where no axis encloses the cell, linear extrapolation (``w < 0``)
    from the nearest and the farthest known cells on one side of the cell's row, along
    the axis where distance / baseline (the factor the words' rounding noise grows by)
    is least; where no row has two known cells, the nearest known cell along an axis
    (``a == b``); where no axis has one, the nearest known cell of the grid. Ties go to
    the later axis (the trace within the ensemble: crossline, channel, offset), whose
    neighbours share the ensemble's values (source position, field record).
    """
    shape = known.shape
    pos = np.unravel_index(cells, shape)
    n = cells.size
    big = sum(shape) + 1
    best = np.full(n, np.inf)
    a = np.full(n, -1, dtype=np.int64)
    b = np.full(n, -1, dtype=np.int64)
    w = np.zeros(n)
    for axis in reversed(range(known.ndim)):
        size = shape[axis]
        along = np.arange(size, dtype=np.int32 if size < 2**31 - 1 else np.int64)
        along = along.reshape([-1 if i == axis else 1 for i in range(known.ndim)])
        # per cell of the grid: the nearest known index along the axis at or before it,
        # and at or after it (-1 / size: none)
        before = np.maximum.accumulate(np.where(known, along, -1), axis=axis)
        after = np.flip(np.minimum.accumulate(np.flip(np.where(known, along, size), axis),
                                              axis=axis), axis)
        i = pos[axis]
        prev, nxt = before[pos], after[pos]
        has_p, has_n = prev >= 0, nxt < size
        both = has_p & has_n
        # for extrapolation, the farthest known cell on the same side (the first or last
        # of the row): the longest baseline, so the noise of the words (rounding) grows
        # least when carried beyond the row's end
        at = list(pos)
        at[axis] = np.zeros_like(i)
        first = after[tuple(at)]
        at[axis] = np.full_like(i, size - 1)
        last = before[tuple(at)]
        prev2 = np.where(has_p & (first < prev), first, -1)
        nxt2 = np.where(has_n & (last > nxt), last, size)
        # enclosed: the span; extrapolated: big + distance / baseline (the factor the
        # words' noise grows by); one known cell: 2 big + distance
        score = np.where(both, nxt - prev, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(has_p & ~has_n, np.where(
                prev2 >= 0, big + (i - prev) / (prev - prev2), 2 * big + i - prev), score)
            score = np.where(has_n & ~has_p, np.where(
                nxt2 < size, big + (nxt - i) / (nxt2 - nxt), 2 * big + nxt - i), score)
        better = score < best
        if not better.any():
            continue
        best[better] = score[better]
        at = [p[better] for p in pos]
        i, prev, nxt, prev2, nxt2 = (x[better] for x in (i, prev, nxt, prev2, nxt2))
        has_p, both = has_p[better], both[better]
        lo = np.where(has_p, prev, nxt)
        hi = np.where(both, nxt, np.where(has_p, np.where(prev2 >= 0, prev2, prev),
                                          np.where(nxt2 < size, nxt2, nxt)))
        at[axis] = lo
        a[better] = np.ravel_multi_index(at, shape)
        at[axis] = hi
        b[better] = np.ravel_multi_index(at, shape)
        w[better] = np.where(hi != lo, (i - lo) / np.where(hi != lo, hi - lo, 1), 0.0)
    lost = a < 0
    if lost.any() and known.any():
        from scipy.ndimage import distance_transform_edt

        nearest = distance_transform_edt(~known, return_distances=False, return_indices=True)
        flat = np.ravel_multi_index(tuple(ix[tuple(p[lost] for p in pos)] for ix in nearest),
                                    shape)
        a[lost] = b[lost] = flat
    return a, b, w


# --------------------------------------------------------------------------- headers


def _scale(scalar: np.ndarray) -> np.ndarray:
    """SEG-Y scalar as a factor: negative divides, positive multiplies, 0 means 1."""
    s = scalar.astype(np.float64)
    return np.where(s < 0, 1.0 / np.abs(np.where(s == 0, 1, s)), np.where(s == 0, 1.0, s))


def _put(u8: np.ndarray, offset: int, size: int, values: np.ndarray, endian: str) -> None:
    """Write integer ``values`` (clipped to the word) as ``size``-byte words at ``offset``."""
    info = np.iinfo(f"i{size}")
    word = np.clip(np.asarray(values, dtype=np.int64), info.min, info.max)
    u8[:, offset : offset + size] = word.astype(f"{endian}i{size}").view(np.uint8).reshape(
        -1, size)


def _put_unsigned(u8: np.ndarray, offset: int, value: int, endian: str) -> None:
    """A 2-byte word read as unsigned (samples, interval): 0..65535, else 0."""
    word = np.array([value if 0 <= value <= 0xFFFF else 0], dtype=f"{endian}u2")
    u8[:, offset : offset + 2] = word.view(np.uint8)


class FilledTraceHeaders:
    """Headers of the grid cells a reconstruction filled, made from their grid position.

    Feed every source header once with :meth:`scan` (in flat C order, in blocks), then
    ask :meth:`block` for the headers of each block of output traces.

    Parameters
    ----------
    filled : ndarray
        Flat indices of the cells without a source trace that are written, in output
        order (their trace sequence numbers follow this order).
    known : ndarray
        bool grid: True where the cell holds a source trace header.
    labels : sequence of ndarray
        Per grid axis, the label of each index (the dataset's dim coordinate).
    key_bytes : sequence of int or None
        Per grid axis, the 1-based header byte its labels go to (None: not written).
    endian : {'>', '<'}
        Byte order of the headers.
    n_samples, sample_interval_us : int
        Written to bytes 115-116 and 117-118.
    delay_ms : float
        Time of the first sample: written to bytes 109-110 (scaled by the time scalar,
        bytes 215-216) unless every source trace has the same delay word, then copied.
    original : ndarray, optional
        bool grid: True where the samples are the source's (a reconstruction's
        ``input_trace_mask``). Known cells outside it keep their header but get
        ``trace_id``. Default: ``known``.
    trace_id : int
        Trace identification code of filled traces (bytes 29-30).
    """

    def __init__(
        self,
        filled: np.ndarray,
        known: np.ndarray,
        labels: list[np.ndarray] | tuple[np.ndarray, ...],
        key_bytes: list[int | None] | tuple[int | None, ...],
        endian: str,
        *,
        n_samples: int,
        sample_interval_us: int,
        delay_ms: float,
        original: np.ndarray | None = None,
        trace_id: int = INTERPOLATED_TRACE_ID,
    ) -> None:
        if endian not in (">", "<"):
            raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                                  f"endian={endian!r} is not a byte order", hint="use '>' or '<'")
        self.known = np.asarray(known, dtype=bool)
        self.shape = self.known.shape
        if len(labels) != self.known.ndim or len(key_bytes) != self.known.ndim:
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER,
                f"{len(labels)} label axes and {len(key_bytes)} key bytes for a grid of "
                f"{self.known.ndim} dims", hint="give one label array and key byte per dim")
        self.labels = [np.asarray(x, dtype=np.int64) for x in labels]
        self.key_bytes = list(key_bytes)
        self.endian = endian
        self.n_samples, self.interval, self.delay = n_samples, sample_interval_us, delay_ms
        self.trace_id = int(trace_id)
        self.original = self.known if original is None else (
            np.asarray(original, dtype=bool) & self.known)
        self._dtype = trace_header_dtype(endian)
        filled = np.asarray(filled, dtype=np.int64).reshape(-1)
        # sorted, for look-ups; _rank[j]: the output position of the j-th smallest cell
        self._rank = np.argsort(filled, kind="stable")
        self._sorted = filled[self._rank]
        self._a, self._b, self._w = (_neighbours(self.known, self._sorted)
                                     if self.known.any() and filled.size else
                                     (np.zeros(filled.size, np.int64),) * 2
                                     + (np.zeros(filled.size),))
        self._needed = np.unique(np.concatenate([self._a, self._b])) if self.known.any() \
            else np.zeros(0, np.int64)
        self._neigh = np.zeros((self._needed.size, TRACE_HEADER_SIZE), dtype=np.uint8)
        self._min = np.full(TRACE_HEADER_SIZE, 255, dtype=np.uint8)
        self._max = np.zeros(TRACE_HEADER_SIZE, dtype=np.uint8)
        self._ref: np.ndarray | None = None
        self._seq_max = dict.fromkeys(SEQUENCE_FIELDS, 0)
        self._scanned = 0
        self._ready = False

    @property
    def n_known(self) -> int:
        """Number of cells with a source header."""
        return int(np.count_nonzero(self.known))

    def scan(self, start: int, raw: np.ndarray) -> None:
        """Take the source headers of flat cells ``start .. start + len(raw) - 1``.

        ``raw`` is ``(k,)`` ``V240`` or ``(k, 240)`` uint8 (zeros where no trace); every
        known cell must be scanned once before :meth:`block`.
        """
        u8 = np.ascontiguousarray(raw).view(np.uint8).reshape(-1, TRACE_HEADER_SIZE)
        stop = start + u8.shape[0]
        own = self.known.reshape(-1)[start:stop]
        live = u8[own]
        if live.shape[0]:
            np.minimum(self._min, live.min(axis=0), out=self._min)
            np.maximum(self._max, live.max(axis=0), out=self._max)
            if self._ref is None:
                self._ref = live[0].copy()
            rec = live.view(self._dtype).reshape(-1)
            for name in SEQUENCE_FIELDS:
                self._seq_max[name] = max(self._seq_max[name], int(rec[name].max()))
            self._scanned += live.shape[0]
        lo, hi = np.searchsorted(self._needed, [start, stop])
        self._neigh[lo:hi] = u8[self._needed[lo:hi] - start]

    def finish(self) -> None:
        """End the scan (:meth:`block` calls it; call it first to share the object
        between threads).

        Raises
        ------
        RuntimeError
            When a known cell was not scanned.
        """
        if self._ready:
            return
        if self._sorted.size and self._scanned != self.n_known:
            raise RuntimeError(f"scanned {self._scanned} of {self.n_known} source headers")
        const = self._min == self._max
        self._const = np.zeros(TRACE_HEADER_SIZE, dtype=bool)
        for off, size in _SPANS:
            if const[off : off + size].all():
                self._const[off : off + size] = True
        for name in _SYNTHESISED:
            off, size = _FIELD[name]
            self._const[off : off + size] = False
        varies = lambda name: not self._const[_FIELD[name][0]]  # noqa: E731
        self._interp = [n for n in (*COORDINATE_FIELDS, *ELEVATION_FIELDS, *LABEL_FIELDS)
                        if self._ref is not None and varies(n)]
        self._ready = True

    def block(self, cells: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """Headers of the output cells ``cells`` whose stored headers are ``raw``.

        Source traces keep ``raw`` byte for byte; known cells whose samples were
        replaced get :attr:`trace_id`; the other (filled) cells get a synthesised header.

        Returns
        -------
        ndarray
            ``(k, 240)`` uint8.
        """
        self.finish()
        cells = np.asarray(cells, dtype=np.int64).reshape(-1)
        out = np.array(np.ascontiguousarray(raw).view(np.uint8).reshape(-1, TRACE_HEADER_SIZE))
        known = self.known.reshape(-1)[cells]
        marked = known & ~self.original.reshape(-1)[cells]
        if marked.any():
            sub = out[marked]
            _put(sub, *_FIELD["trace_id_code"], np.full(sub.shape[0], self.trace_id),
                 self.endian)
            out[marked] = sub
        if not known.all():
            out[~known] = self._synthesise(cells[~known])
        return out

    def _synthesise(self, cells: np.ndarray) -> np.ndarray:
        at = np.searchsorted(self._sorted, cells)
        if np.any(at >= self._sorted.size) or np.any(self._sorted[np.minimum(
                at, self._sorted.size - 1)] != cells):
            raise ValueError("cells outside the filled cells given to FilledTraceHeaders")
        k, e = cells.size, self.endian
        u8 = np.zeros((k, TRACE_HEADER_SIZE), dtype=np.uint8)
        if self._ref is not None:
            u8[:, self._const] = self._ref[self._const]
        if self._interp:
            self._interpolate(u8, at)
        rank = self._rank[at]
        for name in SEQUENCE_FIELDS:
            top = self._seq_max[name]
            off, size = _FIELD[name]
            if self._max[off : off + size].any():  # the source numbers its traces
                _put(u8, off, size, top + 1 + rank, e)
        pos = np.unravel_index(cells, self.shape)
        for axis, byte in enumerate(self.key_bytes):
            if byte is not None:
                _put(u8, byte - 1, _SIZE_AT.get(byte, 4), self.labels[axis][pos[axis]], e)
        _put(u8, *_FIELD["trace_id_code"], np.full(k, self.trace_id), e)
        off, size = _FIELD["delay_recording_time"]
        if not self._const[off]:  # the source's traces differ (or there are none)
            times = u8.view(self._dtype).reshape(-1)["times_scalar"]
            _put(u8, off, size, np.rint(self.delay / _scale(times)), e)
        _put_unsigned(u8, _FIELD["samples_per_trace"][0], self.n_samples, e)
        _put_unsigned(u8, _FIELD["sample_interval"][0], self.interval, e)
        return u8

    def _interpolate(self, u8: np.ndarray, at: np.ndarray) -> None:
        rec = self._neigh.view(self._dtype).reshape(-1)
        ia = np.searchsorted(self._needed, self._a[at])
        ib = np.searchsorted(self._needed, self._b[at])
        w = self._w[at]
        near = np.where(w <= 0.5, ia, ib)
        out = u8.view(self._dtype).reshape(-1)
        for scalar in ("coordinate_scalar", "elevation_depth_scalar"):
            if not self._const[_FIELD[scalar][0]]:
                out[scalar] = rec[scalar][near]
        for name in self._interp:
            va = rec[name][ia].astype(np.float64)
            vb = rec[name][ib].astype(np.float64)
            if name in _SCALED:
                sc = _SCALED[name]
                va, vb = va * _scale(rec[sc][ia]), vb * _scale(rec[sc][ib])
                value = (va + w * (vb - va)) / _scale(out[sc])
            else:
                value = va + w * (vb - va)
            _put(u8, *_FIELD[name], np.rint(value), self.endian)
