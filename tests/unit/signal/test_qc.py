"""QC metrics against analytic values: SNR, SNR on missing traces, PSNR, SSIM, blind estimate."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.signal import blind_estimate, decimate, metrics, psnr, snr, snr_missing, ssim


def raises_invalid():
    return pytest.raises(PromethiumError, match=ErrorCode.INVALID_PARAMETER.value)


def scaled_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """Noise whose energy is exactly ``||x||² / 10^(snr_db / 10)``."""
    noise = np.random.default_rng(seed).normal(size=x.shape)
    target = np.sum(x.astype(np.float64) ** 2) / 10 ** (snr_db / 10)
    return noise * np.sqrt(target / np.sum(noise**2))


# ------------------------------------------------------------------------------------ SNR


def test_snr_of_identical_data_is_infinite_without_warnings(section):
    with np.errstate(all="raise"):
        assert snr(section, section) == math.inf
        assert psnr(section, section) == math.inf
    zero = np.zeros((3, 10))
    assert snr(zero, zero) == math.inf  # exact, even if there is no signal
    assert snr(np.ones((3, 10)), zero) == -math.inf  # error but no signal


@pytest.mark.parametrize("target_db", [-3.0, 0.0, 12.5, 40.0])
def test_snr_of_noisy_data_matches_the_analytic_value(section, target_db):
    x = section["amplitude"].values.astype(np.float64)
    noisy = x + scaled_noise(x, target_db)
    assert snr(noisy, x) == pytest.approx(target_db, abs=1e-9)
    assert snr(noisy, section) == pytest.approx(target_db, abs=1e-5)  # float32 reference


def test_snr_of_white_noise_matches_its_variance():
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 2.0, (200, 500))
    noisy = x + rng.normal(0.0, 0.5, x.shape)
    assert snr(noisy, x) == pytest.approx(10 * np.log10(4.0 / 0.25), abs=0.05)  # 12.04 dB


def test_snr_transposes_xarray_inputs_and_checks_shapes(section):
    est = section["amplitude"].transpose("time", "trace")
    assert snr(est, section) == math.inf
    with raises_invalid():
        snr(section["amplitude"].isel(trace=slice(0, 10)), section)


def test_snr_ignores_absent_reference_traces(holey_section):
    est = holey_section["amplitude"].copy()
    est[[5, 6, 40]] = 99.0  # filled where the truth is unknown: not scored
    assert snr(est, holey_section) == math.inf
    assert snr(est, holey_section["amplitude"]) < 0  # a bare array has no mask: scored


def test_snr_missing_scores_only_the_missing_traces(section):
    dec = decimate(section, "random", 0.25, seed=0)
    x = section["amplitude"].values.astype(np.float64)
    missing = ~dec["trace_mask"].values
    est = x.copy()
    est[~missing] = 0.0  # wrong on the live traces, exact on the missing ones
    assert snr_missing(est, section, dec["trace_mask"]) == math.inf
    assert snr_missing(est, section, dec) == math.inf  # the decimated survey works too
    est = x.copy()
    est[missing] += scaled_noise(x[missing], 6.0)
    assert snr_missing(est, section, dec["trace_mask"].values) == pytest.approx(6.0, abs=1e-4)
    assert snr(est, section) > 6.0 + 5.0  # the whole-section SNR is inflated by live traces


def test_snr_missing_without_missing_traces(section):
    with raises_invalid():
        snr_missing(section, section, section["trace_mask"])


# ----------------------------------------------------------------------------------- PSNR


def test_psnr_matches_the_analytic_value():
    ref = np.linspace(-1.0, 3.0, 400).reshape(20, 20)  # data range 4
    est = ref + 0.1 * np.where(np.arange(400).reshape(20, 20) % 2, 1.0, -1.0)  # MSE 0.01
    assert psnr(est, ref) == pytest.approx(10 * np.log10(16.0 / 0.01))
    assert psnr(est, ref, data_range=2.0) == pytest.approx(10 * np.log10(4.0 / 0.01))
    with raises_invalid():
        psnr(est, ref, data_range=0.0)


# ----------------------------------------------------------------------------------- SSIM


def test_ssim_of_identical_data_is_one(section, cube):
    assert ssim(section, section) == 1.0
    assert ssim(cube, cube) == 1.0


def test_ssim_matches_the_published_definition():
    # value of skimage.metrics.structural_similarity(y, x, data_range=..., sigma=1.5,
    # gaussian_weights=True, use_sample_covariance=False), scikit-image 0.26.0
    i = np.arange(40)[:, None]
    j = np.arange(60)[None, :]
    x = np.sin(0.3 * i) * np.cos(0.2 * j)
    y = x + 0.3 * np.cos(0.7 * i + 1.1 * j)
    assert ssim(y, x) == pytest.approx(0.660304384259657, abs=1e-12)
    assert ssim(x, y, data_range=x.max() - x.min()) == pytest.approx(ssim(y, x), abs=1e-12)


def test_ssim_falls_with_noise_and_is_negative_for_a_flipped_sign(section):
    x = section["amplitude"].values.astype(np.float64)
    values = [ssim(x + scaled_noise(x, db), x) for db in (20.0, 10.0, 0.0)]
    assert 1.0 > values[0] > values[1] > values[2] > 0.0
    # a pattern with zero local means: SSIM reduces to the (negative) correlation term
    dense = np.sin(1.3 * np.arange(40))[:, None] * np.cos(1.7 * np.arange(60))[None, :]
    assert ssim(-dense, dense) == pytest.approx(-0.9120312422901524, abs=1e-12)  # skimage


def test_ssim_of_a_cube_is_the_mean_over_inline_slices(cube):
    x = cube["amplitude"].values.astype(np.float64)
    noisy = x + scaled_noise(x, 5.0)
    span = x.max() - x.min()
    per_slice = [ssim(noisy[k], x[k], data_range=span) for k in range(x.shape[0])]
    assert ssim(noisy, x) == pytest.approx(np.mean(per_slice), abs=1e-12)


def test_ssim_dask_backed_equals_numpy(cube):
    noisy = cube.copy()
    x = cube["amplitude"].values
    noisy["amplitude"] = (cube["amplitude"].dims, (x + scaled_noise(x, 3.0)).astype(np.float32))
    eager = ssim(noisy, cube)
    lazy = ssim(noisy.chunk({"inline": 4, "crossline": 7, "time": 40}),
                cube.chunk({"inline": 8, "crossline": 12, "time": 64}))
    assert lazy == pytest.approx(eager, abs=1e-12)


def test_ssim_needs_sections_larger_than_the_window():
    with raises_invalid():
        ssim(np.ones(50), np.ones(50))
    with raises_invalid():
        ssim(np.ones((8, 50)), np.ones((8, 50)))  # 11-sample window


# ---------------------------------------------------------------------- blind / metrics


def test_blind_estimate_scores_the_hidden_traces(section):
    n_live = int(section["trace_mask"].sum())
    seen: list[xr.Dataset] = []

    def oracle(ds: xr.Dataset) -> xr.Dataset:
        seen.append(ds)
        return section

    out = blind_estimate(section, oracle, fraction=0.1, seed=4)
    assert out["snr_db"] == math.inf and out["psnr_db"] == math.inf
    assert out["n_hidden"] == round(0.1 * n_live) == 6
    assert (~seen[0]["trace_mask"].values).sum() == 6  # the method saw them hidden
    assert {"fraction", "seed", "pattern"} <= out.keys()

    def leave_empty(ds: xr.Dataset) -> xr.Dataset:  # zeros on the hidden traces: 0 dB
        return ds

    assert blind_estimate(section, leave_empty, fraction=0.1)["snr_db"] == pytest.approx(0.0)

    def neighbour_mean(ds: xr.Dataset) -> xr.DataArray:
        amp = ds["amplitude"].copy()
        live = ds["trace_mask"].values
        for i in np.flatnonzero(~live):
            nb = [j for j in (i - 1, i + 1) if 0 <= j < live.size and live[j]]
            amp[i] = amp[nb].mean("trace") if nb else 0.0
        return amp

    score = blind_estimate(section, neighbour_mean, fraction=0.1)["snr_db"]
    assert 0.0 < score < 40.0


def test_blind_estimate_bad_inputs(section):
    with raises_invalid():
        blind_estimate(section, lambda ds: ds, fraction=1.5)
    with raises_invalid():
        blind_estimate(section, lambda ds: ds["amplitude"].values)
    with raises_invalid():
        blind_estimate(section, "not callable")  # type: ignore[arg-type]


def test_metrics_reports_what_applies(section):
    dec = decimate(section, "regular", 0.5)
    x = section["amplitude"].values.astype(np.float64)
    est = dec.copy()
    est["amplitude"] = (dec["amplitude"].dims, (x + scaled_noise(x, 20.0)).astype(np.float32))
    alone = metrics(est)
    assert set(alone) == {"rms"} and alone["rms"] > 0
    full = metrics(est, section, original_mask=dec["trace_mask"])
    assert set(full) == {"rms", "snr_db", "psnr_db", "ssim", "snr_missing_db", "n_missing"}
    assert full["snr_db"] == pytest.approx(20.0, abs=0.01)
    assert full["n_missing"] == 32
    assert 0.0 < full["ssim"] < 1.0
    json.dumps(full)
    perfect = metrics(section, section)
    assert perfect["snr_db"] == math.inf and perfect["ssim"] == 1.0
    assert "snr_missing_db" not in perfect
    tiny = metrics(np.ones((4, 6)), np.ones((4, 6)))  # too small for SSIM: left out
    assert "ssim" not in tiny and tiny["snr_db"] == math.inf
