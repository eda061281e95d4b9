"""Notebook widgets: a job wizard and a live job monitor (anywidget / ipywidgets), and the
same two as native Panel components for ``panel serve``.

* :class:`JobWizard` — pick a dataset, a task and a method, fill in the workflow's
  parameters (checked by the workflow's own types and rules), choose where it runs
  (kernel, Dask LocalCluster, scheduler address) and submit it as a job.
* :class:`JobMonitor` — a job's state, progress, message, error and hint, a live preview
  (binary JPEG frames while it runs, PNG at the end), Cancel (which works while the kernel
  is busy), "Open comparison" and Reproduce (the notebook that re-runs a completed job).
* :func:`panel_app` — both in a Panel page (``panel serve``), drawn by
  :class:`~promethium_lab.widgets.serve.PanelJobWizard` and
  :class:`~promethium_lab.widgets.serve.PanelJobMonitor`: the same form, the same
  ``monitor.js`` and the same state logic (:mod:`promethium_lab.widgets.follow`), with
  nothing loaded from outside the Panel server. Panel is imported only when one of them
  is used. See ``docs/widgets.md``.
"""

from __future__ import annotations

from typing import Any

from promethium_lab.widgets.monitor import JobMonitor, encode_frame
from promethium_lab.widgets.wizard import JobWizard, find_datasets

__all__ = ["JobMonitor", "JobWizard", "PanelJobMonitor", "PanelJobWizard", "encode_frame",
           "find_datasets", "panel_app"]

_PANEL = ("PanelJobMonitor", "PanelJobWizard", "panel_app")


def __getattr__(name: str) -> Any:
    if name in _PANEL:  # imports Panel: only when asked for
        from promethium_lab.widgets import serve

        return getattr(serve, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
