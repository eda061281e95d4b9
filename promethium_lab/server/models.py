"""The payloads of the REST API, as pydantic models.

Every JSON body the server answers (and the one it accepts, :class:`JobSubmission`) is one
of these or :class:`~promethium_lab.jobs.models.JobRecord`. ``scripts/gen_schemas.py``
writes the components of ``openapi.yaml`` and the TypeScript types of
``js/src/types.gen.ts`` from :func:`api_json_schemas`; a test fails when they are stale.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from promethium_lab.jobs.models import JobRecord, job_json_schema

__all__ = [
    "SCHEMA_MODELS",
    "Dataset",
    "DatasetList",
    "DatasetSummary",
    "Error",
    "Info",
    "JobPage",
    "JobSubmission",
    "ModelDetail",
    "ModelList",
    "ModelSummary",
    "ReproduceAnswer",
    "WorkflowKind",
    "WorkflowList",
    "api_json_schemas",
]


class _Payload(BaseModel):
    """A response body: every field is always written (so every field is required)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True,
                              defer_build=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the body."""
        return self.model_dump(mode="json")


class Error(_Payload):
    """The error envelope of every refused or failed request (``PromethiumError.to_dict()``)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    code: str = Field(description="Stable error code, e.g. ``PL-IO-015``.")
    name: str = Field("", description="Name of the code, e.g. ``PATH_OUTSIDE_ROOT``.")
    message: str = Field(description="What went wrong.")
    hint: str = Field(description="What to do about it.")
    retryable: bool = Field(description="Whether the same request may succeed later.")
    field: str | None = Field(
        None, description="The parameter the error is about, when it is one (absent "
        "otherwise): a form marks that field.")


class Info(_Payload):
    """Package and runtime information."""

    version: str = Field(description="promethium_lab's version.")
    data_dir: str = Field(description="Where promethium_lab keeps job store, models and logs.")
    python: str = Field(description="Python version of the server.")


class Dataset(_Payload):
    """One entry of the datasets listing."""

    name: str = Field(description="File or store folder name.")
    path: str = Field(description="POSIX path relative to the server root.")
    kind: str = Field(description="``segy``, ``su``, ``miniseed``, ``sac`` or ``zarr``.")
    size: int | None = Field(description="Bytes of a file; null for a store.")
    modified: str = Field(description="Last modification, ISO 8601 in UTC.")
    flavor: str | None = Field(None, description="Stores: ``promethium`` or ``mdio``.")
    geometry: str | None = Field(
        None, description="Stores: ``attrs.geometry``; files: null (ask the summary route).")
    shape: list[int] | None = Field(None, description="Stores: shape of ``amplitude``.")
    consolidated: bool | None = Field(
        None, description="Stores: whether the ingest finished (consolidated metadata).")


class DatasetList(_Payload):
    """The datasets under a folder of the server root, sorted by path."""

    root: str = Field(description="The folder listed, relative to the server root.")
    datasets: list[Dataset]
    truncated: bool = Field(description="The listing stopped at the server's ``max_entries``.")
    max_depth: int = Field(description="Folder levels looked into below ``root``.")


class DatasetSummary(_Payload):
    """What ``promethium-lab info`` prints about a survey, from its headers only."""

    path: str = Field(description="The dataset, relative to the server root.")
    geometry: str = Field(description="``poststack3d``, ``poststack2d``, ``shot``, "
                          "``cdp_offset``, ``irregular`` or ``waveforms``.")
    dims: dict[str, int] = Field(description="Size of each dim of ``amplitude``.")
    traces: int = Field(description="Trace cells of the grid.")
    live_traces: int = Field(description="Cells holding a recorded trace.")
    absent_traces: int = Field(description="Cells without one (``trace_mask`` false).")
    time_ms: list[float] = Field(description="First and last sample time (ms).")
    sample_interval_ms: float | None = Field(description="Sample interval (ms), if known.")
    segy_format: int | None = Field(description="SEG-Y sample format code (SEG-Y, SU).")
    trace_dims: dict[str, list[int]] = Field(
        description="First and last label of each integer trace dim.")
    headers_digest: str = Field(
        description="``sha256:`` of the headers (raw trace headers, file header, mask).")


