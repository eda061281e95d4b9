"""The 8-bit view copies (io.views): the error bound, odd values, slicing, and a store's
size with them, on the real F3 data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from promethium_lab.io.store import open_store
from promethium_lab.io.views import (
    LEVELS,
    WINDOW,
    ViewSlices,
    dequantise,
    is_view,
    open_view,
    quantise,
)
from promethium_lab.workflows.ingest import ingest


def _step(scale: np.ndarray, n: int) -> np.ndarray:
    return np.repeat(scale, WINDOW, axis=-1)[..., :n]


def test_error_is_at_most_half_a_step_of_each_windows_peak():
    rng = np.random.default_rng(3)
    # amplitude decaying 1000-fold down the trace, and a spike: each window keeps its range
    x = (rng.normal(size=(6, 4, 700)) * np.geomspace(1e3, 1, 700)).astype(np.float32)
    x[2, 1, 300] = 1e6
    q, scale = quantise(x)
    assert q.dtype == np.int8 and scale.shape == (6, 4, -(-700 // WINDOW))
    assert np.abs(q).max() == LEVELS
    err = np.abs(dequantise(q, scale) - x)
    assert np.all(err <= 0.5 * _step(scale, 700) * (1 + 1e-6))
    peak = np.abs(x.reshape(-1, 700)[:, : 10 * WINDOW].reshape(-1, 10, WINDOW)).max(-1)
    # the stored scale is the peak / LEVELS rounded up by less than one part in 128
    ratio = scale.reshape(-1, 11)[:, :10] * LEVELS / peak
    assert np.all((ratio >= 1) & (ratio < 1 + 2**-7))
    # the late, quiet windows are resolved as finely as the loud ones, relative to their peak
    last = slice(10 * WINDOW, 700)
    rel = (err[..., last].max(-1) / np.abs(x[..., last]).max(-1)).max()
    assert rel <= (1 + 2**-7) / (2 * LEVELS)


def test_zeros_nan_and_inf_read_back_as_zero():
    x = np.ones((3, 130), np.float32)
    x[0] = 0
    x[1, 5], x[1, 6], x[2, 7] = np.nan, np.inf, -np.inf
    q, scale = quantise(x)
    y = dequantise(q, scale)
    assert np.all(y[0] == 0) and scale[0].max() == 0
    assert y[1, 5] == y[1, 6] == y[2, 7] == 0
    assert np.allclose(y[1, 7:], 1, rtol=0.01)


def test_slices_with_steps_and_negative_indices_match_the_whole():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 6, 300)).astype(np.float32)
    q, scale = quantise(x)
    whole = dequantise(q, scale)
    view = ViewSlices(q, scale)
    for key in [(2,), (slice(None), 3), (slice(None), slice(None), 7),
                (1, slice(2, 5), slice(10, 290, 7)), (-1, -2, slice(None)),
                (slice(None), slice(None), -1), (0, 0, slice(299, 300)),
                (0, 0, slice(65, 65))]:
        np.testing.assert_array_equal(view[key], whole[key], err_msg=str(key))
    with pytest.raises(ValueError):
        view[0, 0, ::-1]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    return ingest(data_dir / "f3_ibm_be.sgy", tmp_path_factory.mktemp("views") / "f3.zarr",
                  progress=False)


def test_a_store_keeps_views_out_of_its_dataset_and_marks_them(store):
    names = {p.name for p in store.iterdir() if p.is_dir()}
    assert {f"view_{d}" for d in ("inline", "crossline", "time")} <= names
    assert {f"view_{d}_scale" for d in ("inline", "crossline", "time")} <= names
    ds = open_store(store)
    assert not [n for n in ds.variables if is_view(str(n))]
    for name in ("view_inline", "view_time_scale"):
        attrs = zarr.open_array(store / name, mode="r").attrs
        assert is_view(name, dict(attrs))
    amp = zarr.open_array(store / "amplitude", mode="r")[:]
    assert np.array_equal(ds["amplitude"].values, amp)  # processing reads amplitude, exactly
    _, scale = quantise(amp)
    for dim, key in (("inline", (4,)), ("crossline", (slice(None), 9)),
                     ("time", (slice(None), slice(None), 30))):
        got = open_view(store, dim)[key]
        assert np.all(np.abs(got - amp[key]) <= 0.5 * _step(scale, 75)[key] * (1 + 1e-6))
    assert open_view(store, "offset") is None


def test_views_cost_a_fraction_of_the_amplitude(store):
    def size(name: str) -> int:
        return sum(f.stat().st_size for f in (store / name).rglob("*") if f.is_file())

    amp = size("amplitude")
    for dim in ("inline", "crossline", "time"):
        assert size(f"view_{dim}") + size(f"view_{dim}_scale") < 0.5 * amp
