"""The pretrained weights shipped in the package: small, documented, and useful."""

from __future__ import annotations

import pytest

from promethium_lab.ml import registry
from promethium_lab.ml.reconstruct import reconstruct_deep
from promethium_lab.signal.decimate import decimate
from promethium_lab.signal.qc import snr_missing
from promethium_lab.signal.synthetic import synthetic_section


@pytest.mark.parametrize("method", ["unet", "autoencoder", "pinn"])
def test_shipped_model_loads_and_beats_zero_filling(method: str) -> None:
    entry = registry.resolve(registry.DEFAULT_MODELS[method], root="/nonexistent")
    assert entry.builtin and entry.path.is_relative_to(registry.BUILTIN_ROOT)
    assert entry.weights_path.stat().st_size < 2 * 2**20
    assert isinstance(entry.metadata["seed"], int)
    assert entry.metadata["metrics"]["final"]["snr_hidden_db"] is not None
    model = entry.load()
    assert model.architecture == method
    # a section the models were not trained on: other events, other sampling
    truth = synthetic_section(96, 300, 2.0, seed=0, wavelet_hz=20.0, events=[
        {"kind": "linear", "t0_ms": 80.0, "velocity": 3000.0, "amplitude": 1.0},
        {"kind": "hyperbolic", "t0_ms": 250.0, "velocity": 2200.0, "amplitude": -0.8},
        {"kind": "linear", "t0_ms": 450.0, "velocity": -5000.0, "amplitude": 0.6},
    ])
    holey = decimate(truth, "random", 0.3, seed=4)
    zero_fill = snr_missing(holey, truth, holey["trace_mask"])
    assert zero_fill == 0.0
    out = reconstruct_deep(holey, method=method)  # the shipped model, no download
    assert out.attrs["reconstruction"]["params"]["model"] == entry.ref
    assert snr_missing(out, truth, holey["trace_mask"]) > zero_fill + 8.0  # ~16-18 dB
