"""Job states and the job record: one pydantic model for the store, REST and the browser.

The state machine follows jupyter-scheduler's ``Status`` (a ``str`` enum with
``STOPPING``/``STOPPED``), with the names of promethium_lab's design::

    queued -> running -> (previewing) -> completed | failed | canceled
                 \\-> stopping (cancel asked, runner not yet stopped) -> canceled

``STOPPED`` is an alias of ``CANCELED``.

:class:`JobRecord` is the one description of a job. Everything else is derived from it:
the SQLite columns of :mod:`promethium_lab.jobs.store` (one per field, JSON text for
mappings and lists), the REST payloads (:meth:`JobRecord.to_dict`), and the
``JobRecord``/``JobState``/``JobError``/``PartialOutput`` schemas of
``server/openapi.yaml`` and the TypeScript interfaces of ``js/src/types.gen.ts``
(written by ``scripts/gen_schemas.py`` from :func:`job_json_schema`; a test fails
when they are out of date).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NotRequired

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    with_config,
)
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.serialize import json_safe as core_json_safe

__all__ = [
    "ACTIVE_STATES",
    "TERMINAL_STATES",
    "JobError",
    "JobRecord",
    "JobState",
    "PartialOutput",
    "error_from_dict",
    "job_json_schema",
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

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """Each value once (``STOPPED`` is an alias, not a state of its own)."""
        schema = handler(core_schema)
        schema["enum"] = list(dict.fromkeys(schema["enum"]))
        return schema


TERMINAL_STATES = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELED})
ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING, JobState.PREVIEWING,
                           JobState.STOPPING})


#: :func:`promethium_lab.core.serialize.json_safe` in its strict form (non-finite floats
#: as strings, unknown objects as their short ``repr``): job parameters and results are
#: strict JSON for SQLite and the REST API.
json_safe = functools.partial(core_json_safe, strict=True)


def error_from_dict(error: dict[str, Any]) -> PromethiumError:
    """Rebuild the :class:`PromethiumError` stored in a job record."""
    try:
        code = ErrorCode(error.get("code", ErrorCode.INTERNAL.value))
    except ValueError:
        code = ErrorCode.INTERNAL
    return PromethiumError(code, str(error.get("message", "")), hint=str(error.get("hint", "")),
                           retryable=bool(error.get("retryable", False)),
                           field=error.get("field") if isinstance(error.get("field"), str)
                           else None)


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _posix(value: Any) -> Any:
    """An ISO 8601 string (as :meth:`JobRecord.to_dict` writes) back to POSIX seconds."""
    if isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value  # let the float validation report it
        return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()
    return value


#: POSIX seconds (UTC) in Python and SQLite; ISO 8601 strings in JSON (REST, ``--json``).
Timestamp = Annotated[
    float | None,
    BeforeValidator(_posix),
    PlainSerializer(_iso, return_type=str | None, when_used="json"),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
                   mode="serialization"),
]


def _doc(text: str) -> Any:
    """A field description (written into openapi.yaml and types.gen.ts)."""
    return Field(description=text)


@with_config(ConfigDict(extra="allow"))
class JobError(TypedDict):
    """Error of a failed or canceled job (``PromethiumError.to_dict()``)."""

    code: Annotated[str, _doc("Stable error code, e.g. ``PL-JOB-002``.")]
    name: NotRequired[Annotated[str, _doc("Name of the code, e.g. ``RUNNER_LOST``.")]]
    message: Annotated[str, _doc("What went wrong.")]
    hint: Annotated[str, _doc("What to do about it.")]
    retryable: Annotated[bool, _doc("Whether submitting the job again may succeed.")]
    field: NotRequired[Annotated[str, _doc("The parameter it is about, when it is one.")]]


@with_config(ConfigDict(extra="allow"))
class PartialOutput(TypedDict):
    """An unfinished output found after a job failed, was canceled or its runner died."""

    path: Annotated[str, _doc("The leftover (``<output>.partial*``, or an output the "
                              "failing job completed).")]
    removed: Annotated[bool, _doc("Whether it was removed (false: it is still there; look "
                                  "before deleting by hand).")]
    complete_looking: NotRequired[Annotated[bool, _doc(
        "It looks complete (a later step of the job failed), so do not trust it.")]]


_ERROR_DEFAULTS: dict[str, Any] = {"code": ErrorCode.INTERNAL.value, "message": "", "hint": "",
                                   "retryable": False}


class JobRecord(BaseModel):
    """One job: what was asked, where it runs, what happened.

    A row of the job store, the body of the REST job routes, the side panel's
    ``IJobRecord``. Timestamps are POSIX seconds (UTC) in Python and ISO 8601 UTC
    strings in JSON.
    """

    model_config = ConfigDict(
        coerce_numbers_to_str=True, title="JobRecord",
        defer_build=True,  # the validator is built on first use, not at import
    )

    id: str = Field(description="Job id (12 hex digits).")
    kind: str = Field(
        description="Job kind: the workflow it runs (``ingest``, ``reconstruct``, ...).")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="JSON-safe rendering of the workflow's parameters.")
    state: JobState = Field(JobState.QUEUED, description="Where the job is in its life.")
    progress: float = Field(0.0, description="Done fraction in [0, 1].")
    message: str = Field("", description="Latest progress message.")
    created_at: Timestamp = Field(None, description="When it was submitted.")
    started_at: Timestamp = Field(None, description="When a runner took it (null while queued).")
    updated_at: Timestamp = Field(None, description="Last change of the record.")
    finished_at: Timestamp = Field(None, description="When it completed, failed or was canceled.")
    executor: str = Field("kernel", description="``kernel``, ``process``, "
                          "``dask:<scheduler address>`` or ``dask-gateway:<cluster>``.")
    worker: str = Field(
        "", description="Where the runner runs (``host:pid`` or a Dask worker address).")
    artifacts: dict[str, Any] = Field(default_factory=dict, description="What a completed job "
                                      "produced (e.g. ``{\"output\": \"/data/survey.zarr\"}``).")
    preview_path: str | None = Field(
        None, description="The newest preview (netCDF); only the latest is kept.")
    error: JobError | None = Field(None, description="Error of a failed or canceled job.")
    traceback: str = Field(
        "", description="Python traceback of an unexpected (non-PromethiumError) failure.")
    pid: int = Field(0, description="Process owning the job (the submitter while queued, the "
                     "runner once running).")
    host: str = Field("", description="Host of that process.")
    heartbeat_at: Timestamp = Field(
        None, description="Last sign of life of the owner (about every second).")
    cancel_requested: bool = Field(
        False, description="Cancellation was asked for; the runner stops at its next check.")
    outputs: list[str] = Field(default_factory=list, description="Output paths the job writes "
                               "(their ``.partial`` siblings are removed on failure).")
    partial_outputs: list[PartialOutput] = Field(
        default_factory=list,
        description="Unfinished outputs found after a failure, cancel or lost runner.")
    target: str = Field("", description="``module:function`` of the workflow.")

    @field_validator("error", mode="before")
    @classmethod
    def _complete_error(cls, value: Any) -> Any:
        """Errors written by hand or by older versions get the fields they lack."""
        if isinstance(value, dict):
            return {**_ERROR_DEFAULTS, **value}
        return value

    @property
    def is_terminal(self) -> bool:
        """True once the job completed, failed or was canceled."""
        return self.state in TERMINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (timestamps as ISO 8601 UTC strings), for REST and ``--json``."""
        return self.model_dump(mode="json", fallback=json_safe)

    def output_path(self) -> Path | None:
        """The main output of a completed job, if it wrote one."""
        out = self.artifacts.get("output")
        return Path(out) if isinstance(out, str) else None


def job_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of :class:`JobRecord` as its JSON form (:meth:`JobRecord.to_dict`).

    Its ``$defs`` hold ``JobState``, ``JobError`` and ``PartialOutput``; references point
    to ``#/$defs/<name>``. ``scripts/gen_schemas.py`` turns it into the OpenAPI components
    and the TypeScript interfaces.
    """
    schema = JobRecord.model_json_schema(mode="serialization")
    schema["required"] = list(schema["properties"])  # to_dict() writes every field
    return schema
