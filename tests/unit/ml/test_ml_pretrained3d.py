"""The shipped 3-D model (``synthetic-unet3d``): small, listed, loaded with no download,
and useful on a cube through 3-D sliding-window inference."""

from __future__ import annotations

import numpy as np
import pytest

from promethium_lab.ml import registry
from promethium_lab.ml.reconstruct import reconstruct_deep
from promethium_lab.signal.decimate import decimate
from promethium_lab.signal.qc import snr_missing
from promethium_lab.signal.synthetic import synthetic_cube

NAME = "synthetic-unet3d"


def test_3d_model_is_shipped_and_listed() -> None:
    entry = registry.resolve(NAME, root="/nonexistent")  # the shipped copy, no download
    assert entry.builtin and entry.path.is_relative_to(registry.BUILTIN_ROOT)
    assert entry.ref == f"{NAME}:v1"
    assert entry.architecture == "unet" and entry.config["spatial_dims"] == 3
    assert entry.weights_path.stat().st_size < 2 * 2**20
    meta = entry.metadata
    assert isinstance(meta["seed"], int) and meta["patch"] == [16, 16, 64]
    assert meta["metrics"]["final"]["snr_hidden_db"] > 5.0
    ref = meta["metrics"]["reference_cube"]
    assert ref["zero_fill_snr_missing_db"] == 0.0 and ref["snr_missing_db"] > 8.0
    listed = {(e.name, e.version, e.builtin) for e in registry.list_models()}
    assert (NAME, 1, True) in listed
    model = entry.load()
    assert model.spatial_dims == 3 and model.patch == (16, 16, 64) and not model.training


# a cube the model was not trained on (other events, other wavelet), larger than the
# 16 x 16 x 64 window in every dim, so several overlapping windows are blended
EVENTS = [
    {"t0_ms": 60.0, "dip_inline_ms": 2.0, "dip_crossline_ms": -3.0, "amplitude": 1.0},
    {"t0_ms": 170.0, "dip_inline_ms": -4.0, "dip_crossline_ms": 1.0, "amplitude": -0.7},
    {"t0_ms": 260.0, "dip_inline_ms": 0.0, "dip_crossline_ms": 4.0, "amplitude": 0.5},
]


@pytest.mark.parametrize(("pattern", "kwargs", "threshold"), [
    # measured with v001: 15.4 dB (the 2-D synthetic-unet line by line: 13.4 dB)
    ("random", {"fraction": 0.3, "seed": 4}, 12.0),
    # every other inline missing, measured 16.9 dB; a 2-D model run along crosslines
    # sees whole sections missing there and scores 0 dB
    ("regular", {"fraction": 0.5, "dim": "inline"}, 13.0),
])
def test_3d_model_reconstructs_a_cube(pattern: str, kwargs: dict, threshold: float) -> None:
    truth = synthetic_cube(24, 20, 96, 4.0, events=EVENTS, seed=1, wavelet_hz=20.0)
    holey = decimate(truth, pattern, **kwargs)
    live = holey["trace_mask"].values
    assert 0 < (~live).sum() < live.size
    assert snr_missing(holey, truth, holey["trace_mask"]) == 0.0  # zero-filling
    out = reconstruct_deep(holey, model=NAME, device="cpu")
    rec = out.attrs["reconstruction"]
    assert rec["params"]["model"] == f"{NAME}:v1"
    assert out["amplitude"].dims == truth["amplitude"].dims
    assert out["trace_mask"].values.all()
    got = out["amplitude"].transpose(*truth["amplitude"].dims).values
    np.testing.assert_array_equal(got[live], holey["amplitude"].values[live])  # live exact
    assert np.isfinite(got).all()
    assert snr_missing(out, truth, holey["trace_mask"]) > threshold
