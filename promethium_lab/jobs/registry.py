"""Job kinds: which workflow a job runs, its parameters, its outputs, whether it wants a GPU.

A kind is a :class:`WorkflowSpec`. Kinds come from three places, each fact once:

* promethium_lab's own kinds are declared in :data:`BUILTIN_KINDS` below (kind, target,
  outputs, GPU rule), like xarray's built-in backends (``BACKEND_ENTRYPOINTS``). They
  need no installed metadata, so a source tree on ``PYTHONPATH`` knows them too;
* other packages add kinds through the ``promethium_lab.workflows`` entry-point group
  (like ``xarray.backends``); the entry point names the kind and points at a workflow
  function or at a :class:`WorkflowSpec` object::

      [project.entry-points."promethium_lab.workflows"]
      denoise = "my_package.kinds:denoise"     # a WorkflowSpec, or the workflow itself

  A built-in kind is never replaced by an entry point of the same name;
* :func:`register_workflow` adds or replaces kinds at run time (notebooks, tests).

What a kind derives rather than declares: its one-line description is the first line of
the workflow's docstring, its parameter schema (JSON Schema, for the side panel's form)
comes from the workflow's signature, type hints and numpydoc ``Parameters`` section, and
the deep reconstruction methods that want a GPU are :data:`promethium_lab.ml.DEEP_METHODS`.
Where a GPU job then runs is decided by :mod:`promethium_lab.jobs.executors`.

Listing kinds imports nothing (entry points give their names); a workflow module is
imported only when a job of its kind is submitted or runs, or its schema is asked for, so
``import promethium_lab.jobs`` stays cheap.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import os
import re
import threading
import typing
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from importlib.metadata import EntryPoint
from types import MappingProxyType
from typing import Any

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.logging import get_logger
from promethium_lab.ml.methods import is_deep_method

__all__ = [
    "BUILTIN_KINDS",
    "ENTRY_POINT_GROUP",
    "HIDDEN_PARAMETERS",
    "RUNNER_PARAMETERS",
    "WorkflowSpec",
    "accepted_parameters",
    "get_workflow",
    "load_target",
    "parameter_schema",
    "register_workflow",
    "unregister_workflow",
    "workflow_kinds",
]

log = get_logger("jobs")

#: entry-point group through which other packages add job kinds
ENTRY_POINT_GROUP = "promethium_lab.workflows"
#: workflow parameters the job runner fills in (never passed by the submitter)
RUNNER_PARAMETERS = frozenset({"context", "client", "callback", "should_stop"})
#: parameters left out of a kind's parameter schema (a job has no terminal progress bar)
HIDDEN_PARAMETERS = RUNNER_PARAMETERS | {"progress"}
#: JSON Schema keyword marking the parameters that name an output path
OUTPUT_KEYWORD = "x-promethium-output"
#: JSON Schema keyword marking a parameter only Python callers can fill (e.g. a Dataset)
PYTHON_ONLY_KEYWORD = "x-python-only"


def _reconstruct_wants_gpu(params: Mapping[str, Any]) -> bool:
    """When the method is a deep one (ml.DEEP_METHODS) or a model is named."""
    return is_deep_method(params.get("method", "auto")) or params.get("model") is not None


@dataclass(frozen=True)
class WorkflowSpec:
    """A job kind.

    Attributes
    ----------
    kind : str
        Name used by ``submit(kind, ...)`` and ``promethium-lab run KIND``.
    target : str or callable
        ``"module:function"`` (imported lazily by the runner, also on Dask workers) or the
        function itself (it must then be importable where it runs).
    outputs : tuple of str
        Names of the parameters holding output paths; their ``.partial`` siblings are
        removed when a job fails or is canceled.
    gpu : bool or callable
        Whether a job wants a GPU worker (``gpu(params) -> bool`` to decide per job).
    description : str
        One line for ``promethium-lab run --help`` and the side panel; default: the first
        line of the workflow's docstring (see :attr:`summary`).
    """

    kind: str
    target: str | Callable[..., Any]
    outputs: tuple[str, ...] = ()
    gpu: bool | Callable[[Mapping[str, Any]], bool] = False
    description: str = ""

    @property
    def target_name(self) -> str:
        """``module:qualname`` of the workflow."""
        if isinstance(self.target, str):
            return self.target
        return f"{self.target.__module__}:{self.target.__qualname__}"

    def load(self) -> Callable[..., Any]:
        """Import and return the workflow function."""
        return load_target(self.target)

    def wants_gpu(self, params: Mapping[str, Any]) -> bool:
        """Whether a job with ``params`` should run on a GPU worker."""
        return bool(self.gpu(params)) if callable(self.gpu) else bool(self.gpu)

    def output_paths(self, params: Mapping[str, Any]) -> list[str]:
        """The output paths named by ``params``."""
        out = []
        for name in self.outputs:
            value = params.get(name)
            if isinstance(value, str | os.PathLike):
                out.append(os.fspath(value))
        return out

    @cached_property
    def summary(self) -> str:
        """:attr:`description`, or the first line of the workflow's docstring (imports it)."""
        return self.description or _first_line(self.load().__doc__)

    @cached_property
    def _schema(self) -> dict[str, Any]:
        return parameter_schema(self.load(), title=self.kind, description=self.summary,
                                outputs=self.outputs)

    def parameter_schema(self) -> dict[str, Any]:
        """JSON Schema of the parameters a submitter passes (imports the workflow).

        See :func:`parameter_schema`.
        """
        return copy.deepcopy(self._schema)

    def describe(self) -> dict[str, Any]:
        """The kind as JSON: ``{kind, target, description, outputs, gpu, parameters}``.

        ``gpu`` is ``true``/``false``, or ``"auto"`` when it depends on the parameters (then
        ``gpu_when`` says how). Imports the workflow.
        """
        out: dict[str, Any] = {
            "kind": self.kind, "target": self.target_name, "description": self.summary,
            "outputs": list(self.outputs),
            "gpu": "auto" if callable(self.gpu) else bool(self.gpu),
        }
        if callable(self.gpu):
            out["gpu_when"] = _first_line(getattr(self.gpu, "__doc__", None))
        out["parameters"] = self.parameter_schema()
        return out


