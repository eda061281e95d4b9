"""Synthetic surveys whose right answer is known: Ricker-wavelet events on a regular grid.

Used by the tests, the examples and the reconstruction benchmarks. Every builder returns a
survey Dataset laid out as ``docs/data-model.md`` says (``amplitude`` float32 with ``time``
last, in ms; ``trace_mask`` all True; ``attrs["geometry"]``; ``sample_interval_us``).
Events are evaluated analytically (the wavelet at ``t - t_event``), so they are exact at
any sub-sample time and free of interpolation error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.errors import PromethiumError
from promethium_lab.io.templates import geometry_from_dims

__all__ = [
    "DEFAULT_CUBE_EVENTS",
    "DEFAULT_SECTION_EVENTS",
    "make_survey",
    "ricker",
    "synthetic_cube",
    "synthetic_section",
]

#: Events of :func:`synthetic_section` when none are given: two linear, two hyperbolic.
DEFAULT_SECTION_EVENTS: tuple[dict[str, Any], ...] = (
    {"kind": "linear", "t0_ms": 100.0, "velocity": 2500.0, "amplitude": 1.0},
    {"kind": "linear", "t0_ms": 600.0, "velocity": -4000.0, "amplitude": -0.6},
    {"kind": "hyperbolic", "t0_ms": 300.0, "velocity": 2000.0, "amplitude": 0.8},
    {"kind": "hyperbolic", "t0_ms": 700.0, "velocity": 2800.0, "x0": 400.0, "amplitude": -0.7},
)

#: Events of :func:`synthetic_cube` when none are given: flat and dipping planes.
DEFAULT_CUBE_EVENTS: tuple[dict[str, Any], ...] = (
    {"t0_ms": 120.0, "dip_inline_ms": 0.0, "dip_crossline_ms": 0.0, "amplitude": 1.0},
    {"t0_ms": 200.0, "dip_inline_ms": 4.0, "dip_crossline_ms": 2.0, "amplitude": -0.8},
    {"t0_ms": 380.0, "dip_inline_ms": -3.0, "dip_crossline_ms": 5.0, "amplitude": 0.6},
)


def ricker(t_ms: np.ndarray | float, freq_hz: float) -> np.ndarray:
    """Ricker (Mexican-hat) wavelet ``(1 - 2π²f²t²) exp(-π²f²t²)`` at times ``t_ms`` (ms).

    Ricker, N. (1953), "The form and laws of propagation of seismic wavelets",
    *Geophysics* 18(1). Zero-phase, peak 1 at ``t = 0``, peak frequency ``freq_hz``.
    """
    if not freq_hz > 0:
        raise PromethiumError.invalid(f"freq_hz must be > 0, got {freq_hz}")
    arg = (np.pi * freq_hz * np.asarray(t_ms, dtype=np.float64) / 1000.0) ** 2
    return (1.0 - 2.0 * arg) * np.exp(-arg)


def _check_grid(n_samples: int, dt_ms: float, **n_traces: int) -> None:
    for name, n in {"n_samples": n_samples, **n_traces}.items():
        if int(n) != n or n < 1:
            raise PromethiumError.invalid(f"{name} must be a positive integer, got {n}")
    if not dt_ms > 0:
        raise PromethiumError.invalid(f"dt_ms must be > 0, got {dt_ms}")


def _time_coord(n_samples: int, dt_ms: float, t0_ms: float) -> xr.Variable:
    return xr.Variable(("time",), t0_ms + dt_ms * np.arange(n_samples, dtype=np.float64),
                       attrs={"units": "ms", "long_name": "Time"})


def _add_noise(data: np.ndarray, noise: float, seed: int) -> np.ndarray:
    if noise < 0:
        raise PromethiumError.invalid(f"noise must be >= 0, got {noise}")
    if noise > 0:
        rms = float(np.sqrt(np.mean(data**2))) or 1.0
        rng = np.random.default_rng(seed)
        data = data + rng.normal(0.0, noise * rms, size=data.shape)
    return data


def make_survey(
    amplitude: np.ndarray,
    dt_ms: float,
    *,
    dims: Sequence[str] | None = None,
    t0_ms: float = 0.0,
    mask: np.ndarray | None = None,
    coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Wrap a numpy array ``(trace dims..., time)`` as a survey Dataset.

    Parameters
    ----------
    amplitude : ndarray
        Samples, ``time`` last.
    dt_ms : float
        Sample interval in ms.
    dims : sequence of str, optional
        Dims including ``time`` last; default ``("trace", "time")`` for 2-D and
        ``("inline", "crossline", "time")`` for 3-D input.
    t0_ms : float, default 0
        Time of the first sample (recording delay), ms.
    mask : ndarray of bool, optional
        ``trace_mask`` (True = live) over the trace dims; default all True. Amplitude is
        set to 0 where it is False.
    coords, attrs : mapping, optional
        Extra coordinates and Dataset attrs.
    """
    amp = np.asarray(amplitude, dtype=np.float32)
    if dims is None:
        defaults = {2: ("trace", "time"), 3: ("inline", "crossline", "time")}
        if amp.ndim not in defaults:
            raise PromethiumError.invalid(f"cannot guess dims of a {amp.ndim}-D array",
                                          hint="pass dims=")
        dims = defaults[amp.ndim]
    dims = tuple(str(d) for d in dims)
    if len(dims) != amp.ndim or dims[-1] != "time":
        raise PromethiumError.invalid(f"dims {dims} do not fit an array of shape {amp.shape}",
                                      hint="one name per axis, 'time' last")
    if amp.ndim < 2:
        raise PromethiumError.invalid("a survey needs at least one trace dim besides time")
    _check_grid(amp.shape[-1], dt_ms)
    live = np.ones(amp.shape[:-1], dtype=bool) if mask is None else np.asarray(mask, bool)
    if live.shape != amp.shape[:-1]:
        raise PromethiumError.invalid(
            f"mask shape {live.shape} is not the trace grid {amp.shape[:-1]}")
    amp = np.where(live[..., None], amp, np.float32(0)).astype(np.float32)
    all_coords: dict[str, Any] = {
        d: xr.Variable((d,), np.arange(n, dtype=np.int64)) for d, n in zip(dims[:-1], amp.shape)
    }
    all_coords["time"] = _time_coord(amp.shape[-1], float(dt_ms), float(t0_ms))
    all_coords.update(coords or {})
    ds_attrs = {"geometry": geometry_from_dims(dims[:-1]),
                "sample_interval_us": float(dt_ms) * 1000.0}
    ds_attrs.update(attrs or {})
    return xr.Dataset(
        {
            "amplitude": xr.Variable(dims, amp, attrs={"long_name": "Amplitude"}),
            "trace_mask": xr.Variable(dims[:-1], live),
        },
        coords=all_coords,
        attrs=ds_attrs,
    )


