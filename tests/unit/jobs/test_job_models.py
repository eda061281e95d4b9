"""Job states, records and the JSON-safe rendering of parameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs import ACTIVE_STATES, TERMINAL_STATES, JobRecord, JobState
from promethium_lab.jobs.models import error_from_dict, json_safe


def test_states_are_strings_with_stopping_and_stopped():
    assert JobState.RUNNING == "running"
    assert JobState.STOPPED is JobState.CANCELED
    assert JobState.STOPPING.value == "stopping"
    assert {s.value for s in JobState} == {"queued", "running", "previewing", "stopping",
                                           "completed", "failed", "canceled"}
    assert ACTIVE_STATES.isdisjoint(TERMINAL_STATES)
    assert JobState.COMPLETED.is_terminal and not JobState.STOPPING.is_terminal


def test_parse_validates_at_the_boundary():
    assert JobState.parse("Completed") is JobState.COMPLETED
    with pytest.raises(PromethiumError) as err:
        JobState.parse("done")
    assert err.value.code == ErrorCode.INVALID_PARAMETER
    assert "completed" in err.value.hint


def test_json_safe_parameters():
    params = {"path": Path("/a/b.sgy"), "chunks": (1, 2, 3), "n": np.int64(4),
              "x": np.float32(0.5), "flag": True, "none": None, "nan": float("nan"),
              "obj": object()}
    safe = json_safe(params)
    json.dumps(safe)  # must not raise
    assert safe["path"] == "/a/b.sgy"
    assert safe["chunks"] == [1, 2, 3]
    assert safe["n"] == 4 and isinstance(safe["n"], int)
    assert safe["x"] == 0.5
    assert safe["nan"] == "nan"
    assert safe["obj"].startswith("<object")


def test_error_round_trip():
    err = PromethiumError(ErrorCode.RUNNER_LOST, "gone", hint="again", retryable=True)
    back = error_from_dict(err.to_dict())
    assert (back.code, back.message, back.hint, back.retryable) == (
        ErrorCode.RUNNER_LOST, "gone", "again", True)
    assert ErrorCode.RUNNER_LOST.value == "PL-JOB-002"
    assert error_from_dict({"code": "nonsense", "message": "m"}).code == ErrorCode.INTERNAL


def test_record_to_dict_is_json_with_iso_times():
    rec = JobRecord(id="abc", kind="ingest", state=JobState.FAILED, created_at=0.0,
                    error={"code": "PL-JOB-002"}, artifacts={"output": "/x"})
    d = rec.to_dict()
    assert d["state"] == "failed"
    assert d["created_at"] == "1970-01-01T00:00:00.000Z"
    assert d["started_at"] is None
    assert json.loads(json.dumps(d)) == d
    assert rec.is_terminal
    assert rec.output_path() == Path("/x")
