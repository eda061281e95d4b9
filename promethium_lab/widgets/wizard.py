"""``JobWizard``: pick a dataset, a task and a method, fill in the parameters, run it as a job.

>>> from promethium_lab.widgets import JobWizard
>>> wizard = JobWizard(root="surveys")      # a form in the notebook; Submit shows a monitor
>>> wizard.select(dataset="surveys/f3.zarr", task="reconstruct", method="pocs")
>>> wizard.set_params(out="f3_pocs.zarr", n_iter=50)
>>> job = wizard.submit()                   # the same from Python (tests, papermill)

* **Datasets** are found under ``root`` by io's format detection
  (:func:`promethium_lab.io.formats.kind_from_suffix` for files,
  :func:`~promethium_lab.io.formats.sniff_format` for stores), as the server's scan does.
* **Tasks** are the registered job kinds (:func:`promethium_lab.jobs.workflow_kinds`); the
  **method** is the reconstruction method (``reconstruct``) or the model architecture
  (``train``).
* **Parameters** form the workflow's own parameter schema (the JSON Schema pydantic builds
  from its signature, :meth:`promethium_lab.jobs.WorkflowSpec.parameter_schema`) plus the
  chosen method's parameters. Values are checked against the workflow's type hints (with
  pydantic) and the method's signature before anything runs, and submitting runs the job
  machinery's own checks; every failure is a typed ``PromethiumError`` shown inline
  (``code: message`` and its hint) under the field it concerns.
* **Executors**: the kernel (threads), a Dask LocalCluster, or a scheduler address.

The form's logic (:class:`_WizardForm`) is written once against a small toolkit adapter:
:class:`JobWizard` draws it with ipywidgets, :class:`~promethium_lab.widgets.serve.PanelJobWizard`
with Panel widgets.
"""

from __future__ import annotations

import html
import inspect
import json
import os
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as W
import traitlets

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.widgets.monitor import STATIC, JobMonitor

__all__ = ["EXECUTORS", "DatasetChoice", "JobWizard", "find_datasets", "methods_for"]

#: executor choices: label -> what ``jobs.submit(executor=...)`` gets ("address": the text)
EXECUTORS: dict[str, str] = {
    "kernel (threads of this kernel)": "kernel",
    "Dask LocalCluster": "dask",
    "Dask scheduler at an address": "address",
}
#: the parameter a task's "method" picks
METHOD_PARAMETER = {"reconstruct": "method", "train": "model"}
_ADDRESS = re.compile(r"(?:(?:tcp|tls|ucx|ws|wss)://)?\[?[\w.:-]*[\w\]]:\d{1,5}/?")
_UNSET = object()


# ---------------------------------------------------------------------------- datasets
@dataclass(frozen=True)
class DatasetChoice:
    """A dataset the wizard offers: its path, io kind and label."""

    path: Path
    kind: str
    label: str


def find_datasets(root: str | os.PathLike = ".", *, max_depth: int = 2,
                  limit: int = 500) -> list[DatasetChoice]:
    """Seismic files and stores under ``root``, by io's format detection.

    Files are recognised by name (:func:`~promethium_lab.io.formats.kind_from_suffix`),
    folders holding a Zarr store by content (:func:`~promethium_lab.io.formats.sniff_format`)
    and never looked into. Hidden entries and unfinished outputs (``*.partial*``) are
    skipped; at most ``max_depth`` folder levels and ``limit`` datasets.
    """
    from promethium_lab.io.formats import (
        KIND_LABELS,
        STORE_KINDS,
        is_partial,
        kind_from_suffix,
        sniff_format,
    )

    base = Path(root).expanduser().resolve()
    found: list[DatasetChoice] = []

    def add(path: Path, kind: str) -> None:
        rel = path.relative_to(base).as_posix()
        found.append(DatasetChoice(path, kind, f"{rel} ({KIND_LABELS.get(kind, kind)})"))

    def walk(folder: Path, depth: int) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if len(found) >= limit:
                return
            if entry.name.startswith(".") or is_partial(entry.name):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                kind = sniff_format(path) if (path / "zarr.json").is_file() else None
                if kind in STORE_KINDS:
                    add(path, kind)
                elif not (path / "zarr.json").exists() and depth < max_depth:
                    walk(path, depth + 1)
            else:
                kind = kind_from_suffix(path)
                if kind is not None and kind not in STORE_KINDS:
                    add(path, kind)

    if base.is_dir():
        walk(base, 0)
    return found


