"""Signal processing of surveys: filters, gain, spectra, deconvolution, decimation, QC metrics.

Every function takes a survey ``xarray.Dataset`` (``amplitude`` + ``trace_mask``, see
``docs/data-model.md``) or its amplitude DataArray and returns xarray: numpy inside for
in-memory data, lazily chunk by chunk for dask-backed (Zarr) data. This layer imports only
numpy, scipy, xarray and dask.

Synthetic surveys with known answers live in :mod:`promethium_lab.signal.synthetic`.
"""

from __future__ import annotations

from promethium_lab.signal import synthetic
from promethium_lab.signal.decimate import decimate
from promethium_lab.signal.decon import deconvolve
from promethium_lab.signal.filters import agc, bandpass, fk_filter, mute
from promethium_lab.signal.gain import apply_gain, gain_curve, remove_gain
from promethium_lab.signal.qc import blind_estimate, metrics, psnr, snr, snr_missing, ssim
from promethium_lab.signal.spectra import amplitude_spectrum, fk_spectrum, stransform

__all__ = [
    "agc",
    "amplitude_spectrum",
    "apply_gain",
    "bandpass",
    "blind_estimate",
    "decimate",
    "deconvolve",
    "fk_filter",
    "fk_spectrum",
    "gain_curve",
    "metrics",
    "mute",
    "psnr",
    "remove_gain",
    "snr",
    "snr_missing",
    "ssim",
    "stransform",
    "synthetic",
]
