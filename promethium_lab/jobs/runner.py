"""Running one job: a template method around the workflow, wherever it runs.

:class:`JobRunner` follows jupyter-scheduler's execution manager::

    run()  =  before_start()  ->  execute()  ->  on_complete(result)
                                            \\->  on_failure(error)   (canceled or failed)

and adds what jupyter-scheduler lacks: progress, message, preview and ``updated_at`` are
written to the job store while the workflow runs, through the :class:`JobContext` it is
given as ``context=``. The same runner runs in a kernel thread, a detached process (CLI
``--no-wait``) and on a Dask worker; :func:`run_job` is the picklable entry point.

Cancellation: the context's ``is_canceled`` reads the store's cancel flag at most every
``cancel_poll_s`` (0.2 s) — cheap — so a cancel from another process (the server, the
CLI) takes effect at the workflow's next check, i.e. within one batch.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from promethium_lab.core.context import TaskContext
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.logging import get_logger
from promethium_lab.jobs.models import JobState
from promethium_lab.jobs.registry import accepted_parameters, load_target
from promethium_lab.jobs.store import HOSTNAME, JobStore, cleanup_partials, get_store

__all__ = [
    "CANCEL_POLL_S",
    "HEARTBEAT_S",
    "JobContext",
    "JobRunner",
    "call_workflow",
    "local_runner",
    "main",
    "run_job",
]

log = get_logger("jobs")

#: the store's cancel flag is read at most this often by a running job
CANCEL_POLL_S = 0.2
#: owners of active jobs refresh their heartbeat this often
HEARTBEAT_S = 1.0
#: progress is written at most this often (the newest value is flushed by the heartbeat)
PROGRESS_WRITE_S = 0.1
#: previews are written at most this often (the newest is always written at the end)
PREVIEW_WRITE_S = 0.5


# ---------------------------------------------------------------------- heartbeat
class _Heartbeat:
    """One daemon thread per process refreshing the heartbeat of the jobs it owns and
    flushing throttled progress. The thread ends once it has no job left (the next
    :meth:`add` starts another), so no thread outlives the jobs of a one-shot process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[JobStore, Any]] = {}  # id -> (store, runner or None)
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def add(self, store: JobStore, job_id: str, runner: Any = None) -> None:
        with self._lock:
            if self._pid != os.getpid():  # forked: the thread did not come along
                self._jobs, self._thread, self._pid = {}, None, os.getpid()
            self._jobs[job_id] = (store, runner)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="promethium-heartbeat",
                                                daemon=True)
                self._thread.start()

    def discard(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def _loop(self) -> None:
        while True:
            time.sleep(HEARTBEAT_S)
            with self._lock:
                items = list(self._jobs.items())
                if not items:  # idle: end here (add() starts a new thread under this lock)
                    if self._thread is threading.current_thread():
                        self._thread = None
                    return
            by_store: dict[str, tuple[JobStore, list[str]]] = {}
            for job_id, (store, runner) in items:
                by_store.setdefault(str(store.path), (store, []))[1].append(job_id)
                if runner is not None:
                    try:
                        runner._flush_progress()
                    except Exception as exc:  # never let the heartbeat die
                        log.debug("progress flush of job %s failed: %s", job_id, exc)
            for store, ids in by_store.values():
                try:
                    store.heartbeat(ids)
                except Exception as exc:
                    log.debug("heartbeat of %s failed: %s", store.path, exc)


HEARTBEAT = _Heartbeat()

#: runners alive in this process, so that ``Job.cancel()`` here stops them at once
_local_runners: dict[str, JobRunner] = {}
_local_lock = threading.Lock()


def local_runner(job_id: str) -> JobRunner | None:
    """The runner of ``job_id`` if it runs in this process."""
    with _local_lock:
        return _local_runners.get(job_id)


# ---------------------------------------------------------------------- context
class JobContext(TaskContext):
    """The :class:`~promethium_lab.core.context.TaskContext` of a job: progress, message
    and previews go to the job store; cancellation comes from it.

    Attributes
    ----------
    job_id : str
    store : JobStore
    """

    def __init__(self, runner: JobRunner) -> None:
        super().__init__(on_progress=runner._on_progress, on_preview=runner._on_preview,
                         is_canceled=runner._poll_cancel, show_progress=False)
        self.job_id = runner.job_id
        self.store = runner.store


# ---------------------------------------------------------------------- runner
class JobRunner:
    """Run one job of the store: claim it, run its workflow with a :class:`JobContext`,
    record the outcome.

    Parameters
    ----------
    store : JobStore
    job_id : str
    target : str or callable, optional
        The workflow (default: the record's ``target``).
    params : dict, optional
        The workflow's parameters (default: the record's JSON ``parameters``). Kernel jobs
        pass the real objects, which may not be JSON-safe.
    worker : str, optional
        Where it runs (default ``host:pid``).
    cancel_poll_s : float
        Minimum interval between two reads of the store's cancel flag.
    """

    def __init__(self, store: JobStore, job_id: str, target: Any = None,
                 params: dict[str, Any] | None = None, *, worker: str = "",
                 cancel_poll_s: float = CANCEL_POLL_S) -> None:
        self.store = store
        self.job_id = job_id
        self._target = target
        self._params = params
        self.worker = worker or f"{HOSTNAME}:{os.getpid()}"
        self.cancel_poll_s = cancel_poll_s
        self.preview_dir = store.path.parent / "previews"
        self.context: JobContext | None = None
        self.result: Any = None
        self.record = None
        self._lock = threading.Lock()
        self._last_poll = 0.0
        self._canceled = False
        self._progress: tuple[float, str] | None = None  # not yet written
        self._last_progress_write = 0.0
        self._preview: Any = None  # not yet written
        self._last_preview_write = 0.0
        self._previewing = False
        self._existing: dict[str, int | None] = {}

    # -- template method ------------------------------------------------------------
    def run(self) -> Any:
        """``before_start`` → ``execute`` → ``on_complete`` / ``on_failure``; returns the
        workflow's result, or None when the job did not complete (never raises for a job
        failure: the outcome is in the store)."""
        if not self.before_start():
            return None
        try:
            result = self.execute()
        except BaseException as exc:
            self.on_failure(exc)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt, SystemExit: recorded, then let it through
            return None
        finally:
            with _local_lock:
                _local_runners.pop(self.job_id, None)
            HEARTBEAT.discard(self.job_id)
        self.on_complete(result)
        return result

    def before_start(self) -> bool:
        """Claim the job (queued → running). A job found running under a dead runner (a
        Dask retry after a lost worker) is marked RUNNER_LOST; a canceled one is skipped."""
        rec = self.store.get(self.job_id)
        if rec.state != JobState.QUEUED:
            if rec.state in (JobState.RUNNING, JobState.PREVIEWING, JobState.STOPPING):
                if not self.store.owner_alive(rec):
                    self.store.mark_lost(rec)
                # else: another live runner has it (a duplicate attempt): leave it alone
            return False
        with _local_lock:
            _local_runners[self.job_id] = self
        if not self.store.claim(self.job_id, worker=self.worker):
            with _local_lock:
                _local_runners.pop(self.job_id, None)
            return False
        self.record = self.store.get(self.job_id)
        self._existing = {o: _mtime(o) for o in self.record.outputs}
        HEARTBEAT.add(self.store, self.job_id, self)
        self.context = JobContext(self)
        return True

    def execute(self) -> Any:
        """Call the workflow with the job's parameters and ``context=``."""
        rec = self.record
        func = load_target(self._target or rec.target)
        params = dict(rec.parameters if self._params is None else self._params)
        self.context.check(f"job {self.job_id}")
        names, _ = accepted_parameters(func)
        if "client" in names and "client" not in params:
            client = _worker_client()
            if client is not None:  # on a Dask worker: let the workflow fan out
                with client as c:
                    return call_workflow(func, {**params, "client": c}, self.context)
        return call_workflow(func, params, self.context)

    def on_complete(self, result: Any) -> None:
        """Record success: artifacts, progress 1, the newest preview."""
        self.result = result
        self._flush_preview(force=True)
        artifacts = _artifacts(result, self.record)
        moved = self.store.transition(self.job_id, JobState.COMPLETED, progress=1.0,
                                      artifacts=artifacts,
                                      message=self.context.message if self.context else "")
        if not moved:  # marked lost meanwhile by a recover() that misjudged us
            log.warning("job %s completed but its record was no longer active", self.job_id)

    def on_failure(self, exc: BaseException) -> None:
        """Record cancellation or failure and remove the job's unfinished output."""
        self._flush_progress()
        if isinstance(exc, PromethiumError):
            err, tb = exc, ""
        elif isinstance(exc, KeyboardInterrupt):
            err = PromethiumError(ErrorCode.CANCELED, f"job {self.job_id} was interrupted",
                                  hint="nothing that looks complete was left behind")
            tb = ""
        else:
            err = PromethiumError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}",
                                  hint="unexpected error; the traceback is in the job record "
                                  "(`promethium-lab jobs show ID`)")
            tb = "".join(traceback.format_exception(exc))
            log.error("job %s failed: %s: %s (traceback in its record)", self.job_id,
                      type(exc).__name__, exc)
        canceled = err.code == ErrorCode.CANCELED
        partial = cleanup_partials(self.record.outputs) + self._discard_new_outputs()
        self.store.transition(self.job_id, JobState.CANCELED if canceled else JobState.FAILED,
                              error=err.to_dict(), traceback=tb, partial_outputs=partial)

    def _discard_new_outputs(self) -> list[dict[str, Any]]:
        """Outputs that became complete before the job failed (e.g. a later step raised):
        removed when the job created them, else listed as not removed."""
        import shutil

        found = []
        for out, before in getattr(self, "_existing", {}).items():
            now = _mtime(out)
            if now is None or now == before:
                continue
            path = Path(out)
            if before is None:
                try:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                    removed = True
                except OSError:
                    removed = False
            else:  # replaced an earlier output (overwrite=True): never delete user data
                removed = False
            found.append({"path": out, "removed": removed, "complete_looking": True})
        return found

    # -- context hooks --------------------------------------------------------------
    def _on_progress(self, fraction: float, message: str) -> None:
        with self._lock:
            self._progress = (fraction, message)
            due = time.monotonic() - self._last_progress_write >= PROGRESS_WRITE_S
        if due:
            self._flush_progress()
        self._flush_preview()

    def _flush_progress(self) -> None:
        with self._lock:
            pending, self._progress = self._progress, None
            if pending is not None:
                self._last_progress_write = time.monotonic()
        if pending is not None:
            self.store.set_progress(self.job_id, pending[0], pending[1])

    def _on_preview(self, obj: Any) -> None:
        with self._lock:
            self._preview = obj
        self._flush_preview()

    def _flush_preview(self, force: bool = False) -> None:
        with self._lock:
            if self._preview is None or (not force and (
                    time.monotonic() - self._last_preview_write < PREVIEW_WRITE_S)):
                return
            obj, self._preview = self._preview, None
            self._last_preview_write = time.monotonic()
        from promethium_lab.jobs.preview import write_preview

        try:
            path = write_preview(obj, self.preview_dir, self.job_id)
        except Exception as exc:  # a preview never fails the job
            log.warning("job %s: preview not written: %s: %s", self.job_id,
                        type(exc).__name__, exc)
            return
        fields: dict[str, Any] = {"preview_path": str(path)}
        if not self._previewing:
            self._previewing = self.store.transition(
                self.job_id, JobState.PREVIEWING, from_states=(JobState.RUNNING,), **fields)
            if self._previewing:
                return
        self.store.update(self.job_id, **fields)

    def _poll_cancel(self) -> bool:
        if self._canceled:
            return True
        now = time.monotonic()
        if now - self._last_poll >= self.cancel_poll_s:
            self._last_poll = now
            self._canceled = self.store.cancel_requested(self.job_id)
        return self._canceled

    def cancel_local(self) -> None:
        """Stop at the next check without waiting for the store poll (same process)."""
        if self.context is not None:
            self.context.cancel()


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def call_workflow(func: Any, params: dict[str, Any], context: TaskContext) -> Any:
    """``func(**params, context=context)``; a workflow still on the older
    ``callback=``/``should_stop=`` API gets the context's hooks through those instead."""
    params = dict(params)
    names, var_kw = accepted_parameters(func)
    if "context" in names or (var_kw and "callback" not in names):
        params["context"] = context
    else:
        if "callback" in names:
            params["callback"] = context.progress
        if "should_stop" in names:
            params["should_stop"] = context.should_stop
        if "progress" in names and "progress" not in params:
            params["progress"] = False
    return func(**params)


