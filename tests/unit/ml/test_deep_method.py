"""``method="deep"``: classical fill + a gated residual network trained on the survey.

On the real F3 inline 105 (``/work/shared/data/f3_2inlines_ibm.sgy``), cut to 256 samples
and with half its inner traces removed; small step budgets keep each test to seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.ml.methods import is_deep_method, is_residual_method
from promethium_lab.ml.residual import (
    PRETRAINED,
    _sections,
    apply_residual,
    load_pretrained,
    reconstruct_residual,
)
from promethium_lab.signal.reconstruct import reconstruct as classical
from promethium_lab.signal.synthetic import make_survey

DATA = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))
F3 = DATA / "f3_2inlines_ibm.sgy"
pytestmark = pytest.mark.skipif(not F3.exists(), reason=f"{F3} (shared real data) is missing")

FAST = {"classical": "linear", "steps": 12, "batch_size": 2, "patch": (16, 64)}


@pytest.fixture(scope="module")
def f3() -> xr.Dataset:
    """F3 inline 105: 100 crosslines x 256 samples at 4 ms, 50 % of the inner traces gone."""
    from promethium_lab.io.segy import open_segy

    ds = open_segy(F3)
    amp = ds["amplitude"].transpose("inline", "crossline", "time").values[0, :, :256]
    amp = amp / np.abs(amp).max()
    live = np.ones(amp.shape[0], dtype=bool)
    live[1 + np.random.default_rng(0).choice(amp.shape[0] - 2, 50, replace=False)] = False
    return make_survey(amp, 4.0, dims=("crossline", "time"), mask=live)


def test_deep_is_a_method_not_an_architecture() -> None:
    from promethium_lab.ml.methods import DEEP_METHODS

    assert is_deep_method("deep") and is_residual_method("Deep")
    assert "deep" not in DEEP_METHODS and is_deep_method("unet")
    assert not is_residual_method("unet")


def test_shipped_weights_are_small_and_checked() -> None:
    size = (PRETRAINED / "weights.pt").stat().st_size
    assert size < 300 * 1024
    net = load_pretrained()
    assert float(net.head.weight.detach().abs().sum()) > 0  # pretrained as a whole


def test_zero_head_reproduces_the_classical_result_exactly(f3: xr.Dataset) -> None:
    base = classical(f3, method="linear")
    fill = np.asarray(base["amplitude"].values, np.float32)
    filled = ~np.asarray(f3["trace_mask"].values)
    x, f = _sections(fill, 0), _sections(filled, 0, False)
    net = load_pretrained()
    assert np.abs(apply_residual(net, x, f)).max() > 0  # the trained head does correct
    net.zero_head()
    assert not np.any(apply_residual(net, x, f))  # before training: exactly nothing
    # and through the whole method: no training, the classical result to the bit
    out = reconstruct_residual(f3, classical="linear", steps=0)
    np.testing.assert_array_equal(out["amplitude"].values, base["amplitude"].values)
    assert out.attrs["deep"]["kept"] is False


def test_gating_keeps_the_classical_result_and_says_so(f3: xr.Dataset) -> None:
    base = classical(f3, method="linear")
    out = reconstruct_residual(f3, threshold_db=50.0, **FAST)
    info = out.attrs["deep"]
    assert info["kept"] is False and info["classical"] == "linear"
    assert info["val_gain_db"] < 50.0 and "< 50.0 dB" in info["reason"]
    assert info["steps"] == FAST["steps"] and info["seconds"] > 0
    np.testing.assert_array_equal(out["amplitude"].values, base["amplitude"].values)
    assert out.attrs["reconstruction"]["method"] == "deep"


def test_kept_correction_changes_only_the_absent_traces(f3: xr.Dataset) -> None:
    base = classical(f3, method="linear")
    out = reconstruct_residual(f3, threshold_db=-1e9, **FAST)  # keep whatever it learned
    assert out.attrs["deep"]["kept"] is True
    live = np.asarray(f3["trace_mask"].values)
    a, b = out["amplitude"].values, base["amplitude"].values
    np.testing.assert_array_equal(a[live], f3["amplitude"].values[live])
    assert not np.allclose(a[~live], b[~live])
    assert out["trace_mask"].values.all()


def _every_second(f3: xr.Dataset) -> xr.Dataset:
    live = np.ones(f3.sizes["crossline"], dtype=bool)
    live[1:-1:2] = False  # live 0, 2, ..., 98 and the end trace 99
    return f3.assign(trace_mask=("crossline", live))


def test_regular_decimation_sparse_mode_hides_every_other_live_line(f3: xr.Dataset) -> None:
    ds = _every_second(f3)
    live = ds["trace_mask"].values
    off = reconstruct_residual(ds, regular=False, **FAST)  # the classical result
    assert off.attrs["deep"]["kept"] is False and "regular" in off.attrs["deep"]["reason"]
    np.testing.assert_array_equal(off["amplitude"].values,
                                  classical(ds, method="linear")["amplitude"].values)
    out = reconstruct_residual(ds, threshold_db=-1e9, regular=True, **FAST)
    info = out.attrs["deep"]
    assert info["pattern"] == "regular" and info["kept"] is True
    assert info["regular_training"] == "twice sparser"
    # live traces 0, 2, 4, ...: targets every other one, validation the others (not ends)
    assert info["target_traces"] == len(np.flatnonzero(live)[1::2])
    assert info["val_traces"] == len(np.flatnonzero(live)[2:-1:2])
    with pytest.raises(PromethiumError) as err:
        reconstruct_residual(ds, regular="maybe", **FAST)
    assert err.value.code == ErrorCode.INVALID_PARAMETER and "regular" in err.value.message


def test_regular_lattice_and_phases() -> None:
    from promethium_lab.ml.residual import _lattice_phases, _regular_lattice

    for gone in (slice(1, -1, 2), slice(2, -1, 2)):  # both parities, end traces kept
        live = np.ones(100, dtype=bool)
        live[gone] = False
        lattice, d = _regular_lattice(live, 0)
        assert d == 2 and lattice.size == 50 and set(np.diff(lattice)) == {2}
        assert live[lattice].all() and not live[lattice[0] + 1:lattice[-1]:2].any()
    cube = np.ones((12, 20), dtype=bool)
    cube[:, 1:-1:2] = False
    lattice, d = _regular_lattice(cube, 1)
    assert d == 2 and lattice.tolist() == list(range(0, 19, 2))
    third = np.ones(60, dtype=bool)
    third[2::3] = False  # keep two lines in three: no lattice of step >= 2
    assert _regular_lattice(third, 0) is None
    train_live, val_live, scored = _lattice_phases(11, 2)
    assert np.flatnonzero(train_live).tolist() == [0, 2, 4, 6, 8, 10]
    assert np.flatnonzero(val_live).tolist() == [0, 1, 3, 5, 7, 9, 10]
    assert np.flatnonzero(scored).tolist() == [2, 4, 6, 8]
    assert not (scored & ~train_live).any()  # validation never scores a training target


def test_time_compression_halves_the_band_and_keeps_the_timing() -> None:
    from promethium_lab.ml.residual import _match_spectrum, _time_compress

    n = 400
    t = np.arange(n)
    low = np.cos(2 * np.pi * 0.05 * t)  # 0.05 cycles/sample: kept, 0.1 after compression
    high = np.cos(2 * np.pi * 0.35 * t)  # above half Nyquist: removed
    for offset in (0, 1):
        c = _time_compress(np.stack([low, high]), 2, offset)
        assert c.shape == (2, -(-(n - offset) // 2))
        inner = slice(20, -20)  # away from the filter's edges
        np.testing.assert_allclose(c[0, inner], low[offset::2][inner], atol=0.02)
        assert np.abs(c[1, inner]).max() < 0.02
    # spectral matching brings the compressed band back to the reference's
    rng = np.random.default_rng(0)
    from scipy.signal import butter, filtfilt

    ref = filtfilt(*butter(4, 0.3), rng.standard_normal((30, n)))  # band below 0.15 c/s
    comp = _time_compress(ref, 2)  # now up to 0.3 cycles/sample
    matched = _match_spectrum(comp, ref)
    f = np.fft.rfftfreq(comp.shape[-1])

    def centroid(a: np.ndarray) -> float:
        p = np.mean(np.abs(np.fft.rfft(a, axis=-1)) ** 2, axis=0)
        return float((f * p).sum() / p.sum())

    assert centroid(comp) > 1.6 * centroid(matched)
    assert abs(centroid(matched) - centroid(ref[:, :comp.shape[-1]])) < 0.02


def test_compressed_pairs_pose_the_surveys_problem() -> None:
    """A plane wave of 1.5 samples per trace, every second trace missing: the pairs keep the
    live lines side by side, hide every other one and halve time, so the dip per step of
    the pairs is again 1.5 samples, their targets are the odd lines and validation scores
    the even inner ones."""
    from promethium_lab.ml.residual import _compressed_pairs, _regular_lattice

    n, nt, dip = 41, 200, 1.5
    t = np.arange(nt)[None, :]
    x = np.arange(n)[:, None]
    amp = np.exp(-((t - 60 - dip * x) / 4.0) ** 2).astype(np.float32)  # a Gaussian event
    live = np.ones(n, dtype=bool)
    live[1:-1:2] = False
    ds = make_survey(amp, 4.0, dims=("crossline", "time"), mask=live)
    lattice, d = _regular_lattice(live, 0)
    calls = []

    def rerun_on(survey: xr.Dataset, samples: np.ndarray, lv: np.ndarray) -> np.ndarray:
        calls.append((survey.sizes["crossline"], survey.sizes["time"], int(lv.sum())))
        return np.where(lv[..., None], samples, 0.0).astype(np.float32)  # zero fill

    pairs = _compressed_pairs(ds, amp, lattice, d, 0, np.ones(nt, np.float32), rerun_on)
    assert all(c[:2] == (21, 100) for c in calls)  # 21 lattice lines x 100 samples
    assert pairs["x"].shape == (2, 21, 100)  # two time offsets, one section each
    assert pairs["counts"]["factor"] == 2 and pairs["counts"]["lines"] == 21
    assert np.flatnonzero(pairs["targets"][0]).tolist() == list(range(1, 20, 2))
    assert np.flatnonzero(pairs["val_scored"][0]).tolist() == list(range(2, 19, 2))
    truth = pairs["truth"][0]
    peaks = truth.argmax(axis=1)
    # survey: 1.5 samples per trace; lattice step 2 traces = 3 samples = 1.5 compressed
    np.testing.assert_allclose(np.diff(peaks).mean(), dip, atol=0.1)
    assert pairs["val_truth"].size == 9 * 2 * 100  # 9 scored lines x 2 offsets x 100


def test_regular_decimation_trains_on_time_compressed_pairs(f3: xr.Dataset) -> None:
    ds = _every_second(f3)
    out = reconstruct_residual(ds, threshold_db=-1e9, **FAST)  # default: regular="compress"
    info = out.attrs["deep"]
    assert info["regular_training"] == "time-compressed" and info["factor"] == 2
    assert info["kept"] is True and info["lines"] == 50 and info["compressed_samples"] == 128
    assert info["target_traces"] == 24 and info["val_traces"] == 24
    assert np.isfinite(info["round_trip_snr_db"])
    live = ds["trace_mask"].values
    np.testing.assert_array_equal(out["amplitude"].values[live], ds["amplitude"].values[live])


def test_regular_gate_refuses_what_does_not_validate(f3: xr.Dataset,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import promethium_lab.ml.residual as residual

    ds = _every_second(f3)
    base = classical(ds, method="linear")["amplitude"].values
    out = reconstruct_residual(ds, threshold_db=50.0, **FAST)  # does not validate
    assert out.attrs["deep"]["kept"] is False and "< 50.0 dB" in out.attrs["deep"]["reason"]
    np.testing.assert_array_equal(out["amplitude"].values, base)
    # pairs that do not pose the survey's problem are not even trained on
    monkeypatch.setattr(residual, "PROXY_GAP_DB", -1e9)
    out = reconstruct_residual(ds, threshold_db=-1e9, **FAST)
    info = out.attrs["deep"]
    assert info["kept"] is False and "do not pose" in info["reason"] and info["steps"] == 0
    np.testing.assert_array_equal(out["amplitude"].values, base)


def test_seeded_runs_repeat(f3: xr.Dataset) -> None:
    torch.set_num_threads(1)
    a = reconstruct_residual(f3, threshold_db=-1e9, **FAST)
    b = reconstruct_residual(f3, threshold_db=-1e9, **FAST)
    np.testing.assert_array_equal(a["amplitude"].values, b["amplitude"].values)


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"steps": -1}, "steps"),
    ({"steps": 1.5}, "steps"),
    ({"classical": "magic"}, "classical"),
    ({"patch": (2, 8)}, "patch"),
    ({"threshold_db": float("nan")}, "threshold_db"),
    ({"weights": "/no/such/dir"}, "weights"),
    ({"folds": 1}, "folds"),
])
def test_bad_parameters_raise_with_a_hint(f3: xr.Dataset, kwargs: dict, word: str) -> None:
    with pytest.raises(PromethiumError) as err:
        reconstruct_residual(f3, **kwargs)
    assert err.value.code == ErrorCode.INVALID_PARAMETER
    assert word in err.value.message
    if word != "folds":
        assert err.value.hint


def test_workflow_store_to_store_names_kept(f3: xr.Dataset, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import promethium_lab.ml.residual as residual
    from promethium_lab.io.store import open_store, write_store
    from promethium_lab.workflows import reconstruct

    src = write_store(f3, tmp_path / "in.zarr", progress=False)
    seen: list[object] = []
    original = residual.reconstruct_residual

    def spy(ds: xr.Dataset, **kw: object) -> xr.Dataset:
        seen.append(kw.get("progress"))
        return original(ds, **kw)

    monkeypatch.setattr(residual, "reconstruct_residual", spy)
    path = reconstruct(src, method="deep", out=tmp_path / "out.zarr", blind=False,
                       progress=False, threshold_db=50.0, **FAST)
    assert seen and set(seen) == {False}  # progress=False reaches the training bar
    attrs = open_store(path).attrs
    rec = attrs["reconstruction"]
    assert rec["chosen"] == "deep" and rec["deep"]["kept"] is False
    assert rec["deep"]["classical"] == "linear"
    out = open_store(path)
    base = classical(f3, method="linear")
    np.testing.assert_allclose(out["amplitude"].values, base["amplitude"].values, atol=1e-6)
    with pytest.raises(PromethiumError) as err:
        reconstruct(f3, method="deep", steps="many", blind=False, progress=False)
    assert err.value.code == ErrorCode.INVALID_PARAMETER and err.value.hint


def test_cli_reconstruct_deep_writes_a_store_that_says_kept(f3: xr.Dataset,
                                                            tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from promethium_lab.cli.main import app
    from promethium_lab.io.store import open_store, write_store

    src = write_store(f3, tmp_path / "in.zarr", progress=False)
    out = tmp_path / "out.zarr"
    res = CliRunner().invoke(app, [
        "reconstruct", str(src), str(out), "--method", "deep", "-p", "classical=linear",
        "-p", "steps=12", "-p", "batch_size=2", "-p", "patch=[16, 64]",
        "-p", "threshold_db=-1000000000"])
    assert res.exit_code == 0, res.output
    assert "deep        kept over linear" in res.output
    rec = open_store(out).attrs["reconstruction"]
    assert rec["chosen"] == "deep" and rec["deep"]["kept"] is True
