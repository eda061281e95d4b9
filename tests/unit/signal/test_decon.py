"""Wiener deconvolution on convolutional-model traces whose reflectivity is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as ssig

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.signal import deconvolve
from promethium_lab.signal.decon import prediction_error_filter
from promethium_lab.signal.synthetic import make_survey

DT = 2.0
NT = 1500


def raises_invalid():
    return pytest.raises(PromethiumError, match=ErrorCode.INVALID_PARAMETER.value)


def min_phase_wavelet() -> np.ndarray:
    """Impulse response of two resonances (poles inside the unit circle): minimum phase,
    30 and 50 Hz, about 40 ms long, first sample 1."""
    a1 = [1.0, -2 * 0.8 * np.cos(2 * np.pi * 30.0 * DT / 1000.0), 0.64]
    a2 = [1.0, -2 * 0.7 * np.cos(2 * np.pi * 50.0 * DT / 1000.0), 0.49]
    return ssig.lfilter([1.0], np.convolve(a1, a2), np.r_[1.0, np.zeros(60)])


def sparse_reflectivity(n_traces: int = 8, n_spikes: int = 30, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    refl = np.zeros((n_traces, NT))
    for row in refl:
        idx = rng.choice(np.arange(20, NT - 50), n_spikes, replace=False)
        row[idx] = rng.normal(0.0, 1.0, n_spikes)
    return refl


def convolve(refl: np.ndarray, wavelet: np.ndarray) -> np.ndarray:
    return np.array([np.convolve(r, wavelet)[: refl.shape[-1]] for r in refl])


def mean_corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)]))


def test_spiking_decon_recovers_the_reflectivity():
    refl = sparse_reflectivity()
    data = convolve(refl, min_phase_wavelet())
    ds = make_survey(data, DT)
    out = deconvolve(ds, "spiking", operator_ms=40.0)["amplitude"].values
    assert mean_corr(data, refl) < 0.3  # the wavelet smears the spikes
    assert mean_corr(out, refl) > 0.85  # decon sharpens them back
    # more prewhitening is more conservative: less whitening, lower correlation
    damped = deconvolve(ds, "spiking", operator_ms=40.0, prewhitening=0.1)["amplitude"].values
    assert mean_corr(damped, refl) < mean_corr(out, refl)


def test_predictive_decon_attenuates_a_periodic_multiple():
    primaries = convolve(sparse_reflectivity(), min_phase_wavelet())
    period, coeff = 40, 0.6  # water-layer reverberation: 80 ms, bottom reflectivity 0.6
    with_multiples = ssig.lfilter([1.0], np.r_[1.0, np.zeros(period - 1), coeff], primaries,
                                  axis=-1)
    multiples = with_multiples - primaries
    ds = make_survey(with_multiples, DT)
    out = deconvolve(ds, "predictive", operator_ms=40.0, gap_ms=period * DT)
    residual = out["amplitude"].values - primaries
    ratio = np.sum(residual**2) / np.sum(multiples**2)
    assert ratio < 0.2  # > 7 dB of multiple energy removed
    assert mean_corr(out["amplitude"].values, primaries) > 0.97  # primaries kept


def test_prediction_error_filter_of_a_pure_reverberation_is_exact():
    # x = e / (1 + 0.5 z^-10): the PEF with gap 10 is [1, 0 × 9, 0.5]
    rng = np.random.default_rng(0)
    e = rng.normal(size=20000)
    x = ssig.lfilter([1.0], np.r_[1.0, np.zeros(9), 0.5], e)
    r = np.array([x[: x.size - k] @ x[k:] for k in range(20)])
    pef = prediction_error_filter(r, n_op=3, gap=10, prewhitening=0.0)
    np.testing.assert_allclose(pef, np.r_[1.0, np.zeros(9), 0.5, 0.0, 0.0], atol=0.03)


def test_absent_traces_stay_zero_and_nothing_is_nan():
    data = convolve(sparse_reflectivity(4), min_phase_wavelet())
    mask = np.array([True, False, True, True])
    ds = make_survey(data, DT, mask=mask)
    out = deconvolve(ds, "spiking", operator_ms=40.0)
    assert not out["amplitude"].values[1].any()
    assert np.isfinite(out["amplitude"].values).all()
    assert out.attrs == ds.attrs and out["amplitude"].dtype == np.float32


@pytest.mark.parametrize("kwargs", [
    {"kind": "spiking", "operator_ms": 40.0},
    {"kind": "predictive", "operator_ms": 40.0, "gap_ms": 80.0},
])
def test_dask_backed_input_gives_the_numpy_result(kwargs):
    data = convolve(sparse_reflectivity(6), min_phase_wavelet())
    ds = make_survey(data, DT, mask=np.array([True, True, False, True, True, True]))
    eager = deconvolve(ds, **kwargs)
    lazy = deconvolve(ds.chunk({"trace": 2, "time": 500}), **kwargs)
    assert lazy["amplitude"].chunks is not None
    np.testing.assert_allclose(lazy["amplitude"].values, eager["amplitude"].values,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [
    {"kind": "minimum"},
    {"operator_ms": 2.0},  # one sample
    {"operator_ms": -40.0},
    {"operator_ms": 5000.0},  # longer than the 3 s trace
    {"kind": "predictive", "operator_ms": 40.0},  # no gap
    {"kind": "predictive", "operator_ms": 40.0, "gap_ms": 0.5},
    {"kind": "predictive", "operator_ms": 2000.0, "gap_ms": 1000.0},
    {"kind": "spiking", "operator_ms": 40.0, "gap_ms": 80.0},
    {"operator_ms": 40.0, "prewhitening": -0.01},
])
def test_impossible_parameters(kwargs):
    ds = make_survey(convolve(sparse_reflectivity(2), min_phase_wavelet()), DT)
    with raises_invalid():
        deconvolve(ds, **kwargs)
