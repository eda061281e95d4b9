"""What the registries hold, as REST payloads: models with their lineage
(:mod:`promethium_lab.ml.registry`) and job kinds with their parameter schemas
(:mod:`promethium_lab.jobs.registry`)."""

from __future__ import annotations

import re
from typing import Any

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.server.models import (
    Error,
    ModelDetail,
    ModelList,
    ModelSummary,
    WorkflowKind,
    WorkflowList,
)

__all__ = ["MODEL_REF", "model_detail", "model_list", "workflow_list"]

#: What a model reference in a route may look like: ``name`` or ``name:vN`` (the colon
#: may come percent-encoded; tornado decodes the captured reference).
MODEL_REF = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(?:(?::|%3[Aa])v?[0-9]{1,6})?"


def _lineage(entry: Any) -> dict[str, Any]:
    """The :class:`ModelSummary` fields of a registry entry (``ml.registry.ModelEntry``)."""
    meta = entry.metadata
    metrics = meta.get("metrics") or {}
    seed = meta.get("seed")
    return {
        "name": entry.name, "version": entry.version, "ref": entry.ref,
        "architecture": entry.architecture, "builtin": entry.builtin,
        "description": str(meta.get("description", "")),
        "trained_on": str(meta.get("data_hash") or meta.get("source") or "unknown"),
        "seed": seed if isinstance(seed, int) else None,
        "parameters": meta.get("training") or {},
        "metrics": metrics.get("final", metrics) if isinstance(metrics, dict) else {},
        "created": meta.get("created"),
        "software": {str(k): str(v) for k, v in (meta.get("versions") or {}).items()},
        "weights_sha256": meta.get("weights_sha256"),
    }


def model_list() -> dict[str, Any]:
    """:class:`ModelList`: the user's registry, then the shipped models."""
    from promethium_lab.ml.registry import list_models

    return ModelList(models=[ModelSummary(**_lineage(e)) for e in list_models()]).to_dict()


def model_detail(ref: str) -> dict[str, Any]:
    """:class:`ModelDetail` of ``name`` (its newest version) or ``name:vN``.

    Looked up among the listed models only (never as a path). Raises ``PATH_NOT_FOUND``
    (404) for a model the registries do not hold.
    """
    from promethium_lab.ml.registry import list_models

    name, _, version = ref.partition(":")
    entries = list_models()
    same = [e for e in entries if e.name == name]
    user = [e for e in same if not e.builtin]
    same = sorted(user or same, key=lambda e: e.version)  # the user's registry first
    chosen = [e for e in same if not version or e.version == int(re.sub(r"^v", "", version))]
    if not chosen:
        known = sorted({e.name for e in entries})
        raise PromethiumError(ErrorCode.PATH_NOT_FOUND,
                              f"no model {ref!r} in the registry or the shipped models",
                              hint=f"known models: {known}" if known else "train one first")
    entry = chosen[-1]
    return ModelDetail(**_lineage(entry), versions=[e.version for e in same],
                       config=entry.config, metadata=entry.metadata).to_dict()


def workflow_list() -> dict[str, Any]:
    """:class:`WorkflowList`: every job kind with its parameter schema (imports each
    workflow; a kind that cannot be loaded here says why in ``error``)."""
    from promethium_lab.jobs.registry import get_workflow, workflow_kinds

    kinds = []
    for kind in workflow_kinds():
        try:
            described = get_workflow(kind).describe()
        except PromethiumError as err:
            kinds.append(WorkflowKind(kind=kind, target="", description="", outputs=[],
                                      gpu=False, parameters={}, error=Error(**err.to_dict())))
            continue
        described.pop("gpu_when", None)
        kinds.append(WorkflowKind(**described))
    return WorkflowList(workflows=kinds).to_dict()
