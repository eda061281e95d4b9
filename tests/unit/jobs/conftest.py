"""Fixtures of the job tests: a private data dir (so the user's job store is never
touched), a store, and the synthetic ``batches`` workflow registered as a job kind."""

from __future__ import annotations

import pytest

from promethium_lab.jobs import JobStore, register_workflow, unregister_workflow

BATCHES = "promethium_lab.jobs.testing:batches"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """``PROMETHIUM_DATA_DIR`` → a fresh folder; progress bars off."""
    folder = tmp_path / "data"
    monkeypatch.setenv("PROMETHIUM_DATA_DIR", str(folder))
    monkeypatch.setenv("PROMETHIUM_PROGRESS", "0")
    return folder


@pytest.fixture
def store(data_dir):
    """The job store of the private data dir."""
    s = JobStore(data_dir / "jobs.sqlite")
    yield s
    s.close()


@pytest.fixture
def batches_kind():
    """Register ``batches`` (promethium_lab.jobs.testing) for the test."""
    register_workflow("batches", BATCHES, outputs=("out",), replace=True)
    yield "batches"
    unregister_workflow("batches")
