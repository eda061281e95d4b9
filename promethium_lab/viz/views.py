"""Interactive seismic views: section, time slice and the 3-D survey navigator.

Each view is one line (``section(ds, inline=122)``) and returns a :class:`View` holding a
HoloViews ``DynamicMap`` (Bokeh backend) with ``RangeXY`` and ``PlotSize`` streams: a
zoom or pan re-reads only the visible window, at screen resolution, from the coarsest
overview level that still has a value per pixel, or from the Zarr array itself. Pixels are
signed max-abs (or RMS) of their samples, never the mean. Wiggles with variable area are
drawn over the image by themselves once a trace gets ≥ 8 pixels, as one path and one
polygon set for all traces. Absent traces and gaps are shaded cyan (the image's colour
for pixels without data), the hover shows the trace's headers, and colours are clipped
symmetrically at a percentile of ``|amplitude|`` (the one stored with the overview when
the store has it).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.errors import PromethiumError
from promethium_lab.io.overview import Overview
from promethium_lab.viz import _render as R
from promethium_lab.viz._survey import (
    PlaneSpec,
    as_survey,
    label_index,
    pretty_dim,
    sample_axis,
    section_plane,
    slice_plane,
    survey_name,
    trace_and_sample_dims,
    trace_axis,
)
from promethium_lab.viz.display import View
from promethium_lab.viz.raster import HOWS, symmetric_clip

__all__ = ["PlaneView", "section", "survey_view", "time_slice"]


class PlaneView:
    """Frames of one plane: image, wiggles, mask overlay and header hover.

    Parameters
    ----------
    spec : PlaneSpec
        The plane and what it shows.
    how : {"maxabs", "rms"}
    cmap : str or list of str
    clip : float, optional
        Colour clip (``±clip``); default the ``percentile`` of ``|amplitude|``, from the
        overview when given, else from the full-extent window.
    percentile : float
    wiggle : bool, optional
        Force wiggles on/off; default on at ≥ 8 px per trace.
    width, height : int
        Default size in pixels.
    title : str, optional
        Default ``"<survey> — <what>"``.
    invert_y : bool
        Time down (sections).
    overview : Overview, optional
    flags : dict, optional
        Kind (``"reconstructed"``, ``"absent"``) → boolean over x, marked by a mask overlay
        (default none: absent traces are NaN, which the image draws in cyan).
    """

    def __init__(self, spec: PlaneSpec, *, how: str = "maxabs", cmap: Any = "grey",
                 clip: float | None = None, percentile: float = 99.0,
                 wiggle: bool | None = None, width: int = 800, height: int = 500,
                 title: str | None = None, invert_y: bool = True,
                 overview: Overview | None = None,
                 flags: dict[str, np.ndarray | None] | None = None) -> None:
        if how not in HOWS:
            raise PromethiumError.invalid(f"how={how!r} is not one of {HOWS}",
                                          hint="'maxabs' (default) or 'rms'; never the mean")
        self.spec, self.how, self.wiggle = spec, how, wiggle
        self.width, self.height = int(width), int(height)
        self.palette = R.palette(cmap)
        self.invert_y = invert_y
        self.title = title or f"{spec.name} — {spec.what}"
        live = spec.live
        self.flags = {k: f for k, f in (flags or {}).items() if f is not None}
        if clip is None and overview is not None:
            clip = overview.clip_value(percentile) or None
        if clip is None:
            first = spec.plane.window(None, None, self.width, self.height, how)
            clip = symmetric_clip(first.data, percentile)
        self.clip = float(clip) if clip and np.isfinite(clip) and clip > 0 else 1.0
        self.layers = R.Layers(spec.plane.x, spec.plane.y, clip=self.clip, cmap=self.palette,
                               kinds=tuple(self.flags) or ("absent",))
        self.hover = dict(spec.headers)
        if live is not None and live.ndim == 1:
            self.hover["live"] = live

    def frame(self, x_range: Any = None, y_range: Any = None, width: int | None = None,
              height: int | None = None, extra: tuple[Any, ...] = (), title: str | None = None,
              **_: Any) -> Any:
        """The overlay for a visible range at a plot size (``extra`` layers on top; the
        view's title unless ``title`` is given)."""
        plane, lay = self.spec.plane, self.layers
        w, h = int(width or self.width), int(height or self.height)
        raster = plane.window(x_range, y_range, w, h, self.how)
        i0, i1 = plane.x.window(x_range)
        j0, j1 = plane.y.window(y_range)
        show = self.wiggle if self.wiggle is not None else w / (i1 - i0) >= R.WIGGLE_PX
        layers = [lay.image(raster)]
        # wiggle layers only when drawn: HoloViews shows and hides layers that come and go,
        # and every layer of a frame costs a zoom a few milliseconds
        if show and (i1 - i0) * (j1 - j0) <= 16_000_000:
            layers += lay.wiggles(plane.read(slice(i0, i1), slice(j0, j1)), i0, j0, height=h)
        if self.flags:
            layers.append(lay.mask(raster, self.flags))
        if self.hover:
            layers.append(lay.headers(raster, self.hover))
        return lay.overlay([*layers, *extra], title=title or self.title, width=w, height=h,
                           invert_y=self.invert_y)

    def dynamic(self, streams: list[Any] | None = None) -> Any:
        """A ``DynamicMap`` of :meth:`frame` driven by ``RangeXY`` and ``PlotSize``."""
        hv = R.hv()
        if streams is None:
            streams = [hv.streams.RangeXY(), hv.streams.PlotSize()]

        def callback(x_range=None, y_range=None, width=None, height=None, scale=None):
            return self.frame(x_range, y_range, width, height)

        return hv.DynamicMap(callback, streams=streams)

    def info(self) -> dict[str, Any]:
        p = self.spec.plane
        return {"title": self.title, "clip": self.clip, "how": self.how,
                "x": p.x.name, "y": p.y.name, "x_range": p.x.full_range(),
                "y_range": p.y.full_range(), "shape": (p.x.size, p.y.size)}


def _view(pv: PlaneView) -> View:
    dmap = pv.dynamic()
    return View(dmap, frame=pv.frame, info=pv.info())


def section(ds: Any, *, how: str = "maxabs", cmap: Any = "grey", clip: float | None = None,
            percentile: float = 99.0, wiggle: bool | None = None,
            hover: list[str] | None = None, width: int = 800, height: int = 500,
            title: str | None = None, overview: Overview | bool | None = None,
            **selection: Any) -> View:
    """Interactive section of a survey: an inline, a crossline, a gather or a 2-D line.

    Parameters
    ----------
    ds : xarray.Dataset, DataArray or path
        Survey (a store path is opened with :func:`promethium_lab.io.store.open_store`).
    how : {"maxabs", "rms"}
        Pixel reduction when zoomed out: signed max-abs (default) or RMS.
    cmap : str or list of str
        ``"grey"`` (default), ``"seismic"``, ``"rwb"`` (red–white–blue) or any matplotlib
        name.
    clip : float, optional
        Colour clip ``±clip``; default the ``percentile`` of ``|amplitude|``.
    percentile : float
        Clip percentile (stored ones are used when the store has an overview).
    wiggle : bool, optional
        Wiggle/variable-area on or off; default on at ≥ 8 pixels per trace.
    hover : list of str, optional
        Trace headers to show on hover (variables or fields of ``headers``); default the
        plain header variables.
    width, height : int
        Plot size in pixels.
    title : str, optional
        Default ``"<survey> — inline 122"``.
    overview : Overview or bool, optional
        Overview to use (default: the one in the store; ``False``: none).
    **selection
        Trace-dim labels to fix (``inline=122``, ``shot_point=3``); the varying dim is the
        last one not given (see :func:`promethium_lab.viz._survey.section_plane`).

    Returns
    -------
    View
        ``.hv`` is a ``DynamicMap`` of (image, wiggles, variable area, mask, headers).
    """
    survey, ov = as_survey(ds, overview)
    spec = section_plane(survey, ov, hover=hover, **selection)
    return _view(PlaneView(spec, how=how, cmap=cmap, clip=clip, percentile=percentile,
                           wiggle=wiggle, width=width, height=height, title=title,
                           overview=ov))


def time_slice(ds: Any, time: float | None = None, *, how: str = "maxabs",
               cmap: Any = "grey", clip: float | None = None, percentile: float = 99.0,
               width: int = 700, height: int = 600, title: str | None = None,
               overview: Overview | bool | None = None, **selection: Any) -> View:
    """Interactive time slice (map view) of a survey with two or more trace dims.

    Parameters
    ----------
    ds : xarray.Dataset, DataArray or path
    time : float, optional
        Time (coordinate units, ms) of the slice; the nearest sample is shown. Default the
        middle sample.
    how, cmap, clip, percentile, width, height, title, overview
        As for :func:`section`.
    **selection
        Labels of further trace dims to fix (for surveys with more than two).

    Returns
    -------
    View
        ``.hv`` is a ``DynamicMap``: x the last trace dim, y the one before it.
    """
    survey, ov = as_survey(ds, overview)
    _, sample = trace_and_sample_dims(survey)
    index = (survey.sizes[sample] // 2 if time is None
             else label_index(survey, sample, float(time)))
    spec = slice_plane(survey, index, **selection)
    return _view(PlaneView(spec, how=how, cmap=cmap, clip=clip, percentile=percentile,
                           width=width, height=height, title=title, invert_y=False,
                           overview=ov, wiggle=False))


def _cross(x: float, y: float) -> tuple[Any, Any]:
    """Cyan lines where the other panels of the navigator cut this one."""
    h = R.hv()
    return (h.VLine(x).opts(backend="bokeh", color=R.ABSENT, line_width=1),
            h.HLine(y).opts(backend="bokeh", color=R.ABSENT, line_width=1))


class _Navigator:
    """Panels of :func:`survey_view`, each a plane chosen by the sliders' values."""

    def __init__(self, ds: xr.Dataset, ov: Overview | None, opts: dict[str, Any]) -> None:
        self.ds, self.ov, self.opts = ds, ov, opts
        self.trace_dims, self.sample = trace_and_sample_dims(ds)
        self._views: OrderedDict[tuple, PlaneView] = OrderedDict()
        self.clip = opts.get("clip")

    def _plane_view(self, key: tuple, make) -> PlaneView:
        if key not in self._views:
            pv = make()
            if self.clip is None:
                self.clip = pv.clip  # one clip for every panel, fixed at the first
            self._views[key] = pv
            while len(self._views) > 12:
                self._views.popitem(last=False)
        return self._views[key]

    def section_frame(self, fixed_dim: str, values: dict[str, Any], **stream: Any) -> Any:
        dims = self.trace_dims
        x_dim = dims[-1] if fixed_dim != dims[-1] or len(dims) == 1 else dims[-2]
        sel = {d: values[d] for d in dims if d != x_dim}
        key = ("section", x_dim, tuple(sorted(sel.items())))
        pv = self._plane_view(key, lambda: PlaneView(
            section_plane(self.ds, self.ov, **sel), overview=self.ov,
            **{**self.opts, "clip": self.clip}))
        x_axis, t_axis = pv.spec.plane.x, pv.spec.plane.y
        xv = float(x_axis.coord(label_index(self.ds, x_dim, values[x_dim])))
        tv = float(t_axis.coord(label_index(self.ds, self.sample, values[self.sample])))
        return pv.frame(**stream, extra=_cross(xv, tv))

    def slice_frame(self, values: dict[str, Any], **stream: Any) -> Any:
        dims = self.trace_dims
        index = label_index(self.ds, self.sample, values[self.sample])
        sel = {d: values[d] for d in dims[:-2]}
        key = ("slice", index, tuple(sorted(sel.items())))
        pv = self._plane_view(key, lambda: PlaneView(
            slice_plane(self.ds, index, **sel), overview=self.ov, invert_y=False,
            wiggle=False, **{**self.opts, "clip": self.clip}))
        xa, ya = pv.spec.plane.x, pv.spec.plane.y
        xv = float(xa.coord(label_index(self.ds, dims[-1], values[dims[-1]])))
        yv = float(ya.coord(label_index(self.ds, dims[-2], values[dims[-2]])))
        return pv.frame(**stream, extra=_cross(xv, yv))


def _sized(stream: dict[str, Any]) -> dict[str, Any]:
    return {k: stream.get(k) for k in ("x_range", "y_range", "width", "height")}


def survey_view(ds: Any, *, how: str = "maxabs", cmap: Any = "grey",
                clip: float | None = None, percentile: float = 99.0, width: int = 420,
                height: int = 420, overview: Overview | bool | None = None) -> View:
    """3-D navigator: a section per trace dim and a time slice, with one slider per dim.

    On an ``inline, crossline, time`` survey: the inline section, the crossline section
    and the time slice, driven by inline, crossline and time sliders, each panel marking
    where the others cut it (cyan lines). Slices read the ``view_<dim>`` copies. Surveys
    with fewer trace dims get the panels that exist (a gather and a time slice for
    ``shot, channel, time``; one section for ``trace, time``).

    Parameters
    ----------
    ds : xarray.Dataset, DataArray or path
    how, cmap, clip, percentile, overview
        As for :func:`section`; one clip for all panels.
    width, height : int
        Size of each panel.

    Returns
    -------
    View
        ``.hv`` is a ``Layout`` of ``DynamicMap`` panels sharing the sliders.
    """
    survey, ov = as_survey(ds, overview)
    trace_dims, sample = trace_and_sample_dims(survey)
    opts = {"how": how, "cmap": cmap, "clip": clip, "percentile": percentile,
            "width": width, "height": height}
    nav = _Navigator(survey, ov, opts)
    h = R.hv()
    kdims = []
    for d in [*trace_dims, sample]:
        axis = sample_axis(survey) if d == sample else trace_axis(survey, d)
        values = (list(np.asarray(survey[d].values).tolist()) if d in survey.coords
                  else list(range(survey.sizes[d])))
        kdims.append(h.Dimension(d, label=pretty_dim(d), unit=axis.unit or None,
                                 values=values, default=values[len(values) // 2]))
    names = [k.name for k in kdims]
    panels, frames = [], []
    for fd in trace_dims:
        def cb(*key: Any, _fd: str = fd, **stream: Any) -> Any:
            return nav.section_frame(_fd, dict(zip(names, key)), **_sized(stream))

        panels.append(h.DynamicMap(cb, kdims=kdims,
                                   streams=[h.streams.RangeXY(), h.streams.PlotSize()]))
        frames.append(("section", fd))
    if len(trace_dims) >= 2:
        def cb_slice(*key: Any, **stream: Any) -> Any:
            return nav.slice_frame(dict(zip(names, key)), **_sized(stream))

        panels.append(h.DynamicMap(cb_slice, kdims=kdims,
                                   streams=[h.streams.RangeXY(), h.streams.PlotSize()]))
        frames.append(("slice", None))
    layout = h.Layout(panels).opts(backend="bokeh", shared_axes=False).cols(len(panels))
    defaults = {k.name: k.default for k in kdims}

    def frame(**values: Any) -> Any:
        key = {**defaults, **{k: v for k, v in values.items() if k in defaults}}
        stream = {k: v for k, v in values.items() if k not in defaults}
        out = []
        for kind, fd in frames:
            if kind == "section":
                out.append(nav.section_frame(fd, key, **stream))
            else:
                out.append(nav.slice_frame(key, **stream))
        return h.Layout(out).cols(len(out))

    return View(layout, frame=frame, info={"title": survey_name(survey), "kdims": names,
                                           "clip": nav.clip})