def synthetic_section(
    n_traces: int = 64,
    n_samples: int = 256,
    dt_ms: float = 4.0,
    events: Sequence[Mapping[str, Any]] | None = None,
    seed: int = 0,
    *,
    dx: float = 12.5,
    wavelet_hz: float = 25.0,
    noise: float = 0.0,
    t0_ms: float = 0.0,
) -> xr.Dataset:
    """A 2-D gather ``(trace, time)`` of linear and hyperbolic Ricker events.

    Parameters
    ----------
    n_traces, n_samples : int
        Grid size.
    dt_ms : float
        Sample interval (ms).
    events : sequence of dict, optional
        Each ``{"kind": "linear" | "hyperbolic", "t0_ms", "velocity", "amplitude", "x0"}``:
        linear ``t = t0 + (x - x0) / v`` (signed ``v`` in m/s, or ``"slope_ms_per_m"``
        instead), hyperbolic ``t = sqrt(t0² + ((x - x0) / v)²)`` (normal moveout,
        apex at offset ``x0``). ``x`` is the ``offset`` coordinate in m. Default
        :data:`DEFAULT_SECTION_EVENTS`.
    seed : int, default 0
        Seed of the noise.
    dx : float, default 12.5
        Trace spacing in m (``offset = dx * trace``).
    wavelet_hz : float, default 25
        Peak frequency of the Ricker wavelet.
    noise : float, default 0
        Standard deviation of added Gaussian noise relative to the RMS of the events.
    t0_ms : float, default 0
        Time of the first sample.

    Returns
    -------
    xarray.Dataset
        Dims ``(trace, time)``, coordinate ``offset`` (m) over ``trace``,
        ``attrs["geometry"] == "irregular"``, ``trace_mask`` all True.
    """
    _check_grid(n_samples, dt_ms, n_traces=n_traces)
    if not dx > 0:
        raise PromethiumError.invalid(f"dx must be > 0, got {dx}")
    x = dx * np.arange(n_traces, dtype=np.float64)
    t = t0_ms + dt_ms * np.arange(n_samples, dtype=np.float64)
    data = np.zeros((n_traces, n_samples))
    for ev in DEFAULT_SECTION_EVENTS if events is None else events:
        kind = ev.get("kind", "linear")
        amp = float(ev.get("amplitude", 1.0))
        x0 = float(ev.get("x0", 0.0))
        t_ev0 = float(ev.get("t0_ms", 0.0))
        if kind == "linear":
            if "slope_ms_per_m" in ev:
                slope = float(ev["slope_ms_per_m"])
            else:
                v = float(ev.get("velocity", np.inf))
                if v == 0:
                    raise PromethiumError.invalid("a linear event's velocity must not be 0")
                slope = 1000.0 / v
            t_ev = t_ev0 + slope * (x - x0)
        elif kind == "hyperbolic":
            v = float(ev.get("velocity", 0.0))
            if not v > 0:
                raise PromethiumError.invalid(f"a hyperbolic event needs velocity > 0, got {v}")
            t_ev = np.sqrt(t_ev0**2 + (1000.0 * (x - x0) / v) ** 2)
        else:
            raise PromethiumError.invalid(f"unknown event kind {kind!r}",
                                          hint="'linear' or 'hyperbolic'")
        data += amp * ricker(t[None, :] - t_ev[:, None], wavelet_hz)
    data = _add_noise(data, noise, seed)
    return make_survey(
        data, dt_ms, dims=("trace", "time"), t0_ms=t0_ms,
        coords={"offset": xr.Variable(("trace",), x, attrs={"units": "m"})},
        attrs={"source_path": "synthetic", "synthetic_dx_m": float(dx)},
    )


