"""Fixtures of the widget tests: the synthetic ``batches`` job kind and a small survey
store with absent traces (for real reconstruction jobs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promethium_lab.jobs import register_workflow, unregister_workflow

BATCHES = "promethium_lab.jobs.testing:batches"
DEADLINE_S = 60  # only a guard against hanging: never a speed assertion


@pytest.fixture
def batches_kind():
    """Register ``batches`` (promethium_lab.jobs.testing) as a job kind for the test."""
    register_workflow("batches", BATCHES, outputs=("out",), replace=True)
    yield "batches"
    unregister_workflow("batches")


@pytest.fixture
def survey_root(tmp_path) -> Path:
    """A folder with a small decimated section store (``holed.zarr``, 48 traces × 128
    samples, 30 % of the traces absent) and the complete one (``full.zarr``)."""
    from promethium_lab.io.store import write_store
    from promethium_lab.signal.decimate import decimate
    from promethium_lab.signal.synthetic import synthetic_section

    root = tmp_path / "surveys"
    root.mkdir()
    full = synthetic_section(48, 128, seed=1)
    write_store(full, root / "full.zarr", progress=False)
    write_store(decimate(full, "random", 0.3, seed=2), root / "holed.zarr", progress=False)
    return root
