"""Fixtures and settings for the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The real sample files live in ../shared/data beside the checkout (CI clones main with
# shared/ beside it); every test module reads PROMETHIUM_TEST_DATA.
_BESIDE = Path(__file__).resolve().parents[1].parent / "shared" / "data"
os.environ.setdefault(
    "PROMETHIUM_TEST_DATA", str(_BESIDE if _BESIDE.is_dir() else Path("/work/shared/data"))
)


@pytest.fixture(autouse=True)
def promethium_data_dir(tmp_path, monkeypatch):
    """``PROMETHIUM_DATA_DIR`` → a fresh folder, so no test touches the user's job store
    or model registry; progress bars off."""
    folder = tmp_path / "data"
    monkeypatch.setenv("PROMETHIUM_DATA_DIR", str(folder))
    monkeypatch.setenv("PROMETHIUM_PROGRESS", "0")
    return folder