#: promethium_lab's own job kinds (the only place they are declared)
BUILTIN_KINDS: Mapping[str, WorkflowSpec] = MappingProxyType({spec.kind: spec for spec in (
    WorkflowSpec("ingest", "promethium_lab.workflows.ingest:ingest", outputs=("store",)),
    WorkflowSpec("reconstruct", "promethium_lab.workflows.reconstruct:reconstruct",
                 outputs=("out",), gpu=_reconstruct_wants_gpu),
    WorkflowSpec("train", "promethium_lab.workflows.train:train", gpu=True),
    WorkflowSpec("evaluate", "promethium_lab.workflows.reconstruct:evaluate"),
    WorkflowSpec("export", "promethium_lab.workflows.export:export", outputs=("path",)),
)})

_registry: dict[str, WorkflowSpec] = dict(BUILTIN_KINDS)
#: kinds of other packages not loaded yet (None: the entry points were not read yet)
_plugins: dict[str, EntryPoint] | None = None
_lock = threading.RLock()


def load_target(target: str | Callable[..., Any]) -> Callable[..., Any]:
    """The function named ``"module:qualname"`` (or ``target`` itself when callable)."""
    if callable(target):
        return target
    module_name, _, qualname = str(target).partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER, f"cannot load the workflow {target!r}: {exc}",
            hint="the job kind's workflow is missing in this environment (a Dask worker "
            "with another promethium_lab version?)",
        ) from exc
    return obj


def _entry_points() -> dict[str, EntryPoint]:
    """The kinds other packages declare, by name (read once; nothing is imported)."""
    global _plugins
    with _lock:
        if _plugins is None:
            from importlib.metadata import entry_points

            found: dict[str, EntryPoint] = {}
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                dist = getattr(ep.dist, "name", "?")
                if ep.name in BUILTIN_KINDS or ep.name in found:
                    log.warning("job kind %r of %s (%s) ignored: the kind exists already",
                                ep.name, dist, ep.value)
                    continue
                found[ep.name] = ep
            _plugins = {k: ep for k, ep in found.items() if k not in _registry}
        return _plugins