def synthetic_cube(
    n_inline: int = 16,
    n_crossline: int = 24,
    n_samples: int = 128,
    dt_ms: float = 4.0,
    events: Sequence[Mapping[str, Any]] | None = None,
    seed: int = 0,
    *,
    wavelet_hz: float = 25.0,
    noise: float = 0.0,
    d_inline: float = 25.0,
    d_crossline: float = 25.0,
    first_inline: int = 100,
    first_crossline: int = 200,
) -> xr.Dataset:
    """A 3-D post-stack cube ``(inline, crossline, time)`` of planar Ricker events.

    Parameters
    ----------
    n_inline, n_crossline, n_samples : int
        Grid size.
    dt_ms : float
        Sample interval (ms).
    events : sequence of dict, optional
        Each ``{"t0_ms", "dip_inline_ms", "dip_crossline_ms", "amplitude"}``: a plane
        ``t = t0 + dip_inline * i + dip_crossline * j`` (ms per line step; ``i, j`` count
        from 0). Default :data:`DEFAULT_CUBE_EVENTS`.
    seed : int, default 0
        Seed of the noise.
    wavelet_hz : float, default 25
        Peak frequency of the Ricker wavelet.
    noise : float, default 0
        Standard deviation of added Gaussian noise relative to the RMS of the events.
    d_inline, d_crossline : float
        Line spacings in m (for the ``cdp_x``/``cdp_y`` coordinates).
    first_inline, first_crossline : int
        Labels of the first lines.

    Returns
    -------
    xarray.Dataset
        ``attrs["geometry"] == "poststack3d"``, ``trace_mask`` all True.
    """
    _check_grid(n_samples, dt_ms, n_inline=n_inline, n_crossline=n_crossline)
    i = np.arange(n_inline, dtype=np.float64)[:, None, None]
    j = np.arange(n_crossline, dtype=np.float64)[None, :, None]
    t = dt_ms * np.arange(n_samples, dtype=np.float64)[None, None, :]
    data = np.zeros((n_inline, n_crossline, n_samples))
    for ev in DEFAULT_CUBE_EVENTS if events is None else events:
        t_ev = (float(ev.get("t0_ms", 0.0)) + float(ev.get("dip_inline_ms", 0.0)) * i
                + float(ev.get("dip_crossline_ms", 0.0)) * j)
        data += float(ev.get("amplitude", 1.0)) * ricker(t - t_ev, wavelet_hz)
    data = _add_noise(data, noise, seed)
    il = np.arange(n_inline)
    xl = np.arange(n_crossline)
    cdp_x = np.broadcast_to(xl[None, :] * float(d_crossline), (n_inline, n_crossline))
    cdp_y = np.broadcast_to(il[:, None] * float(d_inline), (n_inline, n_crossline))
    return make_survey(
        data, dt_ms, dims=("inline", "crossline", "time"),
        coords={
            "inline": xr.Variable(("inline",), (first_inline + il).astype(np.int64)),
            "crossline": xr.Variable(("crossline",), (first_crossline + xl).astype(np.int64)),
            "cdp_x": xr.Variable(("inline", "crossline"), cdp_x.astype(np.float64),
                                 attrs={"units": "m"}),
            "cdp_y": xr.Variable(("inline", "crossline"), cdp_y.astype(np.float64),
                                 attrs={"units": "m"}),
        },
        attrs={"source_path": "synthetic"},
    )
