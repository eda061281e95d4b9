"""Windows of a 2-D plane of a survey, read at screen resolution.

A :class:`Plane` is a 2-D view (x across, y down/up) of a survey variable: a section
``(trace dim, time)`` at fixed other trace dims, or a time slice. It reads the visible index
window only, from the coarsest overview level that still has a sample per pixel (signed
max-abs views) or from the Zarr array itself, in slabs of bounded size, and reduces it to
the screen with :func:`promethium_lab.viz.raster.reduce_window`'s block reduction.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from promethium_lab.io.overview import block_reduce

__all__ = ["Axis", "Plane", "Raster"]

Getter = Callable[[slice, slice], np.ndarray]
#: Uncompressed bytes read at once from the full-resolution array.
SLAB_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Axis:
    """One axis of a plane: a dim with its coordinate, units and plot label.

    Plot coordinates are ``start + index * step``: the coordinate itself when it is
    numeric and regular, else the index (``step`` 1, label says "index").
    """

    name: str
    size: int
    start: float
    step: float
    label: str
    unit: str = ""
    values: Any = None

    @classmethod
    def of(cls, name: str, coord: Any = None, size: int | None = None, *, label: str = "",
           unit: str | None = None, default_step: float = 1.0) -> Axis:
        """The axis of ``name`` from its coordinate (DataArray or array) or its size."""
        values = None if coord is None else np.asarray(getattr(coord, "values", coord))
        n = int(size if size is not None else (0 if values is None else values.size))
        attrs = getattr(coord, "attrs", {}) or {}
        unit = attrs.get("units", "") if unit is None else unit
        label = label or str(attrs.get("long_name", "") or name).replace("_", " ")
        if label.lower() == name.replace("_", " ").lower():
            label = name.replace("_", " ")
        start, step = 0.0, 1.0
        if values is not None and values.size and values.dtype.kind in "iuf":
            v = values.astype(np.float64)
            if v.size == 1 and np.isfinite(v[0]):
                start, step = float(v[0]), float(default_step)
            elif np.all(np.isfinite(v)):
                d = np.diff(v)
                if d[0] != 0 and np.allclose(d, d[0], rtol=1e-6, atol=abs(d[0]) * 1e-6):
                    start, step = float(v[0]), float(d[0])
                else:
                    label, unit = f"{label} (index)", ""
        elif values is not None and values.size:
            label, unit = f"{label} (index)", ""
        return cls(name=name, size=n, start=start, step=step, label=label, unit=unit or "",
                   values=values)

    def coord(self, index: Any) -> Any:
        """Plot coordinate of a (fractional) index."""
        return self.start + np.asarray(index, dtype=np.float64) * self.step

    def index(self, coord: float) -> float:
        """Fractional index of a plot coordinate."""
        return (float(coord) - self.start) / self.step

    def window(self, rng: tuple[float, float] | None) -> tuple[int, int]:
        """Index window ``[i0, i1)`` of the samples visible in a plot range (≥ 1 sample)."""
        if rng is None or rng[0] is None or rng[1] is None:
            return 0, self.size
        a, b = sorted((self.index(rng[0]), self.index(rng[1])))
        if not (np.isfinite(a) and np.isfinite(b)):
            return 0, self.size
        i0 = int(min(max(math.floor(a + 0.5), 0), self.size - 1))
        i1 = int(max(min(math.ceil(b + 0.5), self.size), i0 + 1))
        return i0, i1

    def edges(self, start: int, step: int, n: int) -> tuple[float, float]:
        """Plot coordinates of the outer edges of ``n`` pixels of ``step`` samples."""
        lo = float(self.coord(start - 0.5))
        hi = float(self.coord(start + n * step - 0.5))
        return lo, hi

    def full_range(self) -> tuple[float, float]:
        """Plot range of the whole axis."""
        return tuple(sorted(self.edges(0, 1, self.size)))  # type: ignore[return-value]

    def title_value(self, index: int) -> str:
        """The label of sample ``index`` as shown in titles."""
        if self.values is None or not len(self.values):
            return str(index)
        v = self.values[index]
        if isinstance(v, (float, np.floating)):
            return f"{float(v):g}"
        return str(v)

    @property
    def regular(self) -> bool:
        """True when plot coordinates are the coordinate's own values (numeric, regular)."""
        return (self.values is not None and np.asarray(self.values).dtype.kind in "iuf"
                and not self.label.endswith("(index)"))

    @property
    def text(self) -> str:
        """Axis label with units: ``time (ms)``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass
class Raster:
    """A window reduced to pixels: ``data[x pixel, y pixel]``.

    Pixel ``p`` along x holds samples ``x_start + p * x_step`` … ``+ x_step - 1`` of the
    full-resolution axis (likewise y); ``level`` is the overview level read (0: the data).
    """

    data: np.ndarray
    x_start: int
    x_step: int
    y_start: int
    y_step: int
    level: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape  # type: ignore[return-value]


class Plane:
    """A 2-D plane of a survey: reads index windows, at screen resolution.

    Parameters
    ----------
    x, y : Axis
        Horizontal and vertical axes.
    read : callable
        ``read(x_slice, y_slice) -> ndarray (nx, ny)`` at full resolution (NaN where
        absent).
    levels : list of callable, optional
        ``levels[k - 1](x_slice, y_slice)``: overview level ``k`` (signed max-abs,
        ``factor**k`` samples per value along both axes).
    factor : int
        Overview reduction per level.
    """

    def __init__(self, x: Axis, y: Axis, read: Getter, levels: list[Getter] | None = None,
                 factor: int = 4) -> None:
        self.x, self.y = x, y
        self._read = read
        self.levels = list(levels or [])
        self.factor = factor
        self._cache: OrderedDict[tuple, Raster] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, xs: slice, ys: slice) -> np.ndarray:
        """Full-resolution samples of an index window, ``(nx, ny)`` float."""
        out = np.asarray(self._read(xs, ys))
        return out if out.dtype.kind == "f" else out.astype(np.float32)

    def window(self, x_range: tuple[float, float] | None = None,
               y_range: tuple[float, float] | None = None, width: int = 800,
               height: int = 600, how: str = "maxabs") -> Raster:
        """The visible window reduced to at most ``width × height`` pixels.

        Signed max-abs windows come from the coarsest overview level with at least one
        value per pixel along both axes (the result equals a block reduction of the full
        data from the level's block boundaries); RMS windows and fine zooms read the data.
        Pixel ``p`` holds the whole block ``x_start + p * x_step …`` (cut where the data
        ends), so a window may reach up to a block past the visible range.
        """
        i0, i1 = self.x.window(x_range)
        j0, j1 = self.y.window(y_range)
        width, height = max(1, int(width or 800)), max(1, int(height or 600))
        fx = -(-(i1 - i0) // width)
        fy = -(-(j1 - j0) // height)
        key = (i0, i1, j0, j1, fx, fy, how)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        level = 0
        if how == "maxabs":
            while level < len(self.levels) and self.factor ** (level + 1) <= min(fx, fy):
                level += 1
        # every pixel holds a whole block (cut only where the data ends), as its bounds say
        if level:
            s = self.factor**level
            a0, a1 = i0 // s, -(-i1 // s)
            b0, b1 = j0 // s, -(-j1 // s)
            gx, gy = -(-(a1 - a0) // width), -(-(b1 - b0) // height)
            a1 = a0 + -(-(a1 - a0) // gx) * gx
            b1 = b0 + -(-(b1 - b0) // gy) * gy
            src = np.asarray(self.levels[level - 1](slice(a0, a1), slice(b0, b1)))
            raster = Raster(block_reduce(src, (gx, gy), how), a0 * s, gx * s, b0 * s, gy * s,
                            level)
        else:
            i1 = min(self.x.size, i0 + -(-(i1 - i0) // fx) * fx)
            j1 = min(self.y.size, j0 + -(-(j1 - j0) // fy) * fy)
            raster = Raster(self._read_reduced(i0, i1, j0, j1, fx, fy, how), i0, fx, j0, fy)
        with self._lock:
            self._cache[key] = raster
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        return raster

    def _read_reduced(self, i0: int, i1: int, j0: int, j1: int, fx: int, fy: int,
                      how: str) -> np.ndarray:
        """Read ``[i0, i1) × [j0, j1)`` in slabs of whole x blocks and reduce each."""
        per_x = max(1, (j1 - j0) * 4)
        slab = max(fx, (SLAB_BYTES // per_x) // fx * fx)
        parts = []
        for s0 in range(i0, i1, slab):
            s1 = min(i1, s0 + slab)
            parts.append(block_reduce(self.read(slice(s0, s1), slice(j0, j1)), (fx, fy), how))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
