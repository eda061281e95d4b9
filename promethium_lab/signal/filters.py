"""Filters on surveys: Butterworth band-pass, FK fan filter, AGC, top mute.

Each takes a survey Dataset (or its ``amplitude`` DataArray) and returns the same kind of
object with the amplitude replaced (float32), attrs kept and absent traces
(``trace_mask`` False) left at 0. numpy-backed input is filtered at once; dask-backed input
stays lazy and is filtered chunk by chunk (see :mod:`promethium_lab.signal._apply`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr
from scipy import fft as sfft
from scipy import ndimage
from scipy import signal as ssig

from promethium_lab.core.errors import PromethiumError
from promethium_lab.signal._apply import (
    TIME,
    Survey,
    apply_along_time,
    apply_over,
    merge,
    sample_interval_ms,
    split,
    trace_dims,
)

__all__ = ["agc", "bandpass", "fk_filter", "fk_weights", "mute", "trace_spacing"]


def _finite(value: object, name: str) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise PromethiumError.invalid(f"{name} must be a number, got {value!r}") from exc
    if not np.isfinite(out):
        raise PromethiumError.invalid(f"{name} must be finite, got {value!r}")
    return out


# --------------------------------------------------------------------------- band-pass


def _bandpass_kernel(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    n = x.shape[-1]
    padlen = 3 * (2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()),
                                         int((sos[:, 5] == 0).sum())))
    out = ssig.sosfiltfilt(sos, np.asarray(x, dtype=np.float64), axis=-1,
                           padlen=min(padlen, n - 1))
    return out.astype(np.float32)


def bandpass(ds: Survey, low_hz: float, high_hz: float, order: int = 4) -> Survey:
    """Zero-phase Butterworth band-pass filter along time.

    A Butterworth band-pass (Butterworth, S. (1930), "On the theory of filter
    amplifiers") designed as second-order sections and run forwards and backwards
    (``scipy.signal.sosfiltfilt``, Gustafsson's initial conditions), so the phase is zero
    and the magnitude response is the Butterworth response squared: -6 dB at
    ``low_hz`` and ``high_hz``, roll-off ``2 * order`` poles per edge.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        Survey (``time`` in ms).
    low_hz, high_hz : float
        Corner frequencies, ``0 < low_hz < high_hz < Nyquist``.
    order : int, default 4
        Butterworth order (of the one-way design).

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Filtered copy, same kind as ``ds``.

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for corners outside ``(0, Nyquist)`` or not increasing,
        or an order below 1.
    """
    amp, mask = split(ds)
    dt_ms = sample_interval_ms(ds)
    fs = 1000.0 / dt_ms
    nyq = fs / 2.0
    low, high = _finite(low_hz, "low_hz"), _finite(high_hz, "high_hz")
    if not 0 < low < high < nyq:
        raise PromethiumError.invalid(
            f"band-pass corners must satisfy 0 < low_hz < high_hz < Nyquist; got "
            f"low_hz={low_hz}, high_hz={high_hz}",
            hint=f"the Nyquist frequency of this data (dt = {dt_ms:g} ms) is {nyq:g} Hz",
        )
    if isinstance(order, bool) or int(order) != order or order < 1:
        raise PromethiumError.invalid(f"order must be a positive integer, got {order!r}")
    if amp.sizes[TIME] < 2:
        raise PromethiumError.invalid("a band-pass needs traces of at least 2 samples")
    sos = ssig.butter(int(order), [low, high], btype="bandpass", fs=fs, output="sos")
    out = apply_along_time(amp, _bandpass_kernel, kwargs={"sos": sos})
    return merge(ds, out, mask)


# ----------------------------------------------------------------------------- FK filter


def trace_spacing(ds: Survey, dim: str, dx: float | str | None = None) -> tuple[float, str]:
    """Spacing of traces along ``dim`` and its unit.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        Survey.
    dim : str
        A trace dim.
    dx : float or str, optional
        The spacing itself (a number, unit ``"m"``), or the name of a regularly sampled 1-D
        coordinate along ``dim`` to take it from (e.g. ``"offset"``). By default the
        coordinate ``dim`` itself when it is numeric, else 1 (unit ``"trace"``).

    Returns
    -------
    (float, str)
        Positive spacing and its unit (the coordinate's ``units`` attr, ``"m"`` for a
        number, ``"trace"`` when counted in traces).
    """
    amp, _ = split(ds)
    if dim not in trace_dims(amp):
        raise PromethiumError.invalid(f"{dim!r} is not a trace dim of this survey",
                                      hint=f"trace dims: {trace_dims(amp)}")
    if dx is not None and not isinstance(dx, str):
        step = _finite(dx, "dx")
        if step <= 0:
            raise PromethiumError.invalid(f"dx must be > 0, got {dx}")
        return step, "m"
    name = dim if dx is None else dx
    if name not in amp.coords:
        if dx is None:
            return 1.0, "trace"
        raise PromethiumError.invalid(f"no coordinate {name!r} along {dim!r}",
                                      hint=f"coordinates: {sorted(map(str, amp.coords))}")
    coord = amp.coords[name]
    if coord.dims != (dim,) or coord.dtype.kind not in "iuf":
        raise PromethiumError.invalid(
            f"coordinate {name!r} is not a numeric 1-D coordinate along {dim!r}",
            hint="pass dx= as a number")
    values = np.asarray(coord.values, dtype=np.float64)
    if values.size < 2:
        return 1.0, str(coord.attrs.get("units", "trace" if dx is None else "m"))
    steps = np.diff(values)
    step = float(np.median(steps))
    if (not np.all(np.isfinite(steps)) or step == 0
            or np.max(np.abs(steps - step)) > 1e-3 * abs(step)):
        raise PromethiumError.invalid(f"coordinate {name!r} is not regularly spaced along {dim!r}",
                                      hint="pass dx= (the trace spacing) explicitly")
    default_unit = "m" if dx is not None else ("trace" if coord.dtype.kind in "iu" else "")
    return abs(step), str(coord.attrs.get("units", default_unit))


def _cos_ramp(u: np.ndarray) -> np.ndarray:
    """0 for u <= 0, 1 for u >= 1, raised cosine between."""
    u = np.clip(u, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def fk_weights(
    k: np.ndarray,
    f: np.ndarray,
    velocity_min: float | None,
    velocity_max: float | None,
    mode: str,
    taper: float,
) -> np.ndarray:
    """Fan-filter weights on an ``(k, f)`` grid from apparent velocity ``|f / k|``.

    Pass weight is 1 for ``velocity_min <= |v| <= velocity_max`` and falls to 0 with a
    raised-cosine ramp over ``[velocity_min * (1 - taper), velocity_min]`` and
    ``[velocity_max, velocity_max * (1 + taper)]``; ``reject`` is ``1 - pass``.
    """
    kk = np.abs(np.asarray(k, dtype=np.float64))[:, None]
    ff = np.abs(np.asarray(f, dtype=np.float64))[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(kk > 0, ff / np.where(kk > 0, kk, 1.0), np.inf)
    w = np.ones(np.broadcast_shapes(kk.shape, ff.shape))
    if velocity_min is not None:
        lo = velocity_min * (1.0 - taper)
        if taper > 0:
            w = w * _cos_ramp((v - lo) / (velocity_min - lo))
        else:
            w = w * (v >= velocity_min)
    if velocity_max is not None:
        hi = velocity_max * (1.0 + taper)
        with np.errstate(invalid="ignore"):
            if taper > 0:
                w = w * np.where(np.isinf(v), 0.0, _cos_ramp((hi - v) / (hi - velocity_max)))
            else:
                w = w * (v <= velocity_max)
    return w if mode == "pass" else 1.0 - w


def _fk_kernel(
    panel: np.ndarray,
    dx: float,
    dt_s: float,
    velocity_min: float | None,
    velocity_max: float | None,
    mode: str,
    taper: float,
) -> np.ndarray:
    nx, nt = panel.shape[-2:]
    nxp = sfft.next_fast_len(nx + nx // 2)
    ntp = sfft.next_fast_len(2 * nt)
    spec = sfft.rfft(np.asarray(panel, dtype=np.float64), n=ntp, axis=-1)
    spec = sfft.fft(spec, n=nxp, axis=-2)
    k = sfft.fftfreq(nxp, d=dx)
    f = sfft.rfftfreq(ntp, d=dt_s)
    spec *= fk_weights(k, f, velocity_min, velocity_max, mode, taper)
    out = sfft.ifft(spec, axis=-2)[..., :nx, :]
    return sfft.irfft(out, n=ntp, axis=-1)[..., :nt].astype(np.float32)


def fk_filter(
    ds: Survey,
    dim: str,
    velocity_min: float | None = None,
    velocity_max: float | None = None,
    mode: Literal["pass", "reject"] = "pass",
    taper: float = 0.1,
    dx: float | str | None = None,
) -> Survey:
    """FK (frequency–wavenumber) fan / dip filter over ``(dim, time)``.

    The classic velocity (fan) filter (Embree, Burg & Backus (1963), "Wide-band velocity
    filtering — the pie-slice process", *Geophysics* 28(6); Yilmaz (2001), *Seismic Data
    Analysis*, §6.2): 2-D FFT of each ``(dim, time)`` panel, multiplication by a weight
    depending on the apparent velocity ``v = f / k``, inverse FFT. The panel is
    zero-padded (time ×2, traces ×1.5) against wrap-around. A flat event has ``k = 0``
    (``|v| = ∞``); an event dipping ``p`` ms per metre has ``|v| = 1000 / |p|`` m/s.
    Both dip directions are treated alike. With more than one trace dim each panel along
    the other trace dims is filtered independently.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        Survey.
    dim : str
        Trace dim of the panels.
    velocity_min, velocity_max : float, optional
        Bounds of the fan in ``|v|`` (units of the trace spacing per second, e.g. m/s;
        traces/s when counted in traces). ``None`` leaves that side open; at least one
        is required.
    mode : {"pass", "reject"}, default "pass"
        Keep the fan (``velocity_min <= |v| <= velocity_max``) or remove it.
    taper : float, default 0.1
        Relative width of the raised-cosine ramps outside each bound
        (``velocity_min * (1 - taper)`` and ``velocity_max * (1 + taper)``), ``0 <= taper < 1``.
    dx : float or str, optional
        Trace spacing, or the coordinate to take it from (see :func:`trace_spacing`).

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Filtered copy, same kind as ``ds``; absent traces stay 0.
    """
    amp, mask = split(ds)
    spacing, _unit = trace_spacing(ds, dim, dx)
    if mode not in ("pass", "reject"):
        raise PromethiumError.invalid(f"mode must be 'pass' or 'reject', got {mode!r}")
    if velocity_min is None and velocity_max is None:
        raise PromethiumError.invalid(
            "give velocity_min, velocity_max or both",
            hint="e.g. velocity_min=3000 passes events flatter than 3000 m/s")
    vmin = None if velocity_min is None else _finite(velocity_min, "velocity_min")
    vmax = None if velocity_max is None else _finite(velocity_max, "velocity_max")
    for name, v in (("velocity_min", vmin), ("velocity_max", vmax)):
        if v is not None and v <= 0:
            raise PromethiumError.invalid(f"{name} must be > 0, got {v}")
    if vmin is not None and vmax is not None and vmin >= vmax:
        raise PromethiumError.invalid(f"velocity_min ({vmin}) must be below velocity_max ({vmax})")
    taper = _finite(taper, "taper")
    if not 0 <= taper < 1:
        raise PromethiumError.invalid(f"taper must be in [0, 1), got {taper}")
    if amp.sizes[dim] < 2:
        raise PromethiumError.invalid(f"an FK filter needs at least 2 traces along {dim!r}")
    dt_s = sample_interval_ms(ds) / 1000.0
    core = (dim, TIME)
    out = apply_over(
        amp if mask is None else amp.where(mask, amp.dtype.type(0)),
        _fk_kernel, core,
        kwargs={"dx": spacing, "dt_s": dt_s, "velocity_min": vmin, "velocity_max": vmax,
                "mode": mode, "taper": taper},
    )
    return merge(ds, out, mask)


# ---------------------------------------------------------------------------------- AGC


def _agc_kernel(x: np.ndarray, n_win: int, floor: float) -> np.ndarray:
    x64 = np.asarray(x, dtype=np.float64)
    power = ndimage.uniform_filter1d(x64 * x64, size=n_win, axis=-1, mode="reflect")
    rms = np.sqrt(np.maximum(power, 0.0))
    peak = rms.max(axis=-1, keepdims=True)
    denom = np.maximum(rms, floor * peak)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(denom > 0, x64 / np.where(denom > 0, denom, 1.0), 0.0)
    return out.astype(np.float32)


def agc(ds: Survey, window_ms: float, floor: float = 1e-4) -> Survey:
    """RMS automatic gain control along time.

    Each sample is divided by the RMS amplitude in a centred sliding window of
    ``window_ms`` (Yilmaz (2001), *Seismic Data Analysis*, §1.4.2, "AGC"), so the output
    has unit RMS in every window. Traces are gained independently: an absent (all-zero)
    trace stays 0 and never enters a live trace's window. To avoid amplifying silence,
    the RMS is floored at ``floor`` times the trace's largest windowed RMS.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        Survey.
    window_ms : float
        Window length in ms: at least 3 samples, at most the trace length.
    floor : float, default 1e-4
        Relative RMS floor, ``0 < floor < 1``.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Gained copy, same kind as ``ds``.
    """
    amp, mask = split(ds)
    dt_ms = sample_interval_ms(ds)
    window = _finite(window_ms, "window_ms")
    n = amp.sizes[TIME]
    n_win = round(window / dt_ms) if window > 0 else 0
    if n_win < 3 or window > n * dt_ms:
        raise PromethiumError.invalid(
            f"window_ms={window_ms} does not fit: it must span at least 3 samples and at "
            "most the trace",
            hint=f"use {3 * dt_ms:g} ms <= window_ms <= {n * dt_ms:g} ms",
        )
    floor = _finite(floor, "floor")
    if not 0 < floor < 1:
        raise PromethiumError.invalid(f"floor must be in (0, 1), got {floor}")
    n_win += 1 - n_win % 2  # odd, centred
    out = apply_along_time(amp, _agc_kernel, kwargs={"n_win": n_win,
                                                      "floor": floor})
    return merge(ds, out, mask)


# --------------------------------------------------------------------------------- mute


def _offsets(amp: xr.DataArray, offset_dim: str | None) -> xr.DataArray:
    name = offset_dim or "offset"
    if name not in amp.coords:
        raise PromethiumError.invalid(
            f"no offset coordinate {name!r} for a velocity mute",
            hint="pass offset_dim= naming a trace dim or coordinate holding offsets in m"
            if offset_dim is None else
            f"coordinates of this survey: {sorted(map(str, amp.coords))}",
        )
    off = amp.coords[name]
    if TIME in off.dims or any(d not in amp.dims for d in off.dims):
        raise PromethiumError.invalid(f"coordinate {name!r} is not over the trace dims")
    if off.dtype.kind not in "iuf":
        raise PromethiumError.invalid(f"coordinate {name!r} is not numeric")
    return abs(off.astype(np.float64).fillna(0.0)).reset_coords(drop=True)


def mute(
    ds: Survey,
    time_ms: float | None = None,
    velocity: float | None = None,
    offset_dim: str | None = None,
    taper_ms: float = 20.0,
) -> Survey:
    """Top mute: zero everything before a mute time, with a raised-cosine taper after it.

    The mute time of a trace is ``t_m = time_ms + 1000 * |offset| / velocity`` (a
    linear-moveout mute, e.g. along the first breaks or the direct wave, Yilmaz (2001)
    §1.6), or the constant ``time_ms`` without a velocity. Samples at ``t <= t_m`` become
    0, samples at ``t >= t_m + taper_ms`` are kept, and a raised cosine
    ``0.5 - 0.5 cos(π (t - t_m) / taper_ms)`` joins them. Times are in the frame of the
    ``time`` coordinate (ms, including any recording delay).

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        Survey.
    time_ms : float, optional
        Mute time at zero offset (default 0 when ``velocity`` is given).
    velocity : float, optional
        Mute velocity in m/s (offset units per second), ``> 0``.
    offset_dim : str, optional
        Trace dim or coordinate holding the offsets (default ``"offset"``).
    taper_ms : float, default 20
        Length of the taper, ``>= 0``.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Muted copy, same kind as ``ds``.
    """
    amp, mask = split(ds)
    dt_ms = sample_interval_ms(ds)
    if time_ms is None and velocity is None:
        raise PromethiumError.invalid("give time_ms, velocity or both for a mute")
    t0 = 0.0 if time_ms is None else _finite(time_ms, "time_ms")
    taper = _finite(taper_ms, "taper_ms")
    if taper < 0:
        raise PromethiumError.invalid(f"taper_ms must be >= 0, got {taper_ms}")
    if TIME in amp.coords:
        t = amp[TIME].astype(np.float64).reset_coords(drop=True)
    else:
        t = xr.DataArray(dt_ms * np.arange(amp.sizes[TIME]), dims=(TIME,))
    if velocity is not None:
        v = _finite(velocity, "velocity")
        if v <= 0:
            raise PromethiumError.invalid(f"velocity must be > 0, got {velocity}")
        t_mute = t0 + 1000.0 * _offsets(amp, offset_dim) / v
    else:
        t_mute = xr.DataArray(t0)
    if taper > 0:
        weight = _cos_ramp((t - t_mute) / taper)
    else:
        weight = (t > t_mute).astype(np.float64)
    out = (amp * weight.astype(np.float32)).astype(np.float32)
    out = out.transpose(*amp.dims)
    out = out.assign_coords({c: amp.coords[c] for c in amp.coords if c not in out.coords})
    return merge(ds, out, mask)