def methods_for(task: str) -> list[str]:
    """The methods of a task: reconstruction methods (``auto``, classical, deep) for
    ``reconstruct``, model architectures for ``train``, none for the others."""
    from promethium_lab.ml.methods import DEEP_METHODS, RECONSTRUCT_DEEP_METHODS

    if task == "reconstruct":
        from promethium_lab.signal.reconstruct import METHODS

        return ["auto", *METHODS, *RECONSTRUCT_DEEP_METHODS]
    if task == "train":
        return list(DEEP_METHODS)
    return []


def _method_function(task: str, method: str) -> Any:
    """The function whose own parameters a method adds to the form, or None."""
    if task != "reconstruct":
        return None
    from promethium_lab.signal.reconstruct import METHODS

    return METHODS.get(method)


# ------------------------------------------------------------------------------ schema
def _types(prop: dict[str, Any]) -> set[str]:
    """The JSON types a schema property allows (``anyOf`` flattened)."""
    options = prop.get("anyOf", [prop])
    return {str(o.get("type")) for o in options if "type" in o} | (
        {"object"} if any("$ref" in o for o in options) else set())


def _field_kind(prop: dict[str, Any]) -> str:
    """How a property is edited: bool, bool?, int, float, str, enum or json."""
    if "enum" in prop:
        return "enum"
    types = _types(prop)
    nonnull = types - {"null"}
    if nonnull == {"boolean"}:
        return "bool?" if "null" in types else "bool"
    if nonnull == {"integer"}:
        return "int"
    if nonnull in ({"number"}, {"integer", "number"}):
        return "float"
    if nonnull == {"string"}:
        return "str"
    return "json"


def _editable(prop: dict[str, Any]) -> bool:
    """A property a form can fill (not a Python-only object such as a Dataset)."""
    text = json.dumps(prop)
    return "x-python-only" not in text and "$ref" not in text


#: what the "auto" choice of a ``bool | None`` field stands for (ipywidgets would show an
#: option whose value is None as no selection at all)
AUTO = "auto"


