"""Where jobs run: threads of the current process, or a Dask cluster.

* :class:`KernelExecutor` runs jobs in a small thread pool of the current process (the
  notebook's kernel); a job's result stays in memory.
* :class:`DaskExecutor` runs each job as one Dask task: on a ``distributed.LocalCluster``
  started on first use (2 workers × 1 thread by default, on 127.0.0.1), on the scheduler
  at ``address``, or on a Dask Gateway cluster when one is configured
  (``gateway=True``, or ``gateway.address`` in the Dask config). Jobs that want a GPU
  (e.g. deep reconstruction) carry the resource annotation ``{"GPU": 1}`` when some
  worker declares a ``GPU`` resource, and run anywhere otherwise.

Both write the same job records; cancellation and progress go through the store, so a
job is watched and canceled the same way wherever it runs.

Shutdown: :func:`close_executors` closes the process's shared Dask executors (client, then
the LocalCluster it started). It runs by itself at interpreter exit *before* the thread
pools of ``concurrent.futures`` stop taking work, so a Dask future that settles late (its
done-callback goes through such a pool) never meets a closed pool; one-shot callers (the
CLI) call it themselves before returning.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import importlib
import os
import threading
from abc import ABC, abstractmethod
from typing import Any

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.logging import get_logger
from promethium_lab.core.resources import gpu_resources
from promethium_lab.jobs.models import JobState
from promethium_lab.jobs.runner import HEARTBEAT, JobRunner, run_job
from promethium_lab.jobs.store import JobStore, cleanup_partials

__all__ = ["DaskExecutor", "Executor", "KernelExecutor", "close_executors", "get_executor",
           "gpu_resources"]

#: seconds :meth:`DaskExecutor.close` waits for the Dask futures of jobs already ended
SETTLE_S = 10.0

log = get_logger("jobs")


class Executor(ABC):
    """Runs the runner of a queued job somewhere and hands back a future."""

    #: short name: ``kernel`` or ``dask``
    name = ""

    @property
    @abstractmethod
    def label(self) -> str:
        """What the job record's ``executor`` field says (e.g. ``dask:tcp://...``)."""

    @abstractmethod
    def submit_job(self, store: JobStore, job_id: str, target: Any, params: dict[str, Any],
                   *, gpu: bool = False) -> Any:
        """Start the runner of ``job_id``; returns a future of the workflow's result."""

    def cancel_queued(self, future: Any) -> None:  # noqa: B027 - optional hook
        """Drop a job that has not started yet (its record is already canceled)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the executor's resources."""


