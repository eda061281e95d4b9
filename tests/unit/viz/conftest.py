"""Fixtures of the viz unit tests: small surveys and stores whose right answer is known."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr
from _viz_helpers import survey_2d

from promethium_lab.io.overview import write_overview
from promethium_lab.io.store import open_store, write_store


@pytest.fixture(scope="session")
def pyramid_store(tmp_path_factory) -> Path:
    """A 1200 × 1500 (trace, time) store with absent traces and a 2-level overview."""
    path = tmp_path_factory.mktemp("viz") / "noise.zarr"
    write_store(survey_2d(1200, 1500, dead=(5, 6, 7, 300, 1199)), path, progress=False)
    write_overview(path, max_size=256)
    return path


@pytest.fixture()
def pyramid(pyramid_store) -> xr.Dataset:
    return open_store(pyramid_store)


@pytest.fixture()
def cube_store(tmp_path) -> Path:
    """A small inline × crossline × time store with fast copies and one absent trace."""
    from promethium_lab.signal.synthetic import synthetic_cube

    ds = synthetic_cube(6, 10, 64, 4.0, seed=1)
    ds["trace_mask"][2, 3] = False
    ds["amplitude"][2, 3] = 0.0
    ds.attrs["source_path"] = "cube.sgy"
    path = tmp_path / "cube.zarr"
    write_store(ds, path, progress=False)
    return path
