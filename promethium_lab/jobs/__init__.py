"""Jobs: run workflows in the kernel or on Dask, and record what happened.

>>> from promethium_lab import jobs
>>> job = jobs.submit("ingest", path="survey.sgy", store="survey.zarr")   # kernel threads
>>> job = jobs.submit("ingest", executor="dask", path=..., store=...)     # LocalCluster
>>> job.progress, job.state, job.preview                                  # live
>>> job.cancel()                                                          # within one batch
>>> job.result()                                   # the store's Path, or the stored error

Records live in one SQLite file per user (``<data_dir>/jobs.sqlite``), shared by every
kernel, Dask worker, the CLI (``promethium-lab jobs ...``) and the server extension.
"""

from __future__ import annotations

from promethium_lab.jobs.api import Job, cancel_job, get_job, list_jobs, submit
from promethium_lab.jobs.executors import DaskExecutor, Executor, KernelExecutor, get_executor
from promethium_lab.jobs.models import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    JobRecord,
    JobState,
    error_from_dict,
)
from promethium_lab.jobs.registry import (
    WorkflowSpec,
    get_workflow,
    register_workflow,
    unregister_workflow,
    workflow_kinds,
)
from promethium_lab.jobs.runner import JobContext, JobRunner
from promethium_lab.jobs.store import JobStore, default_store_path, get_store

__all__ = [
    "ACTIVE_STATES",
    "TERMINAL_STATES",
    "DaskExecutor",
    "Executor",
    "Job",
    "JobContext",
    "JobRecord",
    "JobRunner",
    "JobState",
    "JobStore",
    "KernelExecutor",
    "WorkflowSpec",
    "cancel_job",
    "default_store_path",
    "error_from_dict",
    "get_executor",
    "get_job",
    "get_store",
    "get_workflow",
    "list_jobs",
    "register_workflow",
    "submit",
    "unregister_workflow",
    "workflow_kinds",
]
