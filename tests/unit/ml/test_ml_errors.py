"""Bad input to the deep reconstruction: each failure is a PromethiumError with a hint."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.ml import registry
from promethium_lab.ml.device import resolve_device
from promethium_lab.ml.infer import infer_survey
from promethium_lab.ml.reconstruct import reconstruct_deep


def test_codes_are_stable() -> None:
    assert ErrorCode.MODEL_MISMATCH.value == "PL-ML-001"
    assert ErrorCode.NO_GPU.value == "PL-ML-002"
    assert ErrorCode.BAD_DATA.value == "PL-ML-003"


def test_nan_samples(holey, tiny) -> None:
    bad = holey.copy(deep=True)
    live = np.flatnonzero(bad["trace_mask"].values)
    bad["amplitude"][live[3], 17] = np.nan
    with pytest.raises(PromethiumError) as err:
        reconstruct_deep(bad, model=tiny("unet", patch=(16, 32)))
    assert err.value.code is ErrorCode.BAD_DATA and err.value.hint
    dead = np.flatnonzero(~bad["trace_mask"].values)[0]
    fine = holey.copy(deep=True)
    fine["amplitude"][dead, 5] = np.inf  # on an absent trace: never read as data
    out = reconstruct_deep(fine, model=tiny("unet", patch=(16, 32)))
    assert np.isfinite(out["amplitude"].values).all()


def test_nan_in_a_lazy_store_is_found_block_by_block(holey, tiny, tmp_path) -> None:
    from promethium_lab.io.store import open_store, write_store

    bad = holey.copy(deep=True)
    live = np.flatnonzero(bad["trace_mask"].values)
    bad["amplitude"][live[-1], 3] = np.nan
    lazy = open_store(write_store(bad, tmp_path / "bad.zarr", progress=False))
    with pytest.raises(PromethiumError) as err:
        infer_survey(lazy, tiny("unet", patch=(16, 32)), block_mb=0.02)
    assert err.value.code is ErrorCode.BAD_DATA


def test_cuda_without_gpu(monkeypatch, holey, tiny) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("cuda", "cuda:0", "gpu"):
        with pytest.raises(PromethiumError) as err:
            resolve_device(name)
        assert err.value.code is ErrorCode.NO_GPU and "cpu" in err.value.hint
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(PromethiumError) as err:
        reconstruct_deep(holey, model=tiny("unet", patch=(16, 32)), device="cuda")
    assert err.value.code is ErrorCode.NO_GPU
    with pytest.raises(PromethiumError) as err:
        registry.load("synthetic-unet", device="cuda")
    assert err.value.code is ErrorCode.NO_GPU
    with pytest.raises(PromethiumError) as err:
        resolve_device("tpu")
    assert err.value.code is ErrorCode.INVALID_PARAMETER


def test_patch_that_does_not_fit_the_network(holey, tiny) -> None:
    model = tiny("unet", depth=2, patch=(16, 32))
    with pytest.raises(PromethiumError) as err:
        reconstruct_deep(holey, model=model, patch=(18, 32))
    assert err.value.code is ErrorCode.INVALID_PARAMETER
    assert "(20, 32)" in err.value.hint or "(16, 32)" in err.value.hint
    with pytest.raises(PromethiumError) as err:
        reconstruct_deep(holey, model=tiny("unet", spatial_dims=3, patch=(4, 8, 16)))
    assert err.value.code is ErrorCode.INVALID_PARAMETER and "2-D" in err.value.hint


def test_model_file_that_does_not_match_its_config(tiny, tmp_path, holey) -> None:
    entry = registry.save(tiny("autoencoder", patch=(16, 32)), "ae", root=tmp_path)
    cfg = json.loads((entry.path / "config.json").read_text())
    cfg["config"]["depth"] = 3
    (entry.path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(PromethiumError) as err:
        reconstruct_deep(holey, model=entry.path)
    assert err.value.code is ErrorCode.MODEL_MISMATCH and err.value.hint


def test_bad_parameters(holey, tiny) -> None:
    model = tiny("unet", patch=(16, 32))
    cases = [dict(mode="smooth"), dict(method="gan"), dict(method="pinn"),
             dict(blend="hamming"), dict(overlap=1.0), dict(batch_size=0), dict(colour=1),
             dict(line_dim="inline")]
    for kwargs in cases:
        with pytest.raises(PromethiumError) as err:
            reconstruct_deep(holey, model=model, **kwargs)
        assert err.value.code is ErrorCode.INVALID_PARAMETER, kwargs
    with pytest.raises(PromethiumError) as err:
        reconstruct_deep(holey, model=42)
    assert err.value.code is ErrorCode.INVALID_PARAMETER


def test_only_ml_imports_torch() -> None:
    code = ("import sys, promethium_lab, promethium_lab.ml, promethium_lab.workflows, "
            "promethium_lab.workflows.train, promethium_lab.io.store, promethium_lab.signal; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'pytorch_lightning', 'monai')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout
