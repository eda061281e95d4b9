"""Jobs: run workflows in the kernel or on Dask, and record what happened.

>>> from promethium_lab import jobs
>>> job = jobs.submit("ingest", path="survey.sgy", store="survey.zarr")   # kernel threads
>>> job = jobs.submit("ingest", executor="dask", path=..., store=...)     # LocalCluster
>>> job.progress, job.state, job.preview                                  # live
>>> job.cancel()                                                          # within one batch
>>> job.result()                                   # the store's Path, or the stored error
>>> jobs.reproduce_notebook(job.id)                # the notebook that re-runs it

Job kinds (:mod:`~promethium_lab.jobs.registry`) are declared, not discovered: the
built-in ones in ``BUILTIN_KINDS``, those of other packages through the
``promethium_lab.workflows`` entry-point group. One pydantic :class:`JobRecord` describes a
job for the store, the REST API and the side panel.

Records live in one SQLite file per user (``<data_dir>/jobs.sqlite``), shared by every
kernel, Dask worker, the CLI (``promethium-lab jobs ...``) and the server extension.
"""

from __future__ import annotations

from promethium_lab.jobs.api import Job, cancel_job, get_job, list_jobs, submit
from promethium_lab.jobs.executors import DaskExecutor, Executor, KernelExecutor, get_executor
from promethium_lab.jobs.models import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    JobError,
    JobRecord,
    JobState,
    PartialOutput,
    error_from_dict,
)
from promethium_lab.jobs.registry import (
    BUILTIN_KINDS,
    WorkflowSpec,
    get_workflow,
    register_workflow,
    unregister_workflow,
    workflow_kinds,
)
from promethium_lab.jobs.reproduce import Reproduction, reproduce_notebook, run_reproduction
from promethium_lab.jobs.runner import JobContext, JobRunner
from promethium_lab.jobs.store import JobStore, default_store_path, get_store

__all__ = [
    "ACTIVE_STATES",
    "BUILTIN_KINDS",
    "TERMINAL_STATES",
    "DaskExecutor",
    "Executor",
    "Job",
    "JobContext",
    "JobError",
    "JobRecord",
    "JobRunner",
    "JobState",
    "JobStore",
    "KernelExecutor",
    "PartialOutput",
    "Reproduction",
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
    "reproduce_notebook",
    "run_reproduction",
    "submit",
    "unregister_workflow",
    "workflow_kinds",
]
