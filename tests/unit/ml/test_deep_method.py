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


def test_regular_decimation_hides_every_other_live_line(f3: xr.Dataset) -> None:
    live = np.ones(f3.sizes["crossline"], dtype=bool)
    live[1:-1:2] = False
    ds = f3.assign(trace_mask=("crossline", live))
    safe = reconstruct_residual(ds, **FAST)  # by default: not validated there, not kept
    assert safe.attrs["deep"]["kept"] is False and "regular" in safe.attrs["deep"]["reason"]
    np.testing.assert_array_equal(safe["amplitude"].values,
                                  classical(ds, method="linear")["amplitude"].values)
    out = reconstruct_residual(ds, threshold_db=-1e9, regular=True, **FAST)
    info = out.attrs["deep"]
    assert info["pattern"] == "regular" and info["kept"] is True
    # live traces 0, 2, 4, ...: targets every other one, validation the others (not ends)
    assert info["target_traces"] == len(np.flatnonzero(live)[1::2])
    assert info["val_traces"] == len(np.flatnonzero(live)[2:-1:2])


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


def test_workflow_store_to_store_names_kept(f3: xr.Dataset, tmp_path: Path) -> None:
    from promethium_lab.io.store import open_store, write_store
    from promethium_lab.workflows import reconstruct

    src = write_store(f3, tmp_path / "in.zarr", progress=False)
    path = reconstruct(src, method="deep", out=tmp_path / "out.zarr", blind=False,
                       progress=False, threshold_db=50.0, **FAST)
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
