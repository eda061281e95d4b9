"""Static section figures (PNG): Datashader reduces any size of section to image pixels,
matplotlib draws it with axes in the survey's units.

Workflows (e.g. :func:`promethium_lab.workflows.demo.run_demo`) leave these PNGs as
outputs; the front ends (:mod:`promethium_lab.viz`) re-export them beside their
interactive views.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import xarray as xr

from promethium_lab.core.errors import PromethiumError

__all__ = ["HOLE_RGBA", "rasterize_section", "save_comparison_png", "save_section_png",
           "section_png", "select_section"]

#: The colour of absent traces in the figures: the neon cyan at 35 % (RGBA).
HOLE_RGBA = (0.0, 240 / 255, 1.0, 0.35)


def select_section(ds: xr.Dataset | xr.DataArray, **selection: int) -> xr.DataArray:
    """A 2-D ``(trace dim, time)`` section of ``amplitude``.

    ``selection`` fixes the other trace dims by label (``inline=120``); dims not given are
    fixed at their middle. Reads an exact ``fast_<dim>`` copy when the store has one
    (never the lossy view copies: a figure shows the data).
    """
    da = ds["amplitude"] if isinstance(ds, xr.Dataset) else ds
    trace_dims = [d for d in da.dims if d != "time"]
    for key in selection:
        if key not in trace_dims:
            raise PromethiumError.invalid(f"{key!r} is not a trace dim of this survey",
                                          hint=f"trace dims: {trace_dims}")
    if len(trace_dims) > 1:
        free = [d for d in trace_dims if d not in selection]
        keep = free[-1] if free else trace_dims[-1]
        fixed = {d: selection.get(d, da[d].values[da.sizes[d] // 2]) for d in trace_dims
                 if d != keep}
        missing = {d: v for d, v in fixed.items() if v not in da[d].values}
        if missing:
            raise PromethiumError.invalid(f"no {missing} in this survey",
                                          hint="pick labels from the dim's coordinate values")
        if isinstance(ds, xr.Dataset) and len(fixed) == 1:
            (dim,) = fixed
            name = f"fast_{dim}"
            if name in ds:
                da = ds[name]
        da = da.sel(fixed)
    return da.transpose(..., "time")


def rasterize_section(section: xr.DataArray, width: int = 1200, height: int = 800) -> xr.DataArray:
    """Reduce a section to at most ``width × height`` pixels by signed max-abs per pixel
    block (:func:`promethium_lab.io.overview.block_reduce`): a mean would cancel zero-mean
    traces. Each pixel is labelled by the first trace and sample of its block."""
    from promethium_lab.io.overview import block_reduce

    if section.ndim != 2:
        raise PromethiumError.invalid(f"a section is 2-D, this has dims {section.dims}",
                                      hint="select a section with select_section() first")
    trace_dim = section.dims[0]
    section = section.load()
    nx, nt = section.sizes[trace_dim], section.sizes["time"]
    if nx <= width and nt <= height:
        return section
    fx, ft = math.ceil(nx / width), math.ceil(nt / height)
    img = block_reduce(np.asarray(section.values, dtype=np.float32), (fx, ft), "maxabs")
    return xr.DataArray(img, dims=(trace_dim, "time"),
                        coords={trace_dim: section[trace_dim].values[::fx],
                                "time": section["time"].values[::ft]},
                        attrs=section.attrs)


def section_png(section: xr.DataArray, *, width: int = 1200, height: int = 800,
                cmap: str = "gray_r", clip_percentile: float = 99.0, axes: bool = False,
                mask: xr.DataArray | None = None) -> bytes:
    """A section as PNG bytes: traces across, time down, reduced by
    :func:`rasterize_section` to at most ``width × height`` pixels.

    Without ``axes`` the PNG has one pixel per (reduced) trace and sample, nothing else (a
    thumbnail). With ``axes`` it is a figure of exactly ``width × height`` pixels that the
    section fills, with its trace labels across and time in the survey's units down, on a
    transparent background with grey text (readable on light and dark pages); traces that
    are ``False`` in ``mask`` (absent) are drawn in the flat colour of holes.

    A 2-D section without a ``time`` dim (e.g. a job's preview) is drawn with its last dim
    down. Amplitudes are clipped symmetrically at ``clip_percentile`` of ``|amplitude|``.
    """
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if section.ndim == 2 and "time" not in section.dims:
        section = section.rename({section.dims[-1]: "time"})
    if not axes:
        img = rasterize_section(section, width, height)
        data = np.asarray(img.values, dtype=np.float32).T
        vmax = float(np.nanpercentile(np.abs(data), clip_percentile)) if data.size else 0.0
        buf = io.BytesIO()
        plt.imsave(buf, np.nan_to_num(data), cmap=cmap, vmin=-(vmax or 1.0),
                   vmax=vmax or 1.0, format="png")
        return buf.getvalue()
    return _framed_png(section, width, height, cmap, clip_percentile, mask)


def _framed_png(section: xr.DataArray, width: int, height: int, cmap: str,
                clip_percentile: float, mask: xr.DataArray | None) -> bytes:
    """The ``axes=True`` figure of :func:`section_png`."""
    import io

    from matplotlib import colormaps
    from matplotlib.figure import Figure

    dpi, ink = 100, "#7f8ea3"
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="none")
    # room for the tick labels: ~5.5 characters of 9 px at the left, two lines at the bottom
    ax = fig.add_axes((62 / width, 44 / height, 1 - 74 / width, 1 - 54 / height))
    img = rasterize_section(section, max(16, width - 74), max(16, height - 54))
    trace_dim = img.dims[0]
    data = np.ma.masked_invalid(np.asarray(img.values, dtype=np.float32).T)
    if mask is not None and mask.dims == (trace_dim,):
        live = np.asarray(mask.sel({trace_dim: img[trace_dim].values}).values, dtype=bool)
        data = np.ma.masked_where(np.broadcast_to(~live, data.shape), data)
    vmax = float(np.nanpercentile(np.abs(data.filled(np.nan)), clip_percentile)) \
        if data.count() else 0.0
    colormap = colormaps[cmap].with_extremes(bad=HOLE_RGBA)
    labels = np.asarray(img[trace_dim].values, dtype=float)
    t = np.asarray(img["time"].values, dtype=float)
    step = float(labels[1] - labels[0]) if labels.size > 1 else 1.0
    dt = float(t[1] - t[0]) if t.size > 1 else 1.0
    ax.imshow(data, cmap=colormap, vmin=-(vmax or 1.0), vmax=vmax or 1.0, aspect="auto",
              interpolation="nearest",
              extent=(labels[0] - step / 2, labels[-1] + step / 2, t[-1] + dt / 2,
                      t[0] - dt / 2))
    units = section["time"].attrs.get("units", "ms")
    ax.set_xlabel(trace_dim, color=ink)
    ax.set_ylabel(f"time ({units})", color=ink)
    ax.tick_params(colors=ink, labelsize=9)
    for spine in ax.spines.values():
        spine.set_color(ink)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, transparent=True)
    return buf.getvalue()


def save_section_png(
    section: xr.DataArray,
    path: str | os.PathLike,
    *,
    title: str = "",
    cmap: str = "gray_r",
    clip_percentile: float = 99.0,
    mask: xr.DataArray | None = None,
) -> Path:
    """Draw a section (traces across, time down) to a PNG file.

    Amplitudes are clipped symmetrically at ``clip_percentile`` of ``|amplitude|``;
    masked (absent) traces are drawn in a flat colour so holes show.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    img = rasterize_section(section)
    trace_dim = img.dims[0]
    data = np.asarray(img.values, dtype=np.float32)
    vmax = float(np.nanpercentile(np.abs(data), clip_percentile)) or 1.0
    shown = np.ma.masked_invalid(data.T)
    if mask is not None and mask.dims == (trace_dim,) and mask.sizes[trace_dim] == data.shape[0]:
        shown = np.ma.masked_where(np.broadcast_to(~np.asarray(mask.values), data.T.shape), data.T)
    labels = np.asarray(img[trace_dim].values, dtype=float)
    t = np.asarray(img["time"].values, dtype=float)
    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    colormap = plt.get_cmap(cmap).with_extremes(bad=HOLE_RGBA)
    im = ax.imshow(shown, cmap=colormap, vmin=-vmax, vmax=vmax, aspect="auto",
                   extent=(labels[0], labels[-1], t[-1], t[0]), interpolation="nearest")
    ax.set_xlabel(trace_dim)
    ax.set_ylabel(f"time ({section['time'].attrs.get('units', 'ms')})")
    ax.set_title(title or f"{section.name or 'amplitude'}")
    fig.colorbar(im, ax=ax, label="amplitude", shrink=0.8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


def save_comparison_png(
    sections: dict[str, xr.DataArray],
    path: str | os.PathLike,
    *,
    title: str = "",
    cmap: str = "gray_r",
    clip_percentile: float = 99.0,
    masks: dict[str, xr.DataArray] | None = None,
) -> Path:
    """Draw sections side by side on one shared colour scale (e.g. before / after).

    The clip is taken from the first section, so differences in amplitude show; traces
    masked in ``masks[name]`` are drawn in the flat colour of holes.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if not sections:
        raise PromethiumError.invalid("no sections to draw",
                                      hint="pass a dict of name -> 2-D section")
    imgs = {name: rasterize_section(sec) for name, sec in sections.items()}
    first = np.asarray(next(iter(imgs.values())).values, dtype=np.float32)
    vmax = float(np.nanpercentile(np.abs(first), clip_percentile)) or 1.0
    fig, axes = plt.subplots(1, len(imgs), figsize=(4.2 * len(imgs), 6), dpi=110,
                             sharey=True, squeeze=False)
    colormap = plt.get_cmap(cmap).with_extremes(bad=HOLE_RGBA)
    im = None
    for ax, (name, img) in zip(axes[0], imgs.items()):
        trace_dim = img.dims[0]
        data = np.ma.masked_invalid(np.asarray(img.values, dtype=np.float32).T)
        mask = (masks or {}).get(name)
        if mask is not None and mask.sizes.get(trace_dim) == data.shape[1]:
            data = np.ma.masked_where(np.broadcast_to(~np.asarray(mask.values), data.shape),
                                      data)
        labels = np.asarray(img[trace_dim].values, dtype=float)
        t = np.asarray(img["time"].values, dtype=float)
        im = ax.imshow(data, cmap=colormap, vmin=-vmax, vmax=vmax, aspect="auto",
                       extent=(labels[0], labels[-1], t[-1], t[0]), interpolation="nearest")
        ax.set_title(name)
        ax.set_xlabel(trace_dim)
    units = next(iter(sections.values()))["time"].attrs.get("units", "ms")
    axes[0][0].set_ylabel(f"time ({units})")
    if title:
        fig.suptitle(title)
    fig.colorbar(im, ax=axes[0].tolist(), label="amplitude", shrink=0.8)
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