class JobPage(_Payload):
    """One page of the job list, newest first."""

    jobs: list[JobRecord]
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next page; null on the last one.")


class JobSubmission(BaseModel):
    """The body of ``POST /jobs``: a workflow kind and its parameters."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    kind: str = Field(description="A registered job kind (see ``GET /workflows``).")
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="The workflow's parameters, checked against its parameter schema; "
        "paths are relative to the server root.")
    executor: str = Field(
        "process", description="``process`` (a runner process of its own, the default) or a "
        "Dask scheduler address (``tcp://host:8786``).")


class ReproduceAnswer(_Payload):
    """The answer of ``POST /jobs/<id>/reproduce``: the report notebook written."""

    job_id: str = Field(description="The job it re-runs.")
    path: str = Field(description="The notebook, relative to the server root (open it in "
                      "JupyterLab, or run it with ``promethium-lab report``).")


class ModelSummary(_Payload):
    """One version of a model of the registry, with its lineage."""

    name: str
    version: int
    ref: str = Field(description="``name:vN``.")
    architecture: str = Field(description="``unet``, ``autoencoder``, ``pinn``, ...")
    builtin: bool = Field(description="Shipped with the package.")
    description: str = Field(description="What the model is, in a line.")
    trained_on: str = Field(description="The survey (or synthetic recipe) it learned from: "
                            "its ``data_hash``.")
    seed: int | None = Field(description="Training seed.")
    parameters: dict[str, Any] = Field(description="Training parameters.")
    metrics: dict[str, Any] = Field(description="Final training metrics.")
    created: str | None = Field(description="When it was saved (ISO 8601).")
    software: dict[str, str] = Field(description="Versions it was trained with.")
    weights_sha256: str | None = Field(description="Checksum of ``weights.pt``.")


class ModelDetail(ModelSummary):
    """Every version of one model, the newest's full configuration and metadata."""

    versions: list[int] = Field(description="The model's versions, oldest first.")
    config: dict[str, Any] = Field(description="Constructor keywords of the architecture.")
    metadata: dict[str, Any] = Field(description="The full training metadata.")


class ModelList(_Payload):
    """Every version of every model: the user's registry, then the shipped ones."""

    models: list[ModelSummary]


class WorkflowKind(_Payload):
    """A job kind and the JSON Schema of its parameters (for a submit form)."""

    kind: str
    target: str = Field(description="``module:function`` of the workflow.")
    description: str
    outputs: list[str] = Field(description="Parameters that name output paths.")
    gpu: bool | str = Field(description="Whether jobs want a GPU (``auto``: it depends).")
    parameters: dict[str, Any] = Field(
        description="JSON Schema of the parameters (``x-promethium-output`` marks outputs, "
        "``x-python-only`` what only Python callers can fill).")
    error: Error | None = Field(None, description="Why the kind cannot be used here.")


class WorkflowList(_Payload):
    """Every registered job kind."""

    workflows: list[WorkflowKind]


#: the models written as components, with the JSON Schema mode of each
SCHEMA_MODELS: tuple[tuple[type[BaseModel], str], ...] = (
    (Error, "serialization"), (Info, "serialization"), (Dataset, "serialization"),
    (DatasetList, "serialization"), (DatasetSummary, "serialization"),
    (JobPage, "serialization"), (JobSubmission, "validation"),
    (ModelSummary, "serialization"), (ModelDetail, "serialization"),
    (ModelList, "serialization"), (ReproduceAnswer, "serialization"),
    (WorkflowKind, "serialization"),
    (WorkflowList, "serialization"),
)


def api_json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (2020-12) of every payload, by component name.

    The job record's components come from :func:`~promethium_lab.jobs.models.job_json_schema`
    (``JobRecord`` first, then what it refers to); references point to
    ``#/$defs/<name>``.
    """
    record = job_json_schema()
    out: dict[str, dict[str, Any]] = {"JobRecord": record, **record.pop("$defs", {})}
    _, top = models_json_schema(SCHEMA_MODELS, ref_template="#/$defs/{model}")
    for name, schema in top.get("$defs", {}).items():
        out.setdefault(name, schema)
    return out
