"""HoloViews elements of the seismic views: image, wiggles, masks, header hover, colours."""

from __future__ import annotations

from typing import Any

import numpy as np

from promethium_lab.viz._plane import Axis, Raster

__all__ = [
    "ABSENT",
    "RECONSTRUCTED",
    "header_rects",
    "hv",
    "image",
    "mask_rects",
    "palette",
    "wiggle_glyphs",
]

#: Colours of the trace-mask overlay (the Void/Neon cyan for holes).
ABSENT = "#00F0FF"
RECONSTRUCTED = "#FF8C00"
#: Named seismic colour maps → matplotlib names.
CMAPS = {"grey": "gray_r", "gray": "gray_r", "greys": "gray_r", "seismic": "seismic",
         "rwb": "RdBu", "red-white-blue": "RdBu", "bwr": "bwr"}
#: Pixels per trace from which wiggles / variable area are drawn.
WIGGLE_PX = 8


def hv() -> Any:
    """HoloViews with the Bokeh plotting options registered (imported on first use)."""
    import holoviews
    import holoviews.plotting.bokeh

    return holoviews


def palette(cmap: str | list[str] = "grey", n: int = 256) -> list[str]:
    """A colour map as ``n`` hex colours (``grey``, ``seismic``, ``rwb`` or matplotlib's)."""
    if isinstance(cmap, (list, tuple)):
        return list(cmap)
    import matplotlib
    from matplotlib.colors import to_hex

    cm = matplotlib.colormaps[CMAPS.get(str(cmap).lower(), str(cmap))]
    return [to_hex(cm(i / (n - 1))) for i in range(n)]


def dim(axis: Axis) -> Any:
    """The HoloViews dimension of an axis (name, label, unit; its full extent as range, so
    wiggles swinging past the edge traces do not widen the initial view)."""
    return hv().Dimension(axis.name, label=axis.label, unit=axis.unit or None,
                          range=axis.full_range() if axis.size else (None, None))


def image(raster: Raster, x: Axis, y: Axis, *, vdim: str = "amplitude", clip: float,
          cmap: list[str], group: str = "Image") -> Any:
    """``hv.Image`` of a raster with bounds in plot coordinates and a symmetric clip."""
    h = hv()
    data = np.asarray(raster.data, dtype=np.float32)
    nxp, nyp = data.shape
    left, right = x.edges(raster.x_start, raster.x_step, nxp)
    bottom, top = y.edges(raster.y_start, raster.y_step, nyp)
    z = data.T  # rows: y index increasing
    if left > right:
        z, (left, right) = z[:, ::-1], (right, left)
    if bottom > top:
        z, (bottom, top) = z[::-1, :], (top, bottom)
    z = np.ascontiguousarray(z[::-1])  # hv.Image: row 0 is the top (largest y)
    # the value range is the clip, so an all-NaN window (every trace absent) needs no
    # data range
    img = h.Image(z, bounds=(left, bottom, right, top), kdims=[dim(x), dim(y)],
                  vdims=[h.Dimension(vdim, range=(-clip, clip))], group=group)
    return img.opts(backend="bokeh", cmap=cmap, clim=(-clip, clip), colorbar=True,
                    tools=["hover"], clipping_colors={"NaN": "transparent"})


