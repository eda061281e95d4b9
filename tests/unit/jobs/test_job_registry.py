"""Job kinds: built-ins registered only when their workflow exists, imported lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import promethium_lab.jobs.registry as registry
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs import (
    get_workflow,
    register_workflow,
    unregister_workflow,
    workflow_kinds,
)
from promethium_lab.jobs.executors import gpu_resources


def importable(target: str) -> bool:
    module, _, name = target.partition(":")
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


def test_builtin_kinds_are_the_existing_workflows():
    kinds = set(workflow_kinds())
    assert {"ingest", "export"} <= kinds
    for kind, info in registry._BUILTIN.items():
        if kind in kinds:
            spec = get_workflow(kind)
            assert spec.target_name in info["targets"]
            assert spec.load().__name__ == kind
        else:  # not registered: none of its workflows exists
            assert not any(importable(t) for t in info["targets"]), kind


def test_target_exists_reads_the_source_without_importing(tmp_path, monkeypatch):
    (tmp_path / "pl_fake_workflows.py").write_text(
        "from os import path as joined\nCONSTANT = 1\n\ndef train(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert registry.target_exists("pl_fake_workflows:train")
    assert registry.target_exists("pl_fake_workflows:CONSTANT")
    assert registry.target_exists("pl_fake_workflows:joined")
    assert not registry.target_exists("pl_fake_workflows:evaluate")
    assert not registry.target_exists("pl_no_such_module:train")
    assert "pl_fake_workflows" not in sys.modules


def test_missing_workflows_are_not_registered(monkeypatch):
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(registry, "target_exists", lambda t: t.endswith(":ingest"))
    registry._register_builtins()
    assert registry.workflow_kinds() == ["ingest"]
    with pytest.raises(PromethiumError) as err:
        registry.get_workflow("train")
    assert err.value.code == ErrorCode.INVALID_PARAMETER
    assert "planned" in err.value.message and "ingest" in err.value.hint


def test_importing_jobs_is_lazy():
    code = ("import sys, promethium_lab.jobs as j; j.workflow_kinds(); "
            "print(sorted(m for m in ('xarray', 'distributed', 'promethium_lab.workflows', "
            "'zarr', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_register_and_replace():
    register_workflow("tmp_kind", "promethium_lab.jobs.testing:batches", outputs=("out",))
    try:
        with pytest.raises(PromethiumError):
            register_workflow("tmp_kind", "promethium_lab.jobs.testing:busy")
        spec = register_workflow("tmp_kind", "promethium_lab.jobs.testing:busy", replace=True)
        assert get_workflow("tmp_kind") is spec
        assert spec.load().__name__ == "busy"
        assert spec.output_paths({"out": Path("/o"), "x": 1}) == []
    finally:
        unregister_workflow("tmp_kind")
    assert "tmp_kind" not in workflow_kinds()


def test_bad_target_is_a_typed_error():
    with pytest.raises(PromethiumError) as err:
        registry.load_target("promethium_lab.nowhere:nothing")
    assert err.value.code == ErrorCode.INVALID_PARAMETER


def test_gpu_routing_decision():
    cpu_only = {"workers": {"tcp://a": {"resources": {}}, "tcp://b": {}}}
    with_gpu = {"workers": {"tcp://a": {"resources": {}}, "tcp://b": {"resources": {"GPU": 1}}}}
    assert gpu_resources(with_gpu, True) == {"GPU": 1}
    assert gpu_resources(cpu_only, True) is None  # no GPU worker: run anywhere
    assert gpu_resources(with_gpu, False) is None
    spec = registry.WorkflowSpec("reconstruct", "m:f", ("out",), registry._reconstruct_wants_gpu)
    assert spec.wants_gpu({"method": "unet"}) and not spec.wants_gpu({"method": "pwd"})
    assert spec.output_paths({"out": "/x.zarr"}) == ["/x.zarr"]
