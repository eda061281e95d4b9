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
    assert set(registry.BUILTIN_KINDS) <= kinds  # declared, so every one is registered
    for kind, info in registry.BUILTIN_KINDS.items():
        spec = get_workflow(kind)
        assert spec.target_name == info.target_name
        assert importable(info.target_name), kind
        assert spec.load().__name__ == kind


PLUGIN = """\
from promethium_lab.jobs.registry import WorkflowSpec

def sleepy(seconds: float = 0.0, *, out: str | None = None, context=None):
    \"\"\"Sleep a little (a plugin's workflow).\"\"\"
    return seconds

SPEC = WorkflowSpec("any-name", "pl_plugin_kinds:sleepy", outputs=("out",), gpu=True)
NOT_A_WORKFLOW = 3
"""
ENTRY_POINTS = """\
[promethium_lab.workflows]
plugin_sleep = pl_plugin_kinds:sleepy
plugin_spec = pl_plugin_kinds:SPEC
plugin_broken = pl_plugin_missing:nothing
plugin_odd = pl_plugin_kinds:NOT_A_WORKFLOW
reconstruct = pl_plugin_kinds:sleepy
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """An installed package (a dist-info folder on sys.path) declaring job kinds."""
    dist = tmp_path / "pl_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pl-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    (tmp_path / "pl_plugin_kinds.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_registry", dict(registry.BUILTIN_KINDS))
    monkeypatch.setattr(registry, "_plugins", None)  # read the entry points again
    yield
    sys.modules.pop("pl_plugin_kinds", None)


def test_entry_point_kinds_are_listed_without_importing(plugin):
    kinds = workflow_kinds()
    assert {"plugin_sleep", "plugin_spec", "plugin_broken", "plugin_odd"} <= set(kinds)
    assert "pl_plugin_kinds" not in sys.modules  # names come from the metadata alone
    spec = get_workflow("plugin_sleep")
    assert spec.target_name == "pl_plugin_kinds:sleepy"
    assert spec.load()(seconds=2) == 2
    assert spec.summary == "Sleep a little (a plugin's workflow)."
    assert not spec.wants_gpu({}) and spec.output_paths({"out": "/o"}) == []
    spec = get_workflow("plugin_spec")  # a WorkflowSpec object: its facts, the kind's name
    assert (spec.kind, spec.outputs, spec.wants_gpu({})) == ("plugin_spec", ("out",), True)
    assert get_workflow("plugin_spec") is spec


def test_builtin_kinds_win_over_entry_points(plugin):
    assert get_workflow("reconstruct") is registry.BUILTIN_KINDS["reconstruct"]
    assert workflow_kinds().count("reconstruct") == 1


def test_broken_entry_points_are_typed_errors(plugin):
    for kind in ("plugin_broken", "plugin_odd"):
        with pytest.raises(PromethiumError) as err:
            get_workflow(kind)
        assert err.value.code == ErrorCode.INVALID_PARAMETER
        assert "pl-plugin" in err.value.message + err.value.hint
    with pytest.raises(PromethiumError) as err:
        get_workflow("no_such_kind")
    assert err.value.code == ErrorCode.INVALID_PARAMETER
    assert "plugin_sleep" in err.value.hint and "ingest" in err.value.hint
    unregister_workflow("plugin_sleep")
    assert "plugin_sleep" not in workflow_kinds()


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


def test_deep_methods_are_one_list():
    from promethium_lab import ml
    from promethium_lab.ml.methods import DEEP_METHODS
    from promethium_lab.ml.models import ARCHITECTURES
    from promethium_lab.ml.reconstruct import METHODS
    from promethium_lab.ml.registry import DEFAULT_MODELS

    workflow = importlib.import_module("promethium_lab.workflows.reconstruct")
    assert ml.DEEP_METHODS is DEEP_METHODS is workflow.DEEP_METHODS is METHODS
    for name in ("autoencoder", "pinn", "unet"):  # the architectures register on import
        importlib.import_module(f"promethium_lab.ml.models.{name}")
    assert set(DEEP_METHODS) == set(ARCHITECTURES) == set(DEFAULT_MODELS)
    spec = registry.BUILTIN_KINDS["reconstruct"]
    for method in DEEP_METHODS:
        assert spec.wants_gpu({"method": method}) and spec.wants_gpu({"method": method.upper()})
    for method in ("auto", "pwd", "mssa", "pocs", "magic"):
        assert not spec.wants_gpu({"method": method})
    # "deep" (classical fill + a residual net trained on the survey) is a method, not an
    # architecture, and trains a network: it goes to a GPU worker too
    assert "deep" not in DEEP_METHODS and spec.wants_gpu({"method": "deep"})
    assert spec.wants_gpu({"method": "auto", "model": "synthetic-unet"})
    assert registry.BUILTIN_KINDS["train"].wants_gpu({})
    assert not registry.BUILTIN_KINDS["ingest"].wants_gpu({})


def _documented(source, *, scale: float = 1.0, out: str | None = None, mode: str = "a",
                context=None, progress: bool | None = None, client=None, **extra):
    """A documented workflow.

    Parameters
    ----------
    source : Dataset
        Only Python can pass this.
    scale, mode
        Two parameters, one description.
    out : str, optional
        Where the result goes.

    Returns
    -------
    None
    """


def test_parameter_schema_from_the_signature():
    import xarray as xr

    _documented.__annotations__["source"] = xr.Dataset
    schema = registry.parameter_schema(_documented, title="doc", outputs=("out",))
    props = schema["properties"]
    assert list(props) == ["source", "scale", "out", "mode"]  # context, progress, client: no
    assert schema["required"] == ["source"] and schema["additionalProperties"] is True
    assert props["source"][registry.PYTHON_ONLY_KEYWORD] is True
    assert props["scale"] == {"default": 1.0, "description": "Two parameters, one description.",
                              "title": "scale", "type": "number"}
    assert props["mode"]["description"] == props["scale"]["description"]
    assert props["out"]["description"] == "Where the result goes."
    assert props["out"][registry.OUTPUT_KEYWORD] is True
    assert props["out"]["anyOf"] == [{"type": "string"}, {"type": "null"}]


def test_kind_description_and_schema_of_a_workflow():
    import jsonschema
    spec = get_workflow("reconstruct")
    info = spec.describe()
    assert info["description"] == _first_docstring_line(spec.load())
    assert info["outputs"] == ["out"] and info["gpu"] == "auto"
    schema = info["parameters"]
    assert schema["required"] == ["source"]
    assert {"context", "progress", "client"}.isdisjoint(schema["properties"])
    assert schema["properties"]["out"][registry.OUTPUT_KEYWORD] is True
    assert schema["additionalProperties"] is True  # **params of the method
    jsonschema.validate({"source": "/s.zarr", "method": "pwd", "out": "/o.zarr",
                         "overlap": 8}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"source": "/s.zarr", "overlap": "wide"}, schema)
    assert get_workflow("train").describe()["gpu"] is True


def _first_docstring_line(func) -> str:
    return func.__doc__.strip().splitlines()[0].replace("``", "`")