class KernelExecutor(Executor):
    """Jobs in threads of the current process.

    Parameters
    ----------
    max_workers : int, optional
        Jobs running at once (default: 2 to 4, by core count); more wait queued.
    """

    name = "kernel"

    def __init__(self, max_workers: int | None = None) -> None:
        n = max_workers or max(2, min(4, os.cpu_count() or 1))
        self.max_workers = n
        self._pool = concurrent.futures.ThreadPoolExecutor(n, thread_name_prefix="promethium-job")

    @property
    def label(self) -> str:
        return "kernel"

    def submit_job(self, store: JobStore, job_id: str, target: Any, params: dict[str, Any],
                   *, gpu: bool = False) -> concurrent.futures.Future:
        HEARTBEAT.add(store, job_id)  # queued in this process: keep it alive
        return self._pool.submit(self._run, store, job_id, target, params)

    @staticmethod
    def _run(store: JobStore, job_id: str, target: Any, params: dict[str, Any]) -> Any:
        try:
            return JobRunner(store, job_id, target, params).run()
        finally:
            HEARTBEAT.discard(job_id)

    def cancel_queued(self, future: Any) -> None:
        future.cancel()

    def close(self) -> None:
        """Stop taking jobs; running ones finish."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class DaskExecutor(Executor):
    """Jobs as Dask tasks.

    Parameters
    ----------
    address : str, optional
        Scheduler address (``tcp://host:8786``). Default: a Dask Gateway cluster when
        configured, else a ``LocalCluster`` started on first use.
    gateway : bool or str, optional
        Use Dask Gateway (``True``: its configured address; a str: that address). None
        (default): when ``gateway.address`` is set in the Dask config and no ``address``
        is given. Needs ``dask-gateway``.
    n_workers, threads_per_worker : int
        Size of the LocalCluster (or of the Gateway cluster: ``n_workers``).
    client : distributed.Client, optional
        Use this client (its cluster is not closed by :meth:`close`).
    malloc_trim : bool, default False
        Keep distributed's ``MALLOC_TRIM_THRESHOLD_=65536`` for the LocalCluster's workers.
        Off by default: it makes glibc map and unmap every numpy temporary over 64 KiB,
        which cost reconstruction ~2.5× the CPU time of the same code in the kernel.
    **cluster_kwargs
        More ``LocalCluster`` arguments (e.g. ``resources={"GPU": 1}``).
    """

    name = "dask"

    def __init__(self, address: str | None = None, *, gateway: bool | str | None = None,
                 n_workers: int = 2, threads_per_worker: int = 1, client: Any = None,
                 malloc_trim: bool = False, **cluster_kwargs: Any) -> None:
        self.address = address
        self.gateway = gateway
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.cluster_kwargs = cluster_kwargs
        self.malloc_trim = malloc_trim
        self._client = client
        self._own_client = client is None
        self._cluster: Any = None
        self._kind = "dask"
        self._lock = threading.Lock()
        self._in_flight: dict[str, tuple[JobStore, Any]] = {}  # job id -> (store, future)

    # -- cluster ----------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (connecting or starting a cluster on first use)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _use_gateway(self) -> bool:
        if self.gateway is not None:
            return bool(self.gateway)
        if self.address:
            return False
        import dask

        return bool(dask.config.get("gateway.address", None))

    def _connect(self) -> Any:
        from distributed import Client

        if self._use_gateway():
            try:
                from dask_gateway import Gateway
            except ImportError as exc:
                raise PromethiumError(
                    ErrorCode.BAD_CONFIG, "a Dask Gateway cluster was asked for, but "
                    "dask-gateway is not installed",
                    hint="pip install dask-gateway, or use executor='dask' (a LocalCluster) "
                    "or a scheduler address",
                ) from exc
            gw = Gateway(self.gateway) if isinstance(self.gateway, str) else Gateway()
            self._cluster = gw.new_cluster()
            self._cluster.scale(self.n_workers)
            self._kind = "dask-gateway"
            return self._cluster.get_client(set_as_default=False)
        if self.address:
            try:
                from promethium_lab.core.config import get_config

                return Client(self.address, timeout=get_config().scheduler_timeout_s,
                              set_as_default=False)
            except OSError as exc:
                raise PromethiumError(
                    ErrorCode.BAD_CONFIG, f"cannot reach the Dask scheduler at {self.address}",
                    hint="check the address (tcp://host:port) and that the scheduler runs",
                    retryable=True,
                ) from exc
        import logging

        from distributed import LocalCluster

        kwargs = {"n_workers": self.n_workers, "threads_per_worker": self.threads_per_worker,
                  "processes": True, "host": "127.0.0.1", "dashboard_address": "127.0.0.1:0",
                  "silence_logs": logging.ERROR, **self.cluster_kwargs}
        import dask

        unset = {} if self.malloc_trim else {
            "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
        with dask.config.set(unset):  # read by each nanny when it is created
            self._cluster = LocalCluster(**kwargs)
        # not the default client: the user's own dask computations stay where they were
        return Client(self._cluster, set_as_default=False)

    @property
    def label(self) -> str:
        client = self.client
        if self._kind == "dask-gateway":
            return f"dask-gateway:{getattr(self._cluster, 'name', '?')}"
        return f"dask:{client.scheduler.address}"

    @property
    def dashboard_link(self) -> str | None:
        """The Dask dashboard of the cluster, when it has one."""
        try:
            return self.client.dashboard_link
        except Exception:
            return None

    def resources_for(self, wants_gpu: bool) -> dict[str, float] | None:
        """``{"GPU": 1}`` for GPU jobs when a worker declares a GPU, else None."""
        if not wants_gpu:
            return None
        return gpu_resources(self.client, True)

    # -- jobs -------------------------------------------------------------------
    def submit_job(self, store: JobStore, job_id: str, target: Any, params: dict[str, Any],
                   *, gpu: bool = False, fire_and_forget: bool = False) -> Any:
        client = self.client
        HEARTBEAT.add(store, job_id)  # queued, owned by this client process
        future = client.submit(run_job, str(store.path), job_id, target, params,
                               key=f"promethium-job-{job_id}", pure=False, retries=0,
                               resources=self.resources_for(gpu))
        if fire_and_forget:
            from distributed import fire_and_forget as forget

            forget(future)
        self._in_flight[job_id] = (store, future)
        future.add_done_callback(lambda f: self._done(store, job_id, f))
        return future

    def _done(self, store: JobStore, job_id: str, future: Any) -> None:
        self._in_flight.pop(job_id, None)
        _dask_done(store, job_id, future)

    def _settle(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) until the Dask futures of jobs whose records already
        ended are done too, so that their callbacks run now, not while this process exits.
        Jobs still running are left to :meth:`close` (their tasks are released)."""
        from distributed import wait

        ended = []
        for job_id, (store, future) in list(self._in_flight.items()):
            try:
                if not future.done() and store.get(job_id).is_terminal:
                    ended.append(future)
            except PromethiumError:  # its record is gone: nothing to wait for
                pass
        if ended:
            try:
                wait(ended, timeout=timeout)  # states only: no result travels here
            except Exception as exc:  # a timeout, a client going away: close anyway
                log.debug("%d ended job(s) whose Dask futures did not settle: %s",
                          len(ended), exc)

    def cancel_queued(self, future: Any) -> None:
        future.cancel()

    def close(self, settle_s: float = SETTLE_S) -> None:
        """Close the client, and the cluster when this executor started it.

        Parameters
        ----------
        settle_s : float
            Seconds to wait first for the Dask futures of jobs that already ended (their
            results on their way to this client).
        """
        if self._client is not None and self._in_flight:
            self._settle(settle_s)
        with self._lock:
            client, cluster = self._client, self._cluster
            self._client = self._cluster = None
        if client is not None and self._own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def _dask_done(store: JobStore, job_id: str, future: Any) -> None:
    """A job's Dask task ended: if its runner could not record the end (worker lost,
    task dropped), record it here."""
    HEARTBEAT.discard(job_id)
    try:
        status = future.status
        if status == "finished":
            return
        rec = store.get(job_id)
        if rec.is_terminal:
            return
        exc: BaseException | None = None
        if status == "error":
            try:
                exc = future.exception(timeout=5)
            except Exception as err:
                exc = err
        if exc is None or "KilledWorker" in type(exc).__name__:
            err = PromethiumError(
                ErrorCode.RUNNER_LOST, f"the Dask task of job {job_id} was lost ({status}"
                + (f": {exc}" if exc is not None else "") + ")",
                hint="submit the job again; its unfinished output was removed", retryable=True)
        else:
            err = PromethiumError(
                ErrorCode.INTERNAL, f"the runner of job {job_id} failed on its Dask worker: "
                f"{type(exc).__name__}: {exc}",
                hint="is promethium_lab installed on the workers, at the same version?")
        _fail(store, rec, err)
    except Exception as err:  # runs in the client's event loop: never raise here
        log.warning("could not record the end of job %s: %s", job_id, err)


def _fail(store: JobStore, rec: Any, err: PromethiumError) -> None:
    """Mark a job whose Dask task died FAILED, its leftovers removed before (whoever sees
    the job FAILED finds them gone)."""
    partial = cleanup_partials(rec.outputs)
    store.transition(rec.id, JobState.FAILED, error=err.to_dict(), partial_outputs=partial)


_executors: dict[str, Executor] = {}
_executors_lock = threading.Lock()


def get_executor(executor: str | Executor | None = "kernel") -> Executor:
    """The executor named by ``executor``, shared by the whole process.

    ``"kernel"`` (default), ``"dask"`` (a LocalCluster started on first use, or the
    configured Dask Gateway), ``"gateway"``, a scheduler address (``tcp://...``,
    ``host:port``), or an :class:`Executor` instance (returned as is).
    """
    if isinstance(executor, Executor):
        return executor
    name = str(executor or "kernel").strip()
    with _executors_lock:
        ex = _executors.get(name)
        if ex is None:
            if name == "kernel":
                ex = KernelExecutor()
            elif name == "dask":
                ex = DaskExecutor()
            elif name == "gateway":
                ex = DaskExecutor(gateway=True)
            elif "://" in name or ":" in name:
                ex = DaskExecutor(name)
            else:
                raise PromethiumError(
                    ErrorCode.INVALID_PARAMETER, f"unknown executor {name!r}",
                    hint="use 'kernel', 'dask', 'gateway' or a scheduler address "
                    "(tcp://host:8786)",
                )
            _executors[name] = ex
        return ex


def close_executors() -> None:
    """Close the shared Dask executors of this process (client, then the LocalCluster it
    started) and forget them; a later :func:`get_executor` starts afresh. Kernel executors
    are kept: their threads finish their jobs."""
    with _executors_lock:
        dask = {k: ex for k, ex in _executors.items() if isinstance(ex, DaskExecutor)}
        for key in dask:
            del _executors[key]
    for name, ex in dask.items():
        try:
            ex.close()
        except Exception as exc:  # closing must not fail the caller
            log.warning("closing the %s executor failed: %s: %s", name, type(exc).__name__, exc)


# At exit, close before concurrent.futures stops its pools (after which a Dask future's
# done-callback can no longer be scheduled): threading's exit hooks run before atexit's,
# in reverse order, so ours must be registered after concurrent.futures.thread's own,
# which happens when that module is first imported (``import concurrent.futures`` alone
# does not: its ThreadPoolExecutor is loaded lazily, e.g. by distributed, later).
# Python without the hook: plain atexit.
importlib.import_module("concurrent.futures.thread")
_register_exit = getattr(threading, "_register_atexit", atexit.register)
_register_exit(close_executors)
