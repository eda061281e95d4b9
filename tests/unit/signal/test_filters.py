"""Filters on data whose right answer is known: band-pass, FK fan filter, AGC, mute."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.signal import agc, amplitude_spectrum, bandpass, fk_filter, mute
from promethium_lab.signal.filters import trace_spacing
from promethium_lab.signal.synthetic import make_survey, synthetic_cube, synthetic_section


def raises_invalid():
    return pytest.raises(PromethiumError, match=ErrorCode.INVALID_PARAMETER.value)


def at(spec: xr.DataArray, freq: float) -> float:
    return float(spec.sel(frequency=freq, method="nearest"))


# ----------------------------------------------------------------------------- band-pass


def test_bandpass_keeps_inside_and_removes_outside(sinusoids):
    ds = sinusoids({10.0: 1.0, 60.0: 1.0, 200.0: 0.5})
    out = bandpass(ds, 30.0, 90.0)
    spec = amplitude_spectrum(out)
    assert at(amplitude_spectrum(ds), 60.0) == pytest.approx(1.0, abs=1e-3)
    assert at(spec, 60.0) == pytest.approx(1.0, abs=0.02)  # pass band: amplitude kept
    assert at(spec, 10.0) < 0.01  # below the band: gone
    assert at(spec, 200.0) < 0.01  # above the band: gone
    # zero phase: the kept sinusoid is not shifted (interior samples, away from edges)
    kept = np.sin(2 * np.pi * 60.0 * ds["time"].values / 1000.0)
    inner = slice(200, 800)
    np.testing.assert_allclose(out["amplitude"].values[0, inner], kept[inner], atol=0.02)


def test_bandpass_keeps_survey_shape_attrs_and_absent_traces(holey_section):
    out = bandpass(holey_section, 5.0, 60.0)
    assert isinstance(out, xr.Dataset)
    assert out.attrs == holey_section.attrs
    assert out["amplitude"].dtype == np.float32
    assert out["amplitude"].dims == holey_section["amplitude"].dims
    np.testing.assert_array_equal(out["trace_mask"], holey_section["trace_mask"])
    assert not out["amplitude"].values[[5, 6, 40]].any()
    assert np.abs(out["amplitude"].values[10]).max() > 0.1


def test_bandpass_dataarray_in_dataarray_out(sinusoids):
    da = sinusoids({60.0: 1.0})["amplitude"]
    out = bandpass(da, 30.0, 90.0)
    assert isinstance(out, xr.DataArray)
    assert out.name == da.name and out.dims == da.dims


@pytest.mark.parametrize("low, high", [(0.0, 50.0), (-5.0, 50.0), (60.0, 30.0), (40.0, 40.0),
                                       (30.0, 250.0), (30.0, 400.0), (np.nan, 50.0)])
def test_bandpass_impossible_corners(sinusoids, low, high):
    ds = sinusoids({10.0: 1.0})  # dt 2 ms: Nyquist 250 Hz
    with raises_invalid() as excinfo:
        bandpass(ds, low, high)
    if np.isfinite(low):
        assert "250" in excinfo.value.hint


@pytest.mark.parametrize("order", [0, -1, 2.5])
def test_bandpass_bad_order(sinusoids, order):
    with raises_invalid():
        bandpass(sinusoids({10.0: 1.0}), 5.0, 50.0, order=order)


# ----------------------------------------------------------------------------- FK filter

FLAT = {"kind": "linear", "t0_ms": 500.0, "velocity": np.inf, "amplitude": 1.0}
DIPPING = {"kind": "linear", "t0_ms": 100.0, "velocity": 1500.0, "amplitude": 1.0}
INNER = slice(8, 56)  # traces away from the edges of the 64-trace panel


def energy(x) -> float:
    return float(np.sum(np.asarray(x, dtype=np.float64) ** 2))


def test_fk_filter_removes_dipping_event_keeps_flat_one():
    both = synthetic_section(64, 256, 4.0, events=[FLAT, DIPPING])
    flat = synthetic_section(64, 256, 4.0, events=[FLAT])["amplitude"].values
    dip = synthetic_section(64, 256, 4.0, events=[DIPPING])["amplitude"].values
    # the dipping event moves 1000/1500 ms per m: |v| = 1500 m/s; the flat one |v| = inf
    out = fk_filter(both, "trace", velocity_min=3000.0, dx="offset")["amplitude"].values
    residual = out[INNER] - flat[INNER]
    assert energy(residual) < 0.01 * energy(dip[INNER])  # dip attenuated by > 20 dB
    assert np.corrcoef(out[INNER].ravel(), flat[INNER].ravel())[0, 1] > 0.99
    # the same fan rejected instead of passed keeps the dip and removes the flat event
    rej = fk_filter(both, "trace", velocity_min=3000.0, mode="reject", dx="offset")
    assert energy(rej["amplitude"].values[INNER] - dip[INNER]) < 0.01 * energy(flat[INNER])


def test_fk_filter_pass_band_between_velocities():
    slow = {"kind": "linear", "t0_ms": 100.0, "velocity": 800.0}
    mid = {"kind": "linear", "t0_ms": 400.0, "velocity": 2000.0}
    # 5 m traces: the 800 m/s event is not spatially aliased below 80 Hz
    ds = synthetic_section(64, 256, 4.0, events=[slow, mid, FLAT], dx=5.0)
    want = synthetic_section(64, 256, 4.0, events=[mid], dx=5.0)["amplitude"].values
    out = fk_filter(ds, "trace", velocity_min=1400.0, velocity_max=3000.0, dx=5.0)
    got = out["amplitude"].values
    assert energy(got[INNER] - want[INNER]) < 0.03 * energy(want[INNER])


def test_fk_filter_spacing_from_coordinate_or_number_agree(section):
    a = fk_filter(section, "trace", velocity_min=3000.0, dx="offset")
    b = fk_filter(section, "trace", velocity_min=3000.0, dx=12.5)
    np.testing.assert_allclose(a["amplitude"], b["amplitude"], atol=1e-6)
    # in traces: 3000 m/s at 12.5 m per trace is 240 traces/s
    c = fk_filter(section, "trace", velocity_min=240.0)
    np.testing.assert_allclose(a["amplitude"], c["amplitude"], atol=1e-6)
    assert trace_spacing(section, "trace") == (1.0, "trace")
    assert trace_spacing(section, "trace", "offset") == (12.5, "m")


def test_fk_filter_on_cube_filters_each_inline():
    flat = {"t0_ms": 150.0, "amplitude": 1.0}
    dip = {"t0_ms": 60.0, "dip_crossline_ms": 8.0, "amplitude": 1.0}
    cube = synthetic_cube(6, 40, 128, 4.0, events=[flat, dip])
    want = synthetic_cube(6, 40, 128, 4.0, events=[flat])["amplitude"].values
    dip_only = synthetic_cube(6, 40, 128, 4.0, events=[dip])["amplitude"].values
    # 8 ms per crossline: 125 crosslines/s
    out = fk_filter(cube, "crossline", velocity_min=400.0)["amplitude"].values
    inner = (slice(None), slice(6, 34))
    assert energy(out[inner] - want[inner]) < 0.02 * energy(dip_only[inner])


def test_fk_filter_absent_traces_stay_zero(holey_section):
    out = fk_filter(holey_section, "trace", velocity_min=3000.0, dx="offset")
    assert not out["amplitude"].values[[5, 6, 40]].any()
    np.testing.assert_array_equal(out["trace_mask"], holey_section["trace_mask"])


@pytest.mark.parametrize("kwargs", [
    {},
    {"velocity_min": 0.0},
    {"velocity_min": -100.0},
    {"velocity_min": 3000.0, "velocity_max": 2000.0},
    {"velocity_min": 3000.0, "mode": "keep"},
    {"velocity_min": 3000.0, "taper": 1.0},
    {"velocity_min": 3000.0, "taper": -0.1},
    {"velocity_min": 3000.0, "dx": 0.0},
    {"velocity_min": 3000.0, "dx": "no_such_coord"},
])
def test_fk_filter_impossible_parameters(section, kwargs):
    with raises_invalid():
        fk_filter(section, "trace", **kwargs)


def test_fk_filter_unknown_dim_and_irregular_coordinate(section):
    with raises_invalid():
        fk_filter(section, "time", velocity_min=3000.0)
    with raises_invalid():
        fk_filter(section, "inline", velocity_min=3000.0)
    irregular = section.assign_coords(offset=("trace", np.r_[0.0, np.cumsum(
        np.linspace(10.0, 20.0, section.sizes["trace"] - 1))]))
    with raises_invalid():
        fk_filter(irregular, "trace", velocity_min=3000.0, dx="offset")


# ----------------------------------------------------------------------------------- AGC


def windowed_rms(x: np.ndarray, n: int) -> np.ndarray:
    return np.array([np.sqrt(np.mean(x[i:i + n] ** 2)) for i in range(0, x.size - n + 1, n)])


def test_agc_flattens_a_decaying_envelope():
    dt = 2.0
    t = np.arange(1000) * dt / 1000.0
    trace = np.sin(2 * np.pi * 30.0 * t) * np.exp(-t / 0.25)  # envelope falls 55 dB
    ds = make_survey(trace[None, :], dt)
    before = windowed_rms(trace[100:900], 100)
    out = agc(ds, window_ms=200.0)["amplitude"].values[0].astype(np.float64)
    after = windowed_rms(out[100:900], 100)
    assert before.max() / before.min() > 100.0
    assert after.max() / after.min() < 1.2
    assert after.mean() == pytest.approx(1.0, rel=0.1)  # unit RMS


def test_agc_absent_traces_do_not_contaminate_live_ones(holey_section):
    out = agc(holey_section, window_ms=120.0)["amplitude"].values
    assert not out[[5, 6, 40]].any()
    for i in (4, 7, 39, 41):  # neighbours of the absent traces: gained on their own
        alone = agc(holey_section.isel(trace=[i]), window_ms=120.0)["amplitude"].values[0]
        np.testing.assert_allclose(out[i], alone, rtol=1e-5, atol=1e-6)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("window_ms", [0.0, -10.0, 4.0, 8.0, 2000.0, np.inf])
def test_agc_impossible_windows(section, window_ms):
    with raises_invalid():  # 4 ms samples, 1024 ms traces
        agc(section, window_ms=window_ms)


# ---------------------------------------------------------------------------------- mute


def test_mute_constant_time_with_taper():
    ds = make_survey(np.ones((3, 200)), 4.0)
    out = mute(ds, time_ms=100.0, taper_ms=40.0)["amplitude"].values
    t = ds["time"].values
    assert not out[:, t <= 100.0].any()
    np.testing.assert_array_equal(out[:, t >= 140.0], 1.0)
    ramp = out[0, (t > 100.0) & (t < 140.0)]
    assert np.all(np.diff(ramp) > 0) and 0 < ramp.min() and ramp.max() < 1
    np.testing.assert_allclose(out[0, t == 120.0], 0.5, atol=1e-6)  # half-way


def test_mute_linear_moveout_from_offsets(section):
    out = mute(section, time_ms=20.0, velocity=2000.0, offset_dim="offset",
               taper_ms=0.0)["amplitude"].values
    t = section["time"].values
    for i, off in enumerate(section["offset"].values):
        t_mute = 20.0 + 1000.0 * off / 2000.0
        assert not out[i, t <= t_mute].any()
        np.testing.assert_array_equal(out[i, t > t_mute],
                                      section["amplitude"].values[i, t > t_mute])


def test_mute_offset_dim_can_be_a_trace_dim():
    ds = make_survey(np.ones((2, 5, 150)), 4.0, dims=("cdp", "offset", "time"),
                     coords={"offset": ("offset", np.arange(5) * 100.0)})
    out = mute(ds, velocity=1000.0, taper_ms=0.0)["amplitude"].values  # default "offset"
    first_live = (out[0] > 0).argmax(axis=-1) * 4.0
    np.testing.assert_array_equal(first_live, [4.0, 104.0, 204.0, 304.0, 404.0])


@pytest.mark.parametrize("kwargs", [
    {},
    {"velocity": 0.0, "offset_dim": "offset"},
    {"velocity": -1500.0, "offset_dim": "offset"},
    {"time_ms": 100.0, "taper_ms": -5.0},
    {"velocity": 1500.0},  # section has no 'offset' dim: its offsets are a coordinate
    {"velocity": 1500.0, "offset_dim": "nope"},
])
def test_mute_impossible_parameters(section, kwargs):
    if kwargs == {"velocity": 1500.0}:
        section = section.drop_vars("offset")
    with raises_invalid():
        mute(section, **kwargs)


# -------------------------------------------------------------------- dask == numpy


@pytest.mark.parametrize("func, kwargs", [
    (bandpass, {"low_hz": 8.0, "high_hz": 60.0}),
    (fk_filter, {"dim": "trace", "velocity_min": 2500.0, "dx": "offset"}),
    (agc, {"window_ms": 100.0}),
    (mute, {"time_ms": 50.0, "velocity": 2000.0, "offset_dim": "offset"}),
])
def test_dask_backed_input_gives_the_numpy_result(holey_section, func, kwargs):
    eager = func(holey_section, **kwargs)
    lazy = func(holey_section.chunk({"trace": 16, "time": 64}), **kwargs)
    assert lazy["amplitude"].chunks is not None  # still lazy
    np.testing.assert_allclose(lazy["amplitude"].values, eager["amplitude"].values,
                               rtol=1e-5, atol=1e-6)
    assert lazy["amplitude"].dtype == np.float32


def test_dask_backed_cube_fk_filter(cube):
    eager = fk_filter(cube, "crossline", velocity_min=200.0)
    lazy = fk_filter(cube.chunk({"inline": 4, "crossline": 8, "time": 32}), "crossline",
                     velocity_min=200.0)
    np.testing.assert_allclose(lazy["amplitude"].values, eager["amplitude"].values,
                               rtol=1e-5, atol=1e-6)