def _spec_from_entry_point(ep: EntryPoint) -> WorkflowSpec:
    dist = getattr(ep.dist, "name", None) or "an installed package"
    try:
        obj = ep.load()
    except Exception as exc:
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"cannot load the job kind {ep.name!r} ({ep.value}) of {dist}: "
            f"{type(exc).__name__}: {exc}",
            hint=f"reinstall or fix {dist}; its entry point is in the "
            f"{ENTRY_POINT_GROUP!r} group",
        ) from exc
    if isinstance(obj, WorkflowSpec):
        return obj if obj.kind == ep.name else replace(obj, kind=ep.name)
    if callable(obj):
        return WorkflowSpec(ep.name, ep.value)
    raise PromethiumError(
        ErrorCode.INVALID_PARAMETER,
        f"the job kind {ep.name!r} of {dist} points at a {type(obj).__name__}",
        hint="an entry point of the group must name a workflow function or a WorkflowSpec",
    )


def register_workflow(kind: str, target: str | Callable[..., Any], *,
                      outputs: tuple[str, ...] = (), gpu: bool | Callable[..., bool] = False,
                      description: str = "", replace: bool = False) -> WorkflowSpec:
    """Register a job kind (notebooks, tests). The workflow must take ``context=``.

    Raises INVALID_PARAMETER when ``kind`` exists and ``replace`` is False.
    """
    spec = WorkflowSpec(kind, target, tuple(outputs), gpu, description)
    with _lock:
        plugins = _entry_points()
        if (kind in _registry or kind in plugins) and not replace:
            raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                                  f"job kind {kind!r} is already registered",
                                  hint="pass replace=True to replace it")
        plugins.pop(kind, None)
        _registry[kind] = spec
    return spec


def unregister_workflow(kind: str) -> None:
    """Remove a job kind (no error when absent)."""
    with _lock:
        _entry_points().pop(kind, None)
        _registry.pop(kind, None)


def workflow_kinds() -> list[str]:
    """Registered job kinds, sorted (imports no workflow)."""
    with _lock:
        return sorted(set(_registry) | set(_entry_points()))


def get_workflow(kind: str) -> WorkflowSpec:
    """The spec of ``kind``; raises INVALID_PARAMETER with the known kinds otherwise.

    A kind of another package is loaded here, the first time it is asked for.
    """
    with _lock:
        spec = _registry.get(kind)
        ep = None if spec is not None else _entry_points().get(kind)
    if spec is not None:
        return spec
    if ep is None:
        raise PromethiumError(ErrorCode.INVALID_PARAMETER, f"unknown job kind {kind!r}",
                              hint=f"use one of {workflow_kinds()}")
    loaded = _spec_from_entry_point(ep)
    with _lock:
        if _entry_points().pop(kind, None) is not None:
            _registry[kind] = loaded
        return _registry.get(kind, loaded)


def accepted_parameters(func: Callable[..., Any]) -> tuple[set[str], bool]:
    """Names ``func`` accepts and whether it takes ``**kwargs``."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return set(), True
    names = {p.name for p in sig.parameters.values()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    return names, var_kw


# ---------------------------------------------------------------------- parameter schema
def _first_line(doc: str | None) -> str:
    """First line of a docstring, RST ````code```` as Markdown ```code```."""
    for line in inspect.cleandoc(doc or "").splitlines():
        if line.strip():
            return line.strip().replace("``", "`")
    return ""


def _parameter_docs(doc: str | None) -> dict[str, str]:
    """Parameter descriptions from a numpydoc ``Parameters`` section."""
    lines = inspect.cleandoc(doc or "").splitlines()
    out: dict[str, str] = {}
    try:
        start = next(i for i in range(len(lines) - 1) if lines[i].strip() == "Parameters"
                     and set(lines[i + 1].strip()) == {"-"})
    except StopIteration:
        return out
    names: list[str] = []
    text: list[str] = []

    def flush() -> None:
        for name in names:
            out[name] = " ".join(text).replace("``", "`")

    for i in range(start + 2, len(lines)):
        line = lines[i]
        if i + 1 < len(lines) and line and not line[0].isspace() and set(
                lines[i + 1].strip()) == {"-"}:
            break  # the next section
        if line and not line[0].isspace():
            flush()
            names = [n.strip().lstrip("*") for n in line.split(":")[0].split(",")]
            text = []
        elif line.strip():
            text.append(line.strip())
    flush()
    return out


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations of ``func``; one that cannot be resolved counts as ``Any``."""
    func = inspect.unwrap(func)
    try:
        return typing.get_type_hints(func)
    except Exception:  # a name only imported for type checking, ...
        pass
    hints = {}
    namespace = getattr(func, "__globals__", {})
    for name, ann in getattr(func, "__annotations__", {}).items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, namespace)  # what get_type_hints does, one name at a time
            except Exception:
                ann = Any
        hints[name] = ann
    return hints


