"""The job widgets as native Panel components, for ``panel serve`` (no CDN, no ipywidgets).

>>> # app.py — panel serve app.py
>>> from promethium_lab.widgets import panel_app
>>> panel_app("surveys").servable()

* :class:`PanelJobMonitor` draws the same front end as :class:`~promethium_lab.widgets.JobMonitor`
  (``static/monitor.js`` and ``static/promethium.css``) as a Panel
  :class:`~panel.custom.AnyWidgetComponent`, and follows the job with the same
  :class:`~promethium_lab.widgets.follow.JobFollower`: preview frames travel as a ``bytes``
  parameter (binary websocket buffers), one frame in flight. The browser's messages
  (frame acknowledgements, Cancel, "Open comparison") come back through the ``inbox``
  parameter, handled on the Panel server: Cancel sets the job store's cancel flag
  (``Job.cancel``) there at once, whatever the job is doing.
* :class:`PanelJobWizard` is :class:`~promethium_lab.widgets.JobWizard`'s form — the
  same schema, checks, typed errors and submission — drawn with Panel widgets; Submit
  shows a :class:`PanelJobMonitor`.
* Everything the page loads comes from the Panel server itself: Panel and Bokeh serve
  their own JavaScript and CSS, the components' ESM and CSS travel inline. The
  ``ipywidgets`` Panel extension is not needed (it fetches Font Awesome from a CDN, and
  ``ipywidgets_bokeh`` fetches anywidget's front end from unpkg).
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import Any, ClassVar

import panel as pn
import param
from panel.custom import AnyWidgetComponent

from promethium_lab.core.errors import PromethiumError
from promethium_lab.widgets.follow import (
    ACK_TIMEOUT_S,
    POLL_S,
    STATIC,
    FollowsJob,
    JobFollower,
)
from promethium_lab.widgets.wizard import Options, _KitBase, _pairs, _WizardForm

__all__ = ["JobsApp", "PanelJobMonitor", "PanelJobWizard", "panel_app"]

#: the widgets' stylesheet, inline (Panel components draw in shadow roots)
CSS = (STATIC / "promethium.css").read_text(encoding="utf-8")
#: the frame of the wizard's column, as ``.pl-widget`` draws it in Jupyter
_FRAME_CSS = """
:host {
  box-sizing: border-box;
  padding: 0 0 10px;
  border: 1px solid #c3cbd9;
  border-radius: 6px;
  max-width: 840px;
}
"""


def _on_session_end(callback: Callable[[], None]) -> None:
    """Call ``callback`` when the Panel session being built ends (nothing outside one)."""
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        pn.state.on_session_destroyed(lambda _ctx: callback())


class PanelJobMonitor(FollowsJob, AnyWidgetComponent):
    """A live view of one job in Panel: :class:`~promethium_lab.widgets.JobMonitor`'s
    front end and state logic, as a native Panel component.

    Parameters
    ----------
    job, job_store, poll_s, ack_timeout, start, reproduce_dir
        As for :class:`~promethium_lab.widgets.JobMonitor`. The thread also stops when
        the Panel session that made the monitor ends.

    Attributes
    ----------
    follower : JobFollower
        The state logic (thread, frames, cancel) this component shows.
    output : panel.Column
        Where "Open comparison" shows :meth:`comparison` (under the monitor in :attr:`box`).
    """

    _esm = STATIC / "monitor.js"
    _stylesheets: ClassVar[list[str]] = [CSS]

    job_id = param.String(default="")
    kind = param.String(default="")
    state = param.String(default="queued")
    progress = param.Number(default=0.0)
    message = param.String(default="")
    error = param.Dict(default=None, allow_None=True)
    executor = param.String(default="")
    comparable = param.Boolean(default=False, doc="The job's kind has a comparison.")
    can_compare = param.Boolean(default=False, doc="... and it completed.")
    can_reproduce = param.Boolean(default=False, doc="The job completed: Reproduce works.")
    reproduced = param.String(default="", doc="The notebook Reproduce wrote.")
    reproduce_error = param.String(default="", doc="Why Reproduce failed (code: message).")
    frame = param.Bytes(default=b"", doc="The newest preview frame: JPEG, PNG at the end.")
    frame_format = param.String(default="")
    frame_id = param.Integer(default=0)
    frame_size = param.List(default=[0, 0])
    inbox = param.Dict(default={}, doc="The browser's newest message (ack, cancel, compare, "
                       "reproduce).")

    def __init__(self, job: Any, *, job_store: Any = None, poll_s: float = POLL_S,
                 ack_timeout: float = ACK_TIMEOUT_S, start: bool = True,
                 reproduce_dir: str | os.PathLike | None = None, **params: Any) -> None:
        follower = JobFollower(job, self._publish, job_store=job_store, poll_s=poll_s,
                               ack_timeout=ack_timeout, on_compare=self.open_comparison,
                               reproduce_dir=reproduce_dir)
        params.setdefault("sizing_mode", "stretch_width")
        super().__init__(**follower.initial(), **params)
        self.follower = follower
        self.output = pn.Column(sizing_mode="stretch_width")
        self._box: pn.Column | None = None
        self.param.watch(lambda event: self.follower.handle(event.new), "inbox")
        _on_session_end(lambda: self.stop(timeout=0))
        if start:
            self.start()

    def _publish(self, changes: dict[str, Any]) -> None:
        """Set the parameters ``changes`` names, together (Panel sends them to the
        browser on the session's own event loop)."""
        self.param.update(changes)

    def open_comparison(self) -> None:
        """Show :meth:`comparison` in :attr:`output` (a typed error there if it fails)."""
        try:
            view = self.comparison()
        except PromethiumError as err:
            self.output.objects = [pn.pane.Alert(str(err), alert_type="danger")]
            return
        self.output.objects = [pn.pane.HoloViews(view.hv, sizing_mode="stretch_width")]

    @property
    def box(self) -> pn.Column:
        """The monitor with its comparison output under it."""
        if self._box is None:
            self._box = pn.Column(self, self.output, sizing_mode="stretch_width")
        return self._box

    def __repr__(self) -> str:
        return (f"<PanelJobMonitor {self.job_id} {self.kind} {self.state} "
                f"{self.progress:.0%}>")


# ------------------------------------------------------------------------------ wizard
def _wrap(text: str, cls: str) -> str:
    """``text`` in the elements the widgets' CSS rules need around it."""
    inner = f'<div class="{cls}">{text}</div>' if cls else text
    return f'<div class="pl-widget pl-wizard pl-bare">{inner}</div>'


class _PanelKit(_KitBase):
    """The wizard's widgets as Panel widgets (see ``wizard._Kit``)."""

    WIDTH = 460

    @staticmethod
    def _options(options: Options) -> dict[str, Any] | list[Any]:
        if any(isinstance(o, tuple) for o in options):
            return dict(_pairs(options))
        return list(options)

    def choice(self, label: str, options: Options, value: Any) -> Any:
        widget = pn.widgets.Select(label=label, options=self._options(options), width=self.WIDTH)
        widget.value = value
        return widget

    def checkbox(self, label: str, value: bool) -> Any:
        return pn.widgets.Checkbox(label=label, value=value, width=self.WIDTH)

    def number(self, label: str, value: float, *, integer: bool) -> Any:
        kind = pn.widgets.IntInput if integer else pn.widgets.FloatInput
        return kind(label=label, value=value, width=self.WIDTH)

    def text(self, label: str, value: str, *, placeholder: str = "") -> Any:
        return pn.widgets.TextInput(label=label, value=value, placeholder=placeholder,
                                    width=self.WIDTH)

    def textarea(self, label: str, *, placeholder: str = "") -> Any:
        return pn.widgets.TextAreaInput(label=label, placeholder=placeholder, width=self.WIDTH,
                                        height=64)

    def html(self, text: str, cls: str = "") -> Any:
        pane = pn.pane.HTML(_wrap(text, cls), stylesheets=[CSS], margin=(0, 10),
                            sizing_mode="stretch_width")
        pane.visible = bool(text)
        pane.tags = [cls]
        return pane

    def banner(self, title: str) -> Any:
        return self.html(self._band(title), "")

    @staticmethod
    def _band(title: str) -> str:
        return (f'<div class="pl-header"><span class="pl-title">{html.escape(title)}'
                "</span></div>")

    def button(self, label: str, *, tooltip: str = "", primary: bool = False) -> Any:
        return pn.widgets.Button(label=label, description=tooltip or None,
                                 color="primary" if primary else "default",
                                 css_classes=["pl-submit"] if primary else [])

    def column(self, children: list[Any]) -> Any:
        return pn.Column(*children, margin=0)

    def row(self, children: list[Any]) -> Any:
        return pn.Row(*children, margin=0)

    def set_html(self, widget: Any, text: str) -> None:
        widget.object = _wrap(text, widget.tags[0] if widget.tags else "")
        widget.visible = bool(text)

    def get_html(self, widget: Any) -> str:
        return _unwrap(str(widget.object), widget.tags[0] if widget.tags else "")

    def set_banner(self, widget: Any, title: str) -> None:
        widget.object = _wrap(self._band(title), "")
        widget.visible = True

    def set_options(self, widget: Any, options: Options) -> None:
        widget.options = self._options(options)
        values = self.values(widget)
        if widget.value not in values:  # as ipywidgets does: the first option, or none
            widget.value = values[0] if values else None

    def pairs(self, widget: Any) -> list[tuple[str, Any]]:
        options = widget.options
        return list(options.items()) if isinstance(options, dict) else _pairs(options)

    def set_label(self, widget: Any, label: str) -> None:
        widget.label = label

    def show(self, widget: Any, visible: bool) -> None:
        widget.visible = visible

    def set_children(self, box: Any, children: list[Any]) -> None:
        box.objects = list(children)

    def on_change(self, widget: Any, callback: Callable[[], None]) -> None:
        widget.param.watch(lambda _event: callback(), "value")

    def on_click(self, button: Any, callback: Callable[[], None]) -> None:
        button.on_click(lambda _event: callback())

    def monitor(self, job: Any) -> tuple[Any, Any]:
        monitor = PanelJobMonitor(job)
        return monitor, monitor.box


def _unwrap(text: str, cls: str) -> str:
    """The HTML :func:`_wrap` wrapped (``text`` as it was set)."""
    empty = _wrap("\0", cls)
    head, tail = empty.split("\0")
    return text[len(head):len(text) - len(tail)] if text.startswith(head) else text


class PanelJobWizard(_WizardForm):
    """:class:`~promethium_lab.widgets.JobWizard`'s form as Panel widgets; Submit shows a
    :class:`PanelJobMonitor` under it.

    Takes the same arguments and has the same methods (:meth:`select`,
    :meth:`set_params`, :meth:`validate`, :meth:`submit`, :attr:`errors`) as ``JobWizard``;
    display it with ``pn.panel(wizard)`` or put it in a layout.

    Attributes
    ----------
    view : panel.Column
        The form.
    """

    def __init__(self, root: str | os.PathLike = ".", *, task: str = "reconstruct",
                 dataset: str | os.PathLike | None = None, method: str | None = None,
                 executor: str | None = None, params: dict[str, Any] | None = None,
                 job_store: Any = None, max_depth: int = 2) -> None:
        rows = self._build(root, kit=_PanelKit(), task=task, job_store=job_store,
                           max_depth=max_depth)
        self.view = pn.Column(*rows, stylesheets=[_FRAME_CSS], css_classes=["pl-wizard"],
                              width=840)
        self._start(dataset=dataset, method=method, executor=executor, params=params)

    def __panel__(self) -> pn.Column:
        return self.view


class JobsApp(pn.viewable.Viewer):
    """The page :func:`panel_app` builds: a heading, the wizard, the monitor of a job.

    Attributes
    ----------
    wizard : PanelJobWizard
    monitor : PanelJobMonitor or None
    layout : panel.Column
    """

    def __init__(self, wizard: PanelJobWizard, monitor: PanelJobMonitor | None,
                 title: str) -> None:
        super().__init__()
        self.wizard, self.monitor = wizard, monitor
        self.layout = pn.Column(f"# {title}", wizard,
                                *([monitor.box] if monitor is not None else []))

    def __panel__(self) -> pn.Column:
        return self.layout


def panel_app(root: str | os.PathLike = ".", *, job: Any = None,
              title: str = "Promethium jobs", **wizard: Any) -> JobsApp:
    """A Panel page with the job wizard (datasets under ``root``) and, if ``job`` is
    given, the monitor of that job; ``.servable()`` it in a ``panel serve`` script.

    Parameters
    ----------
    root : path-like
        Folder whose datasets the wizard offers.
    job : Job or str, optional
        A job (or its id) to show a :class:`PanelJobMonitor` of.
    title : str
        The page's heading.
    **wizard
        More arguments of :class:`PanelJobWizard` (``task``, ``dataset``, ``method``,
        ``executor``, ``params``, ``job_store``).

    Returns
    -------
    JobsApp
        The page (a Panel ``Viewer``): ``.wizard``, ``.monitor`` (None without ``job``),
        ``.servable()``.
    """
    form = PanelJobWizard(root, **wizard)
    monitor = (PanelJobMonitor(job, job_store=wizard.get("job_store"))
               if job is not None else None)
    return JobsApp(form, monitor, title)
