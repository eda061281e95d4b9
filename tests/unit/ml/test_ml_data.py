"""Patch datasets: lazy reads from a store, hidden traces, augmentations, synthetic data."""

from __future__ import annotations

import itertools

import dask.array as da
import numpy as np
import pytest
import torch
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.ml.data import (
    SurveyPatches,
    SyntheticPatches,
    augment,
    data_fingerprint,
    hide_traces,
    random_synthetic,
)


def test_patches_come_from_the_store_lazily(store, lazy, holey) -> None:
    assert isinstance(lazy["amplitude"].data, da.Array)
    ds = SurveyPatches(store, (16, 32), 12, augment=False, seed=3)
    assert isinstance(ds.data, da.Array)  # never loaded whole
    live = holey["trace_mask"].values
    for i in range(len(ds)):
        item = ds[i]
        where, _ = ds.window(i)
        region = holey["amplitude"].values[where]
        assert item["target"].shape == (1, 16, 32)
        np.testing.assert_array_equal(item["target"][0].numpy(), region)
        valid = item["valid"][0, :, 0].numpy().astype(bool)
        seen = item["mask"][0, :, 0].numpy().astype(bool)
        np.testing.assert_array_equal(valid, live[where[0]])
        hidden = valid & ~seen
        assert hidden.any() and seen.any()
        assert not (seen & ~valid).any()  # absent traces are never "visible"
        np.testing.assert_array_equal(item["x"][0].numpy(), region * seen[:, None])


def test_draws_are_deterministic_per_seed_epoch_index(section) -> None:
    a = SurveyPatches(section, (16, 32), 4, seed=7)
    b = SurveyPatches(section, (16, 32), 4, seed=7)
    for key in ("x", "mask", "target"):
        assert torch.equal(a[2][key], b[2][key])
    c = SurveyPatches(section, (16, 32), 4, seed=8)
    assert not torch.equal(a[2]["target"], c[2]["target"])
    first = a[1]["target"].clone()
    a.set_epoch(1)
    assert not torch.equal(a[1]["target"], first)
    a.set_epoch(0)
    assert torch.equal(a[1]["target"], first)


def test_hide_traces_patterns() -> None:
    rng = np.random.default_rng(0)
    live = np.ones(40, dtype=bool)
    live[[3, 4, 30]] = False
    hidden = hide_traces(live, 0.25, rng, "random")
    assert hidden.sum() == round(0.25 * 37) and not (hidden & ~live).any()
    reg = hide_traces(np.ones(40, bool), 0.5, rng, "regular")
    assert reg.sum() == 20 and np.all(np.diff(np.flatnonzero(reg)) == 2)
    gap = hide_traces(np.ones(40, bool), 0.2, rng, "gap")
    idx = np.flatnonzero(gap)
    assert len(idx) == 8 and np.all(np.diff(idx) == 1)
    grid = hide_traces(np.ones((6, 7), bool), 0.3, rng, "mixed")
    assert grid.shape == (6, 7) and 0 < grid.sum() < 42
    two = hide_traces(np.array([True, False, True]), 0.9, rng, "random")
    assert two.sum() == 1 and not two[1]
    with pytest.raises(PromethiumError):
        hide_traces(live, 1.5, rng)
    with pytest.raises(PromethiumError):
        hide_traces(live, 0.5, rng, "checkerboard")


def test_augment_flips_polarity_and_scale() -> None:
    base = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6) + 1
    valid = np.arange(20).reshape(4, 5) % 3 > 0
    seen_polarity = set()
    for seed in range(12):
        out, v = augment(base, valid, np.random.default_rng(seed))
        found = False
        for f0, f1 in itertools.product([False, True], repeat=2):
            ref, rv = base, valid
            if f0:
                ref, rv = np.flip(ref, 0), np.flip(rv, 0)
            if f1:
                ref, rv = np.flip(ref, 1), np.flip(rv, 1)
            gain = out.flat[0] / ref.flat[0]
            if np.array_equal(v, rv) and np.allclose(out, gain * ref, rtol=1e-5):
                assert 0.5 <= abs(gain) <= 2.0
                seen_polarity.add(bool(gain > 0))
                found = True
        assert found
    assert seen_polarity == {True, False}
    same, _ = augment(base, valid, np.random.default_rng(0), flips=False, polarity=False,
                      scale=None)
    np.testing.assert_array_equal(same, base)