def wiggle_glyphs(data: np.ndarray, x: Axis, y: Axis, i0: int, j0: int, *, clip: float,
                  height: int, gain: float = 0.8) -> tuple[Any, Any]:
    """Wiggle traces and their variable-area fill as ONE ``hv.Path`` and ONE
    ``hv.Polygons`` (all traces NaN-separated).

    ``data`` is ``(traces, samples)`` at full resolution from index ``(i0, j0)``. Traces
    swing ``gain`` trace spacings at the clip; longer than ``2 × height`` samples, each
    block of samples is drawn as its min and max (the envelope, nothing averaged).
    """
    h = hv()
    a = np.asarray(data, dtype=np.float64)
    nx, ny = a.shape
    t_index = np.arange(j0, j0 + ny, dtype=np.float64)
    if ny > 2 * max(height, 1):
        g = -(-ny // max(height, 1))
        pad = (-ny) % g
        blocks = np.pad(a, ((0, 0), (0, pad)), constant_values=np.nan).reshape(nx, -1, g)
        with np.errstate(all="ignore"):
            hi = np.fmax.reduce(blocks, axis=2)
            lo = np.fmin.reduce(blocks, axis=2)
        a = np.stack([hi, lo], axis=2).reshape(nx, -1)
        starts = np.arange(j0, j0 + ny + pad, g, dtype=np.float64)
        t_index = np.stack([starts, starts + g / 2], axis=1).ravel()
    spacing = abs(x.step)
    if x.size == 1:
        gain = min(gain, 0.45)  # stay inside the one trace's column
    w = np.clip(a / clip, -1.0, 1.0) * spacing * gain
    base = x.coord(np.arange(i0, i0 + nx))[:, None]
    t = y.coord(t_index)
    sep = np.full((nx, 1), np.nan)
    # one geometry, traces separated by NaN (no trailing separator: HoloViews closes rings)
    xs = np.concatenate([base + w, sep], axis=1).ravel()[:-1]
    ys = np.concatenate([np.broadcast_to(t, w.shape), sep], axis=1).ravel()[:-1]
    kd = [dim(x), dim(y)]
    path = h.Path([{x.name: xs, y.name: ys}], kdims=kd, group="Wiggle")
    pos = np.where(np.isfinite(w) & (w > 0), w, 0.0)
    fill_x = np.concatenate([base + pos, np.broadcast_to(base, pos.shape), sep], axis=1)
    fill_y = np.concatenate([np.broadcast_to(t, pos.shape),
                             np.broadcast_to(t[::-1], pos.shape), sep], axis=1)
    polys = h.Polygons([{x.name: fill_x.ravel()[:-1], y.name: fill_y.ravel()[:-1]}], kdims=kd,
                       group="VariableArea")
    return (path.opts(backend="bokeh", color="black", line_width=0.8),
            polys.opts(backend="bokeh", color="black", line_alpha=0, fill_alpha=0.85))


def empty_wiggles(x: Axis, y: Axis) -> tuple[Any, Any]:
    """Empty wiggle and variable-area glyphs (so a view's overlay keeps its layers)."""
    h = hv()
    kd = [dim(x), dim(y)]
    path = h.Path([], kdims=kd, group="Wiggle")
    polys = h.Polygons([], kdims=kd, group="VariableArea")
    return (path.opts(backend="bokeh", color="black", line_width=0.8),
            polys.opts(backend="bokeh", color="black", line_alpha=0, fill_alpha=0.85))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of True."""
    f = np.concatenate([[False], np.asarray(flags, dtype=bool), [False]])
    d = np.diff(f.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


#: height of the band that marks reconstructed traces, as a share of the window's height
BAND = 0.03


def mask_rects(raster: Raster, x: Axis, y: Axis, flags: dict[str, np.ndarray | None]) -> Any:
    """Rectangles over the pixel columns whose traces are mostly flagged.

    ``flags``: kind (``"absent"``, ``"reconstructed"``) → boolean over the full x axis.
    """
    h = hv()
    nxp, nyp = raster.shape
    bottom, top = sorted(y.edges(raster.y_start, raster.y_step, nyp))
    rows = []
    for kind, flag in flags.items():
        if flag is None or not np.any(flag):
            continue
        stop = raster.x_start + nxp * raster.x_step
        f = np.zeros(nxp * raster.x_step, dtype=np.float64)
        seg = np.asarray(flag[raster.x_start:stop], dtype=np.float64)
        f[: seg.size] = seg
        frac = f.reshape(nxp, raster.x_step).mean(axis=1)
        for p0, p1 in _runs(frac >= 0.5):
            left, right = sorted(x.edges(raster.x_start + p0 * raster.x_step, raster.x_step,
                                         int(p1 - p0)))
            # absent traces hold nothing to hide: shade their whole height; reconstructed
            # ones are marked by a band along the first samples, so they stay visible
            end = top if kind == "absent" else bottom + BAND * (top - bottom)
            rows.append((left, bottom, right, end, kind))
    kd = [dim(x), dim(y), f"{x.name}1", f"{y.name}1"]
    rects = h.Rectangles(rows, kdims=kd, vdims=["kind"], group="Mask")
    colours = {"absent": ABSENT, "reconstructed": RECONSTRUCTED}
    return rects.opts(backend="bokeh", color=h.dim("kind").categorize(colours, default=ABSENT),
                      fill_alpha=h.dim("kind").categorize({"absent": 0.3}, default=0.9),
                      line_alpha=0)


def header_rects(raster: Raster, x: Axis, y: Axis, headers: dict[str, np.ndarray]) -> Any:
    """Transparent rectangles, one per pixel column, whose hover shows the headers of the
    trace in the column's middle."""
    h = hv()
    nxp, nyp = raster.shape
    bottom, top = sorted(y.edges(raster.y_start, raster.y_step, nyp))
    starts = raster.x_start + np.arange(nxp) * raster.x_step
    lefts = x.coord(starts - 0.5)
    rights = x.coord(starts + raster.x_step - 0.5)
    lo, hi = np.minimum(lefts, rights), np.maximum(lefts, rights)
    mid = np.minimum(starts + raster.x_step // 2, x.size - 1)
    cols: dict[str, Any] = {
        "x0": lo, "y0": np.full(nxp, bottom), "x1": hi, "y1": np.full(nxp, top),
        x.name + "_label": np.array([x.title_value(int(i)) for i in mid], dtype=object),
    }
    vdims = [h.Dimension(x.name + "_label", label=x.label)]
    for name, values in headers.items():
        v = np.asarray(values)[mid]
        if v.dtype.kind in "MmOSUV":
            v = v.astype(str)
        cols[name] = v
        vdims.append(h.Dimension(name, label=name))
    kd = [dim(x), dim(y), f"{x.name}1", f"{y.name}1"]
    data = {kd[0].name: cols.pop("x0"), kd[1].name: cols.pop("y0"),
            kd[2]: cols.pop("x1"), kd[3]: cols.pop("y1"), **cols}
    rects = h.Rectangles(data, kdims=kd, vdims=vdims, group="Headers")
    return rects.opts(backend="bokeh", fill_alpha=0, line_alpha=0, tools=["hover"],
                      hover_fill_alpha=0.08, hover_line_alpha=0)
