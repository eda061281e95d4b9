"""Fixtures of the job tests: a private data dir (so the user's job store is never
touched), a store, and the synthetic ``batches`` workflow registered as a job kind."""

from __future__ import annotations

import pytest

from promethium_lab.jobs import JobStore, register_workflow, unregister_workflow

BATCHES = "promethium_lab.jobs.testing:batches"


@pytest.fixture
def data_dir(promethium_data_dir):
    """The private data dir of this test (see tests/conftest.py)."""
    return promethium_data_dir


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
