"""Spectra and the synthetic builders, on data whose spectrum is known."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.signal import amplitude_spectrum, fk_spectrum, stransform
from promethium_lab.signal.synthetic import (
    make_survey,
    ricker,
    synthetic_cube,
    synthetic_section,
)


def raises_invalid():
    return pytest.raises(PromethiumError, match=ErrorCode.INVALID_PARAMETER.value)


# ------------------------------------------------------------------- amplitude spectrum


def test_amplitude_spectrum_reads_sinusoid_amplitudes(sinusoids):
    spec = amplitude_spectrum(sinusoids({25.0: 0.7, 80.0: 0.2}))
    assert spec.dims == ("frequency",)
    assert spec["frequency"].attrs["units"] == "Hz"
    assert spec["frequency"].values[-1] == pytest.approx(250.0)  # Nyquist at 2 ms
    assert float(spec.idxmax()) == pytest.approx(25.0)
    assert float(spec.sel(frequency=25.0)) == pytest.approx(0.7, rel=1e-6)
    assert float(spec.sel(frequency=80.0)) == pytest.approx(0.2, rel=1e-6)
    assert float(spec.drop_sel(frequency=[25.0, 80.0]).max()) < 1e-6
    db = amplitude_spectrum(sinusoids({25.0: 0.7}), db=True)
    assert float(db.max()) == pytest.approx(0.0)


def test_amplitude_spectrum_averages_live_traces_only(sinusoids):
    ds = sinusoids({25.0: 1.0}, n_traces=5)
    mask = np.array([True, False, True, False, True])
    holey = ds.assign(trace_mask=("trace", mask),
                      amplitude=ds["amplitude"].where(xr.DataArray(mask, dims="trace"), 0))
    spec = amplitude_spectrum(holey)
    assert float(spec.sel(frequency=25.0)) == pytest.approx(1.0, rel=1e-6)  # not 3/5
    assert spec.attrs["n_traces"] == 3
    lazy = amplitude_spectrum(holey.chunk({"trace": 2, "time": 100}))
    np.testing.assert_allclose(lazy.values, spec.values, rtol=1e-10, atol=1e-12)


def test_amplitude_spectrum_of_ricker_section_peaks_at_wavelet_frequency():
    ds = synthetic_section(32, 512, 2.0, events=[{"kind": "linear", "t0_ms": 500.0,
                                                  "velocity": 3000.0}], wavelet_hz=30.0)
    spec = amplitude_spectrum(ds)
    assert float(spec.idxmax()) == pytest.approx(30.0, abs=1.0)


def test_amplitude_spectrum_no_live_trace(sinusoids):
    ds = sinusoids({25.0: 1.0})
    dead = ds.assign(trace_mask=ds["trace_mask"] & False)
    with raises_invalid():
        amplitude_spectrum(dead)


# --------------------------------------------------------------------------- FK spectrum


def test_fk_spectrum_of_a_plane_wave_peaks_at_its_wavenumber():
    # u(x, t) = cos(2π (f0 t - k0 x)): dips down towards +x with p = k0 / f0 s/m
    dx, dt, nx, nt = 10.0, 2.0, 50, 500
    f0, k0 = 20.0, 0.01  # both on FFT bins (df = 1 Hz, dk = 0.002 1/m)
    x = dx * np.arange(nx)[:, None]
    t = dt * np.arange(nt)[None, :] / 1000.0
    ds = make_survey(np.cos(2 * np.pi * (f0 * t - k0 * x)), dt)
    spec = fk_spectrum(ds, "trace", dx=dx)
    assert spec.dims == ("wavenumber", "frequency")
    assert spec["wavenumber"].attrs["units"] == "1/m"
    peak = spec.where(spec == spec.max(), drop=True)
    assert float(peak["wavenumber"][0]) == pytest.approx(k0)
    assert float(peak["frequency"][0]) == pytest.approx(f0)
    assert float(spec.max()) == pytest.approx(0.5, rel=1e-6)  # a cos: half at +f
    assert spec["wavenumber"].values[0] < 0 < spec["wavenumber"].values[-1]
    flipped = fk_spectrum(ds.isel(trace=slice(None, None, -1)), "trace", dx=dx)
    fpeak = flipped.where(flipped == flipped.max(), drop=True)
    assert float(fpeak["wavenumber"][0]) == pytest.approx(-k0)


def test_fk_spectrum_of_cube_averages_over_the_other_trace_dim(cube):
    spec = fk_spectrum(cube, "crossline")
    assert spec.sizes == {"wavenumber": 24, "frequency": 65}
    assert spec["wavenumber"].attrs["units"] == "1/trace"
    lazy = fk_spectrum(cube.chunk({"inline": 4, "crossline": 8, "time": 32}), "crossline")
    np.testing.assert_allclose(lazy.values, spec.values, rtol=1e-9, atol=1e-12)
    one = fk_spectrum(cube.isel(inline=[3]), "crossline")
    assert not np.allclose(one.values, spec.values)  # the inlines differ (dipping planes)


def test_fk_spectrum_unknown_dim(section):
    with raises_invalid():
        fk_spectrum(section, "channel")


# ---------------------------------------------------------------------------- S-transform


def test_stransform_of_sinusoid_peaks_at_its_frequency(sinusoids):
    trace = sinusoids({25.0: 1.0})["amplitude"].isel(trace=0)
    st = stransform(trace)
    assert st.dims == ("frequency", "time")
    np.testing.assert_array_equal(st["time"].values, trace["time"].values)
    mean = st.mean("time")
    assert float(mean.idxmax()) == pytest.approx(25.0)
    # |S(τ, f0)| = a / 2 away from the ends
    mid = st.sel(frequency=25.0).isel(time=slice(100, 900))
    np.testing.assert_allclose(mid.values, 0.5, rtol=0.02)


def test_stransform_localises_frequency_in_time():
    dt = 2.0
    t = np.arange(1000) * dt / 1000.0
    trace = np.where(t < 1.0, np.sin(2 * np.pi * 15.0 * t), np.sin(2 * np.pi * 60.0 * t))
    da = make_survey(trace[None, :], dt)["amplitude"]
    st = stransform(da, fmax_hz=100.0)  # a (1, time) array is one trace: squeezed
    assert float(st["frequency"].max()) <= 100.0
    early = st.sel(time=slice(200.0, 800.0)).mean("time")
    late = st.sel(time=slice(1200.0, 1800.0)).mean("time")
    assert float(early.idxmax()) == pytest.approx(15.0, abs=1.0)
    assert float(late.idxmax()) == pytest.approx(60.0, abs=1.0)
    complex_st = stransform(da, fmax_hz=100.0, magnitude=False)
    assert np.iscomplexobj(complex_st.values)
    np.testing.assert_allclose(np.abs(complex_st.values), st.values)


def test_stransform_rejects_more_than_one_trace_and_bad_band(section):
    with raises_invalid() as excinfo:
        stransform(section["amplitude"])
    assert "isel" in excinfo.value.hint
    trace = section["amplitude"].isel(trace=3)
    with raises_invalid():
        stransform(trace, fmax_hz=200.0)  # Nyquist 125 Hz at 4 ms
    with raises_invalid():
        stransform(trace, fmin_hz=60.0, fmax_hz=20.0)


# ---------------------------------------------------------------------------- synthetic


def test_synthetic_section_layout_and_event_times():
    ev = {"kind": "hyperbolic", "t0_ms": 200.0, "velocity": 2000.0, "amplitude": 1.0}
    ds = synthetic_section(40, 300, 4.0, events=[ev], dx=20.0)
    assert ds["amplitude"].dims == ("trace", "time") and ds["amplitude"].dtype == np.float32
    assert ds["trace_mask"].dtype == bool and bool(ds["trace_mask"].all())
    assert ds["time"].attrs["units"] == "ms" and ds.attrs["sample_interval_us"] == 4000.0
    picks = ds["time"].values[ds["amplitude"].values.argmax(axis=1)]
    want = np.sqrt(200.0**2 + (1000.0 * ds["offset"].values / 2000.0) ** 2)
    np.testing.assert_allclose(picks, want, atol=2.0)  # within half a sample


def test_synthetic_cube_layout_and_planar_events():
    ev = {"t0_ms": 100.0, "dip_inline_ms": 4.0, "dip_crossline_ms": 8.0}
    ds = synthetic_cube(5, 7, 200, 4.0, events=[ev])
    assert ds["amplitude"].dims == ("inline", "crossline", "time")
    assert ds.attrs["geometry"] == "poststack3d" and bool(ds["trace_mask"].all())
    picks = ds["time"].values[ds["amplitude"].values.argmax(axis=-1)]
    want = 100.0 + 4.0 * np.arange(5)[:, None] + 8.0 * np.arange(7)[None, :]
    np.testing.assert_allclose(picks, want)
    noisy = synthetic_cube(5, 7, 200, 4.0, events=[ev], noise=0.5, seed=3)
    again = synthetic_cube(5, 7, 200, 4.0, events=[ev], noise=0.5, seed=3)
    xr.testing.assert_identical(noisy, again)
    assert not np.array_equal(noisy["amplitude"], ds["amplitude"])


def test_ricker_peak_and_bad_parameters():
    assert ricker(0.0, 25.0) == pytest.approx(1.0)
    with raises_invalid():
        ricker(0.0, 0.0)
    with raises_invalid():
        synthetic_section(10, 100, 4.0, events=[{"kind": "parabolic"}])
    with raises_invalid():
        synthetic_section(0, 100, 4.0)
    with raises_invalid():
        make_survey(np.zeros((2, 3, 4, 5)), 4.0)
