"""A HoloViews object that also leaves a static PNG in the notebook.

Every view returns a :class:`View`: in JupyterLab it shows HoloViews' own interactive
output, and its MIME bundle also carries ``image/png`` of the current frame (drawn with
matplotlib at the view's reduced resolution), so an exported notebook is never blank.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from promethium_lab.viz._render import wrap_title

__all__ = ["View", "render_png"]



class View:
    """An interactive HoloViews view with a static PNG fallback.

    Parameters
    ----------
    obj : holoviews object
        The view (usually a ``DynamicMap`` or a ``Layout`` of them).
    frame : callable, optional
        ``frame(**stream values) -> element``: the frame for given ``x_range``,
        ``y_range``, ``width``, ``height`` (and key dims), as the plot would draw it.
    info : dict, optional
        Facts about the view (clip, dims, title) for programs and tests.

    Attributes
    ----------
    hv : holoviews object
        The HoloViews object (compose it, ``hv.render`` it, serve it with Panel).
    """

    def __init__(self, obj: Any, frame: Callable[..., Any] | None = None,
                 info: dict[str, Any] | None = None) -> None:
        self.hv = obj
        self._frame = frame
        self.info = dict(info or {})

    def __repr__(self) -> str:
        return f"View({self.info.get('title', type(self.hv).__name__)!r})"

    def frame(self, **values: Any) -> Any:
        """The frame for stream/key values (``x_range=(a, b)``, ``width=...``); with
        none, the current frame (the last one drawn, else the initial one)."""
        if values and self._frame is not None:
            return self._frame(**values)
        return current_frame(self.hv)

    def png(self, dpi: int = 96) -> bytes:
        """PNG bytes of the current frame."""
        return render_png(self.frame(), dpi=dpi)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None
                          ) -> tuple[dict[str, Any], dict[str, Any]]:
        data, meta = _holoviews_bundle(self.hv)
        try:
            data["image/png"] = base64.b64encode(self.png()).decode("ascii")
        except Exception as exc:
            data.setdefault("text/plain", f"(no static image: {exc})")
        data.setdefault("text/plain", repr(self))
        return data, meta


def _holoviews_bundle(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """HoloViews' own notebook output; loads its Bokeh extension in a kernel if needed."""
    import holoviews as hv

    data, meta = hv.Store.render(obj)
    if data:
        return dict(data), dict(meta)
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        # inline: BokehJS and Panel's JS travel in the output, so views also draw in a
        # browser without internet access (the default loads them from cdn.bokeh.org)
        hv.extension("bokeh", logo=False, inline=True)
        data, meta = hv.Store.render(obj)
        if data:
            return dict(data), dict(meta)
    return {}, {}


def current_frame(obj: Any) -> Any:
    """The frame a container shows now: DynamicMaps' last (or initial) frame, HoloMaps'
    last, recursively through layouts."""
    import holoviews as hv

    if isinstance(obj, hv.DynamicMap):
        if obj.last is not None:
            return obj.last
        key = tuple(d.default if d.default is not None else (d.values[0] if d.values else None)
                    for d in obj.kdims)
        return obj[key] if key else obj[()]
    if isinstance(obj, hv.HoloMap):
        return obj.values()[0] if len(obj) else obj.last  # the frame widgets start on
    if isinstance(obj, (hv.Layout, hv.NdLayout, hv.GridSpace)):
        cols = obj._max_cols if isinstance(obj, hv.Layout) else None
        items = [current_frame(v) for v in obj.values()]
        out = hv.Layout(items)
        return out.cols(cols) if cols else out
    if isinstance(obj, hv.AdjointLayout):
        return current_frame(obj.main)
    return obj


def _lookup(el: Any, group: str) -> dict[str, Any]:
    import holoviews as hv

    try:
        return dict(hv.Store.lookup_options("bokeh", el, group).kwargs)
    except Exception:
        return {}


def render_png(obj: Any, dpi: int = 96) -> bytes:
    """Draw a frame (element, overlay or layout of them) to PNG bytes with matplotlib.

    Draws the element types the views use (images, paths, polygons, rectangles, curves,
    lines, text) with their colour maps, clips and titles; others are skipped.
    """
    import holoviews as hv
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    title = _lookup(obj, "plot").get("title") if isinstance(obj, hv.Layout) else None
    frame = current_frame(obj)
    panels = list(frame.values()) if isinstance(frame, (hv.Layout, hv.NdLayout)) else [frame]
    panels = [current_frame(p) for p in panels] or [frame]
    ncols = min(len(panels), getattr(frame, "_max_cols", None) or len(panels), 4)
    nrows = math.ceil(len(panels) / ncols)
    sizes = [_panel_size(p) for p in panels]
    w_in = max(s[0] for s in sizes) / dpi
    h_in = max(s[1] for s in sizes) / dpi
    fig = Figure(figsize=(w_in * ncols, h_in * nrows), dpi=dpi)
    FigureCanvasAgg(fig)  # a renderer to measure titles with
    for n, panel in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, n + 1)
        _draw_panel(ax, panel, fig)
    if isinstance(title, str) and title:  # a layout's own title, above its panels
        fig.suptitle(title, fontsize=10, fontweight="bold")
    fig.tight_layout()
    if _fit_titles(fig):
        fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _fit_titles(fig: Any) -> bool:
    """Wrap the titles wider than their axes (measured as drawn); True if any was."""
    renderer = fig.canvas.get_renderer()
    changed = False
    for ax in fig.axes:
        text = ax.title.get_text()
        if not text:
            continue
        room = ax.get_window_extent(renderer).width
        char_px = 0.0
        for _ in range(4):  # characters differ in width: wrap, measure, narrow, again
            wide = ax.title.get_window_extent(renderer).width
            if wide <= room:
                break
            lines = ax.title.get_text().split("\n")
            char_px = max(char_px * wide / room, wide / max(len(line) for line in lines))
            ax.title.set_text(wrap_title(text, room, char_px))
            changed = True
    return changed


