"""Job states and the job record.

The state machine follows jupyter-scheduler's ``Status`` (a ``str`` enum with
``STOPPING``/``STOPPED``), with the names of promethium_lab's design::

    queued -> running -> (previewing) -> completed | failed | canceled
                 \\-> stopping (cancel asked, runner not yet stopped) -> canceled

``STOPPED`` is an alias of ``CANCELED``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from promethium_lab.core.errors import ErrorCode, PromethiumError

__all__ = [
    "ACTIVE_STATES",
    "TERMINAL_STATES",
    "JobRecord",
    "JobState",
    "error_from_dict",
    "json_safe",
]


class JobState(StrEnum):
    """State of a job (a ``str``: compares equal to its value, JSON-safe)."""

    QUEUED = "queued"
    RUNNING = "running"
    PREVIEWING = "previewing"
    STOPPING = "stopping"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    STOPPED = "canceled"  # jupyter-scheduler's name for the same state

    @property
    def is_terminal(self) -> bool:
        """True for completed, failed and canceled."""
        return self in TERMINAL_STATES

    @classmethod
    def parse(cls, value: str | JobState) -> JobState:
        """Validate a state name at a boundary (CLI, REST); raises INVALID_PARAMETER."""
        try:
            return cls(str(value).lower())
        except ValueError:
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER, f"unknown job state {value!r}",
                hint=f"use one of {sorted({s.value for s in cls})}",
            ) from None


TERMINAL_STATES = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELED})
ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING, JobState.PREVIEWING,
                           JobState.STOPPING})


def json_safe(value: Any) -> Any:
    """A JSON-safe rendering of a parameter value (paths to str, tuples to lists, numpy
    scalars to numbers, anything else to its short ``repr``)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalar
        return json_safe(value.item())
    text = repr(value)
    return f"<{type(value).__name__}>" if len(text) > 200 or "\n" in text else text


def error_from_dict(error: dict[str, Any]) -> PromethiumError:
    """Rebuild the :class:`PromethiumError` stored in a job record."""
    try:
        code = ErrorCode(error.get("code", ErrorCode.INTERNAL.value))
    except ValueError:
        code = ErrorCode.INTERNAL
    return PromethiumError(code, str(error.get("message", "")), hint=str(error.get("hint", "")),
                           retryable=bool(error.get("retryable", False)))


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class JobRecord:
    """One row of the job store: what was asked, where it runs, what happened.

    Attributes
    ----------
    id : str
        Job id (12 hex digits).
    kind : str
        Workflow kind (``ingest``, ``reconstruct``, ``export``, ...).
    parameters : dict
        JSON-safe rendering of the workflow's parameters.
    state : JobState
    progress : float
        Done fraction in [0, 1].
    message : str
        Latest progress message.
    created_at, started_at, updated_at, finished_at : float or None
        POSIX timestamps (seconds, UTC); :meth:`to_dict` renders them as ISO 8601.
    executor : str
        ``kernel``, ``dask:<scheduler address>`` or ``dask-gateway:<cluster name>``.
    worker : str
        Where the runner runs (``host:pid`` or a Dask worker address).
    artifacts : dict
        Outputs of a completed job (e.g. ``{"output": "/data/survey.zarr"}``).
    preview_path : str or None
        The newest preview (netCDF); only the latest is kept.
    error : dict or None
        ``{code, name, message, hint, retryable}`` of a failed or canceled job.
    traceback : str
        Python traceback of an unexpected (non-PromethiumError) failure.
    pid, host : int, str
        Process owning the job (submitter while queued, runner once running).
    heartbeat_at : float or None
        Last sign of life of the owner (updated about every second).
    cancel_requested : bool
        Cancellation was asked for; the runner stops at its next check.
    outputs : list of str
        Output paths the job writes (their ``.partial`` siblings are removed on failure).
    partial_outputs : list of dict
        ``{"path", "removed"}`` for each unfinished output found after a failure/cancel.
    target : str
        ``module:function`` of the workflow.
    """

    id: str
    kind: str
    parameters: dict[str, Any] = field(default_factory=dict)
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    message: str = ""
    created_at: float | None = None
    started_at: float | None = None
    updated_at: float | None = None
    finished_at: float | None = None
    executor: str = "kernel"
    worker: str = ""
    artifacts: dict[str, Any] = field(default_factory=dict)
    preview_path: str | None = None
    error: dict[str, Any] | None = None
    traceback: str = ""
    pid: int = 0
    host: str = ""
    heartbeat_at: float | None = None
    cancel_requested: bool = False
    outputs: list[str] = field(default_factory=list)
    partial_outputs: list[dict[str, Any]] = field(default_factory=list)
    target: str = ""

    @property
    def is_terminal(self) -> bool:
        """True once the job completed, failed or was canceled."""
        return self.state in TERMINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (timestamps as ISO 8601 UTC strings), for REST and ``--json``."""
        out = asdict(self)
        out["state"] = self.state.value
        for key in ("created_at", "started_at", "updated_at", "finished_at", "heartbeat_at"):
            out[key] = _iso(out[key])
        return json.loads(json.dumps(out, default=str))

    def output_path(self) -> Path | None:
        """The main output of a completed job, if it wrote one."""
        out = self.artifacts.get("output")
        return Path(out) if isinstance(out, str) else None
