"""Shared helpers of the job integration tests (not a test module)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BATCHES = "promethium_lab.jobs.testing:batches"
DEADLINE_S = 90  # only a guard against hanging: never a speed assertion


def poll(predicate, what: str, deadline: float = DEADLINE_S):
    """Call ``predicate`` until it returns something other than None/False."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value is not None and value is not False:
            return value
        time.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


def started(log: Path) -> list[int]:
    """Batch numbers the ``batches`` workflow started (from its log)."""
    if not log.exists():
        return []
    return [int(line.split()[1]) for line in log.read_text().splitlines()
            if line.startswith("start")]


def env_for(data_dir: Path) -> dict[str, str]:
    """Environment of a subprocess using the test's private job store."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["PROMETHIUM_DATA_DIR"] = str(data_dir)
    env["PROMETHIUM_PROGRESS"] = "0"
    return env


def cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "promethium_lab.cli.main", *map(str, args)]