def _panel_size(panel: Any) -> tuple[int, int]:
    plot = _lookup(panel, "plot")
    return int(plot.get("width") or 500), int(plot.get("height") or 400)


def _draw_panel(ax: Any, panel: Any, fig: Any) -> None:
    import holoviews as hv

    layers = list(panel.values()) if isinstance(panel, hv.Overlay) else [panel]
    plot = _lookup(panel, "plot")
    title = plot.get("title") or (layers[0].label if layers else "")
    first = layers[0] if layers else None
    for el in layers:
        _draw_element(ax, el, fig)
    if first is not None and len(first.kdims) >= 1:
        ax.set_xlabel(first.kdims[0].pprint_label)
        ylab = first.vdims[0].pprint_label if isinstance(first, hv.Curve) else (
            first.kdims[1].pprint_label if len(first.kdims) > 1 else "")
        ax.set_ylabel(ylab)
    invert = plot.get("invert_yaxis") or any(_lookup(el, "plot").get("invert_yaxis")
                                             for el in layers)
    if invert and not ax.yaxis_inverted():
        ax.invert_yaxis()
    if isinstance(title, str) and title:
        ax.set_title(title, fontsize=9)
    if any(isinstance(el, hv.Curve) and el.label for el in layers):
        ax.legend(fontsize=7)


def _draw_element(ax: Any, el: Any, fig: Any) -> None:
    import holoviews as hv
    import matplotlib
    from matplotlib.colors import ListedColormap

    style = _lookup(el, "style")
    plot = _lookup(el, "plot")
    if isinstance(el, hv.Image):
        # rows from the bottom (smallest y) up
        z = np.asarray(el.dimension_values(2, flat=False), dtype=np.float64)
        left, bottom, right, top = el.bounds.lbrt()
        cmap = style.get("cmap") or "gray_r"
        cmap = ListedColormap(cmap) if isinstance(cmap, (list, tuple)) else cmap
        no_data = (plot.get("clipping_colors") or {}).get("NaN")
        if no_data and no_data != "transparent":  # pixels without data, as Bokeh draws them
            cmap = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
            cmap = cmap.with_extremes(bad=no_data)
        lo, hi = plot.get("clim") or (np.nanmin(z) if z.size else 0, np.nanmax(z) if z.size else 1)
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo == hi:
            lo, hi = -1.0, 1.0
        im = ax.imshow(np.ma.masked_invalid(z), origin="lower", aspect="auto",
                       extent=(left, right, bottom, top), cmap=cmap, vmin=lo, vmax=hi,
                       interpolation="nearest")
        if plot.get("colorbar"):
            fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_xlim(left, right)
        ax.set_ylim(bottom, top)
    elif isinstance(el, hv.Polygons):
        for geom in el.split(datatype="array"):
            if len(geom):
                ax.fill(geom[:, 0], geom[:, 1], color=style.get("color", "black"),
                        alpha=style.get("fill_alpha", 0.8), linewidth=0)
    elif isinstance(el, hv.Path):
        for geom in el.split(datatype="array"):
            if len(geom):
                ax.plot(geom[:, 0], geom[:, 1], color=style.get("color", "black"),
                        linewidth=style.get("line_width", 0.8),
                        linestyle="--" if style.get("line_dash") == "dashed" else "-")
    elif isinstance(el, hv.Rectangles):
        if el.group == "Headers" or not len(el):
            return
        from matplotlib.patches import Rectangle

        kinds = el.dimension_values("kind") if "kind" in el else [None] * len(el)
        for (x0, y0, x1, y1), kind in zip(el.array([0, 1, 2, 3]), kinds):
            colour = "#FF8C00" if kind == "reconstructed" else "#00F0FF"
            alpha = 0.9 if kind == "reconstructed" else 0.3  # a band, or a whole trace
            ax.add_patch(Rectangle((min(x0, x1), min(y0, y1)), abs(x1 - x0), abs(y1 - y0),
                                   facecolor=colour, alpha=alpha, edgecolor="none"))
    elif isinstance(el, hv.Curve):
        ax.plot(el.dimension_values(0), el.dimension_values(1),
                color=style.get("color"), label=el.label or None, linewidth=1)
    elif isinstance(el, hv.VLine):
        ax.axvline(el.data, color=style.get("color", "#00F0FF"), linewidth=1)
    elif isinstance(el, hv.HLine):
        ax.axhline(el.data, color=style.get("color", "#00F0FF"), linewidth=1)
    elif isinstance(el, hv.Text):
        ax.text(el.x, el.y, el.text, fontsize=8)
