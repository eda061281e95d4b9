"""HoloViews elements of the seismic views: image, wiggles, masks, header hover, colours.

A zoom re-renders every layer of a view, and HoloViews' option processing (``.opts``,
new dimensions) costs more than the elements themselves. :class:`Layers` therefore styles
one template per layer when a view is made; each frame builds its elements with the
template's ``id`` (same options, no option processing) and reused dimensions.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import numpy as np

from promethium_lab.viz._plane import Axis, Raster

__all__ = [
    "ABSENT",
    "NO_DATA",
    "RECONSTRUCTED",
    "Layers",
    "hv",
    "palette",
    "wrap_title",
]
#: Colours of the trace-mask overlay (the Void/Neon cyan for holes).
ABSENT = "#00F0FF"
RECONSTRUCTED = "#FF8C00"
#: Colour of image pixels without data (absent traces, gaps): the cyan at 30 % opacity. The
#: image draws them itself, so shading absent traces costs no layer of its own.
NO_DATA = ABSENT + "4D"
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


#: Average width (px) of a character of Bokeh's title font (bold 13 px), and the share of
#: a plot's width its y axis takes before the title starts.
TITLE_CHAR_PX = 7.5
TITLE_MARGIN_PX = 60


def wrap_title(text: str, width_px: float, char_px: float = TITLE_CHAR_PX) -> str:
    """``text`` broken into lines that fit ``width_px`` (about ``char_px`` per character).

    Lines break after the `` — `` and `` · `` separators of the views' titles first, then
    at spaces; line breaks already in ``text`` are kept. Bokeh and matplotlib both draw
    multi-line titles.
    """
    limit = max(12, int(width_px / char_px))
    out: list[str] = []
    for line in text.split("\n"):
        current = ""
        for piece in re.split(r"(?<= [—·]) ", line):
            joined = f"{current} {piece}" if current else piece
            if len(joined) <= limit:
                current = joined
                continue
            if current:
                out.append(current)
            # a separator stays at the end of its line: glue it to the word before
            glued = re.sub(r" ([—·])$", "\u00a0\\1", piece)
            wrapped = textwrap.wrap(glued, limit, break_long_words=False) or [""]
            out.extend(w.replace("\u00a0", " ") for w in wrapped[:-1])
            current = wrapped[-1].replace("\u00a0", " ")
        out.append(current)
    return "\n".join(out)


def dim(axis: Axis) -> Any:
    """The HoloViews dimension of an axis (name, label, unit; its full extent as range, so
    wiggles swinging past the edge traces do not widen the initial view)."""
    return hv().Dimension(axis.name, label=axis.label, unit=axis.unit or None,
                          range=axis.full_range() if axis.size else (None, None))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of True."""
    f = np.concatenate([[False], np.asarray(flags, dtype=bool), [False]])
    d = np.diff(f.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


#: height of the band that marks reconstructed traces, as a share of the window's height
BAND = 0.03
#: colour and fill opacity of each mask kind (absent: a shaded column; reconstructed: a band)
MASK_STYLE = {"absent": (ABSENT, 0.3), "reconstructed": (RECONSTRUCTED, 0.9)}


class Layers:
    """The styled layers of one plane's frames: image (pixels without data in
    :data:`NO_DATA`), wiggles, variable area, trace-mask rectangles, header hover, and the
    overlay holding them.

    Options are set once, on templates; every frame's elements carry a template's ``id``
    (so they share its options) and the axes' dimensions built here.

    Parameters
    ----------
    x, y : Axis
        The plane's axes.
    clip : float
        Symmetric colour clip (``±clip``) and wiggle scale.
    cmap : list of str
        Colours of the image.
    kinds : sequence of str
        Mask kinds the view shows (keys of :data:`MASK_STYLE`).
    vdim, group : str
        Value dimension and group of the image.
    """

    def __init__(self, x: Axis, y: Axis, *, clip: float, cmap: list[str],
                 kinds: tuple[str, ...] = ("absent",), vdim: str = "amplitude",
                 group: str = "Image") -> None:
        h = hv()
        self.x, self.y, self.clip, self.group = x, y, float(clip), group
        self.kdims = [dim(x), dim(y)]
        self.vdims = [h.Dimension(vdim, range=(-self.clip, self.clip))]
        self.rect_kdims = [*self.kdims, h.Dimension(f"{x.name}1"), h.Dimension(f"{y.name}1")]
        self._kind = [h.Dimension("kind")]
        self._image = h.Image(np.zeros((1, 1), np.float32), kdims=self.kdims,
                              vdims=self.vdims, group=group).opts(
            backend="bokeh", cmap=cmap, clim=(-self.clip, self.clip), colorbar=True,
            tools=["hover"], clipping_colors={"NaN": NO_DATA})
        self._wiggle = h.Path([], kdims=self.kdims, group="Wiggle").opts(
            backend="bokeh", color="black", line_width=0.8)
        self._area = h.Polygons([], kdims=self.kdims, group="VariableArea").opts(
            backend="bokeh", color="black", line_alpha=0, fill_alpha=0.85)
        self._mask = self._mask_template(tuple(kinds))
        self._headers: dict[tuple[str, ...], Any] = {}
        self._overlays: dict[tuple[Any, ...], Any] = {}

    def _mask_template(self, kinds: tuple[str, ...]) -> Any:
        h = hv()
        rects = h.Rectangles([], kdims=self.rect_kdims, vdims=self._kind, group="Mask")
        if len(kinds) == 1 and kinds[0] in MASK_STYLE:  # one kind: constant style
            colour, alpha = MASK_STYLE[kinds[0]]
            return rects.opts(backend="bokeh", color=colour, fill_alpha=alpha, line_alpha=0)
        colours = {k: c for k, (c, _) in MASK_STYLE.items()}
        alphas = {k: a for k, (_, a) in MASK_STYLE.items()}
        return rects.opts(backend="bokeh", line_alpha=0,
                          color=h.dim("kind").categorize(colours, default=ABSENT),
                          fill_alpha=h.dim("kind").categorize(alphas, default=0.3))

    def overlay(self, layers: list[Any], *, title: str, width: int, height: int,
                invert_y: bool) -> Any:
        """An overlay of ``layers`` with the plot options of a frame (templates cached per
        title and size); a title too long for the plot is wrapped."""
        title = wrap_title(title, int(width) - TITLE_MARGIN_PX)
        key = (title, int(width), int(height), bool(invert_y))
        tmpl = self._overlays.get(key)
        if tmpl is None:
            if len(self._overlays) >= 16:
                self._overlays.clear()
            tmpl = hv().Overlay([]).opts(backend="bokeh", title=title, width=int(width),
                                         height=int(height), invert_yaxis=bool(invert_y),
                                         show_legend=False)
            self._overlays[key] = tmpl
        return hv().Overlay(layers, id=tmpl.id)

    def image(self, raster: Raster) -> Any:
        """``hv.Image`` of a raster with bounds in plot coordinates."""
        x, y = self.x, self.y
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
        return hv().Image(z, bounds=(left, bottom, right, top), kdims=self.kdims,
                          vdims=self.vdims, group=self.group, id=self._image.id)

    def wiggles(self, data: np.ndarray, i0: int, j0: int, *, height: int,
                gain: float = 0.8) -> list[Any]:
        """Wiggle traces and their variable-area fill as ONE ``hv.Path`` and ONE
        ``hv.Polygons`` (all traces NaN-separated).

        ``data`` is ``(traces, samples)`` at full resolution from index ``(i0, j0)``.
        Traces swing ``gain`` trace spacings at the clip; longer than ``2 × height``
        samples, each block of samples is drawn as its min and max (the envelope, nothing
        averaged).
        """
        h, x, y = hv(), self.x, self.y
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
        w = np.clip(a / self.clip, -1.0, 1.0) * spacing * gain
        base = x.coord(np.arange(i0, i0 + nx))[:, None]
        t = y.coord(t_index)
        sep = np.full((nx, 1), np.nan)
        # one geometry, traces separated by NaN (no trailing separator: HoloViews closes
        # rings)
        xs = np.concatenate([base + w, sep], axis=1).ravel()[:-1]
        ys = np.concatenate([np.broadcast_to(t, w.shape), sep], axis=1).ravel()[:-1]
        path = h.Path([{x.name: xs, y.name: ys}], kdims=self.kdims, group="Wiggle",
                      id=self._wiggle.id)
        pos = np.where(np.isfinite(w) & (w > 0), w, 0.0)
        fill_x = np.concatenate([base + pos, np.broadcast_to(base, pos.shape), sep], axis=1)
        fill_y = np.concatenate([np.broadcast_to(t, pos.shape),
                                 np.broadcast_to(t[::-1], pos.shape), sep], axis=1)
        polys = h.Polygons([{x.name: fill_x.ravel()[:-1], y.name: fill_y.ravel()[:-1]}],
                           kdims=self.kdims, group="VariableArea", id=self._area.id)
        return [path, polys]

    def mask(self, raster: Raster, flags: dict[str, np.ndarray | None]) -> Any:
        """Rectangles over the pixel columns whose traces are mostly flagged.

        ``flags``: kind (``"absent"``, ``"reconstructed"``) → boolean over the full x axis.
        """
        x, y = self.x, self.y
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
                left, right = sorted(x.edges(raster.x_start + p0 * raster.x_step,
                                             raster.x_step, int(p1 - p0)))
                # absent traces hold nothing to hide: shade their whole height;
                # reconstructed ones are marked by a band along the first samples, so
                # they stay visible
                end = top if kind == "absent" else bottom + BAND * (top - bottom)
                rows.append((left, bottom, right, end, kind))
        return hv().Rectangles(rows, kdims=self.rect_kdims, vdims=self._kind, group="Mask",
                               id=self._mask.id)

    def headers(self, raster: Raster, headers: dict[str, np.ndarray]) -> Any:
        """Transparent rectangles, one per pixel column, whose hover shows the headers of
        the trace in the column's middle."""
        h, x, y = hv(), self.x, self.y
        nxp, nyp = raster.shape
        bottom, top = sorted(y.edges(raster.y_start, raster.y_step, nyp))
        starts = raster.x_start + np.arange(nxp) * raster.x_step
        lefts = x.coord(starts - 0.5)
        rights = x.coord(starts + raster.x_step - 0.5)
        mid = np.minimum(starts + raster.x_step // 2, x.size - 1)
        label = x.name + "_label"
        tmpl = self._headers.get(tuple(headers))
        if tmpl is None:
            vdims = [h.Dimension(label, label=x.label),
                     *[h.Dimension(n, label=n) for n in headers]]
            tmpl = h.Rectangles([], kdims=self.rect_kdims, vdims=vdims,
                                group="Headers").opts(
                backend="bokeh", fill_alpha=0, line_alpha=0, tools=["hover"],
                hover_fill_alpha=0.08, hover_line_alpha=0)
            self._headers[tuple(headers)] = tmpl
        cols: dict[str, Any] = {
            self.rect_kdims[0].name: np.minimum(lefts, rights),
            self.rect_kdims[1].name: np.full(nxp, bottom),
            self.rect_kdims[2].name: np.maximum(lefts, rights),
            self.rect_kdims[3].name: np.full(nxp, top),
            label: np.array([x.title_value(int(i)) for i in mid], dtype=object),
        }
        for name, values in headers.items():
            v = np.asarray(values)[mid]
            cols[name] = v.astype(str) if v.dtype.kind in "MmOSUV" else v
        return h.Rectangles(cols, kdims=self.rect_kdims, vdims=tmpl.vdims, group="Headers",
                            id=tmpl.id)

