"""Submitting and watching jobs: :func:`submit`, :class:`Job`, :func:`get_job`,
:func:`list_jobs`, :func:`cancel_job`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import weakref
from typing import Any

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs.executors import Executor, get_executor
from promethium_lab.jobs.models import JobRecord, JobState, error_from_dict, json_safe
from promethium_lab.jobs.registry import RUNNER_PARAMETERS, accepted_parameters, get_workflow
from promethium_lab.jobs.runner import HEARTBEAT, local_runner
from promethium_lab.jobs.store import JobStore, get_store

__all__ = ["Job", "cancel_job", "get_job", "list_jobs", "submit"]

#: seconds between two looks at the store while waiting
WAIT_POLL_S = 0.02
#: seconds between two checks that the owner of a waited-for job is alive
OWNER_CHECK_S = 1.0

_handles: weakref.WeakValueDictionary[tuple[str, str], Job] = weakref.WeakValueDictionary()
_handles_lock = threading.Lock()


class Job:
    """Handle of one job: watch it, wait for it, cancel it, get its result.

    Every property reads the job store, so it is current whichever process runs the job.

    Parameters
    ----------
    job_id : str
    store : JobStore
    executor : Executor, optional
        The executor it was submitted to (None for jobs looked up by id).
    future : optional
        The executor's future (kernel: ``concurrent.futures.Future``, Dask:
        ``distributed.Future``); holds the in-memory result of a completed job.
    """

    def __init__(self, job_id: str, store: JobStore, *, executor: Executor | None = None,
                 future: Any = None) -> None:
        self.id = job_id
        self.store = store
        self.executor = executor
        self.future = future

    # -- state ------------------------------------------------------------------
    @property
    def record(self) -> JobRecord:
        """The job's record, freshly read."""
        return self.store.get(self.id)

    @property
    def kind(self) -> str:
        """Workflow kind."""
        return self.record.kind

    @property
    def state(self) -> JobState:
        """Current state."""
        return self.record.state

    @property
    def progress(self) -> float:
        """Done fraction in [0, 1]."""
        return self.record.progress

    @property
    def message(self) -> str:
        """Latest progress message."""
        return self.record.message

    @property
    def error(self) -> dict[str, Any] | None:
        """``{code, name, message, hint, retryable}`` of a failed or canceled job."""
        return self.record.error

    @property
    def artifacts(self) -> dict[str, Any]:
        """What a completed job produced (e.g. ``{"output": path}``)."""
        return self.record.artifacts

    @property
    def preview(self) -> Any:
        """The newest downsampled result (a DataArray or Dataset, ≤ 512 × 512), or None."""
        path = self.record.preview_path
        if not path:
            return None
        from promethium_lab.jobs.preview import read_preview

        return read_preview(path)

    def done(self) -> bool:
        """True once completed, failed or canceled."""
        return self.record.is_terminal

    # -- actions ----------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> JobState:
        """Block until the job ends; returns its final state.

        While waiting, a job whose runner died is marked failed (RUNNER_LOST).

        Raises
        ------
        TimeoutError
            When ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        next_owner_check = time.monotonic() + OWNER_CHECK_S
        while True:
            rec = self.record
            if rec.is_terminal:
                return rec.state
            now = time.monotonic()
            if now >= next_owner_check:
                next_owner_check = now + OWNER_CHECK_S
                if not self.store.owner_alive(rec):
                    self.store.mark_lost(rec)
                    continue
            if deadline is not None and now >= deadline:
                raise TimeoutError(f"job {self.id} is still {rec.state.value} after {timeout} s")
            time.sleep(WAIT_POLL_S if deadline is None else
                       max(0.0, min(WAIT_POLL_S, deadline - now)))

    def result(self, timeout: float | None = None) -> Any:
        """Wait, then return the workflow's result.

        In the process that submitted the job, this is the workflow's return value (e.g.
        the store's ``Path``, or an in-memory Dataset); elsewhere the recorded output path.

        Raises
        ------
        PromethiumError
            The job's stored error when it failed or was canceled.
        TimeoutError
            When ``timeout`` passes first.
        """
        state = self.wait(timeout)
        rec = self.record
        if state != JobState.COMPLETED:
            raise error_from_dict(rec.error or {"code": ErrorCode.INTERNAL.value,
                                                "message": f"job {self.id} is {state.value}"})
        if self.future is not None:
            try:
                value = self.future.result(timeout=30)
            except Exception:  # e.g. the Dask client went away: fall back to the record
                value = None
            if value is not None:
                return value
        return rec.output_path()

    def cancel(self) -> JobState:
        """Ask the job to stop (within one batch); returns the state after asking.

        A queued job is canceled at once; a running one is ``stopping`` until its runner
        sees the request, then ``canceled``, its unfinished output removed.
        """
        state = self.store.request_cancel(self.id)
        runner = local_runner(self.id)
        if runner is not None:
            runner.cancel_local()
        if state == JobState.CANCELED and self.future is not None and self.executor:
            self.executor.cancel_queued(self.future)
            HEARTBEAT.discard(self.id)
        return state

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-safe dict."""
        return self.record.to_dict()

    def __repr__(self) -> str:
        try:
            rec = self.record
        except PromethiumError:
            return f"<Job {self.id} (deleted)>"
        return (f"<Job {rec.id} {rec.kind} {rec.state.value} {rec.progress:.0%} "
                f"on {rec.executor}>")


def _remember(job: Job) -> Job:
    with _handles_lock:
        _handles[(str(job.store.path), job.id)] = job
    return job