class _Field:
    """One parameter of the form: its widget, its help and its inline error.

    ``kit`` makes the widgets (:class:`_IpyKit` in Jupyter, the Panel one in ``panel
    serve``); reading, checking and errors are the same for both.
    """

    def __init__(self, name: str, prop: dict[str, Any], required: bool,
                 kit: _Kit | None = None) -> None:
        self.name, self.prop, self.required = name, prop, required
        self.kit = kit or _IpyKit()
        self.kind = _field_kind(prop)
        self.nullable = "null" in _types(prop)
        self.default = prop.get("default", _UNSET)
        self.is_text = False
        self.widget = self._make(name + (" *" if required else ""))
        help_text = str(prop.get("description") or "")
        self.help = self.kit.html(f'<span class="pl-help">{html.escape(help_text)}</span>')
        self.error = self.kit.html("", "pl-field-error")
        self.row = self.kit.column([self.kit.row([self.widget, self.help]), self.error])

    def _make(self, label: str) -> Any:
        kit = self.kit
        default = None if self.default is _UNSET else self.default
        if self.kind == "enum":
            return kit.choice(label, list(self.prop["enum"]), default)
        if self.kind == "bool":
            return kit.checkbox(label, bool(default))
        if self.kind == "bool?":
            return kit.choice(label, [(AUTO, AUTO), ("yes", True), ("no", False)],
                              AUTO if default is None else default)
        if self.kind == "int" and isinstance(default, int) and not self.nullable:
            return kit.number(label, default, integer=True)
        if self.kind == "float" and isinstance(default, int | float) and not self.nullable:
            return kit.number(label, float(default), integer=False)
        self.is_text = True
        return kit.text(label, _as_text(default, self.kind),
                        placeholder="(default)" if not self.required else "")

    def _refuse(self, value: Any) -> PromethiumError:
        expected = {"int": "an integer", "float": "a number", "bool": "true or false",
                    "bool?": "true, false or None"}.get(self.kind, "one of the choices")
        err = PromethiumError.invalid(f"{self.name}={value!r} is not {expected}",
                                      hint=self.prop.get("description") or "")
        self.show(err)
        return err

    def write(self, value: Any) -> None:
        """Put ``value`` in the widget; INVALID_PARAMETER when it cannot hold it."""
        if self.is_text:
            self.widget.value = _as_text(value, self.kind)
            return
        if self.kind == "bool?" and value is None:
            value = AUTO
        if self.kind in ("enum", "bool?") and value not in self.kit.values(self.widget):
            raise self._refuse(value)
        try:
            self.widget.value = value
        except (traitlets.TraitError, TypeError, ValueError):
            raise self._refuse(value) from None

    def read(self) -> Any:
        """The value typed in (``_UNSET`` for "use the default"); raises a typed error."""
        value = self.widget.value
        if not self.is_text:
            if self.kind == "bool?" and value == AUTO:
                value = None
            return _UNSET if self.default is not _UNSET and value == self.default else value
        text = value.strip()
        if not text:
            if self.required:
                raise PromethiumError.invalid(f"{self.name} needs a value",
                                              hint=self.prop.get("description") or "")
            return _UNSET if self.default is not _UNSET else None
        try:
            if self.kind == "int":
                parsed: Any = int(text)
            elif self.kind == "float":
                parsed = float(text)
            elif self.kind == "str":
                parsed = text
            else:
                parsed = _parse_json(text)
        except ValueError:
            expected = {"int": "an integer", "float": "a number"}.get(
                self.kind, "JSON, e.g. [64, 64, 128] or {\"inline\": 128}")
            raise PromethiumError.invalid(
                f"{self.name}={text!r} is not {expected}",
                hint=self.prop.get("description") or "") from None
        return _UNSET if parsed == self.default else parsed

    def show(self, err: PromethiumError | None) -> None:
        """Show (or clear) the inline error."""
        self.kit.set_html(self.error, "" if err is None else _error_html(err))


def _as_text(value: Any, kind: str) -> str:
    if value is None or value is _UNSET:
        return ""
    if kind in ("str", "int", "float") and not isinstance(value, list | dict | tuple):
        return str(value)
    return json.dumps(value)


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        if "," in text:  # "64, 64, 128" for a list
            return json.loads(f"[{text}]")
        raise


def _error_html(err: PromethiumError) -> str:
    hint = f'<div class="pl-error-hint">Hint: {html.escape(err.hint)}</div>' if err.hint else ""
    return (f'<div class="pl-error-head">{html.escape(err.code.value)}: '
            f"{html.escape(err.message)}</div>{hint}")


