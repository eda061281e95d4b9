"""Spectra: mean amplitude spectrum, FK spectrum and the S-transform of a trace."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import fft as sfft

from promethium_lab.core.errors import PromethiumError
from promethium_lab.signal._apply import (
    TIME,
    Survey,
    is_dask,
    sample_interval_ms,
    split,
    trace_dims,
)
from promethium_lab.signal.filters import trace_spacing

__all__ = ["amplitude_spectrum", "fk_spectrum", "stransform"]


def _to_db(spec: xr.DataArray) -> xr.DataArray:
    peak = spec.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 20.0 * np.log10(spec / xr.where(peak > 0, peak, 1.0))
    return out.where(np.isfinite(out), -np.inf)


def _amp_kernel(x: np.ndarray) -> np.ndarray:
    n = x.shape[-1]
    spec = np.abs(sfft.rfft(np.asarray(x, dtype=np.float64), axis=-1)) * (2.0 / n)
    spec[..., 0] /= 2.0
    if n % 2 == 0:
        spec[..., -1] /= 2.0
    return spec


def amplitude_spectrum(ds: Survey, db: bool = False) -> xr.DataArray:
    """Mean one-sided amplitude spectrum of the live traces.

    ``A(f) = mean over live traces of (2 / N) |DFT(x)(f)|`` (the DC and Nyquist bins
    scaled by ``1 / N``), so a sinusoid of amplitude ``a`` at a bin frequency reads ``a``
    (the periodogram amplitude; e.g. Yilmaz (2001), *Seismic Data Analysis*, §1.1).
    Absent traces (``trace_mask`` False) are left out of the mean.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        Survey.
    db : bool, default False
        Return ``20 log10(A / max A)`` instead (dB relative to the peak).

    Returns
    -------
    xarray.DataArray
        Over ``frequency`` (Hz), lazy for dask-backed input.
    """
    amp, mask = split(ds)
    dt_ms = sample_interval_ms(ds)
    n = amp.sizes[TIME]
    freqs = sfft.rfftfreq(n, d=dt_ms / 1000.0)
    data = amp.chunk({TIME: -1}) if is_dask(amp) else amp
    spec = xr.apply_ufunc(
        _amp_kernel, data.reset_coords(drop=True),
        input_core_dims=[[TIME]], output_core_dims=[["frequency"]],
        dask="parallelized", output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"frequency": freqs.size}},
    )
    dims = trace_dims(amp)
    if mask is None:
        mean = spec.mean(dims) if dims else spec
        n_live = int(np.prod([amp.sizes[d] for d in dims])) if dims else 1
    else:
        live = mask.reset_coords(drop=True)
        n_live = int(np.asarray(live.sum().values))
        if n_live == 0:
            raise PromethiumError.invalid("the survey has no live traces", hint="check trace_mask")
        mean = spec.where(live, 0.0).sum(dims) / n_live
    mean = mean.assign_coords(frequency=("frequency", freqs, {"units": "Hz",
                                                            "long_name": "Frequency"}))
    if db:
        mean = _to_db(mean)
    mean.name = "amplitude_spectrum"
    mean.attrs = {"long_name": "Amplitude spectrum", "units": "dB" if db else "amplitude",
                  "n_traces": n_live}
    return mean


def _fk_kernel(panel: np.ndarray) -> np.ndarray:
    nt = panel.shape[-1]
    spec = sfft.rfft(np.asarray(panel, dtype=np.float64), axis=-1)
    # kernel exp(+i 2π k x) along traces: events dipping down towards increasing x
    # (t = t0 + p x) map to positive k = p f
    spec = sfft.fftshift(sfft.ifft(spec, axis=-2), axes=-2)
    return np.abs(spec) / nt


def fk_spectrum(
    ds: Survey, dim: str, dx: float | str | None = None, db: bool = False
) -> xr.DataArray:
    """Amplitude of the 2-D Fourier transform over ``(dim, time)``.

    ``|Σ_x Σ_t u(x, t) exp(-i 2π (f t - k x))| / (N_x N_t)`` for ``f >= 0`` (e.g.
    Yilmaz (2001), *Seismic Data Analysis*, §6.2), with the sign convention that an
    event dipping down towards increasing ``dim`` (``t = t0 + p x``) lies at positive
    ``k = p f``. With more than one trace dim the spectra of the ``(dim, time)`` panels
    are averaged over the other trace dims. Absent traces count as zero traces.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        Survey.
    dim : str
        Trace dim along which the wavenumber is taken.
    dx : float or str, optional
        Trace spacing or the coordinate to take it from (see
        :func:`promethium_lab.signal.filters.trace_spacing`); by default the coordinate
        ``dim`` or 1 trace.
    db : bool, default False
        Return dB relative to the peak.

    Returns
    -------
    xarray.DataArray
        Dims ``(wavenumber, frequency)``; ``wavenumber`` in cycles per unit of the spacing
        (1/m, or 1/trace), centred on 0; ``frequency`` in Hz.
    """
    amp, mask = split(ds)
    spacing, unit = trace_spacing(ds, dim, dx)
    dt_ms = sample_interval_ms(ds)
    nx, nt = amp.sizes[dim], amp.sizes[TIME]
    data = amp if mask is None else amp.where(mask, amp.dtype.type(0))
    data = data.reset_coords(drop=True)
    if is_dask(data):
        data = data.chunk({dim: -1, TIME: -1})
    spec = xr.apply_ufunc(
        _fk_kernel, data,
        input_core_dims=[[dim, TIME]], output_core_dims=[["wavenumber", "frequency"]],
        dask="parallelized", output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"wavenumber": nx, "frequency": nt // 2 + 1}},
    )
    others = [d for d in trace_dims(amp) if d != dim]
    if others:
        spec = spec.mean(others)
    k = sfft.fftshift(sfft.fftfreq(nx, d=spacing))
    f = sfft.rfftfreq(nt, d=dt_ms / 1000.0)
    spec = spec.transpose("wavenumber", "frequency").assign_coords(
        wavenumber=("wavenumber", k, {"units": f"1/{unit}" if unit else "1/unit",
                                      "long_name": "Wavenumber"}),
        frequency=("frequency", f, {"units": "Hz", "long_name": "Frequency"}),
    )
    if db:
        spec = _to_db(spec)
    spec.name = "fk_spectrum"
    spec.attrs = {"long_name": f"FK amplitude spectrum along {dim}",
                  "units": "dB" if db else "amplitude", "dim": dim, "dx": spacing}
    return spec


def stransform(
    trace: xr.DataArray | xr.Dataset,
    fmin_hz: float | None = None,
    fmax_hz: float | None = None,
    magnitude: bool = True,
) -> xr.DataArray:
    """S-transform (Stockwell transform) of one trace.

    ``S(τ, f) = ∫ h(t) |f| / sqrt(2π) exp(-(τ - t)² f² / 2) exp(-i 2π f t) dt``
    (Stockwell, Mansinha & Lowe (1996), "Localization of the complex spectrum: the S
    transform", *IEEE Trans. Signal Processing* 44(4)), computed in the frequency domain:
    ``S(τ, n/NT) = IDFT_m[H((m + n)/NT) exp(-2π² m² / n²)]``, and ``S(τ, 0)`` the trace
    mean. A sinusoid ``a cos(2π f0 t)`` gives ``|S(τ, f0)| = a / 2`` at every ``τ``.

    Parameters
    ----------
    trace : xarray.DataArray
        One trace over ``time`` (ms); length-1 other dims are squeezed. A Dataset holding a
        single trace is accepted too.
    fmin_hz, fmax_hz : float, optional
        Frequency range to return (default 0 to Nyquist).
    magnitude : bool, default True
        Return ``|S|`` (float64) rather than complex ``S``.

    Returns
    -------
    xarray.DataArray
        Dims ``(frequency, time)``, ``frequency`` in Hz.
    """
    amp, _ = split(trace)
    squeezed = amp.squeeze()
    if squeezed.dims != (TIME,):
        raise PromethiumError.invalid(
            f"stransform takes one trace; got dims {dict(amp.sizes)}",
            hint="select a trace first, e.g. ds.amplitude.isel(trace=10)",
        )
    dt_ms = sample_interval_ms(trace)
    h = np.asarray(squeezed.values, dtype=np.float64)
    n = h.size
    if n < 4:
        raise PromethiumError.invalid("stransform needs at least 4 samples")
    df = 1000.0 / (n * dt_ms)
    nyq = 500.0 / dt_ms
    lo = 0.0 if fmin_hz is None else float(fmin_hz)
    hi = nyq if fmax_hz is None else float(fmax_hz)
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo <= hi <= nyq):
        raise PromethiumError.invalid(
            f"need 0 <= fmin_hz <= fmax_hz <= Nyquist; got {fmin_hz}, {fmax_hz}",
            hint=f"the Nyquist frequency is {nyq:g} Hz")
    voices = np.arange(int(np.ceil(lo / df - 1e-9)), int(np.floor(hi / df + 1e-9)) + 1)
    voices = voices[voices <= n // 2]
    spec = sfft.fft(h)
    m = np.rint(sfft.fftfreq(n) * n)
    out = np.empty((voices.size, n), dtype=np.complex128)
    for row, v in enumerate(voices):
        if v == 0:
            out[row] = h.mean()
            continue
        gauss = np.exp(-2.0 * np.pi**2 * m**2 / float(v) ** 2)
        out[row] = sfft.ifft(spec[(np.arange(n) + v) % n] * gauss)
    values = np.abs(out) if magnitude else out
    time = squeezed[TIME].values if TIME in squeezed.coords else dt_ms * np.arange(n)
    return xr.DataArray(
        values, dims=("frequency", TIME),
        coords={"frequency": ("frequency", voices * df, {"units": "Hz"}),
                TIME: (TIME, np.asarray(time), {"units": "ms"})},
        name="stransform",
        attrs={"long_name": "S-transform" + (" magnitude" if magnitude else "")},
    )
