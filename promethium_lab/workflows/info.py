"""Summaries of surveys (files or stores)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["describe", "format_summary", "headers_digest"]

#: headers hashed in full up to this size; larger ones by evenly spaced rows
_DIGEST_MAX_MB = 64.0


def describe(source: str | os.PathLike | xr.Dataset, *, amplitudes: bool = True,
             **reader_options: Any) -> dict[str, Any]:
    """JSON-safe summary: geometry, dims, live/absent traces, time axis, amplitude range,
    headers digest.

    Only the trace mask and header-derived values are read; amplitude statistics are
    computed from the full data only for surveys under 64 MB, else from a sample of traces.
    With ``amplitudes=False`` no sample is read at all (the ``amplitude_*`` values are
    None): what the server's dataset summary does, so its cost is the headers'.
    ``reader_options`` go to :func:`~promethium_lab.io.survey.open_survey` when ``source`` is
    a path (e.g. ``truncated="keep"`` for a miniSEED file whose last record is cut).
    """
    from promethium_lab.io.survey import open_survey

    ds = source if isinstance(source, xr.Dataset) else open_survey(source, **reader_options)
    amp = ds["amplitude"]
    mask = np.asarray(ds["trace_mask"].values, dtype=bool) if "trace_mask" in ds else None
    t = np.asarray(ds["time"].values, dtype=float)
    n_traces = int(np.prod(amp.shape[:-1]))
    n_live = int(mask.sum()) if mask is not None else n_traces
    if not amplitudes:
        values = np.empty(0, dtype=np.float32)
    elif amp.nbytes <= 64 * 2**20:
        values = np.asarray(amp.values)
    else:
        first = amp.dims[0]
        step = max(1, amp.sizes[first] // 16)
        values = np.asarray(amp.isel({first: slice(None, None, step)}).values)
    finite = values[np.isfinite(values)]
    return {
        "source": str(ds.attrs.get("source_path", getattr(source, "name", source))),
        "geometry": ds.attrs.get("geometry", "unknown"),
        "dims": {str(k): int(v) for k, v in amp.sizes.items()},
        "traces": n_traces,
        "live_traces": n_live,
        "absent_traces": n_traces - n_live,
        "time_ms": [float(t[0]), float(t[-1])] if t.size else [],
        "sample_interval_ms": _interval_ms(ds, t),
        "amplitude_min": float(finite.min()) if finite.size else None,
        "amplitude_max": float(finite.max()) if finite.size else None,
        "amplitude_rms": float(np.sqrt(np.mean(finite.astype(np.float64) ** 2)))
        if finite.size else None,
        "segy_format": ds.attrs.get("segy_format"),
        "trace_dims": {str(d): [int(ds[d].values[0]), int(ds[d].values[-1])]
                       for d in amp.dims[:-1] if d in ds.coords and ds[d].dtype.kind in "iu"},
        "headers_digest": headers_digest(ds),
    }


def headers_digest(ds: xr.Dataset, max_mb: float = _DIGEST_MAX_MB) -> str:
    """``sha256:<hex>`` of a survey's headers: every variable and coordinate without a
    ``time`` dim except ``amplitude`` (raw trace headers, file header, trace mask, trace
    coordinates), by name. Samples are never read; a variable over ``max_mb`` is hashed by
    evenly spaced rows of its first dim."""
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        if name == "amplitude" or "time" in var.dims:
            continue
        if var.ndim and var.nbytes > max_mb * 2**20:
            rows = max(1, int(var.shape[0] * max_mb * 2**20 // var.nbytes))
            var = var[np.unique(np.linspace(0, var.shape[0] - 1, rows).round().astype(int))]
        values = np.asarray(var.values)
        if values.dtype.kind == "O":
            values = values.astype(str)
        h.update(f"{name}:{values.dtype.str}:{values.shape}".encode())
        h.update(np.ascontiguousarray(values).tobytes())
    return "sha256:" + h.hexdigest()


def format_summary(info: dict[str, Any]) -> str:
    """Human-readable lines of :func:`describe`'s dict."""
    dims = " × ".join(f"{k} {v}" for k, v in info["dims"].items())
    lines = [
        f"source      {info['source']}",
        f"geometry    {info['geometry']}",
        f"dims        {dims}",
        f"traces      {info['live_traces']} live, {info['absent_traces']} absent",
    ]
    if info["time_ms"]:
        dt = info.get("sample_interval_ms")
        lines.append(f"time        {info['time_ms'][0]:g} … {info['time_ms'][1]:g} ms, "
                     + (f"dt {dt:g} ms" if dt is not None else "dt unknown"))
    for dim, (lo, hi) in info["trace_dims"].items():
        lines.append(f"{dim:<11} {lo} … {hi}")
    if info["amplitude_min"] is not None:
        lines.append(f"amplitude   {info['amplitude_min']:.4g} … {info['amplitude_max']:.4g}, "
                     f"rms {info['amplitude_rms']:.4g}")
    if info.get("segy_format"):
        lines.append(f"SEG-Y fmt   {info['segy_format']}")
    return "\n".join(lines)


def _interval_ms(ds: xr.Dataset, t: np.ndarray) -> float | None:
    """Sample interval: from the time axis, else (one sample per trace) the dataset's
    ``sample_interval_us``; None when neither gives one."""
    if t.size > 1:
        return float(t[1] - t[0])
    us = ds.attrs.get("sample_interval_us")
    try:
        return float(us) / 1000.0 if us is not None and float(us) > 0 else None
    except (TypeError, ValueError):
        return None
