"""Shared helpers of the job integration tests (not a test module)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from promethium_lab.jobs.testing import poll, started

REPO = Path(__file__).resolve().parents[2]
BATCHES = "promethium_lab.jobs.testing:batches"
DEADLINE_S = 90  # only a guard against hanging: never a speed assertion
__all__ = ["BATCHES", "DEADLINE_S", "REPO", "env_for", "poll", "started"]


def env_for(data_dir: Path) -> dict[str, str]:
    """Environment of a subprocess using the test's private job store."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["PROMETHIUM_DATA_DIR"] = str(data_dir)
    env["PROMETHIUM_PROGRESS"] = "0"
    return env


def cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "promethium_lab.cli.main", *map(str, args)]
