"""Training the deep models end to end (tiny models, a few steps on the CPU): the loss
falls and the hidden-trace SNR rises; seeds make runs repeatable; checkpoints resume;
the train workflow registers a model the reconstruction then uses."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from promethium_lab.core.context import TaskContext
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.store import write_store
from promethium_lab.ml import registry
from promethium_lab.ml.data import SurveyPatches
from promethium_lab.ml.models import build_model
from promethium_lab.ml.reconstruct import reconstruct_deep
from promethium_lab.ml.train import fit, load_checkpoint
from promethium_lab.signal.decimate import decimate
from promethium_lab.signal.qc import snr_missing
from promethium_lab.signal.synthetic import synthetic_section
from promethium_lab.workflows.train import train

PATCH = (32, 64)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny models train fastest, and steadiest on a busy machine, on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def survey():
    """A 96-trace section with a few absent traces (never used as targets)."""
    return decimate(synthetic_section(96, 256, 4.0, seed=0), "random", 0.05, seed=9)


def _data(survey, n_train: int = 64, n_val: int = 16):
    return (SurveyPatches(survey, PATCH, n_train, seed=1),
            SurveyPatches(survey, PATCH, n_val, seed=2, augment=False))


@pytest.mark.parametrize("arch", ["unet", "autoencoder", "pinn"])
def test_loss_falls_and_hidden_snr_rises(survey, arch: str) -> None:
    torch.manual_seed(0)
    model = build_model(arch, width=8, patch=PATCH)
    tr, va = _data(survey)
    result = fit(model, tr, va, max_epochs=3, batch_size=8, lr=3e-3, seed=0)
    assert result.final["loss"] < 0.7 * result.initial["loss"]
    assert result.final["snr_hidden_db"] > result.initial["snr_hidden_db"] + 1.5
    assert result.final["snr_hidden_db"] > 1.0  # better than zero-filling (0 dB)
    assert len(result.history) == 3 and result.monitor == "val_loss"
    assert {"train_loss", "val_loss", "val_snr_hidden_db", "train_snr_hidden_db"} \
        <= set(result.history[-1])
    if arch == "pinn":
        assert "val_physics" in result.history[-1]
    assert result.model is model and not model.training


def test_same_seed_same_weights(survey) -> None:
    states = []
    for _ in range(2):
        torch.manual_seed(0)
        model = build_model("unet", width=4, patch=PATCH)
        tr, va = _data(survey, 16, 8)
        fit(model, tr, va, max_epochs=1, batch_size=8, seed=123)
        states.append(model.state_dict())
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key


def test_checkpoint_resume_and_cancel(survey, tmp_path) -> None:
    tr, va = _data(survey, 16, 8)
    first = fit(build_model("unet", width=4, patch=PATCH), tr, va, max_epochs=1,
                batch_size=8, checkpoint_dir=tmp_path)
    assert first.last_checkpoint.is_file() and first.best_checkpoint.is_file()
    assert first.global_step == 2
    assert load_checkpoint(first.last_checkpoint).config() == first.model.config()
    resumed = fit(build_model("unet", width=4, patch=PATCH), tr, va, max_epochs=2,
                  batch_size=8, checkpoint_dir=tmp_path, resume=first.last_checkpoint)
    assert resumed.epochs == 2 and resumed.global_step == 4
    assert len(resumed.history) == 1  # only the new epoch ran

    event = threading.Event()
    seen: list[float] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(fraction)
        event.set()  # cancel after the first batch

    ctx = TaskContext(on_progress=progress, cancel_event=event, show_progress=False)
    with pytest.raises(PromethiumError) as err:
        fit(build_model("unet", width=4, patch=PATCH), tr, va, max_epochs=3, batch_size=8,
            context=ctx)
    assert err.value.code is ErrorCode.CANCELED and seen
    with pytest.raises(PromethiumError) as err:
        fit(build_model("unet", width=4, patch=PATCH), tr, va, resume=tmp_path / "nope.ckpt")
    assert err.value.code is ErrorCode.PATH_NOT_FOUND


def test_train_workflow_registers_a_usable_model(survey, tmp_path, monkeypatch) -> None:
    store = write_store(survey, tmp_path / "survey.zarr", progress=False)
    progress: list[float] = []
    ctx = TaskContext(on_progress=lambda f, m: progress.append(f), show_progress=False)
    entry = train(store, model="unet", out=tmp_path / "models", max_epochs=2, patch=PATCH,
                  seed=4, n_patches=32, val_patches=8, model_config={"width": 8}, lr=3e-3,
                  gain="auto", context=ctx)
    assert entry.name == "unet-survey" and entry.version == 1 and not entry.builtin
    meta = entry.metadata
    assert meta["seed"] == 4 and meta["data_hash"].startswith("sha256:")
    assert meta["training"]["self_supervised"] and meta["patch"] == list(PATCH)
    gain = meta["training"]["gain"]  # the survey's curve, the one to apply at inference
    assert gain["mode"] == "auto" and len(gain["curve"]) == survey.sizes["time"]
    assert meta["training"]["hide_pattern"] == "mixed"
    assert meta["training"]["survey_mask"]["pattern"] == "random"
    m = meta["metrics"]
    assert m["final"]["snr_hidden_db"] > m["initial"]["snr_hidden_db"]
    assert meta["checkpoint"] and meta["versions"]["pytorch_lightning"]
    assert progress[-1] == 1.0
    listed = registry.list_models(tmp_path / "models", builtin=False)
    assert [e.ref for e in listed] == ["unet-survey:v1"]
    # the lead's reconstruct workflow calls this with the registered name
    truth = synthetic_section(64, 192, 4.0, seed=0)
    holey = decimate(truth, "regular", 0.5, seed=0)
    out = reconstruct_deep(holey, method="unet", model="unet-survey",
                           root=tmp_path / "models")
    assert out.attrs["reconstruction"]["params"]["model"] == "unet-survey:v1"
    # trained with a gain: applied with one (the default follows the model)
    assert out.attrs["reconstruction"]["params"]["gain"]["mode"] == "auto"
    assert np.isfinite(snr_missing(out, truth, holey["trace_mask"]))


def test_train_workflow_on_synthetic_data_and_fine_tuning(tmp_path) -> None:
    entry = train("synthetic", model="pinn", out=tmp_path, max_epochs=1, n_patches=8,
                  val_patches=8, model_config={"width": 4}, patch=PATCH)
    assert entry.name == "pinn-synthetic" and entry.metadata["data_hash"].startswith("synth")
    tuned = train("synthetic", model="synthetic-unet", out=tmp_path, name="tuned",
                  max_epochs=1, n_patches=8, val_patches=8)
    assert tuned.metadata["parent"]["ref"] == "synthetic-unet:v1"
    assert tuned.metadata["training"]["gain"] is None  # no survey, no gain
    assert tuned.config == registry.resolve("synthetic-unet").config
    with pytest.raises(PromethiumError) as err:
        train("synthetic", model="synthetic-unet", out=tmp_path, model_config={"width": 2})
    assert err.value.code is ErrorCode.INVALID_PARAMETER


def test_train_workflow_hides_like_the_survey_is_decimated(survey, tmp_path) -> None:
    every2nd = decimate(synthetic_section(64, 128, 4.0, seed=1), "regular", 0.5)
    entry = train(every2nd, model="unet", out=tmp_path, max_epochs=1, patch=PATCH,
                  n_patches=8, val_patches=8, model_config={"width": 4},
                  hide_pattern="auto", gain=None)
    training = entry.metadata["training"]
    assert training["hide_pattern"] == "regular" and training["hide_fraction"] == 0.5
    assert training["survey_mask"]["regular_step"] == 2 and training["gain"] is None
