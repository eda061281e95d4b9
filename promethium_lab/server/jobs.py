"""The job routes of the server extension: list (paged), submit, record, cancel, preview.

Jobs live in the user's job store (the SQLite file every kernel, Dask worker, the CLI and
this server share), so the list holds every job of the user wherever it was submitted. A
job submitted here runs in a runner process of its own (``executor: process``; the same as
``promethium-lab run --no-wait``) or on a Dask scheduler, never in the server's threads: a
long job neither blocks the server nor dies with the request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.server.datasets import resolve_under_root
from promethium_lab.server.handlers import JSONText, PromethiumAPIHandler

__all__ = [
    "JOB_ID",
    "JobCancelHandler",
    "JobHandler",
    "JobPreviewHandler",
    "JobReproduceHandler",
    "JobsHandler",
    "RecordCache",
    "decode_cursor",
    "encode_cursor",
    "job_page",
    "job_preview",
    "reproduce_job",
    "submit_job",
]

#: What a job id in a route may look like (the store's ids are 12 hex digits).
JOB_ID = r"[A-Za-z0-9_.-]{1,64}"
#: Default and largest page of ``GET /jobs``.
PAGE_DEFAULT, PAGE_MAX = 50, 500


# ------------------------------------------------------------------------------ paging
def encode_cursor(key: tuple[float, str]) -> str:
    """The opaque ``next_cursor`` of a page's last key ``(created_at, id)``."""
    return base64.urlsafe_b64encode(json.dumps([key[0], key[1]]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The key a cursor from :func:`encode_cursor` stands for (INVALID_PARAMETER if none)."""
    try:
        created, job_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return float(created), str(job_id)
    except (ValueError, TypeError, binascii.Error):
        raise PromethiumError.invalid(
            f"cursor {cursor[:40]!r} is not one this server gave",
            hint="pass the next_cursor of the previous page, or no cursor for the first",
        ) from None


class RecordCache:
    """The JSON text of job records, by version ``(updated_at, heartbeat_at)``.

    A page of the job list reads only its records' versions from the store and serializes
    only the records that changed since they were last asked for, so a busy user's list
    costs a query and a string join, not fifty pydantic validations. Bounded: the oldest
    entries go first once it holds ``size`` records.
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._texts: dict[str, tuple[tuple[float, float], str]] = {}

    def texts(self, store: Any, versions: list[tuple[str, float, float, float]]) -> list[str]:
        """The JSON of each record of ``versions`` (``JobStore.page_keys``), in order."""
        want = {job_id: (updated, beat) for job_id, _, updated, beat in versions}
        stale = [i for i, v in want.items() if self._texts.get(i, (None,))[0] != v]
        for job_id, rec in store.records(stale).items():
            version = (rec.updated_at, rec.heartbeat_at)
            self._texts.pop(job_id, None)  # re-inserted last: the newest entry
            self._texts[job_id] = (version, json.dumps(rec.to_dict()))
        while len(self._texts) > self.size:
            self._texts.pop(next(iter(self._texts)))
        return [self._texts[i][1] for i in want if i in self._texts]


_records = RecordCache()


def job_page(limit: int = PAGE_DEFAULT, cursor: str = "", states: list[str] | None = None,
             kind: str | None = None) -> JSONText:
    """The JSON of a :class:`~promethium_lab.server.models.JobPage`: jobs newest first,
    keyset-paged on ``(created_at, id)``, so paging is stable while jobs are added."""
    from promethium_lab.jobs import get_store

    store = get_store()
    after = decode_cursor(cursor) if cursor else None
    versions, last = store.page_keys(limit=limit, after=after, state=states or None,
                                     kind=kind)
    next_cursor = json.dumps(None if last is None else encode_cursor(last))
    return JSONText(f'{{"jobs": [{", ".join(_records.texts(store, versions))}], '
                    f'"next_cursor": {next_cursor}}}')


def _job_record(job_id: str) -> dict[str, Any]:
    """The JSON record of ``job_id`` (``JOB_NOT_FOUND``, 404, when there is none)."""
    from promethium_lab.jobs import get_store

    return get_store().get(job_id).to_dict()


def _cancel(job_id: str) -> dict[str, Any]:
    """Ask job ``job_id`` to stop (the store's flag, seen by its runner wherever it runs)
    and return its record after asking."""
    from promethium_lab.jobs import cancel_job

    _job_record(job_id)  # 404 for an unknown id
    cancel_job(job_id)
    return _job_record(job_id)


# ----------------------------------------------------------------------------- submit
def _is_path(schema: dict[str, Any]) -> bool:
    """Whether a parameter's schema is a path (``format: path``, alone or in an anyOf)."""
    return schema.get("format") == "path" or any(
        o.get("format") == "path" for o in schema.get("anyOf", ()) if isinstance(o, dict))


def _parameters(server_root: str, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked against the parameter schema of ``kind``, with its paths resolved
    under the server root (inputs must exist; outputs need an existing folder)."""
    import jsonschema

    from promethium_lab.jobs.registry import (
        OUTPUT_KEYWORD,
        PYTHON_ONLY_KEYWORD,
        get_workflow,
    )

    schema = get_workflow(kind).parameter_schema()
    props = schema.get("properties", {})
    python_only = sorted(k for k in params if props.get(k, {}).get(PYTHON_ONLY_KEYWORD))
    if python_only:
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"{kind}: parameter(s) {python_only} take Python objects, not JSON",
            hint="submit such a job from a notebook with promethium_lab.jobs.submit",
            field=python_only[0])
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(params))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "parameters"
        field = str(error.absolute_path[0]) if error.absolute_path else None
        if field is None and error.validator == "required":
            field = next((n for n in error.validator_value if n not in params), None)
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER, f"{kind}: {where}: {error.message}",
            hint=f"see the {kind!r} schema of GET promethium/workflows", field=field)
    out = dict(params)
    for name, value in params.items():
        prop = props.get(name, {})
        if isinstance(value, str) and _is_path(prop):
            want = "new" if prop.get(OUTPUT_KEYWORD) else "any"
            try:
                out[name] = os.fspath(resolve_under_root(server_root, value, want=want,
                                                         what=name))
            except PromethiumError as err:
                err.field = name
                raise
    return out


def submit_job(server_root: str, body: bytes) -> dict[str, Any]:
    """Submit the job a ``POST /jobs`` body asks for; returns its (queued) record.

    The body is a :class:`~promethium_lab.server.models.JobSubmission`. Parameters are
    validated by the kind's parameter schema (the workflow's signature, as pydantic writes
    it), paths are resolved under the server root, then the job goes to a runner process
    of its own (or a Dask scheduler) through :func:`promethium_lab.jobs.submit`.
    """
    from pydantic import ValidationError

    from promethium_lab.jobs import submit
    from promethium_lab.server.models import JobSubmission

    try:
        request = JobSubmission.model_validate_json(body or b"{}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "body"
        raise PromethiumError.invalid(
            f"bad job submission: {where}: {first['msg']}",
            hint='send {"kind": "...", "parameters": {...}, "executor": "process"}') from None
    executor = request.executor.strip()
    if executor == "process":
        target = "kernel"  # detached: a runner process that outlives the request
    elif "://" in executor:
        target = executor  # a Dask scheduler; the task is kept after the client leaves
    else:
        raise PromethiumError.invalid(
            f"executor {executor!r} cannot be used from the server",
            hint="use 'process' or a Dask scheduler address (tcp://host:8786); the server "
            "neither runs jobs in its own threads nor owns a cluster")
    params = _parameters(server_root, request.kind, request.parameters)
    job = submit(request.kind, executor=target, detach=True, **params)
    return job.record.to_dict()


# -------------------------------------------------------------------------- reproduce
def reproduce_job(server_root: str, job_id: str, body: bytes) -> dict[str, Any]:
    """Write the notebook that re-runs completed job ``job_id``
    (:func:`promethium_lab.jobs.reproduce_notebook`) under the server root.

    The body (optional) is ``{"path": "<notebook or folder, relative to the root>"}``
    (default: ``reproduce_<id>.ipynb`` at the root). The re-run's outputs go beside the
    job's outputs when those are under the root, else beside the notebook. Answers
    ``{"job_id", "path"}`` with ``path`` relative to the root, ready for JupyterLab.
    """
    from promethium_lab.jobs import get_store, reproduce_notebook
    from promethium_lab.jobs.registry import get_workflow

    try:
        request = json.loads(body or b"{}")
        if not isinstance(request, dict) or not isinstance(request.get("path", ""), str):
            raise ValueError
    except ValueError:
        raise PromethiumError.invalid(
            "bad reproduce request: send {} or {\"path\": \"<notebook>.ipynb\"}",
            hint="path is relative to the server root") from None
    root = os.path.realpath(server_root)
    rel = request.get("path") or f"reproduce_{job_id}.ipynb"
    if rel.endswith("/") or not rel.endswith(".ipynb"):
        rel = f"{rel.rstrip('/')}/reproduce_{job_id}.ipynb"
    notebook = resolve_under_root(server_root, rel, want="new", what="path")
    rec = get_store().get(job_id)
    outputs = get_workflow(rec.kind).output_paths(rec.parameters)
    inside = all(Path(os.path.realpath(o)).is_relative_to(root) for o in outputs)
    written = reproduce_notebook(job_id, notebook,
                                 output_dir=None if inside else notebook.parent)
    return {"job_id": job_id, "path": written.relative_to(root).as_posix()}


# ---------------------------------------------------------------------------- preview
def job_preview(job_id: str, width: int = 1200, height: int = 800) -> bytes:
    """The job's latest preview as PNG bytes (one pixel per sample up to ``width ×
    height``); ``PATH_NOT_FOUND`` (404) when it has none."""
    import xarray as xr

    from promethium_lab.jobs import get_store
    from promethium_lab.jobs.preview import read_preview
    from promethium_lab.workflows.figures import section_png

    rec = get_store().get(job_id)
    data = read_preview(rec.preview_path) if rec.preview_path else None
    if isinstance(data, xr.Dataset):
        two_d = [v for v in data.data_vars.values() if v.ndim == 2]
        data = data["amplitude"] if "amplitude" in data else (two_d[0] if two_d else None)
    if data is None or data.squeeze().ndim != 2:
        raise PromethiumError(
            ErrorCode.PATH_NOT_FOUND,
            f"job {job_id} has no preview{'' if rec.is_terminal else ' yet'}",
            hint="previews appear while a job runs (not every kind publishes one)",
            retryable=not rec.is_terminal)
    return section_png(data.squeeze(), width=width, height=height)


# ---------------------------------------------------------------------------- handlers
class _JobRouteHandler(PromethiumAPIHandler):
    """Base of the job routes (Jupyter's ``kernels`` permission: a job is work a kernel,
    or its cluster, does)."""

    auth_resource = "kernels"


class JobsHandler(_JobRouteHandler):
    """``GET promethium/jobs?limit=&cursor=&state=&kind=``: a page of jobs, newest first;
    ``POST promethium/jobs``: submit a job (answers 201 and its record)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        limit = self.int_argument("limit", PAGE_DEFAULT, 1, PAGE_MAX)
        states = [s for arg in self.get_query_arguments("state") for s in arg.split(",") if s]
        self.answer_now(job_page, limit, self.get_query_argument("cursor", ""), states,
                          self.get_query_argument("kind", None) or None)

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        record = await asyncio.to_thread(submit_job, self.server_root, self.request.body)
        self.set_header("Location", url_path_join(self.base_url, "promethium", "jobs",
                                                  record["id"]))
        self.set_status(201)
        self.finish(json.dumps(record))


class JobHandler(_JobRouteHandler):
    """``GET promethium/jobs/<id>``: the job's record (``JobRecord`` of openapi.yaml)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.answer_now(_job_record, job_id)


class JobCancelHandler(_JobRouteHandler):
    """``POST promethium/jobs/<id>/cancel``: ask a job to stop; answers its record.

    Works whatever the kernel that submitted the job is doing: the request only sets the
    job store's cancel flag, which the job's runner checks between batches (a queued job is
    canceled at once, a running one is ``stopping`` until its runner stops). Asking again,
    or asking a finished job, changes nothing and answers its record. Tornado checks XSRF
    for this POST unless the request carries the server's token.
    """

    @tornado.web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        await self.answer(_cancel, job_id)


class JobReproduceHandler(_JobRouteHandler):
    """``POST promethium/jobs/<id>/reproduce``: write the report notebook that re-runs a
    completed job with its parameters; answers 201 and ``{job_id, path}``."""

    @tornado.web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        answer = await asyncio.to_thread(reproduce_job, self.server_root, job_id,
                                         self.request.body)
        self.set_status(201)
        self.finish(json.dumps(answer))


class JobPreviewHandler(_JobRouteHandler):
    """``GET promethium/jobs/<id>/preview.png?width=&height=``: the job's latest preview."""

    @tornado.web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        width = self.int_argument("width", 1200, 16, 4096)
        height = self.int_argument("height", 800, 16, 4096)
        await self.answer(job_preview, job_id, width, height)