def _check_params(kind: str, func: Any, params: dict[str, Any]) -> None:
    """Unknown or missing parameters fail at submission, not in the runner."""
    import inspect

    names, var_kw = accepted_parameters(func)
    shown = sorted(names - RUNNER_PARAMETERS)
    unknown = [] if var_kw else sorted(set(params) - names)
    if unknown:
        raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                              f"{kind} takes no parameter(s) {unknown}",
                              hint=f"its parameters: {shown}")
    try:
        required = [p.name for p in inspect.signature(func).parameters.values()
                    if p.default is p.empty and p.name not in params
                    and p.name not in RUNNER_PARAMETERS
                    and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        required = []
    if required:
        raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                              f"{kind} needs the parameter(s) {required}",
                              hint=f"its parameters: {shown} (CLI: --param key=value)")


def submit(kind: str, *, executor: str | Executor | None = "kernel", gpu: bool | None = None,
           job_store: JobStore | str | os.PathLike | None = None, detach: bool = False,
           **params: Any) -> Job:
    """Run the workflow ``kind`` as a job; returns its :class:`Job` at once (queued).

    Parameters
    ----------
    kind : str
        ``ingest``, ``export``, ``reconstruct``, ... (see ``workflow_kinds()``).
    executor : str or Executor
        ``"kernel"`` (threads here; default), ``"dask"`` (LocalCluster or configured
        Gateway), ``"gateway"``, a scheduler address, or an executor instance.
    gpu : bool, optional
        Route to a GPU worker (Dask); default decided by the kind (deep reconstruction).
    job_store : JobStore or path, optional
        Job store (default: ``<data_dir>/jobs.sqlite``).
    detach : bool
        Kernel executor only: run the job in a detached process that outlives this one
        (used by ``promethium-lab run --no-wait``); parameters must then be JSON-safe.
        With a Dask scheduler address: keep the task even after this client leaves.
    **params
        The workflow's parameters (never ``context``: the job provides it).

    Returns
    -------
    Job
    """
    if "context" in params:
        raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                              "a job provides its own context; do not pass context=",
                              hint="watch and cancel the job through the returned Job")
    spec = get_workflow(kind)
    _check_params(kind, spec.load(), params)
    st = job_store if isinstance(job_store, JobStore) else get_store(job_store)
    ex = get_executor(executor)
    wants_gpu = spec.wants_gpu(params) if gpu is None else bool(gpu)
    record_params = json_safe(params)
    outputs = spec.output_paths(params)
    if detach and ex.name == "kernel":
        return _submit_detached(st, kind, spec.target_name, record_params, outputs)
    rec = st.create(kind, record_params, executor=ex.label, outputs=outputs,
                    target=spec.target_name, pid=0 if detach else None,
                    host="" if detach else None)
    try:
        if detach:
            future = ex.submit_job(st, rec.id, spec.target, params, gpu=wants_gpu,
                                   fire_and_forget=True)
        else:
            future = ex.submit_job(st, rec.id, spec.target, params, gpu=wants_gpu)
    except BaseException as exc:
        err = exc if isinstance(exc, PromethiumError) else PromethiumError(
            ErrorCode.INTERNAL, f"could not submit job {rec.id}: {exc}")
        st.transition(rec.id, JobState.FAILED, error=err.to_dict())
        raise
    return _remember(Job(rec.id, st, executor=ex, future=future))


def _submit_detached(st: JobStore, kind: str, target: str, params: dict[str, Any],
                     outputs: list[str]) -> Job:
    if json_safe(params) != params:
        raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                              "a detached job needs JSON-safe parameters",
                              hint="pass paths and numbers, or run it in this kernel")
    rec = st.create(kind, params, executor="process", outputs=outputs, target=target)
    log_dir = st.path.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{rec.id}.log", "ab") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "promethium_lab.jobs.runner", "--store", str(st.path), rec.id],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True,
            env={**os.environ, "PROMETHIUM_PROGRESS": "0"},
        )
    # the child owns the queued job from now on (it heartbeats once it runs)
    st._update(rec.id, {"pid": proc.pid, "heartbeat_at": time.time()},
               only_states=(JobState.QUEUED.value,))
    return _remember(Job(rec.id, st))


def get_job(job_id: str, *, job_store: JobStore | str | os.PathLike | None = None) -> Job:
    """The :class:`Job` of ``job_id`` (the submitting handle when it lives in this process).

    Raises JOB_NOT_FOUND when there is no such job.
    """
    st = job_store if isinstance(job_store, JobStore) else get_store(job_store)
    with _handles_lock:
        job = _handles.get((str(st.path), job_id))
    if job is not None:
        return job
    st.get(job_id)  # raises for unknown ids
    return Job(job_id, st)


def list_jobs(*, state: str | JobState | list[str | JobState] | None = None,
              kind: str | None = None, limit: int | None = None, offset: int = 0,
              job_store: JobStore | str | os.PathLike | None = None) -> list[JobRecord]:
    """Job records, newest first (snapshots; use :func:`get_job` for a live handle);
    ``limit`` and ``offset`` page through them."""
    st = job_store if isinstance(job_store, JobStore) else get_store(job_store)
    return st.list(state=state, kind=kind, limit=limit, offset=offset)


def cancel_job(job_id: str, *,
               job_store: JobStore | str | os.PathLike | None = None) -> JobState:
    """Ask job ``job_id`` to stop; returns its state after asking."""
    return get_job(job_id, job_store=job_store).cancel()

