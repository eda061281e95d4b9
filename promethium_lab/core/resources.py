"""Dask resource annotations: the one place that decides whether work asks for a GPU worker.

Used by the jobs' Dask executor (a whole job) and by the reconstruction workflow (its blocks
on the workers of the client it is given). Duck-typed on the client: nothing here imports
dask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["gpu_resources"]


def _scheduler_info(cluster: Any) -> Mapping[str, Any]:
    """``scheduler_info`` of a ``distributed.Client`` (every worker), or the mapping given."""
    if isinstance(cluster, Mapping):
        return cluster
    try:
        return cluster.scheduler_info(n_workers=-1)  # distributed >= 2025: all workers
    except TypeError:  # older distributed lists every worker without being asked
        return cluster.scheduler_info()


def gpu_resources(cluster: Any, wants_gpu: bool = True) -> dict[str, float] | None:
    """The resource annotation for work that may want a GPU.

    Parameters
    ----------
    cluster : distributed.Client or mapping or None
        The client whose workers are looked at, or its ``scheduler_info()`` dict. None (no
        cluster: the work runs in this process) gives None.
    wants_gpu : bool, default True
        Whether the work wants a GPU at all.

    Returns
    -------
    dict or None
        ``{"GPU": 1}`` when the work wants a GPU and some worker declares a ``GPU``
        resource; None otherwise (run anywhere).
    """
    if not wants_gpu or cluster is None:
        return None
    workers = _scheduler_info(cluster).get("workers") or {}
    for worker in workers.values():
        if float((worker.get("resources") or {}).get("GPU", 0)) >= 1:
            return {"GPU": 1}
    return None
