"""Survey plumbing of the views: open, name, select a plane, read it fast, its headers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.errors import PromethiumError
from promethium_lab.io.chunk_files import window_reader
from promethium_lab.io.overview import Overview, read_overview
from promethium_lab.io.views import ViewSlices, open_view, view_name
from promethium_lab.viz._plane import Axis, Plane

__all__ = ["PlaneSpec", "as_survey", "label_index", "pretty_dim", "sample_axis",
           "section_plane", "slice_plane", "survey_name", "trace_and_sample_dims", "trace_axis"]

#: Names used in titles for dims whose store name reads badly.
_PRETTY = {"shot_point": "shot", "cdp": "CDP", "trace": "trace"}
#: Variables never offered as trace headers in hover.
_NOT_HEADERS = {"amplitude", "trace_mask", "sample_mask", "raw_headers", "headers",
                "segy_trace_index", "segy_file_header"}


def pretty_dim(dim: str) -> str:
    """The dim as a reader says it: ``shot_point`` → ``shot``."""
    return _PRETTY.get(dim, dim.replace("_", " "))


def as_survey(obj: Any, overview: Overview | bool | None = None
              ) -> tuple[xr.Dataset, Overview | None]:
    """A survey Dataset and its overview from a Dataset, an amplitude DataArray or a path.

    ``overview``: an :class:`Overview` to use, ``False`` for none, ``None`` to read the one
    kept in the store the dataset came from (if any).
    """
    if isinstance(obj, (str, os.PathLike)):
        from promethium_lab.io.store import open_store

        obj = open_store(obj)
    if isinstance(obj, xr.DataArray):
        obj = obj.to_dataset(name="amplitude") if obj.name != "amplitude" else obj.to_dataset()
    if not isinstance(obj, xr.Dataset) or "amplitude" not in obj:
        raise PromethiumError.invalid(
            f"expected a survey Dataset with an 'amplitude' variable, got {type(obj).__name__}",
            hint="open a store with promethium_lab.io.store.open_store(path)")
    if obj["amplitude"].ndim < 1:
        raise PromethiumError.invalid("amplitude has no dims")
    if overview is None:
        # the store's overview describes the stored amplitude: only for unmodified data
        src = _source(obj) if _zarr_array(obj, "amplitude") is not None else None
        overview = read_overview(src) if src is not None else None
        if overview is not None and tuple(overview.shape) != tuple(obj["amplitude"].shape):
            overview = None
    elif overview is False:
        overview = None
    return obj, overview  # type: ignore[return-value]


def _source(ds: xr.Dataset) -> Path | None:
    src = ds.encoding.get("source")
    if not src:
        return None
    p = Path(str(src))
    return p if (p / "zarr.json").is_file() else None


def survey_name(ds: xr.Dataset) -> str:
    """Name of the survey in titles: its source file, else its store, else "survey"."""
    for key in ("title", "name"):
        if isinstance(ds.attrs.get(key), str) and ds.attrs[key]:
            return ds.attrs[key]
    if ds.attrs.get("source_path"):
        return Path(str(ds.attrs["source_path"])).name
    src = _source(ds)
    return src.name if src is not None else "survey"


def _zarr_array(ds: xr.Dataset, var: str) -> Any:
    """The zarr array behind ``ds[var]`` when the variable is unmodified from its store."""
    src = _source(ds)
    if src is None or ds[var].chunks is None:
        # in memory, or lazily indexed without dask (the xarray engine): read through xarray,
        # which reads only what is indexed (``.data`` would load the whole variable)
        return None
    data = ds[var].data
    name = getattr(data, "name", "")
    if not str(name).startswith(f"open_dataset-{var}"):
        return None
    try:
        import zarr

        arr = zarr.open_array(src / var, mode="r")
    except Exception:
        return None
    return arr if tuple(arr.shape) == tuple(data.shape) else None


#: prefix of a variable name standing for the store's view copy of a dim (io.views)
_VIEW = "view:"


def _fast(ds: xr.Dataset, dim: str) -> str:
    """What to read a slice at a fixed ``dim`` from, when ``amplitude`` is unmodified
    from its store: an exact ``fast_<dim>`` copy, else the store's compact view copy
    (``"view:<dim>"``, :mod:`promethium_lab.io.views`); else ``amplitude``."""
    if _zarr_array(ds, "amplitude") is None:
        return "amplitude"
    name = f"fast_{dim}"
    if name in ds and _zarr_array(ds, name) is not None:
        return name
    src = _source(ds)
    if src is not None and (src / view_name(dim) / "zarr.json").is_file():
        return _VIEW + dim
    return "amplitude"


def _view_reader(ds: xr.Dataset, dim: str) -> Any:
    """The view copy of ``dim`` read through chunk windows, as float32."""
    src = _source(ds)
    view = open_view(src, dim) if src is not None else None
    if view is None:
        return None
    return ViewSlices(window_reader(view.q), window_reader(view.scale))


def _getter(ds: xr.Dataset, var: str, order: tuple[str, ...], fixed: dict[str, int]):
    """``get(index dict) -> ndarray`` over ``order`` dims of ``ds[var]`` at ``fixed``
    (read straight from the zarr array when the variable is unmodified from its store)."""
    if var.startswith(_VIEW):
        da, arr = ds["amplitude"], _view_reader(ds, var[len(_VIEW):])
    else:
        da = ds[var]
        arr = _zarr_array(ds, var)
        if arr is not None:
            arr = window_reader(arr)
    fixed = {d: i for d, i in fixed.items() if d in da.dims}

    def get(sel: dict[str, Any]) -> np.ndarray:
        full = {**fixed, **sel}
        if arr is not None:
            idx = tuple(full.get(d, slice(None)) for d in da.dims)
            out = np.asarray(arr[idx])
            kept = [d for d in da.dims if not isinstance(full.get(d), (int, np.integer))]
        else:
            sub = da.isel(full)
            kept = list(sub.dims)
            out = np.asarray(sub.values)
        return np.transpose(out, [kept.index(d) for d in order])

    return get


@dataclass
class PlaneSpec:
    """A plane of a survey with what its views need to know about it."""

    ds: xr.Dataset
    plane: Plane
    what: str                      # "inline 122", "shot 3", "time 400 ms", "24 traces"
    fixed: dict[str, int] = field(default_factory=dict)
    live: np.ndarray | None = None  # along x (sections) or (x, y) (slices), True = live
    headers: dict[str, np.ndarray] = field(default_factory=dict)
    value_label: str = "amplitude"

    @property
    def name(self) -> str:
        return survey_name(self.ds)


def _index(ds: xr.Dataset, dim: str, label: Any) -> int:
    """Index of ``label`` along ``dim`` (exact label; a float time snaps to the nearest)."""
    if dim not in ds.coords:
        n = ds.sizes[dim]
        i = int(label)
        if not 0 <= i < n:
            raise PromethiumError.invalid(f"{dim}={label} is outside 0..{n - 1}")
        return i
    values = np.asarray(ds[dim].values)
    hits = np.flatnonzero(values == label)
    if hits.size:
        return int(hits[0])
    if values.dtype.kind == "f" and np.isscalar(label):
        i = int(np.argmin(np.abs(values - float(label))))
        step = np.median(np.abs(np.diff(values))) if values.size > 1 else np.inf
        if abs(values[i] - float(label)) <= step:
            return i
    lo, hi = (values[0], values[-1]) if values.size else (None, None)
    raise PromethiumError.invalid(f"no {dim} = {label} in this survey",
                                  hint=f"{dim} runs {lo} … {hi} ({values.size} values)")


def _axes(ds: xr.Dataset) -> tuple[list[str], str]:
    dims = list(ds["amplitude"].dims)
    sample = "time" if "time" in dims else dims[-1]
    return [d for d in dims if d != sample], sample


def _sample_axis(ds: xr.Dataset, sample: str) -> Axis:
    step = 1.0
    if ds.attrs.get("sample_interval_us"):
        step = float(ds.attrs["sample_interval_us"]) / 1000.0
    coord = ds[sample] if sample in ds.coords else None
    unit = None if coord is not None else ("ms" if sample == "time" else "")
    return Axis.of(sample, coord, ds.sizes[sample], unit=unit, default_step=step)


def _trace_axis(ds: xr.Dataset, dim: str) -> Axis:
    coord = ds[dim] if dim in ds.coords else None
    return Axis.of(dim, coord, ds.sizes[dim], label=pretty_dim(dim) if dim != "trace" else "trace")


def _masked_reader(ds: xr.Dataset, var: str, order: tuple[str, ...], fixed: dict[str, int],
                   live: np.ndarray | None, mask_dead: bool):
    """``read(x slice, y slice)`` of ``ds[var]`` as float32 ``(x, y)``; with ``mask_dead``
    absent traces and waveform gaps (``sample_mask`` False) are NaN."""
    get = _getter(ds, var, order, fixed)
    gaps = None
    if mask_dead and "sample_mask" in ds and ds["sample_mask"].dims == ds["amplitude"].dims:
        gaps = _getter(ds, "sample_mask", order, fixed)
    if not mask_dead or (live is not None and live.all()):
        live = None

    def read(xs: slice, ys: slice) -> np.ndarray:
        sel = {order[0]: xs, order[1]: ys}
        out = np.asarray(get(sel), dtype=np.float32)
        if live is None and gaps is None:
            return out
        out = np.array(out, copy=True)
        if gaps is not None:
            out[~gaps(sel).astype(bool)] = np.nan
        if live is not None:
            lv = live[xs] if live.ndim == 1 else live[xs, ys]
            out[~lv] = np.nan
        return out

    return read


def _headers(ds: xr.Dataset, x_dim: str, fixed: dict[str, int],
             names: list[str] | None) -> dict[str, np.ndarray]:
    """Trace-header values along ``x_dim`` at ``fixed``: the chosen names (variables or
    fields of a structured ``headers`` variable), else up to 8 plain header variables."""
    trace_dims, _ = _axes(ds)
    out: dict[str, np.ndarray] = {}

    def along(var: xr.DataArray) -> np.ndarray | None:
        if x_dim not in var.dims or not set(var.dims) <= set(trace_dims):
            return None
        return _getter(ds, str(var.name), (x_dim,), fixed)({})

    if names is None:
        cands = [n for n in list(ds.coords) + list(ds.data_vars)
                 if n not in _NOT_HEADERS and n not in trace_dims
                 and not str(n).startswith("fast_")]
        for n in cands:
            v = ds[n]
            if v.dtype.kind == "V" or v.ndim == 0:
                continue
            vals = along(v)
            if vals is not None:
                out[str(n)] = vals
            if len(out) >= 8:
                break
        return out
    structured = ds["headers"] if "headers" in ds and ds["headers"].dtype.names else None
    for n in names:
        if n in ds and ds[n].dtype.kind != "V":
            vals = along(ds[n])
        elif structured is not None and n in structured.dtype.names:
            raw = along(structured)
            vals = None if raw is None else raw[n]
        else:
            raise PromethiumError.invalid(f"no trace header {n!r} in this survey",
                                          hint="name a variable over the trace dims or a "
                                               "field of 'headers'")
        if vals is not None:
            out[n] = vals
    return out


def _what_traces(ds: xr.Dataset, x_dim: str) -> str:
    n = ds.sizes[x_dim]
    keys = [k for k in ("network", "station", "location", "channel") if k in ds.coords]
    if keys and n <= 3:
        codes = [".".join(str(ds[k].values[i]) for k in keys) for i in range(n)]
        return ", ".join(codes)
    return f"{n} {pretty_dim(x_dim)}s" if n != 1 else f"1 {pretty_dim(x_dim)}"


def section_plane(ds: xr.Dataset, overview: Overview | None = None, *,
                  hover: list[str] | None = None, mask_dead: bool = True,
                  **selection: Any) -> PlaneSpec:
    """The section of ``amplitude`` along one trace dim, the others fixed by label.

    Dims not given are fixed at their middle; the varying dim is the last one not given
    (``inline=122`` on an ``inline, crossline`` survey gives the inline-122 section along
    crossline). Reads the store's ``view_<dim>`` copy (or an exact ``fast_<dim>``) when
    one dim is fixed, and uses the overview when the varying dim is the last trace dim.
    """
    trace_dims, sample = _axes(ds)
    if not trace_dims:
        raise PromethiumError.invalid("amplitude has only a sample dim",
                                      hint="a section needs a trace dim and time")
    unknown = [k for k in selection if k not in trace_dims]
    if unknown:
        raise PromethiumError.invalid(f"{unknown} are not trace dims of this survey",
                                      hint=f"trace dims: {trace_dims}")
    free = [d for d in trace_dims if d not in selection]
    if not free:
        raise PromethiumError.invalid(
            f"{selection} fixes every trace dim: that is one trace, not a section",
            hint=f"leave one of {trace_dims} out")
    x_dim = free[-1]
    fixed = {}
    for d in trace_dims:
        if d == x_dim:
            continue
        fixed[d] = _index(ds, d, selection[d]) if d in selection else ds.sizes[d] // 2
    var = "amplitude"
    if len(fixed) == 1:
        var = _fast(ds, next(iter(fixed)))
    live = None
    if "trace_mask" in ds:
        live = _getter(ds, "trace_mask", (x_dim,), fixed)({}).astype(bool)
    read = _masked_reader(ds, var, (x_dim, sample), fixed, live, mask_dead)
    levels = []
    factor = 4
    if (overview is not None and overview.levels and x_dim == trace_dims[-1]
            and tuple(overview.dims) == tuple(ds["amplitude"].dims)):
        factor = overview.factor
        for lvl in overview.levels:
            levels.append(_level_getter(lvl, fixed, trace_dims))
    plane = Plane(_trace_axis(ds, x_dim), _sample_axis(ds, sample), read, levels, factor)
    what = ", ".join(f"{pretty_dim(d)} {_trace_axis(ds, d).title_value(i)}"
                     for d, i in fixed.items())
    return PlaneSpec(ds=ds, plane=plane, what=what or _what_traces(ds, x_dim), fixed=fixed,
                     live=live, headers=_headers(ds, x_dim, fixed, hover))


def _level_getter(level: Any, fixed: dict[str, int], trace_dims: list[str]):
    pre = tuple(fixed[d] for d in trace_dims[:-1])
    level = window_reader(level)

    def get(xs: slice, ys: slice) -> np.ndarray:
        return np.asarray(level[(*pre, xs, ys)])

    return get


def slice_plane(ds: xr.Dataset, index: int, *, mask_dead: bool = True,
                **selection: Any) -> PlaneSpec:
    """The time slice at sample ``index``: x = the last trace dim, y = the one before it
    (other trace dims fixed by label or at their middle); reads the store's
    ``view_time`` copy (or an exact ``fast_time``)."""
    trace_dims, sample = _axes(ds)
    if len(trace_dims) < 2:
        raise PromethiumError.invalid("a time slice needs two trace dims",
                                      hint="this survey has one; use section()")
    x_dim, y_dim = trace_dims[-1], trace_dims[-2]
    fixed = {d: (_index(ds, d, selection[d]) if d in selection else ds.sizes[d] // 2)
             for d in trace_dims[:-2]}
    fixed[sample] = int(index)
    var = _fast(ds, sample)
    live = None
    if "trace_mask" in ds:
        live = _getter(ds, "trace_mask", (x_dim, y_dim), fixed)({}).astype(bool)
    read = _masked_reader(ds, var, (x_dim, y_dim), fixed, live, mask_dead)
    plane = Plane(_trace_axis(ds, x_dim), _trace_axis(ds, y_dim), read)
    t_axis = _sample_axis(ds, sample)
    what = f"{pretty_dim(sample)} {t_axis.title_value(int(index))}"
    if t_axis.unit:
        what += f" {t_axis.unit}"
    extra = ", ".join(f"{pretty_dim(d)} {_trace_axis(ds, d).title_value(i)}"
                      for d, i in fixed.items() if d != sample)
    return PlaneSpec(ds=ds, plane=plane, what=what + (f", {extra}" if extra else ""),
                     fixed=fixed, live=live)


def trace_and_sample_dims(ds: xr.Dataset) -> tuple[list[str], str]:
    """The trace dims and the sample dim of a survey."""
    return _axes(ds)


def sample_axis(ds: xr.Dataset) -> Axis:
    """The sample (time) axis of a survey."""
    return _sample_axis(ds, _axes(ds)[1])


def trace_axis(ds: xr.Dataset, dim: str) -> Axis:
    """The axis of a trace dim."""
    return _trace_axis(ds, dim)


def label_index(ds: xr.Dataset, dim: str, label: Any) -> int:
    """Index of a label along a dim (see :func:`section_plane`)."""
    return _index(ds, dim, label)
