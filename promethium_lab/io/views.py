"""View copies of ``amplitude``: compact, lossy, for looking at and never for processing.

A store keeps ``amplitude`` once, losslessly. Sections and time slices are drawn from
``view_<dim>`` copies chunked for one slice direction (one inline, one crossline or 16
samples deep, as MDIO's ``fast_<dim>`` copies), which hold 8-bit integers instead of
32-bit floats:

- each trace is cut into windows of :data:`WINDOW` samples, and each window scaled by
  its own peak, ``scale = max |x| / LEVELS`` (rounded up to 8 significant bits, so it
  compresses), stored next to each copy in ``view_<dim>_scale`` (float32, one value per
  trace and window, chunked as the copy but 16 traces deep where the copy is one deep:
  a slice reads one scale chunk per copy chunk);
- a sample is stored as ``round(x / scale)``, an integer in ``[-LEVELS, LEVELS]``
  (7 bits and a sign: the narrower range compresses better than the full int8 one), so
  the error of a sample is at most half a step, ``max |x| / 126`` of its window: about
  42 dB below the window's peak, finer than a colour map shows;
- NaN and ±inf read back as 0.

The copies carry ``promethium_view_only: true`` in their attributes; :func:`open_store`
leaves them out of the datasets it opens, and the xarray engine, exports, hashes of the
data and every processing step read ``amplitude`` alone. MDIO opens the store and sees
them as plain int8 arrays, with attributes saying what they are.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "LEVELS",
    "VIEW_ONLY",
    "WINDOW",
    "ViewSlices",
    "dequantise",
    "is_view",
    "n_windows",
    "open_view",
    "quantise",
    "scale_name",
    "view_attrs",
    "view_name",
]

#: Samples per scaled window of a trace.
WINDOW = 64
#: Largest stored integer: 7 bits and a sign.
LEVELS = 63
#: Attribute marking a variable as a lossy copy for viewing only.
VIEW_ONLY = "promethium_view_only"


def view_name(dim: str) -> str:
    """Name of the view copy for slices at a fixed ``dim``."""
    return f"view_{dim}"


def scale_name(dim: str) -> str:
    """Name of the scale of the view copy for ``dim``."""
    return f"view_{dim}_scale"


def is_view(name: str, attrs: dict[str, Any] | None = None) -> bool:
    """Whether a store variable is a view copy or a scale of one (by attrs, else by name)."""
    if attrs is not None:
        return bool(attrs.get(VIEW_ONLY))
    return name.startswith("view_")


def view_attrs(dim: str, *, scale: bool = False) -> dict[str, Any]:
    """Attributes of the view copy for ``dim``, or (``scale``) of its scale."""
    if scale:
        return {VIEW_ONLY: True, "window": WINDOW, "levels": LEVELS,
                "long_name": f"Peak amplitude / {LEVELS} of each {WINDOW}-sample window of "
                             f"each trace: the scale of {view_name(dim)}"}
    return {VIEW_ONLY: True, "lossy": True, "window": WINDOW, "levels": LEVELS,
            "scale": scale_name(dim),
            "long_name": f"Amplitude for viewing only, chunked for {dim} access: "
                         f"round(amplitude / {scale_name(dim)}) (lossy; processing reads "
                         "amplitude)"}


def n_windows(n_samples: int) -> int:
    """Windows of :data:`WINDOW` samples covering a trace of ``n_samples``."""
    return max(1, math.ceil(n_samples / WINDOW))


def quantise(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(q, scale)`` of a block of whole traces (samples last).

    Works through the block a few MB of traces at a time, so its temporaries stay small
    whatever the block's size.

    Returns
    -------
    q : ndarray of int8
        ``round(x / scale)`` in ``[-LEVELS, LEVELS]``, the block's shape.
    scale : ndarray of float32
        Shape ``(*block.shape[:-1], n_windows)``; 0 for a window of zeros.
    """
    x = np.asarray(block)
    ns = x.shape[-1]
    nw = n_windows(ns)
    flat = x.reshape(-1, ns)
    q = np.empty(flat.shape, dtype=np.int8)
    scale = np.empty((flat.shape[0], nw), dtype=np.float32)
    rows = max(1, _PIECE // max(1, 4 * nw * WINDOW))
    for r in range(0, flat.shape[0], rows):
        q[r:r + rows], scale[r:r + rows] = _quantise_rows(flat[r:r + rows], nw)
    return q.reshape(x.shape), scale.reshape(*x.shape[:-1], nw)


#: bytes of float32 traces quantised at once
_PIECE = 4 * 2**20


def _quantise_rows(x: np.ndarray, nw: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`quantise` of 2-D ``(traces, samples)``."""
    ns = x.shape[-1]
    w = np.zeros((x.shape[0], nw * WINDOW), dtype=np.float32)
    w[:, :ns] = x
    if not np.isfinite(w).all():  # one cheap pass; the three of nan_to_num only when needed
        np.nan_to_num(w, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    w = w.reshape(x.shape[0], nw, WINDOW)
    scale = np.abs(w).max(axis=-1)
    scale /= np.float32(LEVELS)
    # round up to 8 significant bits (bfloat16's): the low 16 bits zero compress away,
    # and rounding up keeps every |x| / scale within LEVELS
    bits = scale.view(np.uint32)
    bits += np.uint32(0xFFFF)
    bits &= np.uint32(0xFFFF0000)
    inv = np.divide(np.float32(1), scale, out=np.zeros_like(scale), where=scale > 0)
    w *= inv[..., None]
    np.rint(w, out=w)
    np.clip(w, -LEVELS, LEVELS, out=w)
    return w.reshape(x.shape[0], -1)[:, :ns].astype(np.int8), scale


def dequantise(q: np.ndarray, scale: np.ndarray, start: int = 0, step: int = 1) -> np.ndarray:
    """Float32 values of ``q`` (samples last: ``start, start + step, …`` of the trace)
    from ``scale`` holding the windows ``start // WINDOW`` onwards (samples last)."""
    n = q.shape[-1]
    t = start + step * np.arange(n)
    w = t // WINDOW - start // WINDOW
    return q.astype(np.float32) * np.take(scale, w, axis=-1)


class ViewSlices:
    """``reader[key]``: float32 values of a view copy, ints and slices per dim.

    Parameters
    ----------
    q, scale
        The int8 copy and its scale, as zarr arrays or anything indexed the same way
        (the views wrap them in their chunk-window readers).
    """

    def __init__(self, q: Any, scale: Any) -> None:
        self.q, self.scale = q, scale
        self.shape = tuple(int(n) for n in q.shape)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        ns = self.shape[-1]
        k = key[-1]
        if isinstance(k, (int, np.integer)):
            t = int(k) + ns if int(k) < 0 else int(k)
            q = np.asarray(self.q[key])
            s = np.asarray(self.scale[(*key[:-1], t // WINDOW)])
            return q.astype(np.float32) * s
        start, _, step = k.indices(ns)
        if step <= 0:
            raise ValueError("view copies read time slices with a positive step")
        q = np.asarray(self.q[key])
        if q.shape[-1] == 0:
            return q.astype(np.float32)
        last = start + step * (q.shape[-1] - 1)
        s = np.asarray(self.scale[(*key[:-1], slice(start // WINDOW, last // WINDOW + 1))])
        return dequantise(q, s, start, step)


def open_view(root: str | Path, dim: str) -> ViewSlices | None:
    """The view copy of the store at ``root`` for slices at a fixed ``dim`` (None when
    the store has none)."""
    import zarr

    root = Path(root)
    name, scale = view_name(dim), scale_name(dim)
    if not ((root / name / "zarr.json").is_file() and (root / scale / "zarr.json").is_file()):
        return None
    return ViewSlices(zarr.open_array(root / name, mode="r"),
                      zarr.open_array(root / scale, mode="r"))
