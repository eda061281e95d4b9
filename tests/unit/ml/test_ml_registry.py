"""The model registry: versioned save/load round trips, references, and broken entries."""

from __future__ import annotations

import json

import pytest
import torch

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.ml import registry
from promethium_lab.ml.models import UNet


def test_round_trip(tiny, tmp_path) -> None:
    model = tiny("pinn", patch=(16, 32), physics_weight=0.3)
    entry = registry.save(model, "my-pinn", root=tmp_path,
                          metadata={"seed": 5, "data_hash": "sha256:abc",
                                    "metrics": {"final": {"snr_hidden_db": 7.5}}})
    assert entry.ref == "my-pinn:v1" and entry.path == tmp_path / "my-pinn" / "v001"
    assert {p.name for p in entry.path.iterdir()} == {"weights.pt", "config.json",
                                                      "metadata.json"}
    meta = entry.metadata
    assert meta["seed"] == 5 and meta["data_hash"] == "sha256:abc"
    assert meta["weights_sha256"].startswith("sha256:")
    assert {"promethium_lab", "torch", "python", "numpy"} <= set(meta["versions"])
    assert meta["n_parameters"] == model.n_parameters()
    loaded = registry.load("my-pinn", root=tmp_path)
    assert type(loaded) is type(model) and loaded.config() == model.config()
    assert not loaded.training and loaded.registry_entry.ref == "my-pinn:v1"
    x = torch.randn(2, 1, 16, 32)
    m = torch.ones(2, 1, 16, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, m), model(x, m))
    second = registry.save(model, "my-pinn", root=tmp_path)
    assert second.version == 2
    assert registry.resolve("my-pinn", root=tmp_path).version == 2
    assert registry.resolve("my-pinn:v1", root=tmp_path).version == 1
    assert registry.resolve("my-pinn:1", root=tmp_path).version == 1
    for ref in (entry.path, entry.weights_path, tmp_path / "my-pinn"):
        assert registry.resolve(ref).path in (entry.path, second.path)
    json.dumps(entry.to_dict())
    with pytest.raises(PromethiumError) as err:
        registry.save(model, "my-pinn", root=tmp_path, version=1)
    assert err.value.code is ErrorCode.OUTPUT_EXISTS


def test_list_models_shows_user_and_shipped(tiny, tmp_path) -> None:
    registry.save(tiny("unet", patch=(16, 32)), "mine", root=tmp_path)
    entries = registry.list_models(tmp_path)
    names = {(e.name, e.builtin) for e in entries}
    assert ("mine", False) in names
    assert {("synthetic-unet", True), ("synthetic-autoencoder", True),
            ("synthetic-pinn", True)} <= names
    assert [e.name for e in registry.list_models(tmp_path, builtin=False)] == ["mine"]
    assert not list((tmp_path / "mine").glob(".v*"))  # no temporary left behind


def test_weights_that_do_not_fit_their_config(tiny, tmp_path) -> None:
    entry = registry.save(tiny("unet", patch=(16, 32)), "m", root=tmp_path)
    cfg = json.loads((entry.path / "config.json").read_text())
    cfg["config"]["width"] = 8
    (entry.path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(PromethiumError) as err:
        registry.load(entry.path)
    assert err.value.code is ErrorCode.MODEL_MISMATCH and "config" in err.value.hint
    cfg["architecture"] = "nonesuch"
    (entry.path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(PromethiumError) as err:
        registry.load(entry.path)
    assert err.value.code is ErrorCode.MODEL_MISMATCH


def test_damaged_or_foreign_weights(tiny, tmp_path) -> None:
    entry = registry.save(tiny("unet", patch=(16, 32)), "m", root=tmp_path)
    entry.weights_path.write_bytes(entry.weights_path.read_bytes()[:-10])
    with pytest.raises(PromethiumError) as err:
        registry.load(entry.path)
    assert err.value.code is ErrorCode.MODEL_MISMATCH and "checksum" in err.value.message
    meta = json.loads((entry.path / "metadata.json").read_text())
    del meta["weights_sha256"]
    (entry.path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(PromethiumError) as err:
        registry.load(entry.path)
    assert err.value.code is ErrorCode.MODEL_MISMATCH
    other = UNet(width=6, patch=(16, 32))
    torch.save(other.state_dict(), entry.weights_path)
    with pytest.raises(PromethiumError) as err:
        registry.load(entry.path)
    assert err.value.code is ErrorCode.MODEL_MISMATCH and "do not match" in err.value.message
    (entry.path / "config.json").unlink()
    with pytest.raises(PromethiumError) as err:
        registry.load(entry.path)
    assert err.value.code is ErrorCode.PATH_NOT_FOUND


def test_unknown_references(tiny, tmp_path) -> None:
    with pytest.raises(PromethiumError) as err:
        registry.load("no-such-model", root=tmp_path)
    assert err.value.code is ErrorCode.PATH_NOT_FOUND and "synthetic-unet" in err.value.hint
    with pytest.raises(PromethiumError) as err:
        registry.resolve("synthetic-unet:v99", root=tmp_path)
    assert err.value.code is ErrorCode.PATH_NOT_FOUND
    with pytest.raises(PromethiumError) as err:
        registry.resolve("synthetic-unet:latest", root=tmp_path)
    assert err.value.code is ErrorCode.INVALID_PARAMETER
    with pytest.raises(PromethiumError) as err:
        registry.save(tiny(), "../escape", root=tmp_path)
    assert err.value.code is ErrorCode.INVALID_PARAMETER


def test_default_root_follows_the_config(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PROMETHIUM_DATA_DIR", str(tmp_path))
    assert registry.default_root() == tmp_path / "models"
