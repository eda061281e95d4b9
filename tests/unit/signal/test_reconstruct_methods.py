"""Reconstruction methods on synthetics whose right answer is known.

The section is band-limited (25 Hz Ricker, 4 ms) and spatially unaliased at full sampling
(steepest dip about 1.1 samples per trace): two linear events and a hyperbola, 48 traces × 128
samples. Thresholds are SNRs on the missing traces, set a little below what was measured
(noted next to each).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.signal.decimate import decimate
from promethium_lab.signal.qc import snr_missing
from promethium_lab.signal.reconstruct import (
    linear,
    mssa,
    nearest,
    pocs,
    pwd,
    reconstruct,
    sinc,
)
from promethium_lab.signal.reconstruct.pwd import estimate_slopes
from promethium_lab.signal.synthetic import synthetic_cube, synthetic_section

EVENTS = (
    {"kind": "linear", "t0_ms": 60.0, "velocity": 3000.0, "amplitude": 1.0},
    {"kind": "linear", "t0_ms": 380.0, "velocity": -6000.0, "amplitude": -0.7},
    {"kind": "hyperbolic", "t0_ms": 200.0, "velocity": 2200.0, "amplitude": 0.8},
)

Method = Callable[[xr.Dataset], xr.Dataset]
METHODS: dict[str, Method] = {
    "pwd": pwd,
    "mssa": lambda d: mssa(d, 4),
    "pocs": pocs,
    "linear": linear,
    "nearest": nearest,
    "sinc": sinc,
}


@pytest.fixture(scope="module")
def section() -> xr.Dataset:
    return synthetic_section(n_traces=48, n_samples=128, dt_ms=4.0, events=EVENTS)


@pytest.fixture(scope="module")
def cube() -> xr.Dataset:
    return synthetic_cube(n_inline=12, n_crossline=16, n_samples=64)


@pytest.fixture(scope="module")
def random50(section: xr.Dataset) -> xr.Dataset:
    return decimate(section, "random", 0.5, seed=1)


@pytest.fixture(scope="module")
def every2(section: xr.Dataset) -> xr.Dataset:
    return decimate(section, "regular", 0.5)


@pytest.fixture(scope="module")
def gap10(section: xr.Dataset) -> xr.Dataset:
    return decimate(section, "gap", 0.5, gap_width=10, seed=1)


#: what every reconstruction records in attrs["reconstruction"]
RECORD_FIELDS = {"method", "params", "seconds", "n_filled"}


def _snr(out: xr.Dataset, truth: xr.Dataset, dec: xr.Dataset) -> float:
    return snr_missing(out, truth, dec["trace_mask"])


# measured: pwd 14.0, mssa 20.1, pocs 17.1, linear 6.7, nearest 3.4, sinc 2.5 dB
RANDOM_MIN_DB = {"pwd": 12.0, "mssa": 17.0, "pocs": 14.5, "linear": 5.5, "nearest": 2.5,
                 "sinc": 1.5}


@pytest.mark.parametrize("name", list(METHODS))
def test_random_50_percent(name: str, section: xr.Dataset, random50: xr.Dataset) -> None:
    out = METHODS[name](random50)
    assert _snr(out, section, random50) > RANDOM_MIN_DB[name]


@pytest.mark.parametrize("name", list(METHODS))
def test_live_traces_untouched_and_record(name: str, random50: xr.Dataset) -> None:
    out = METHODS[name](random50)
    live = random50["trace_mask"].values
    np.testing.assert_array_equal(out["amplitude"].values[live],
                                  random50["amplitude"].values[live])
    assert out["amplitude"].dtype == np.float32
    assert out["amplitude"].dims == random50["amplitude"].dims
    assert out["trace_mask"].values.all()
    np.testing.assert_array_equal(out["input_trace_mask"].values, live)
    rec = out.attrs["reconstruction"]
    assert rec["method"] == name and rec["n_filled"] == (~live).sum()
    assert set(rec) >= RECORD_FIELDS
    assert isinstance(rec["params"], dict)
    # the input is not modified
    assert not random50["trace_mask"].values.all()
    assert "reconstruction" not in random50.attrs


def test_pwd_beats_pocs_on_every_second_trace(section: xr.Dataset, every2: xr.Dataset) -> None:
    # measured: pwd 18.6 dB, pocs 0.0 dB (regular decimation aliases the FK spectrum)
    s_pwd = _snr(pwd(every2), section, every2)
    s_pocs = _snr(pocs(every2), section, every2)
    assert s_pwd > 16.0
    assert s_pwd > s_pocs + 10.0


# measured: pwd 15.8, mssa 10.4, pocs 7.3, linear -1.9 dB
@pytest.mark.parametrize("name,min_db", [("pwd", 13.0), ("mssa", 8.0), ("pocs", 5.5)])
def test_gap_of_10_traces(name: str, min_db: float, section: xr.Dataset, gap10: xr.Dataset
                          ) -> None:
    out = METHODS[name](gap10)
    s = _snr(out, section, gap10)
    assert s > min_db
    assert s > _snr(linear(gap10), section, gap10) + 5.0


# measured on the 12 x 16 x 64 cube, 50 % random: pwd 16.6, mssa 36.8, pocs 35.4,
# linear 12.2, sinc 11.2 dB (three crossing planes: single-slope PWD is weakest here)
CUBE_MIN_DB = {"pwd": 14.0, "mssa": 30.0, "pocs": 30.0, "linear": 10.0, "sinc": 9.0}


@pytest.mark.parametrize("name", list(CUBE_MIN_DB))
def test_cube_random_50_percent(name: str, cube: xr.Dataset) -> None:
    dec = decimate(cube, "random", 0.5, seed=1)
    out = METHODS[name](dec)
    assert out["amplitude"].dims == ("inline", "crossline", "time")
    assert _snr(out, cube, dec) > CUBE_MIN_DB[name]


def test_cube_pwd_every_second_crossline(cube: xr.Dataset) -> None:
    dec = decimate(cube, "regular", 0.5, dim="crossline")
    assert _snr(pwd(dec), cube, dec) > 16.0  # measured 18.6 dB
    assert _snr(pwd(dec), cube, dec) > _snr(pocs(dec), cube, dec) + 5.0


@pytest.mark.parametrize("name", ["pwd", "mssa", "pocs", "linear", "sinc"])
def test_dask_input_gives_the_same_result(name: str, random50: xr.Dataset) -> None:
    eager = METHODS[name](random50)
    lazy_in = random50.chunk({"trace": 16})
    lazy = METHODS[name](lazy_in)
    assert lazy["amplitude"].chunks is not None
    np.testing.assert_array_equal(lazy["amplitude"].values, eager["amplitude"].values)


def test_windowed_runs_match_quality(section: xr.Dataset, random50: xr.Dataset) -> None:
    whole = _snr(pwd(random50, window=48), section, random50)
    windowed = _snr(pwd(random50, window=(24, 96), overlap=(8, 32)), section, random50)
    assert windowed > whole - 4.0
    # a window larger than the data is clipped, not an error
    out = pocs(random50, window=(1000, 1000))
    assert out.attrs["reconstruction"]["params"]["window"] == [48, 128]


def test_complete_mask_returns_the_data(section: xr.Dataset) -> None:
    for fn in METHODS.values():
        out = fn(section)
        np.testing.assert_array_equal(out["amplitude"].values, section["amplitude"].values)
        assert out.attrs["reconstruction"]["n_filled"] == 0


def test_mssa_denoise_and_damping(section: xr.Dataset, random50: xr.Dataset) -> None:
    rng = np.random.default_rng(3)
    noisy = random50.copy()
    noise = rng.normal(0, 0.1, noisy["amplitude"].shape).astype(np.float32)
    noisy["amplitude"] = noisy["amplitude"] + noise * noisy["trace_mask"].values[:, None]
    live = random50["trace_mask"].values
    plain = mssa(noisy, 4)
    den = mssa(noisy, 4, damping=2.0, alpha=(1.0, 0.5), denoise=True)
    truth = section["amplitude"].values
    err_live_plain = np.sum((plain["amplitude"].values[live] - truth[live]) ** 2)
    err_live_den = np.sum((den["amplitude"].values[live] - truth[live]) ** 2)
    assert err_live_den < err_live_plain  # the live traces are denoised
    assert _snr(den, section, random50) > 8.0


def test_mssa_freq_band(section: xr.Dataset, random50: xr.Dataset) -> None:
    full = _snr(mssa(random50, 4), section, random50)
    band = _snr(mssa(random50, 4, freq_band=(5.0, 80.0)), section, random50)
    assert band > full - 2.0


def test_pocs_schedules(section: xr.Dataset, random50: xr.Dataset) -> None:
    lin = _snr(pocs(random50, schedule="linear"), section, random50)
    assert lin > 10.0


def test_slopes_of_a_plane_wave() -> None:
    nt, nx = 96, 12
    t = np.arange(nt, dtype=float)
    wave = [np.exp(-((t - 40 - 1.3 * x) / 3.0) ** 2) * np.cos(0.7 * (t - 40 - 1.3 * x))
            for x in range(nx)]
    d = np.array(wave)
    live = np.ones(nx, dtype=bool)
    s = estimate_slopes(d, live, rect=(4, 8))
    assert abs(float(np.median(s[:, 35:60])) - 1.3) < 0.05
    live[1::2] = False  # every second trace: time-dilated pairs still find 1.3
    s2 = estimate_slopes(np.where(live[:, None], d, 0.0), live, rect=(4, 8))
    assert abs(float(np.median(s2[:, 35:60])) - 1.3) < 0.1


def _raises_param(fn: Callable[..., object], *args: object, **kwargs: object) -> None:
    with pytest.raises(PromethiumError) as info:
        fn(*args, **kwargs)
    assert info.value.code is ErrorCode.INVALID_PARAMETER


@pytest.mark.parametrize("call", [
    lambda d: pocs(d, schedule="cosine"),
    lambda d: pocs(d, p_max=1.5),
    lambda d: pocs(d, p_min=0.0),
    lambda d: pocs(d, p_max=0.1, p_min=0.2),
    lambda d: pocs(d, n_iter=0),
    lambda d: pocs(d, pad=0.5),
    lambda d: pocs(d, window=(1, 64)),
    lambda d: mssa(d, 0),
    lambda d: mssa(d, 2.5),
    lambda d: mssa(d, 3, damping=-1.0),
    lambda d: mssa(d, 3, alpha=0.0),
    lambda d: mssa(d, 3, alpha=(1.0, 1.5)),
    lambda d: mssa(d, 3, freq_band=(50.0, 10.0)),
    lambda d: mssa(d, 3, freq_band="low"),
    lambda d: mssa(d, 3, ramp=2.0),
    lambda d: pwd(d, order=7),
    lambda d: pwd(d, rect=(3,)),
    lambda d: pwd(d, rect=(3, -1)),
    lambda d: pwd(d, n_iter=0),
    lambda d: pwd(d, gmax=0),
    lambda d: pwd(d, window=(24, None), overlap=(24, 0)),
    lambda d: sinc(d, lobes=0),
    lambda d: reconstruct(d, "kriging"),
    lambda d: reconstruct(d, "pwd", smoothing=3),
    lambda d: reconstruct(d, "mssa", rnak=3),
    lambda d: reconstruct(d, "auto", candidates=("pwd", "magic")),
])
def test_parameter_errors(call: Callable[[xr.Dataset], object], random50: xr.Dataset) -> None:
    _raises_param(call, random50)


@pytest.mark.parametrize("name", [*METHODS, "auto"])
def test_all_false_mask_is_an_error(name: str, random50: xr.Dataset) -> None:
    dead = random50.copy()
    dead["trace_mask"] = xr.zeros_like(random50["trace_mask"])
    dead["amplitude"] = xr.zeros_like(random50["amplitude"])
    fn = METHODS.get(name, reconstruct)
    _raises_param(fn, dead)


def test_not_a_survey_is_an_error(random50: xr.Dataset) -> None:
    _raises_param(pwd, random50["amplitude"])
    _raises_param(pocs, random50.drop_vars("trace_mask"))


def test_pocs_window_of_silence_is_left_as_is():
    """A window whose live traces are all zero (above the first arrival) must not fail."""
    from promethium_lab.signal.reconstruct.pocs import pocs_kernel

    block = np.zeros((8, 6, 32))
    live = np.ones((8, 6), dtype=bool)
    live[2, 3] = False
    np.testing.assert_array_equal(pocs_kernel(block, live, n_iter=5), block)