def _artifacts(result: Any, rec: Any) -> dict[str, Any]:
    """JSON-safe description of what a completed job produced."""
    from promethium_lab.jobs.models import json_safe

    out: dict[str, Any] = {}
    if isinstance(result, str | os.PathLike):
        out["output"] = os.fspath(result)
    elif isinstance(result, dict):
        out.update({str(k): json_safe(v) for k, v in result.items()
                    if isinstance(v, str | int | float | bool | os.PathLike | list | dict)})
        for key in ("store", "out", "output", "path"):
            if isinstance(result.get(key), str | os.PathLike):
                out.setdefault("output", os.fspath(result[key]))
                break
    elif result is not None:
        out["result"] = type(result).__name__
        as_dict = getattr(result, "to_dict", None)
        if callable(as_dict) and not hasattr(result, "dims"):  # e.g. a ModelEntry
            try:
                out.update({str(k): json_safe(v) for k, v in dict(as_dict()).items()})
            except Exception:  # a to_dict that wants arguments: keep the type name
                pass
        path = getattr(result, "path", None)
        if isinstance(path, str | os.PathLike):
            out["output"] = os.fspath(path)
        elif rec.outputs and Path(rec.outputs[0]).exists():
            out["output"] = rec.outputs[0]
    elif rec.outputs and Path(rec.outputs[0]).exists():
        out["output"] = rec.outputs[0]
    if "output" in out and "metrics" not in out:  # a store's quality figures, for listings
        from promethium_lab.io.store import store_attributes

        metrics = store_attributes(out["output"]).get("metrics")
        if isinstance(metrics, dict):
            out["metrics"] = json_safe(metrics)
    return out


