"""Wiener (least-squares) deconvolution: spiking and predictive, trace by trace."""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import fft as sfft
from scipy import linalg

from promethium_lab.core.errors import PromethiumError
from promethium_lab.signal._apply import (
    TIME,
    Survey,
    apply_along_time,
    merge,
    sample_interval_ms,
    split,
)

__all__ = ["deconvolve", "prediction_error_filter"]


def prediction_error_filter(
    autocorr: np.ndarray, n_op: int, gap: int, prewhitening: float = 0.001
) -> np.ndarray:
    """Prediction-error filter ``[1, 0 × (gap - 1), -a_0, ..., -a_{n_op - 1}]``.

    ``a`` solves the Wiener–Levinson normal equations ``R a = r[gap : gap + n_op]`` with
    ``R`` the symmetric Toeplitz matrix of ``r[0 : n_op]`` and ``r[0]`` raised by the
    prewhitening fraction (Peacock & Treitel (1969), "Predictive deconvolution: theory and
    practice", *Geophysics* 34(2); Levinson recursion via ``scipy.linalg.solve_toeplitz``).

    Parameters
    ----------
    autocorr : ndarray
        Autocorrelation of the trace, lags ``0 ..`` at least ``gap + n_op - 1``.
    n_op : int
        Number of prediction coefficients.
    gap : int
        Prediction distance in samples (1 = spiking deconvolution).
    prewhitening : float, default 0.001
        White noise added to the zero lag, as a fraction of it.

    Returns
    -------
    ndarray
        The filter, length ``gap + n_op``; ``[1, 0, ...]`` (no-op) for a zero trace.
    """
    pef = np.zeros(gap + n_op)
    pef[0] = 1.0
    r = np.asarray(autocorr, dtype=np.float64)
    if not r[0] > 0:
        return pef
    col = r[:n_op].copy()
    col[0] *= 1.0 + prewhitening
    try:
        a = linalg.solve_toeplitz(col, r[gap:gap + n_op])
    except (linalg.LinAlgError, ValueError):
        return pef
    if not np.all(np.isfinite(a)):
        return pef
    pef[gap:] = -a
    return pef


def _decon_kernel(x: np.ndarray, n_op: int, gap: int, prewhitening: float) -> np.ndarray:
    shape = x.shape
    nt = shape[-1]
    traces = np.asarray(x, dtype=np.float64).reshape(-1, nt)
    nfft = sfft.next_fast_len(2 * nt + gap + n_op)
    spec = sfft.rfft(traces, n=nfft, axis=-1)
    autocorr = sfft.irfft(spec * spec.conj(), n=nfft, axis=-1)[:, : gap + n_op]
    filters = np.zeros((traces.shape[0], gap + n_op))
    for i in range(traces.shape[0]):
        filters[i] = prediction_error_filter(autocorr[i], n_op, gap, prewhitening)
    out = sfft.irfft(spec * sfft.rfft(filters, n=nfft, axis=-1), n=nfft, axis=-1)[:, :nt]
    return out.reshape(shape).astype(np.float32)


def deconvolve(
    ds: Survey,
    kind: Literal["spiking", "predictive"] = "spiking",
    operator_ms: float = 100.0,
    gap_ms: float | None = None,
    prewhitening: float = 0.001,
) -> Survey:
    """Wiener deconvolution, spiking or predictive, designed and applied per trace.

    *Spiking* (Robinson & Treitel (1967), "Principles of digital Wiener filtering",
    *Geophysical Prospecting* 15; Yilmaz (2001) §2.3): the least-squares inverse of a
    minimum-phase wavelet, from the trace autocorrelation ``r`` — ``R f = δ`` with ``R``
    Toeplitz of ``r[0 : n]``. It is computed in its equivalent prediction-error form
    (unit prediction distance), scaled so the filter's leading coefficient is 1, which
    keeps amplitudes in the units of the input.

    *Predictive* (Peacock & Treitel (1969), *Geophysics* 34(2)): predict the trace
    ``gap`` ahead from the ``operator`` past samples, ``R a = r[α : α + n]``, and keep
    the prediction error ``x(t) - Σ a_k x(t - α - k)``; with ``α`` the period of a
    reverberation this attenuates the periodic multiples and leaves the wavelet shape
    (the first ``α`` lags) alone.

    Normal equations are solved by Levinson recursion (``scipy.linalg.solve_toeplitz``),
    the design window is the whole trace, and zero (absent) traces stay 0.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        Survey.
    kind : {"spiking", "predictive"}, default "spiking"
    operator_ms : float, default 100
        Operator length (ms): at least 2 samples.
    gap_ms : float, optional
        Prediction distance (ms) of predictive decon, at least one sample; not used by
        spiking decon (whose distance is one sample).
    prewhitening : float, default 0.001
        White noise added to the autocorrelation's zero lag, as a fraction (0.001 = 0.1 %).

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Deconvolved copy, same kind as ``ds``.
    """
    amp, mask = split(ds)
    dt_ms = sample_interval_ms(ds)
    nt = amp.sizes[TIME]
    if kind not in ("spiking", "predictive"):
        raise PromethiumError.invalid(f"kind must be 'spiking' or 'predictive', got {kind!r}")
    try:
        op = float(operator_ms)
        pw = float(prewhitening)
    except (TypeError, ValueError) as exc:
        raise PromethiumError.invalid("operator_ms and prewhitening must be numbers") from exc
    if not np.isfinite(pw) or pw < 0:
        raise PromethiumError.invalid(f"prewhitening must be >= 0, got {prewhitening}",
                                      hint="typical values are 0.001 to 0.01")
    n_op = round(op / dt_ms) if np.isfinite(op) else 0
    if n_op < 2:
        raise PromethiumError.invalid(f"operator_ms={operator_ms} is shorter than 2 samples",
                                      hint=f"use operator_ms >= {2 * dt_ms:g} (dt = {dt_ms:g} ms)")
    if kind == "spiking":
        if gap_ms is not None and abs(float(gap_ms) - dt_ms) > 1e-9 * dt_ms:
            raise PromethiumError.invalid("gap_ms applies to predictive deconvolution only",
                                          hint="use kind='predictive' or leave gap_ms out")
        gap, n_pred = 1, n_op - 1
    else:
        if gap_ms is None:
            raise PromethiumError.invalid(
                "predictive deconvolution needs gap_ms (the prediction distance)",
                hint="e.g. the period of the reverberation to remove")
        g = float(gap_ms)
        gap = round(g / dt_ms) if np.isfinite(g) else 0
        if gap < 1:
            raise PromethiumError.invalid(
                f"gap_ms={gap_ms} is shorter than one sample ({dt_ms:g} ms)")
        n_pred = n_op
    if gap + n_pred >= nt:
        raise PromethiumError.invalid(
            f"gap + operator ({(gap + n_pred) * dt_ms:g} ms) is not shorter than the trace "
            f"({nt * dt_ms:g} ms)", hint="shorten operator_ms or gap_ms")
    out = apply_along_time(amp, _decon_kernel,
                           kwargs={"n_op": n_pred, "gap": gap, "prewhitening": pw})
    return merge(ds, out, mask)
