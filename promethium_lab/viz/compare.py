"""Before / after / difference comparison with linked zoom, one clip and a quality readout."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from promethium_lab.core.errors import PromethiumError
from promethium_lab.io.overview import Overview
from promethium_lab.viz import _render as R
from promethium_lab.viz._plane import Plane
from promethium_lab.viz._survey import PlaneSpec, as_survey, section_plane
from promethium_lab.viz.display import View
from promethium_lab.viz.views import PlaneView

__all__ = ["compare", "readout_scope", "window_metrics"]

#: Samples of the visible window scored at most (every k-th trace beyond it).
METRIC_SAMPLES = 4_000_000


def window_metrics(estimate: np.ndarray, reference: np.ndarray | None,
                   blind: dict[str, Any] | None = None) -> str:
    """The readout line: SNR / PSNR of ``estimate`` against ``reference`` (same window),
    else the blind estimate of the reconstruction's metrics, else a note. Short enough for
    one title line of a panel; where it was measured goes on the line above (see
    :func:`readout_scope`)."""
    if reference is not None:
        from promethium_lab.signal.qc import psnr, snr

        e = np.nan_to_num(np.asarray(estimate, dtype=np.float64))
        r = np.nan_to_num(np.asarray(reference, dtype=np.float64))
        s, p = snr(e, r), psnr(e, r) if np.ptp(r) > 0 else math.nan
        return f"SNR {_db(s)} · PSNR {_db(p)}"
    blind = blind or {}
    if "blind_snr_db" in blind:
        text = f"SNR {_db(blind['blind_snr_db'])}"
        if "blind_psnr_db" in blind:
            text += f" · PSNR {_db(blind['blind_psnr_db'])}"
        return text
    return "no reference: SNR unknown"


def readout_scope(reference: bool, blind: dict[str, Any] | None) -> str:
    """What :func:`window_metrics` measured, for the line above it: nothing against a
    reference (the visible window), ``blind`` for the blind estimate (whole survey)."""
    if reference:
        return ""
    return "blind" if "blind_snr_db" in (blind or {}) else ""


def _db(v: Any) -> str:
    v = float(v)
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "∞ dB" if v > 0 else "-∞ dB"
    return f"{v:.1f} dB"


def compare(before: Any, after: Any, reference: Any = None, *, how: str = "maxabs",
            cmap: Any = "grey", clip: float | None = None, percentile: float = 99.0,
            wiggle: bool | None = None, hover: list[str] | None = None, width: int = 420,
            height: int = 500, overview: Overview | bool | None = None,
            **selection: Any) -> View:
    """Before, after (and reference) sections and their difference, zoomed together.

    All panels share one zoom/pan (one ``RangeXY`` stream, linked axes) and one colour
    clip (from the reference when given, else from ``before``). ``before`` shades its
    absent traces (cyan); ``after`` outlines the traces it reconstructed (absent before,
    live after; orange). The difference is ``after - reference`` (the error) when a
    reference is given, else ``after - before`` (what the processing changed; absent
    traces count as zero). The second line of its title reads SNR and PSNR of ``after``
    against the reference over the visible window, or the blind estimate stored in
    ``after.attrs["metrics"]`` when there is no reference.

    Parameters
    ----------
    before, after : xarray.Dataset or path
        Surveys of the same shape (e.g. decimated input and reconstruction).
    reference : xarray.Dataset or path, optional
        The truth.
    how, cmap, clip, percentile, wiggle, hover, overview
        As for :func:`promethium_lab.viz.section` (the overview of each store is used).
    width, height : int
        Size of each panel.
    **selection
        Which section (``inline=122``), as for :func:`~promethium_lab.viz.section`.

    Returns
    -------
    View
        ``.hv`` is a ``Layout`` of ``DynamicMap`` panels.
    """
    b, ov_b = as_survey(before, overview)
    a, ov_a = as_survey(after, overview)
    ref, ov_r = (None, None) if reference is None else as_survey(reference, overview)
    for name, other in (("after", a), ("reference", ref)):
        if other is not None and other["amplitude"].shape != b["amplitude"].shape:
            raise PromethiumError.invalid(
                f"{name} has shape {dict(other['amplitude'].sizes)}, before has "
                f"{dict(b['amplitude'].sizes)}", hint="compare surveys of the same geometry")
    spec_b = section_plane(b, ov_b, hover=hover, **selection)
    spec_a = section_plane(a, ov_a, hover=hover, **selection)
    spec_r = None if ref is None else section_plane(ref, ov_r, hover=hover, **selection)
    opts = {"how": how, "cmap": cmap, "percentile": percentile, "wiggle": wiggle,
            "width": width, "height": height}
    clip_src, clip_ov = (spec_r, ov_r) if spec_r is not None else (spec_b, ov_b)
    shared = PlaneView(clip_src, clip=clip, overview=clip_ov, **opts).clip

    rebuilt = None
    if spec_b.live is not None:
        live_a = spec_a.live if spec_a.live is not None else np.ones_like(spec_b.live)
        rebuilt = ~spec_b.live & live_a
    views = {
        "before": PlaneView(spec_b, clip=shared, overview=ov_b,
                            title="before", **opts),
        "after": PlaneView(spec_a, clip=shared, overview=ov_a,
                           flags={"reconstructed": rebuilt},
                           title="after", **opts),
    }
    if spec_r is not None:
        views["reference"] = PlaneView(spec_r, clip=shared, overview=ov_r, flags={},
                                       title="reference", **opts)
    base = spec_r if spec_r is not None else spec_b
    raw_a = section_plane(a, None, mask_dead=False, **selection).plane
    raw_base = section_plane(base.ds, None, mask_dead=False, **selection).plane
    diff_plane = Plane(spec_a.plane.x, spec_a.plane.y,
                       lambda xs, ys: raw_a.read(xs, ys) - raw_base.read(xs, ys))
    diff_spec = PlaneSpec(ds=a, plane=diff_plane, what=spec_a.what, fixed=spec_a.fixed,
                          live=None, headers=spec_a.headers)
    label = "after − reference" if spec_r is not None else "after − before"
    diff = PlaneView(diff_spec, clip=shared, flags={}, title=label, **opts)
    blind = a.attrs.get("metrics") if isinstance(a.attrs.get("metrics"), dict) else None
    scope = readout_scope(spec_r is not None, blind)
    heading = f"{label} · {scope}" if scope else label

    def readout(x_range: Any = None, y_range: Any = None) -> str:
        i0, i1 = diff_plane.x.window(x_range)
        j0, j1 = diff_plane.y.window(y_range)
        if spec_r is None:
            return window_metrics(np.empty(0), None, blind)
        step = max(1, math.ceil((i1 - i0) * (j1 - j0) / METRIC_SAMPLES))
        est = np.concatenate([raw_a.read(slice(i, i + 1), slice(j0, j1))
                              for i in range(i0, i1, step)]) if step > 1 else \
            raw_a.read(slice(i0, i1), slice(j0, j1))
        tru = np.concatenate([raw_base.read(slice(i, i + 1), slice(j0, j1))
                              for i in range(i0, i1, step)]) if step > 1 else \
            raw_base.read(slice(i0, i1), slice(j0, j1))
        return window_metrics(est, tru)

    def diff_frame(x_range=None, y_range=None, width=None, height=None, **_: Any) -> Any:
        # the readout is the title's second line: a line of its own fits a panel's width
        return diff.frame(x_range, y_range, width, height,
                          title=f"{heading}\n{readout(x_range, y_range)}")

    h = R.hv()
    rxy, size = h.streams.RangeXY(), h.streams.PlotSize()
    panels = []
    for pv in views.values():
        def cb(x_range=None, y_range=None, width=None, height=None, scale=None, _pv=pv):
            return _pv.frame(x_range, y_range, width, height)

        panels.append(h.DynamicMap(cb, streams=[rxy, size]))

    def cb_diff(x_range=None, y_range=None, width=None, height=None, scale=None):
        return diff_frame(x_range, y_range, width, height)

    panels.append(h.DynamicMap(cb_diff, streams=[rxy, size]))
    # the survey and section once, above the panels (each panel's own title stays short
    # enough for its width)
    title = f"{spec_b.name} — {spec_b.what}"
    layout = h.Layout(panels).opts(backend="bokeh", shared_axes=True, title=title)
    layout = layout.cols(len(panels))

    def frame(**values: Any) -> Any:
        out = [pv.frame(**values) for pv in views.values()]
        out.append(diff_frame(**values))
        return h.Layout(out).opts(backend="bokeh", title=title).cols(len(out))

    return View(layout, frame=frame, info={
        "title": title, "clip": shared,
        "panels": [*views, "difference"], "difference": label,
        "readout": readout})