def _worker_client() -> Any:
    """``distributed.worker_client()`` when running inside a Dask task, else None."""
    try:
        from distributed import get_worker, worker_client

        get_worker()
    except (ImportError, ValueError):
        return None
    return worker_client()


def run_job(store_path: str, job_id: str, target: Any = None,
            params: dict[str, Any] | None = None) -> Any:
    """Run job ``job_id`` of the store at ``store_path`` in this process (the Dask task).

    Returns the workflow's result, or None when the job did not complete.
    """
    worker = ""
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        pass
    return JobRunner(get_store(store_path), job_id, target, params, worker=worker).run()


def main(argv: list[str] | None = None) -> int:
    """``python -m promethium_lab.jobs.runner --store PATH JOB_ID``: run a queued job in
    this process (the CLI starts one detached for ``run --no-wait``)."""
    parser = argparse.ArgumentParser(prog="python -m promethium_lab.jobs.runner")
    parser.add_argument("job_id")
    parser.add_argument("--store", default=None)
    args = parser.parse_args(argv)
    store = JobStore(args.store, recover=False)
    JobRunner(store, args.job_id).run()
    rec = store.get(args.job_id)
    return 0 if rec.state == JobState.COMPLETED else 1


if __name__ == "__main__":
    raise SystemExit(main())
