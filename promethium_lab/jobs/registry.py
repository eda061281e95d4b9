"""Which workflow a job kind runs.

The built-in kinds map to the functions of :mod:`promethium_lab.workflows` of the same
name (``ingest``, ``reconstruct``, ``train``, ``evaluate``, ``export``). A kind is
registered only when its workflow module exists; nothing is imported until a job of
that kind runs, so ``import promethium_lab.jobs`` stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from promethium_lab.core.errors import ErrorCode, PromethiumError

__all__ = [
    "BUILTIN_KINDS",
    "DEEP_METHODS",
    "WorkflowSpec",
    "accepted_parameters",
    "get_workflow",
    "load_target",
    "register_workflow",
    "target_exists",
    "unregister_workflow",
    "workflow_kinds",
]

#: reconstruct methods that run a neural network (routed to GPU workers when there are any)
DEEP_METHODS = frozenset({"unet", "autoencoder", "pinn", "deep", "model"})


def _reconstruct_wants_gpu(params: dict[str, Any]) -> bool:
    method = str(params.get("method", "auto")).lower()
    return method in DEEP_METHODS or "model" in params


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
        One line for ``promethium-lab run --help`` and the side panel.
    """

    kind: str
    target: str | Callable[..., Any]
    outputs: tuple[str, ...] = ()
    gpu: bool | Callable[[dict[str, Any]], bool] = False
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

    def wants_gpu(self, params: dict[str, Any]) -> bool:
        """Whether a job with ``params`` should run on a GPU worker."""
        return bool(self.gpu(params)) if callable(self.gpu) else bool(self.gpu)

    def output_paths(self, params: dict[str, Any]) -> list[str]:
        """The output paths named by ``params``."""
        import os

        out = []
        for name in self.outputs:
            value = params.get(name)
            if isinstance(value, str | os.PathLike):
                out.append(os.fspath(value))
        return out


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


_BUILTIN: dict[str, dict[str, Any]] = {
    "ingest": {"targets": ("promethium_lab.workflows.ingest:ingest",), "outputs": ("store",),
               "description": "SEG-Y/SU/miniSEED/SAC file → chunked Zarr store"},
    "reconstruct": {"targets": ("promethium_lab.workflows.reconstruct:reconstruct",),
                    "outputs": ("out",), "gpu": _reconstruct_wants_gpu,
                    "description": "fill in missing traces of a survey"},
    "train": {"targets": ("promethium_lab.workflows.train:train",), "gpu": True,
              "description": "train a reconstruction model and register it"},
    "evaluate": {"targets": ("promethium_lab.workflows.evaluate:evaluate",
                             "promethium_lab.workflows.reconstruct:evaluate"),
                 "description": "quality of a reconstruction against the complete survey"},
    "export": {"targets": ("promethium_lab.workflows.export:export",), "outputs": ("path",),
               "description": "Zarr store → SEG-Y with every header"},
}
#: the kinds promethium_lab knows; only those whose workflow exists are registered
BUILTIN_KINDS = tuple(_BUILTIN)

_registry: dict[str, WorkflowSpec] = {}
_lock = threading.Lock()


def _workflow_module_exists(name: str) -> bool:
    """Whether ``promethium_lab/workflows/<name>.py`` exists, without importing the
    ``workflows`` package (which imports xarray)."""
    return _module_file(f"promethium_lab.workflows.{name}") is not None


def _module_file(module: str) -> str | None:
    package, _, name = module.rpartition(".")
    locations = None  # a top-level module: sys.path
    if package:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            return None
        locations = list(spec.submodule_search_locations or []) if spec else []
    found = importlib.machinery.PathFinder.find_spec(name, locations)
    return found.origin if found is not None and found.origin else None


def target_exists(target: str) -> bool:
    """Whether ``"module:function"`` exists, read from the module's source (not imported):
    a top-level ``def``, assignment or import of that name."""
    import ast

    module, _, func = target.partition(":")
    origin = _module_file(module)
    if origin is None or not origin.endswith(".py"):
        return origin is not None
    try:
        tree = ast.parse(open(origin, encoding="utf-8").read())
    except (OSError, SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == func:
            return True
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == func for t in node.targets):
            return True
        if isinstance(node, ast.ImportFrom | ast.Import) and any(
                (a.asname or a.name.split(".")[0]) == func for a in node.names):
            return True
    return False


def _register_builtins() -> None:
    for kind, info in _BUILTIN.items():
        info = dict(info)
        targets = info.pop("targets")
        found = next((t for t in targets if target_exists(t)), None)
        if found is not None:
            _registry[kind] = WorkflowSpec(kind, found, **info)


def register_workflow(kind: str, target: str | Callable[..., Any], *,
                      outputs: tuple[str, ...] = (), gpu: bool | Callable[..., bool] = False,
                      description: str = "", replace: bool = False) -> WorkflowSpec:
    """Register a job kind (plugins, tests). The workflow must take ``context=``.

    Raises INVALID_PARAMETER when ``kind`` exists and ``replace`` is False.
    """
    spec = WorkflowSpec(kind, target, tuple(outputs), gpu, description)
    with _lock:
        if kind in _registry and not replace:
            raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                                  f"job kind {kind!r} is already registered",
                                  hint="pass replace=True to replace it")
        _registry[kind] = spec
    return spec


def unregister_workflow(kind: str) -> None:
    """Remove a job kind (no error when absent)."""
    with _lock:
        _registry.pop(kind, None)


def workflow_kinds() -> list[str]:
    """Registered job kinds, sorted."""
    with _lock:
        return sorted(_registry)


def get_workflow(kind: str) -> WorkflowSpec:
    """The spec of ``kind``; raises INVALID_PARAMETER with the known kinds otherwise."""
    with _lock:
        spec = _registry.get(kind)
    if spec is None:
        planned = (f"; {kind!r} is planned but its workflow does not exist yet"
                   if kind in _BUILTIN else "")
        raise PromethiumError(ErrorCode.INVALID_PARAMETER, f"unknown job kind {kind!r}{planned}",
                              hint=f"use one of {workflow_kinds()}")
    return spec


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


_register_builtins()
