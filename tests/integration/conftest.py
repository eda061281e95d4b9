"""Fixtures of the integration tests: a Jupyter server with promethium_lab, and test data."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

# pytest-jupyter's server plugin (jp_fetch, jp_serverapp, ... and its async-test hooks).
# Imported here rather than named in `pytest_plugins`, which pytest accepts only in the
# top-level conftest: this way it applies to tests/integration only.
from pytest_jupyter.jupyter_server import *  # noqa: F403

_REPO = Path(__file__).resolve().parents[2]


def _data_dir() -> Path:
    """The developer set of real seismic files (``shared/data`` beside the repository)."""
    env = os.environ.get("PROMETHIUM_TEST_DATA")
    if env:
        return Path(env)
    beside = _REPO.parent / "shared" / "data"
    return beside if beside.is_dir() else Path("/work/shared/data")


SEISMIC_DATA = _data_dir()
"""Folder of the real SEG-Y, miniSEED and SAC test files (see its README.md)."""


@pytest.fixture
def seismic_file():
    """Copy a file of the developer data set into a folder: ``seismic_file(name, dest)``."""

    def copy(name: str, dest: Path) -> Path:
        src = SEISMIC_DATA / name
        assert src.is_file(), f"test data {src} is missing (set PROMETHIUM_TEST_DATA)"
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(src, dest / name))

    return copy


@pytest.fixture
def zarr_store():
    """Write a small Zarr v3 group with an ``amplitude`` array: ``zarr_store(path, attrs)``."""
    import zarr

    def make(path: Path, attrs: dict, shape: tuple[int, ...] = (4, 5, 6)) -> Path:
        group = zarr.open_group(str(path), mode="w", zarr_format=3)
        group.attrs.update(attrs)
        group.create_array("amplitude", shape=shape, dtype="float32", chunks=shape)
        with warnings.catch_warnings():  # zarr notes v3 consolidated metadata is not spec
            warnings.simplefilter("ignore", UserWarning)
            zarr.consolidate_metadata(str(path))
        return path

    return make


@pytest.fixture
def jp_server_config():
    """The in-process Jupyter server of ``jp_fetch`` loads the promethium_lab extension."""
    return {"ServerApp": {"jpserver_extensions": {"promethium_lab": True}}}