def _prune(schema: Any) -> Any:
    """Drop what JSON cannot carry from ``anyOf``s (a Dataset, a client) and merge
    ``str | os.PathLike`` into one path string."""
    if isinstance(schema, list):
        return [_prune(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {k: _prune(v) for k, v in schema.items()}
    options = schema.get("anyOf")
    if options is None:
        return schema
    kept = [o for o in options if PYTHON_ONLY_KEYWORD not in o]
    if {"type": "string", "format": "path"} in kept and {"type": "string"} in kept:
        kept.remove({"type": "string"})
    del schema["anyOf"]
    if not kept:
        schema[PYTHON_ONLY_KEYWORD] = True
    elif len(kept) == 1:
        schema = {**kept[0], **schema}
    else:
        schema["anyOf"] = kept
    return schema


def parameter_schema(func: Callable[..., Any], *, title: str = "", description: str = "",
                     outputs: tuple[str, ...] = ()) -> dict[str, Any]:
    """JSON Schema of the parameters of workflow ``func`` a submitter passes.

    Built by pydantic from the signature and type hints (``create_model``): a property
    per parameter with its type, default and numpydoc description; parameters without a
    default are required. Left out: what the runner provides (:data:`HIDDEN_PARAMETERS`)
    and ``*args``. ``**kwargs`` makes ``additionalProperties`` true. Types JSON cannot
    carry (a ``Dataset``) are dropped from unions; a parameter of such a type only is
    marked ``x-python-only``. Parameters in ``outputs`` are marked ``x-promethium-output``.
    """
    from pydantic import ConfigDict, Field, create_model
    from pydantic.json_schema import GenerateJsonSchema

    class _JsonOnly(GenerateJsonSchema):
        def handle_invalid_for_json_schema(self, schema: Any, error_info: str) -> Any:
            return {PYTHON_ONLY_KEYWORD: True}

    sig = inspect.signature(func)
    hints = _type_hints(func)
    docs = _parameter_docs(func.__doc__)
    fields: dict[str, Any] = {}
    for p in sig.parameters.values():
        if p.name in HIDDEN_PARAMETERS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = ... if p.default is p.empty else p.default
        fields[f"p_{p.name}"] = (hints.get(p.name, Any), Field(
            default, alias=p.name, title=p.name, description=docs.get(p.name)))
    safe = re.sub(r"\W", "_", title or getattr(func, "__name__", "workflow"))
    model = create_model(f"{safe}_parameters",
                         __config__=ConfigDict(arbitrary_types_allowed=True), **fields)
    with warnings.catch_warnings():  # defaults JSON cannot hold are left out, silently
        warnings.simplefilter("ignore")
        schema = _prune(model.model_json_schema(by_alias=True, schema_generator=_JsonOnly))
    schema["title"] = title or getattr(func, "__name__", "workflow")
    if description:
        schema["description"] = description
    schema["additionalProperties"] = any(p.kind is p.VAR_KEYWORD
                                         for p in sig.parameters.values())
    for name in outputs:
        if name in schema.get("properties", {}):
            schema["properties"][name][OUTPUT_KEYWORD] = True
    return schema

