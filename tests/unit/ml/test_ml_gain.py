"""Time-variant gain (promethium_lab.signal.gain) in training patches and inference, and the
"regular" hiding of live traces on a regularly decimated survey."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.store import write_store
from promethium_lab.ml.data import SurveyPatches, hide_traces
from promethium_lab.ml.reconstruct import reconstruct_deep
from promethium_lab.signal.decimate import decimate
from promethium_lab.signal.gain import apply_gain, gain_curve, remove_gain, resolve_gain
from promethium_lab.signal.qc import snr_missing
from promethium_lab.signal.synthetic import synthetic_section
from promethium_lab.workflows.train import _hide_plan

NT = 256


def _dense(n_traces: int = 64, seed: int = 0) -> xr.Dataset:
    """A roughly stationary section: 14 gently dipping events spread over the trace."""
    rng = np.random.default_rng(seed)
    events = [{"kind": "linear", "t0_ms": float(t0),
               "slope_ms_per_m": float(rng.uniform(-0.15, 0.15)),
               "amplitude": float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.0))}
              for t0 in np.linspace(20.0, 1000.0, 14)]
    return synthetic_section(n_traces, NT, 4.0, events=events, seed=seed)


def _decaying(tau: float = 40.0, **kw: int) -> tuple[xr.Dataset, np.ndarray]:
    flat = _dense(**kw)
    decay = np.exp(-np.arange(NT) / tau).astype(np.float32)
    out = flat.copy(deep=True)
    out["amplitude"] = flat["amplitude"] * decay
    return out, decay


def _window_rms(a: np.ndarray, width: int = 32) -> np.ndarray:
    e = (a.reshape(-1, a.shape[-1]) ** 2).mean(axis=0)
    return np.sqrt(e[: e.size // width * width].reshape(-1, width).mean(axis=1))


def test_gain_curve_flattens_a_decaying_section() -> None:
    ds, _ = _decaying(tau=60.0)  # 4.3 e-folds: a 70x decay down the trace
    raw = _window_rms(ds["amplitude"].values)
    assert raw.max() / raw.min() > 20
    g = gain_curve(ds)
    assert g.shape == (NT,) and g.dtype == np.float32 and (g > 0).all()
    assert np.all(np.diff(g) >= 0)  # it only compensates a decay
    gained = _window_rms(apply_gain(ds["amplitude"].values, g))
    assert gained.max() / gained.min() < 2.5  # balanced to within ~8 dB
    # the live traces' energy is kept, and the absent ones are not looked at
    holey = decimate(ds, "random", 0.3, seed=1)
    junk = holey.copy(deep=True)
    junk["amplitude"] = junk["amplitude"].where(junk["trace_mask"], 1e3)
    np.testing.assert_allclose(gain_curve(junk), gain_curve(holey))
    # a stationary section gets a nearly flat curve
    flat = gain_curve(_dense())
    assert flat.max() / flat.min() < 2.0
    # no energy: no gain
    silent = ds.copy(deep=True)
    silent["amplitude"] = silent["amplitude"] * 0
    np.testing.assert_array_equal(gain_curve(silent), np.ones(NT, np.float32))


def test_gain_curve_of_a_lazy_store_reads_a_sample(tmp_path, monkeypatch) -> None:
    ds, _ = _decaying()
    store = write_store(ds, tmp_path / "s.zarr", chunks=(8, NT), progress=False)
    whole = gain_curve(store)
    np.testing.assert_allclose(whole, gain_curve(ds), rtol=1e-5)
    # a survey too large to read whole is sampled in a few runs of traces
    monkeypatch.setattr("promethium_lab.signal.gain._READ_ALL_BYTES", 0)
    sampled = gain_curve(store, max_traces=32)
    assert np.corrcoef(np.log(sampled), np.log(whole))[0, 1] > 0.99


def test_resolve_gain() -> None:
    ds, _ = _decaying()
    assert resolve_gain(None, ds) is None and resolve_gain("none", ds) is None
    np.testing.assert_array_equal(resolve_gain("auto", ds), gain_curve(ds))
    curve = np.linspace(1, 2, NT)
    np.testing.assert_array_equal(resolve_gain(list(curve), ds, NT), curve.astype(np.float32))
    for bad in ("agc", np.ones(NT - 1), -np.ones(NT), np.full(NT, np.nan)):
        with pytest.raises(PromethiumError) as err:
            resolve_gain(bad, ds, NT)
        assert err.value.code is ErrorCode.INVALID_PARAMETER


def test_gain_then_inverse_is_exact_on_live_traces(tiny, tmp_path) -> None:
    ds, _ = _decaying()
    holey = decimate(ds, "random", 0.3, seed=1)
    amp = holey["amplitude"].values
    g = gain_curve(holey)
    np.testing.assert_allclose(remove_gain(apply_gain(amp, g), g), amp, rtol=1e-6, atol=0)
    np.testing.assert_allclose(remove_gain(apply_gain(amp[:, 10:74], g, slice(10, 74)), g,
                                           slice(10, 74)), amp[:, 10:74], rtol=1e-6)
    live = holey["trace_mask"].values
    model = tiny("unet")
    out = reconstruct_deep(holey, model=model, device="cpu", gain="auto")
    np.testing.assert_array_equal(out["amplitude"].values[live], amp[live])
    filled = out["amplitude"].values[~live]
    assert np.isfinite(filled).all() and np.abs(filled).max() > 0
    rec = out.attrs["reconstruction"]["params"]["gain"]
    assert rec["mode"] == "auto" and len(rec["curve"]) == NT and rec["ratio"] > 5
    # the curve passed explicitly (as to every block of a large survey) gives the same
    same = reconstruct_deep(holey, model=model, device="cpu", gain=g)
    np.testing.assert_array_equal(same["amplitude"].values, out["amplitude"].values)
    assert same.attrs["reconstruction"]["params"]["gain"]["mode"] == "curve"
    raw = reconstruct_deep(holey, model=model, device="cpu")  # default: no gain
    assert raw.attrs["reconstruction"]["params"]["gain"] is None
    np.testing.assert_array_equal(raw["amplitude"].values[live], amp[live])
    assert not np.allclose(raw["amplitude"].values[~live], filled)
    # streamed to a store (from a lazy survey): the same result, live traces exact
    src = write_store(holey, tmp_path / "in.zarr", chunks=(8, NT), progress=False)
    stored = reconstruct_deep(src, model=model, device="cpu", out=tmp_path / "out.zarr",
                              block_mb=0.02, gain="auto")
    np.testing.assert_array_equal(stored["amplitude"].values[live], amp[live])
    np.testing.assert_allclose(stored["amplitude"].values, out["amplitude"].values,
                               rtol=1e-5, atol=1e-6 * np.abs(amp).max())
    assert stored.attrs["reconstruction"]["params"]["gain"]["mode"] == "auto"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.zarr", "out.zarr"]
    with pytest.raises(PromethiumError) as err:
        reconstruct_deep(src, model=model, device="cpu", out=tmp_path / "out.zarr",
                         gain="auto")
    assert err.value.code is ErrorCode.OUTPUT_EXISTS
    denoised = reconstruct_deep(holey, model=model, device="cpu", mode="denoise", gain="auto")
    assert not np.array_equal(denoised["amplitude"].values[live], amp[live])


def test_survey_patches_apply_the_gain() -> None:
    ds, _ = _decaying()
    holey = decimate(ds, "random", 0.3, seed=1)
    raw = SurveyPatches(holey, (16, 64), 6, augment=False, seed=3)
    gained = SurveyPatches(holey, (16, 64), 6, augment=False, seed=3, gain="auto")
    assert raw.gain_curve is None
    np.testing.assert_array_equal(gained.gain_curve, gain_curve(holey))
    for i in range(len(raw)):
        where, _ = gained.window(i)
        expect = raw[i]["target"][0].numpy() * gained.gain_curve[where[-1]]
        np.testing.assert_allclose(gained[i]["target"][0].numpy(), expect, rtol=1e-6)
        np.testing.assert_array_equal(gained[i]["mask"], raw[i]["mask"])


def test_regular_hiding_on_an_every_second_trace_mask() -> None:
    live = np.zeros(64, dtype=bool)
    live[1::2] = True  # every second trace live, as decimate(..., "regular", 0.5)
    offsets = set()
    for seed in range(8):
        hidden = hide_traces(live, 0.5, np.random.default_rng(seed), "regular")
        idx = np.flatnonzero(hidden)
        assert not (hidden & ~live).any()  # live traces only
        assert len(idx) == 16 and np.all(np.diff(idx) == 4)  # every other live trace
        kept = np.flatnonzero(live & ~hidden)
        assert len(kept) == 16 and np.all(np.diff(kept) == 4)
        offsets.add(int(idx[0]))
    assert offsets == {1, 3}  # either phase
    # more than half: all but every k-th live trace (a survey decimated to every 3rd)
    hidden = hide_traces(live, 2 / 3, np.random.default_rng(0), "regular")
    kept = np.flatnonzero(live & ~hidden)
    assert not (hidden & ~live).any() and np.all(np.diff(kept) == 6)
    # a cube patch with every second crossline live: whole live lines are hidden
    grid = np.zeros((6, 8), dtype=bool)
    grid[:, ::2] = True
    for seed in range(6):
        h = hide_traces(grid, 0.5, np.random.default_rng(seed), "regular")
        assert not (h & ~grid).any() and 0 < h.sum() < grid.sum()
        cols, rows = np.flatnonzero(h.any(axis=0)), np.flatnonzero(h.any(axis=1))
        assert (np.all(np.diff(cols) == 4) and h[:, cols].all()) or \
            (np.all(np.diff(rows) == 2) and (h[rows] == grid[rows]).all())
    # in the patches of such a survey
    section = decimate(_dense(), "regular", 0.5)
    patches = SurveyPatches(section, (32, 64), 8, hide_pattern="regular", hide_fraction=0.5,
                            augment=False, seed=0)
    for i in range(len(patches)):
        item = patches[i]
        valid = item["valid"][0, :, 0].numpy().astype(bool)
        seen = item["mask"][0, :, 0].numpy().astype(bool)
        hidden = valid & ~seen
        assert np.all(np.diff(np.flatnonzero(hidden)) == 4)
        assert np.all(np.diff(np.flatnonzero(seen)) == 4)


def test_the_train_workflow_hides_like_the_survey_is_decimated() -> None:
    ds = _dense()
    assert _hide_plan(decimate(ds, "regular", 0.5), False, "auto", None)[:2] == ("regular", 0.5)
    third = ds.copy()
    mask = np.zeros(ds.sizes["trace"], dtype=bool)
    mask[::3] = True
    third["trace_mask"] = ("trace", mask)
    assert _hide_plan(third, False, "auto", None)[:2] == ("regular", pytest.approx(2 / 3))
    gap = decimate(ds, "gap", 0.2, gap_width=10, seed=0)
    assert _hide_plan(gap, False, "auto", None)[:2] == ("gap", (0.2, 0.5))
    rand = decimate(ds, "random", 0.3, seed=0)
    pattern, fraction, info = _hide_plan(rand, False, "auto", 0.3)
    assert (pattern, fraction, info["pattern"]) == ("random", 0.3, "random")
    assert _hide_plan(ds, False, "auto", None)[0] == "mixed"  # complete survey
    assert _hide_plan("synthetic", True, "auto", None) == ("mixed", (0.2, 0.5), None)
    assert _hide_plan(rand, False, "gap", None)[0] == "gap"  # an explicit choice stays
    with pytest.raises(PromethiumError):
        _hide_plan(rand, False, "checkerboard", None)


def test_training_with_the_gain_restores_a_decaying_survey_better() -> None:
    import torch

    from promethium_lab.ml.models import build_model
    from promethium_lab.ml.train import fit

    # 8.5 e-folds (74 dB) down the trace, 2.1 (19 dB) across one 64-sample window
    truth, decay = _decaying(tau=30.0)
    holey = decimate(truth, "random", 0.3, seed=1)
    live = holey["trace_mask"]

    def balanced(ds: xr.Dataset) -> xr.Dataset:  # the decay divided out: all times count
        return ds.assign(amplitude=ds["amplitude"] / decay)

    snr = {}
    for gain in (None, "auto"):
        torch.manual_seed(0)
        model = build_model("unet", width=8, patch=(32, 64))
        tr = SurveyPatches(holey, (32, 64), 64, seed=1, gain=gain)
        va = SurveyPatches(holey, (32, 64), 16, seed=2, augment=False, gain=gain)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit(model, tr, va, max_epochs=3, batch_size=8, lr=3e-3, seed=0, accelerator="cpu")
        out = reconstruct_deep(holey, model=model, device="cpu", gain=gain)
        snr[gain] = snr_missing(balanced(out), balanced(truth), live)
    # measured on the balanced section (late, weak events count as much as early ones):
    # ~9.7 dB with the gain against ~8.9 dB without
    assert snr["auto"] > snr[None] + 0.4, snr
