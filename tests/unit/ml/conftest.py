"""Fixtures of the ml unit tests: tiny surveys and tiny untrained models (CPU, seconds)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
import xarray as xr

from promethium_lab.io.store import open_store, write_store
from promethium_lab.ml.models import ReconstructionModel, build_model
from promethium_lab.signal.decimate import decimate
from promethium_lab.signal.synthetic import synthetic_cube, synthetic_section


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest, and steadiest on a busy machine, on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def section() -> xr.Dataset:
    """80 traces × 200 samples at 4 ms, four Ricker events."""
    return synthetic_section(80, 200, 4.0, seed=0)


@pytest.fixture()
def holey(section: xr.Dataset) -> xr.Dataset:
    """``section`` with 30 % of its traces removed at random."""
    return decimate(section, "random", 0.3, seed=1)


@pytest.fixture()
def cube() -> xr.Dataset:
    """12 inlines × 20 crosslines × 96 samples."""
    return synthetic_cube(12, 20, 96, 4.0, seed=0)


@pytest.fixture()
def tiny() -> Callable[..., ReconstructionModel]:
    """``tiny(architecture, **config)``: a seeded width-4 model in eval mode."""

    def make(architecture: str = "unet", **config: object) -> ReconstructionModel:
        torch.manual_seed(0)
        config.setdefault("width", 4)
        return build_model(architecture, **config).eval()

    return make


@pytest.fixture()
def store(tmp_path: Path, holey: xr.Dataset) -> Path:
    """``holey`` written to a Zarr store with small chunks (8 traces)."""
    return write_store(holey, tmp_path / "holey.zarr", chunks=(8, 200), progress=False)


@pytest.fixture()
def lazy(store: Path) -> xr.Dataset:
    """The store opened lazily (dask-backed amplitude)."""
    return open_store(store)
