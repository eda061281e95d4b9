"""Amplitude spectrum and FK spectrum views, before/after linked.

Both read one section (bounded: a few hundred evenly spaced traces for the amplitude
spectrum, a central window of contiguous traces for FK), never the whole survey, and switch
between dB and linear with a slider (both frames are computed, so exports keep them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.viz import _render as R
from promethium_lab.viz._plane import Axis
from promethium_lab.viz._survey import PlaneSpec, as_survey, section_plane
from promethium_lab.viz.display import View

__all__ = ["fk_spectrum", "spectrum", "trace_spectra"]

_COLOURS = ("#1f77b4", "#FF8C00", "#2ca02c")


def _to_db(a: np.ndarray, peak: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 20.0 * np.log10(a / (peak if peak > 0 else 1.0))
    return np.where(np.isfinite(out), out, np.nan)


def trace_spectra(traces: np.ndarray, dt_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided amplitude spectrum of each trace, ``(traces, frequency)``.

    ``(2 / N) |DFT|`` with the DC and Nyquist bins halved (the scaling of
    :func:`promethium_lab.signal.spectra.amplitude_spectrum`); NaN samples count as 0.

    Returns
    -------
    (frequencies in Hz, spectra)
    """
    x = np.nan_to_num(np.asarray(traces, dtype=np.float64))
    n = x.shape[-1]
    weight = np.full(n // 2 + 1, 2.0 / n)
    weight[0] /= 2.0
    if n % 2 == 0:
        weight[-1] /= 2.0
    spec = np.abs(np.fft.rfft(x, axis=-1)) * weight
    return np.fft.rfftfreq(n, d=dt_ms / 1000.0), spec


def _dt_ms(spec: PlaneSpec) -> float:
    step = abs(spec.plane.y.step)
    if spec.plane.y.unit in ("s",):
        return step * 1000.0
    return step


def _sections(ds: Any, other: Any, labels: tuple[str, str], single: str,
              selection: dict[str, Any]) -> tuple[list[str], list[PlaneSpec]]:
    """Names and raw (absent traces as recorded) sections of one or two surveys."""
    surveys = [ds] if other is None else [ds, other]
    specs = [section_plane(as_survey(s, False)[0], None, mask_dead=False, **selection)
             for s in surveys]
    return (list(labels[:2]) if other is not None else [single]), specs


def _section_traces(spec: PlaneSpec, max_traces: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``max_traces`` evenly spaced traces of a section: (indices, samples)."""
    n = spec.plane.x.size
    step = max(1, -(-n // max_traces))
    idx = np.arange(0, n, step)
    ny = spec.plane.y.size
    if step == 1:
        return idx, spec.plane.read(slice(0, n), slice(0, ny))
    rows = [spec.plane.read(slice(int(i), int(i) + 1), slice(0, ny))[0] for i in idx]
    return idx, np.stack(rows)


def spectrum(ds: Any, other: Any = None, *, labels: tuple[str, str] = ("before", "after"),
             max_traces: int = 256, width: int = 480, height: int = 360,
             **selection: Any) -> View:
    """Amplitude spectrum of a section: the average over live traces and one per trace.

    Parameters
    ----------
    ds : xarray.Dataset or path
    other : xarray.Dataset or path, optional
        A second survey (e.g. after processing): its curve is overlaid and its per-trace
        spectra shown beside, with linked axes.
    labels : (str, str)
        Names of ``ds`` and ``other``.
    max_traces : int
        Evenly spaced traces of the section used (bounded cost on any survey).
    width, height : int
    **selection
        Which section, as for :func:`promethium_lab.viz.section`.

    Returns
    -------
    View
        ``.hv`` is a ``Layout`` of ``HoloMap``\\ s over ``scale`` (``dB``, ``linear``): the
        average curve(s) (amplitude vs frequency in Hz) and the per-trace image(s).
    """
    h = R.hv()
    names, specs = _sections(ds, other, labels, "average", selection)
    results = []
    for spec in specs:
        idx, traces = _section_traces(spec, max_traces)
        freqs, spectra = trace_spectra(traces, _dt_ms(spec))
        live = np.ones(idx.size, bool) if spec.live is None else spec.live[idx]
        avg = spectra[live].mean(axis=0) if live.any() else np.zeros(freqs.size)
        results.append((spec, idx, freqs, spectra, avg))
    peak = max(float(np.nanmax(r[4])) if r[4].size else 0.0 for r in results)
    fdim = h.Dimension("frequency", label="frequency", unit="Hz")
    title = f"{results[0][0].name} — {results[0][0].what}: amplitude spectrum"
    curves, images = {}, {}
    for scale in ("dB", "linear"):
        vdim = h.Dimension("amplitude", label="amplitude",
                           unit="dB" if scale == "dB" else None)
        layers = []
        for (_, _, freqs, _, avg), name, colour in zip(results, names, _COLOURS):
            yv = _to_db(avg, peak) if scale == "dB" else avg
            layers.append(h.Curve((freqs, yv), kdims=[fdim], vdims=[vdim], label=name)
                          .opts(backend="bokeh", color=colour, line_width=1.5))
        curves[scale] = h.Overlay(layers).opts(
            backend="bokeh", title=title, width=width, height=height,
            show_legend=other is not None, tools=["hover"])
        for (spec, idx, freqs, spectra, _), name in zip(results, names):
            z = _to_db(spectra, peak) if scale == "dB" else spectra
            images.setdefault(name, {})[scale] = _per_trace_image(
                spec, idx, freqs, z, scale, name, width, height)
    hm = h.HoloMap(curves, kdims=[h.Dimension("scale", values=["dB", "linear"])])
    panels = [hm] + [h.HoloMap(v, kdims=["scale"]) for v in images.values()]
    layout = h.Layout(panels).opts(backend="bokeh", shared_axes=True).cols(len(panels))
    return View(layout, info={"title": title, "frequency_max": float(results[0][2][-1]),
                              "n_traces": [int(r[1].size) for r in results],
                              "average": {n: r[4] for n, r in zip(names, results)},
                              "frequency": results[0][2]})


def _per_trace_image(spec: PlaneSpec, idx: np.ndarray, freqs: np.ndarray, z: np.ndarray,
                     scale: str, name: str, width: int, height: int) -> Any:
    h = R.hv()
    x = spec.plane.x
    step = int(idx[1] - idx[0]) if idx.size > 1 else 1
    xa = Axis(name=x.name, size=x.size, start=float(x.coord(0)), step=x.step * step,
              label=x.label, unit=x.unit)
    df = float(freqs[1] - freqs[0]) if freqs.size > 1 else 1.0
    left, right = sorted(xa.edges(0, 1, idx.size))
    bottom, top = -df / 2, freqs[-1] + df / 2
    img = h.Image(np.ascontiguousarray(np.asarray(z, dtype=np.float32).T[::-1]),
                  bounds=(left, bottom, right, top),
                  kdims=[R.dim(xa), h.Dimension("frequency", unit="Hz")],
                  vdims=[h.Dimension("spectrum", unit="dB" if scale == "dB" else None)])
    finite = z[np.isfinite(z)]
    clim = (-60.0, 0.0) if scale == "dB" else (0.0, float(finite.max()) if finite.size and
                                                finite.max() > 0 else 1.0)
    return img.opts(backend="bokeh", cmap="viridis", clim=clim, colorbar=True, width=width,
                    height=height, title=f"{name}: per-trace spectrum ({spec.what})",
                    tools=["hover"], clipping_colors={"NaN": "transparent"})


def fk_spectrum(ds: Any, other: Any = None, *, labels: tuple[str, str] = ("before", "after"),
                velocity: float | None = None, dx: float | str | None = None,
                max_traces: int = 1024, max_samples: int = 4096, width: int = 480,
                height: int = 420, **selection: Any) -> View:
    """FK (wavenumber–frequency) amplitude spectrum of a section, with the aliasing lines.

    Uses :func:`promethium_lab.signal.spectra.fk_spectrum` on a central window of at most
    ``max_traces`` contiguous traces and ``max_samples`` samples (absent traces count as
    zero). Drawn on top (dashed): the spatial-aliasing lines. Without ``velocity`` they run
    from the origin to ``(±k_N, f_max)``, ``k_N = 1 / (2 Δx)`` the Nyquist wavenumber:
    events dipping more steeply than that (``|k| / f`` larger) alias below ``f_max``. With
    ``velocity=v`` they are ``k = ±f / v``, folded back into ``[-k_N, k_N]`` above the
    frequency ``v k_N`` where that dip starts to alias (where its aliased energy lands).

    Parameters
    ----------
    ds : xarray.Dataset or path
    other : xarray.Dataset or path, optional
        A second survey, drawn beside with linked axes and the same colour scale.
    labels : (str, str)
    velocity : float, optional
        Apparent velocity of the dip to draw (spacing units per second, e.g. m/s).
    dx : float or str, optional
        Trace spacing or the coordinate holding it (see
        :func:`promethium_lab.signal.filters.trace_spacing`).
    max_traces, max_samples : int
        Size of the central window transformed.
    width, height : int
    **selection
        Which section, as for :func:`promethium_lab.viz.section`.

    Returns
    -------
    View
        ``.hv`` is a ``Layout`` of ``HoloMap``\\ s over ``scale`` (``dB``, ``linear``).
    """
    from promethium_lab.signal.spectra import fk_spectrum as fk

    h = R.hv()
    names, specs = _sections(ds, other, labels, "", selection)
    spectra = []
    for spec in specs:
        survey = spec.ds
        x, y = spec.plane.x, spec.plane.y
        i0 = max(0, (x.size - max_traces) // 2)
        i1 = min(x.size, i0 + max_traces)
        j1 = min(y.size, max_samples)
        data = np.nan_to_num(spec.plane.read(slice(i0, i1), slice(0, j1)))
        coords = {y.name: y.coord(np.arange(j1))}
        if x.regular and x.values is not None:  # else spacing 1 trace
            coords[x.name] = np.asarray(x.values)[i0:i1]
        section = xr.Dataset({"amplitude": ((x.name, y.name), data)}, coords=coords,
                             attrs={**survey.attrs, "sample_interval_us": _dt_ms(spec) * 1e3})
        if y.name != "time":
            section = section.rename({y.name: "time"})
        if x.name in coords:
            section[x.name].attrs = dict(survey[x.name].attrs) if x.name in survey else {}
        if isinstance(dx, str) and dx in survey and x.name in survey[dx].dims:
            along = survey[dx].isel({d: i for d, i in spec.fixed.items() if d in survey[dx].dims})
            section = section.assign_coords({dx: (x.name, np.asarray(along.values)[i0:i1],
                                                  dict(survey[dx].attrs))})
        spectra.append((spec, fk(section, x.name, dx=dx, db=False)))
    peak = max(float(s.max()) for _, s in spectra) or 1.0
    panels = []
    for (spec, s), name in zip(spectra, names):
        frames = {}
        for scale in ("dB", "linear"):
            z = _to_db(s.values, peak) if scale == "dB" else s.values
            frames[scale] = _fk_image(s, z, scale, peak, velocity, width, height,
                                      f"{(name + ' — ') if name else ''}{spec.name} — "
                                      f"{spec.what}: FK spectrum")
        panels.append(h.HoloMap(frames, kdims=[h.Dimension("scale", values=["dB", "linear"])]))
    layout = h.Layout(panels).opts(backend="bokeh", shared_axes=True).cols(len(panels))
    k = spectra[0][1]["wavenumber"].values
    return View(layout, info={"k_nyquist": float(np.max(np.abs(k))),
                              "f_max": float(spectra[0][1]["frequency"].values[-1]),
                              "dx": float(spectra[0][1].attrs.get("dx", 1.0))})


def _fk_image(s: xr.DataArray, z: np.ndarray, scale: str, peak: float,
              velocity: float | None, width: int, height: int, title: str) -> Any:
    h = R.hv()
    k = np.asarray(s["wavenumber"].values, dtype=np.float64)
    f = np.asarray(s["frequency"].values, dtype=np.float64)
    dk = float(k[1] - k[0]) if k.size > 1 else 1.0
    df = float(f[1] - f[0]) if f.size > 1 else 1.0
    kunit = s["wavenumber"].attrs.get("units", "")
    kd = [h.Dimension("wavenumber", unit=kunit or None), h.Dimension("frequency", unit="Hz")]
    img = h.Image(np.ascontiguousarray(np.asarray(z, dtype=np.float32).T[::-1]),
                  bounds=(k[0] - dk / 2, f[0] - df / 2, k[-1] + dk / 2, f[-1] + df / 2),
                  kdims=kd, vdims=[h.Dimension("fk", label="amplitude",
                                               unit="dB" if scale == "dB" else None)])
    clim = (-60.0, 0.0) if scale == "dB" else (0.0, peak)
    img = img.opts(backend="bokeh", cmap="viridis", clim=clim, colorbar=True, tools=["hover"],
                   clipping_colors={"NaN": "transparent"})
    lines = h.Path(_alias_lines(k_nyq=(abs(k).max() + dk / 2 if k.size > 1 else 0.5),
                                f_max=float(f[-1]), velocity=velocity), kdims=kd,
                   group="Aliasing").opts(backend="bokeh", color="white", line_dash="dashed",
                                         line_width=1.2)
    return (img * lines).opts(backend="bokeh", title=title, width=width, height=height)


def _alias_lines(k_nyq: float, f_max: float, velocity: float | None) -> list[np.ndarray]:
    """Paths ``(k, f)`` of the aliasing lines (see :func:`fk_spectrum`)."""
    if not velocity:
        return [np.array([[0.0, 0.0], [k_nyq, f_max]]), np.array([[0.0, 0.0], [-k_nyq, f_max]])]
    f = np.linspace(0.0, f_max, 512)
    out = []
    for sign in (1.0, -1.0):
        kk = sign * f / float(velocity)
        wrapped = (kk + k_nyq) % (2 * k_nyq) - k_nyq
        jumps = np.flatnonzero(np.abs(np.diff(wrapped)) > k_nyq)
        for seg_k, seg_f in zip(np.split(wrapped, jumps + 1), np.split(f, jumps + 1)):
            if seg_k.size > 1:
                out.append(np.column_stack([seg_k, seg_f]))
    return out