def test_patches_on_a_cube(cube) -> None:
    lines = SurveyPatches(cube, (16, 32), 6, seed=0)
    for i in range(6):
        where, _ = lines.window(i)
        assert sum(isinstance(w, slice) for w in where) == 2  # one trace dim + time
        assert lines[i]["target"].shape == (1, 16, 32)
    only_inline = SurveyPatches(cube, (8, 32), 3, line_dim="inline", seed=0)
    where, _ = only_inline.window(0)
    assert isinstance(where[0], slice) and isinstance(where[1], int)
    vol = SurveyPatches(cube, (8, 16, 32), 3, seed=0)
    item = vol[0]
    assert item["target"].shape == (1, 8, 16, 32) and item["mask"].shape == (1, 8, 16, 1)


def test_small_surveys_are_padded_as_invalid(section) -> None:
    small = section.isel(trace=slice(0, 10), time=slice(0, 20))
    item = SurveyPatches(small, (16, 32), 1, augment=False)[0]
    assert item["target"].shape == (1, 16, 32)
    assert item["valid"][0, 10:].sum() == 0 and item["valid"][0, :10].all()


def test_synthetic_patches() -> None:
    ds = SyntheticPatches((16, 32), 5, seed=1)
    item = ds[4]
    assert item["target"].shape == (1, 16, 32) and bool(item["valid"].all())
    assert float(item["target"].abs().max()) > 0
    assert torch.equal(SyntheticPatches((16, 32), 5, seed=1)[4]["target"], item["target"])
    noisy = SyntheticPatches((16, 32), 2, seed=1, noise=0.5, augment=False)[0]
    seen = noisy["mask"].bool().expand_as(noisy["x"])
    assert not torch.allclose(noisy["x"][seen], noisy["target"][seen])
    assert SyntheticPatches((4, 8, 32), 1)[0]["target"].shape == (1, 4, 8, 32)
    sec = random_synthetic(0, (24, 50))
    assert sec["amplitude"].shape == (24, 50) and sec.attrs["geometry"] == "irregular"
    assert random_synthetic(0, (4, 5, 50))["amplitude"].dims == ("inline", "crossline", "time")


def test_bad_inputs(section) -> None:
    bad = section.copy(deep=True)
    bad["amplitude"][3, 10] = np.nan
    whole = SurveyPatches(bad.isel(trace=slice(0, 16), time=slice(0, 32)), (16, 32), 1)
    with pytest.raises(PromethiumError) as err:
        whole[0]  # the patch covers the whole survey, NaN included
    assert err.value.code is ErrorCode.BAD_DATA and "NaN" in err.value.message
    dead = section.copy()
    dead["trace_mask"] = ("trace", np.zeros(section.sizes["trace"], bool))
    with pytest.raises(PromethiumError) as err:
        SurveyPatches(dead, (16, 32))
    assert err.value.code is ErrorCode.BAD_DATA
    with pytest.raises(PromethiumError):
        SurveyPatches(section, (4, 8, 32))  # 3-D patch on a 2-D section
    with pytest.raises(PromethiumError):
        SurveyPatches(section, (16, 32), hide_fraction=1.2)
    with pytest.raises(PromethiumError):
        SurveyPatches(xr.Dataset(), (16, 32))


def test_fingerprint_is_the_same_for_store_and_memory(store, lazy, holey) -> None:
    a = data_fingerprint(holey)
    assert a.startswith("sha256:") and a == data_fingerprint(store) == data_fingerprint(lazy)
    changed = holey.copy(deep=True)
    changed["amplitude"][0, 0] += 1
    assert data_fingerprint(changed) != a