def _type_hints(func: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(inspect.unwrap(func))
    except Exception:  # a hint only importable for type checkers: no type check for it
        return {}


def _check_types(func: Any, values: dict[str, Any], what: str,
                 fields: dict[str, _Field]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``values`` validated by pydantic against ``func``'s type hints; returns the
    (coerced: a JSON list becomes the tuple the workflow wants) values and the typed
    errors by name."""
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    hints = _type_hints(func)
    out, errors = {}, {}
    for name, value in values.items():
        hint = hints.get(name)
        if hint is None:
            out[name] = value
            continue
        try:
            adapter = TypeAdapter(hint, config=ConfigDict(arbitrary_types_allowed=True))
            out[name] = adapter.validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = "".join(f"[{p}]" for p in first.get("loc", ()) if isinstance(p, int))
            field = fields.get(name)
            doc = field.prop.get("description") if field is not None else ""
            shown = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
            errors[name] = PromethiumError.invalid(
                f"{what}: {name}{where} in {value!r}: {first['msg']}",
                hint=f"{name} takes {shown}" + (f"; {doc}" if doc else ""))
        except Exception:  # a hint pydantic cannot build a check for: the workflow checks it
            out[name] = value
    return out, errors


# -------------------------------------------------------------------------- toolkits
Options = list[tuple[str, Any]] | list[str]


class _Kit(typing.Protocol):
    """The few widget operations the wizard needs, for one toolkit (ipywidgets, Panel).

    Widgets are the toolkit's own; all of them have a ``value``. ``options`` are
    ``(label, value)`` pairs or plain strings (label = value).
    """

    def choice(self, label: str, options: Options, value: Any) -> Any: ...
    def checkbox(self, label: str, value: bool) -> Any: ...
    def number(self, label: str, value: float, *, integer: bool) -> Any: ...
    def text(self, label: str, value: str, *, placeholder: str = "") -> Any: ...
    def textarea(self, label: str, *, placeholder: str = "") -> Any: ...
    def html(self, text: str, cls: str = "") -> Any: ...
    def banner(self, title: str) -> Any: ...
    def button(self, label: str, *, tooltip: str = "", primary: bool = False) -> Any: ...
    def column(self, children: list[Any]) -> Any: ...
    def row(self, children: list[Any]) -> Any: ...
    def set_html(self, widget: Any, text: str) -> None: ...
    def get_html(self, widget: Any) -> str: ...
    def set_banner(self, widget: Any, title: str) -> None: ...
    def set_options(self, widget: Any, options: Options) -> None: ...
    def pairs(self, widget: Any) -> list[tuple[str, Any]]: ...
    def values(self, widget: Any) -> list[Any]: ...
    def set_label(self, widget: Any, label: str) -> None: ...
    def show(self, widget: Any, visible: bool) -> None: ...
    def set_children(self, box: Any, children: list[Any]) -> None: ...
    def on_change(self, widget: Any, callback: Callable[[], None]) -> None: ...
    def on_click(self, button: Any, callback: Callable[[], None]) -> None: ...
    def monitor(self, job: Any) -> tuple[Any, Any]: ...


def _pairs(options: Any) -> list[tuple[str, Any]]:
    return [o if isinstance(o, tuple) else (str(o), o) for o in options]


class _Banner(anywidget.AnyWidget):
    """The wizard's Void/Neon title band; it also brings the widgets' CSS to the page."""

    _esm = """
    function render({ model, el }) {
      const band = document.createElement("div");
      band.className = "pl-header";
      const title = document.createElement("span");
      title.className = "pl-title";
      const show = () => { title.textContent = model.get("title"); };
      show();
      model.on("change:title", show);
      band.append(title);
      el.append(band);
    }
    export default { render };
    """
    _css = STATIC / "promethium.css"
    title = traitlets.Unicode("New job").tag(sync=True)


class _KitBase:
    """What every toolkit adapter does the same way."""

    def pairs(self, widget: Any) -> list[tuple[str, Any]]:
        return _pairs(widget.options)

    def values(self, widget: Any) -> list[Any]:
        return [v for _, v in self.pairs(widget)]


class _IpyKit(_KitBase):
    """The wizard's widgets as ipywidgets (Jupyter)."""

    WIDTH, LABEL = "460px", {"description_width": "150px"}

    def _input(self, widget: W.Widget, label: str) -> W.Widget:
        widget.description = label
        widget.style = self.LABEL
        widget.layout = W.Layout(width=self.WIDTH)  # one Layout each: hiding one hides one
        widget.add_class("pl-input")
        return widget

    def choice(self, label: str, options: Options, value: Any) -> Any:
        return self._input(W.Dropdown(options=options, value=value), label)

    def checkbox(self, label: str, value: bool) -> Any:
        return self._input(W.Checkbox(value=value, indent=False), label)

    def number(self, label: str, value: float, *, integer: bool) -> Any:
        return self._input(W.IntText(value=value) if integer else W.FloatText(value=value),
                           label)

    def text(self, label: str, value: str, *, placeholder: str = "") -> Any:
        return self._input(W.Text(value=value, placeholder=placeholder), label)

    def textarea(self, label: str, *, placeholder: str = "") -> Any:
        widget = self._input(W.Textarea(placeholder=placeholder), label)
        widget.layout.height = "48px"
        return widget

    def html(self, text: str, cls: str = "") -> Any:
        widget = W.HTML(text)
        if cls:
            widget.add_class(cls)
        return widget

    def banner(self, title: str) -> Any:
        return _Banner(title=title)

    def button(self, label: str, *, tooltip: str = "", primary: bool = False) -> Any:
        if primary:
            widget = W.Button(description=label, icon="play")
            widget.add_class("pl-submit")
            return widget
        return W.Button(description=label, tooltip=tooltip, layout=W.Layout(width="90px"))

    def column(self, children: list[Any]) -> Any:
        return W.VBox(children)

    def row(self, children: list[Any]) -> Any:
        return W.HBox(children)

    def set_html(self, widget: Any, text: str) -> None:
        widget.value = text

    def get_html(self, widget: Any) -> str:
        return str(widget.value)

    def set_banner(self, widget: Any, title: str) -> None:
        widget.title = title

    def set_options(self, widget: Any, options: Options) -> None:
        widget.options = options

    def set_label(self, widget: Any, label: str) -> None:
        widget.description = label

    def show(self, widget: Any, visible: bool) -> None:
        widget.layout.display = None if visible else "none"

    def set_children(self, box: Any, children: list[Any]) -> None:
        box.children = children

    def on_change(self, widget: Any, callback: Callable[[], None]) -> None:
        widget.observe(lambda _change: callback(), names="value")

    def on_click(self, button: Any, callback: Callable[[], None]) -> None:
        button.on_click(lambda _button: callback())

    def monitor(self, job: Any) -> tuple[Any, Any]:
        monitor = JobMonitor(job)
        return monitor, monitor.box


def _section(kit: _Kit, text: str) -> Any:
    return kit.html(f'<div class="pl-section">{html.escape(text)}</div>')



# ------------------------------------------------------------------------------ wizard
class _WizardForm:
    """The job wizard's logic, whatever toolkit draws it (see :class:`JobWizard`)."""

    kit: _Kit
    monitor: Any

    def _build(self, root: str | os.PathLike, *, kit: _Kit, task: str, job_store: Any,
               max_depth: int) -> list[Any]:
        """Make the form's widgets with ``kit``; returns the rows to lay out."""
        from promethium_lab.jobs import workflow_kinds

        self.kit = kit
        self.root = Path(root).expanduser().resolve()
        self.job_store = job_store
        self.max_depth = max_depth
        self.job: Any = None
        self.monitor = None
        self.datasets: list[DatasetChoice] = []
        self.fields: dict[str, _Field] = {}
        self.method_fields: dict[str, _Field] = {}
        self._suggested: dict[str, str] = {}
        self._dataset_param = ""

        self.banner = kit.banner("New job")
        self.dataset_w = kit.choice("dataset", [], None)
        self.refresh_w = kit.button("rescan", tooltip=f"look for datasets under {self.root}")
        kinds = workflow_kinds()
        self.task_w = kit.choice("task", kinds, task if task in kinds else kinds[0])
        self.task_help = kit.html("")
        self.method_w = kit.choice("method", [], None)
        self.params_box = kit.column([])
        self.method_box = kit.column([])
        self.extra_w = kit.textarea("more (JSON)", placeholder='{"name": value}')
        self.extra_error = kit.html("", "pl-field-error")
        self.executor_w = kit.choice("run on", list(EXECUTORS.items()), "kernel")
        self.address_w = kit.text("scheduler", "", placeholder="tcp://127.0.0.1:8786")
        self.address_error = kit.html("", "pl-field-error")
        self.submit_w = kit.button("Submit", primary=True)
        self.error_w = kit.html("", "pl-error")
        self.monitor_box = kit.column([])
        return [
            self.banner,
            _section(kit, "Data"), kit.row([self.dataset_w, self.refresh_w]),
            _section(kit, "Task"), self.task_w, self.task_help, self.method_w,
            _section(kit, "Parameters"), self.params_box, self.method_box,
            kit.column([self.extra_w, self.extra_error]),
            _section(kit, "Run on"), self.executor_w,
            kit.column([self.address_w, self.address_error]),
            kit.row([self.submit_w]), self.error_w, self.monitor_box,
        ]

    def _start(self, *, dataset: str | os.PathLike | None, method: str | None,
               executor: str | None, params: dict[str, Any] | None) -> None:
        """Fill the form in and wire its widgets (after they are laid out)."""
        kit = self.kit
        self.rescan()
        self._build_task()
        kit.on_change(self.task_w, self._build_task)
        kit.on_change(self.method_w, self._build_method)
        kit.on_change(self.dataset_w, self._suggest_outputs)
        kit.on_change(self.executor_w, self._show_address)
        kit.on_click(self.refresh_w, self.rescan)
        kit.on_click(self.submit_w, self._on_submit)
        self._show_address()
        self.select(dataset=dataset, method=method, executor=executor)
        if params:
            self.set_params(**params)

    # -- choices -----------------------------------------------------------------------
    def rescan(self) -> list[DatasetChoice]:
        """Look for datasets under :attr:`root` again; returns them."""
        self.datasets = find_datasets(self.root, max_depth=self.max_depth)
        current = self.dataset_w.value
        self.kit.set_options(self.dataset_w, [(d.label, str(d.path)) for d in self.datasets])
        values = [str(d.path) for d in self.datasets]
        self.dataset_w.value = current if current in values else (values[0] if values else None)
        return self.datasets

    def select(self, *, dataset: str | os.PathLike | None = None, task: str | None = None,
               method: str | None = None, executor: str | None = None) -> Any:
        """Choose the dataset, task, method and executor (None keeps the current one).

        ``dataset`` is a path (relative to the working folder, or absolute); one not found
        by the scan is added to the choices. ``executor`` is ``"kernel"``, ``"dask"`` or
        a scheduler address. Raises INVALID_PARAMETER for an unknown task or method.
        """
        kit = self.kit
        if task is not None:
            if task not in kit.values(self.task_w):
                raise PromethiumError.invalid(f"unknown task {task!r}",
                                              hint=f"use one of {kit.values(self.task_w)}")
            self.task_w.value = task
        if dataset is not None:
            path = str(Path(dataset).expanduser().resolve())
            if path not in kit.values(self.dataset_w):
                kit.set_options(self.dataset_w,
                                [*kit.pairs(self.dataset_w), (str(dataset), path)])
            self.dataset_w.value = path
        if method is not None:
            if method not in kit.values(self.method_w):
                raise PromethiumError.invalid(
                    f"{self.task} has no method {method!r}",
                    hint=f"use one of {kit.values(self.method_w) or 'none'}")
            self.method_w.value = method
        if executor is not None:
            if executor in ("kernel", "dask"):
                self.executor_w.value = executor
            else:
                self.executor_w.value = "address"
                self.address_w.value = executor
        return self

    def set_params(self, **values: Any) -> Any:
        """Fill in parameters by name (the workflow's or the method's); other names go to
        "more (JSON)", which the job machinery checks on submit."""
        extra = self._extra_values(strict=False)
        for name, value in values.items():
            field = self.fields.get(name) or self.method_fields.get(name)
            if field is not None:
                field.write(value)
            elif name == self._dataset_param:
                self.select(dataset=value)
            else:
                extra[name] = value
        self.extra_w.value = json.dumps(extra) if extra else ""
        return self

    # -- form building -----------------------------------------------------------------
    @property
    def task(self) -> str:
        """The selected task (job kind)."""
        return str(self.task_w.value)

    def _spec(self) -> Any:
        from promethium_lab.jobs import get_workflow

        return get_workflow(self.task)

    def _build_task(self) -> None:
        kit = self.kit
        spec = self._spec()
        schema = spec.parameter_schema()
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        self._dataset_param = next(
            (n for n, p in props.items() if n in required and p.get("format") == "path"), "")
        method_param = METHOD_PARAMETER.get(self.task)
        methods = methods_for(self.task)
        kit.set_options(self.method_w, methods)
        if methods:
            default = props.get(method_param or "", {}).get("default")
            self.method_w.value = default if default in methods else methods[0]
        kit.show(self.method_w, bool(methods))
        kit.set_html(self.task_help, f'<span class="pl-help">{html.escape(spec.summary)}</span>')
        kit.set_banner(self.banner, f"New job · {self.task}")
        self.fields = {
            name: _Field(name, prop, name in required, kit) for name, prop in props.items()
            if name not in (self._dataset_param, method_param) and _editable(prop)}
        kit.set_children(self.params_box, [f.row for f in self.fields.values()])
        kit.show(self.extra_w, bool(schema.get("additionalProperties")))
        self._suggested = {}
        self._build_method()
        self._suggest_outputs()

    def _build_method(self) -> None:
        func = _method_function(self.task, self.method_w.value or "")
        self.method_fields = {}
        if func is not None:
            from promethium_lab.jobs.registry import parameter_schema

            schema = parameter_schema(func, title=str(self.method_w.value))
            required = set(schema.get("required", ()))
            for name, prop in schema.get("properties", {}).items():
                if name in self.fields or name == self._dataset_param or not _editable(prop):
                    continue  # the workflow's own parameter of that name wins
                self.method_fields[name] = _Field(name, prop, name in required, self.kit)
        rows = [f.row for f in self.method_fields.values()]
        self.kit.set_children(self.method_box, [
            _section(self.kit, f"{self.method_w.value} parameters"), *rows] if rows else [])

    def _suggest_outputs(self) -> None:
        """Fill required output paths from the dataset's name (until edited by hand)."""
        dataset = self.dataset_w.value
        if not dataset:
            return
        src = Path(dataset)
        for name, field in self.fields.items():
            if not (field.required and field.prop.get("x-promethium-output")):
                continue
            suffix = ".sgy" if self.task == "export" else ".zarr"
            stem = src.stem if self.task == "ingest" else f"{src.stem}_{self.task}"
            suggestion = str(src.with_name(stem + suffix))
            if field.widget.value in ("", self._suggested.get(name)):
                field.widget.value = suggestion
                self._suggested[name] = suggestion

    def _show_address(self) -> None:
        self.kit.show(self.address_w, self.executor_w.value == "address")

    # -- validation and submission -------------------------------------------------------
    def _extra_values(self, *, strict: bool = True) -> dict[str, Any]:
        text = self.extra_w.value.strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            if not strict:
                return {}
            raise PromethiumError.invalid(f"more parameters {text!r} is not a JSON object",
                                          hint='write {"name": value, ...}')
        return value

    def _executor(self) -> str:
        choice = self.executor_w.value
        if choice != "address":
            return str(choice)
        address = self.address_w.value.strip()
        if not _ADDRESS.fullmatch(address):
            raise PromethiumError.invalid(
                f"scheduler address {address!r} is not like tcp://host:8786",
                hint="the address the Dask scheduler printed (or its dashboard's 'Scheduler')")
        return address

    def validate(self) -> tuple[str, dict[str, Any], str]:
        """The job the form describes: ``(task, parameters, executor)``.

        Raises
        ------
        PromethiumError
            The first problem found (all of them are shown inline, each under its field).
        """
        self._clear_errors()
        spec = self._spec()
        errors: dict[str, PromethiumError] = {}
        params: dict[str, Any] = {}
        if not self.dataset_w.value:
            errors["dataset"] = PromethiumError(
                ErrorCode.PATH_NOT_FOUND, f"no dataset is selected (none found under {self.root})",
                hint="put a SEG-Y, SU, miniSEED or SAC file or a Zarr store there, or "
                "select(dataset=path)")
        elif self._dataset_param:
            params[self._dataset_param] = str(self.dataset_w.value)
        method_param = METHOD_PARAMETER.get(self.task)
        if method_param and self.method_w.value:
            params[method_param] = self.method_w.value
        method_values: dict[str, Any] = {}
        for group, target in ((self.fields, params), (self.method_fields, method_values)):
            for name, field in group.items():
                try:
                    value = field.read()
                except PromethiumError as err:
                    errors[name] = err
                    continue
                if value is not _UNSET:
                    target[name] = value
        try:
            params.update(self._extra_values())
        except PromethiumError as err:
            errors["more"] = err
        checked, type_errors = _check_types(spec.load(), params, self.task, self.fields)
        errors.update({k: v for k, v in type_errors.items() if k not in errors})
        func = _method_function(self.task, self.method_w.value or "")
        if func is not None:
            checked_m, method_errors = _check_types(func, method_values,
                                                    f"method {self.method_w.value}",
                                                    self.method_fields)
            errors.update({k: v for k, v in method_errors.items() if k not in errors})
            if not method_errors:
                try:
                    inspect.signature(func).bind(None, **checked_m)
                except TypeError as exc:
                    errors["method"] = PromethiumError.invalid(
                        f"bad parameters for method {self.method_w.value!r}: {exc}",
                        hint=f"see help(promethium_lab.signal.reconstruct.{self.method_w.value})")
            checked.update(checked_m)
        try:
            executor = self._executor()
        except PromethiumError as err:
            errors["executor"] = err
            executor = ""
        if errors:
            self._show_errors(errors)
            raise next(iter(errors.values()))
        return self.task, checked, executor

    def submit(self) -> Any:
        """Validate the form and submit the job; shows its :class:`JobMonitor` and returns
        the :class:`~promethium_lab.jobs.Job`.

        Raises
        ------
        PromethiumError
            A parameter the workflow refuses (also shown inline), or a job that could not
            be submitted (e.g. an unreachable scheduler).
        """
        from promethium_lab import jobs

        kind, params, executor = self.validate()
        try:
            job = jobs.submit(kind, executor=executor, job_store=self.job_store, **params)
        except PromethiumError as err:
            self._show_errors({"submit": err})
            raise
        if self.monitor is not None:
            self.monitor.stop(timeout=0)
        self.job = job
        self.monitor, view = self.kit.monitor(job)
        self.kit.set_children(self.monitor_box, [view])
        return job

    def _on_submit(self) -> None:
        try:
            self.submit()
        except PromethiumError:
            pass  # shown inline by submit()

    def _clear_errors(self) -> None:
        for field in (*self.fields.values(), *self.method_fields.values()):
            field.show(None)
        for widget in (self.extra_error, self.address_error, self.error_w):
            self.kit.set_html(widget, "")

    def _show_errors(self, errors: dict[str, PromethiumError]) -> None:
        """Each error under its field; all of them in the summary under Submit."""
        for name, err in errors.items():
            field = self.fields.get(name) or self.method_fields.get(name)
            if field is not None:
                field.show(err)
            elif name == "more":
                self.kit.set_html(self.extra_error, _error_html(err))
            elif name == "executor":
                self.kit.set_html(self.address_error, _error_html(err))
        self.kit.set_html(self.error_w, "".join(_error_html(e) for e in errors.values()))

    @property
    def errors(self) -> str:
        """The errors shown now, as text (``code: message (hint)`` lines)."""
        lines = re.sub(r"<[^>]+>", "\n", self.kit.get_html(self.error_w))
        return "\n".join(html.unescape(s).strip() for s in lines.splitlines() if s.strip())

class JobWizard(_WizardForm, W.VBox):
    """A form that submits a workflow as a job and shows its :class:`JobMonitor`.

    Parameters
    ----------
    root : path-like
        Folder whose datasets are offered (see :func:`find_datasets`).
    task : str
        Task (job kind) selected at first.
    dataset, method, executor : str, optional
        Selected at first (see :meth:`select`).
    params : dict, optional
        Parameter values filled in at first (see :meth:`set_params`).
    job_store : JobStore or path, optional
        Where jobs are recorded (default: the user's store).
    max_depth : int
        Folder levels below ``root`` searched for datasets.

    Attributes
    ----------
    job : Job or None
        The last job submitted.
    monitor : JobMonitor or None
        Its monitor (shown under the form).

    See Also
    --------
    promethium_lab.widgets.serve.PanelJobWizard : the same form in ``panel serve``.
    """

    def __init__(self, root: str | os.PathLike = ".", *, task: str = "reconstruct",
                 dataset: str | os.PathLike | None = None, method: str | None = None,
                 executor: str | None = None, params: dict[str, Any] | None = None,
                 job_store: Any = None, max_depth: int = 2) -> None:
        rows = self._build(root, kit=_IpyKit(), task=task, job_store=job_store,
                           max_depth=max_depth)
        W.VBox.__init__(self, rows)
        self.add_class("pl-widget")
        self.add_class("pl-wizard")
        self._start(dataset=dataset, method=method, executor=executor, params=params)
