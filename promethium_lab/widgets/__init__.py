"""Notebook widgets: a job wizard and a live job monitor (anywidget / ipywidgets).

* :class:`JobWizard` — pick a dataset, a task and a method, fill in the workflow's
  parameters (checked by the workflow's own types and rules), choose where it runs
  (kernel, Dask LocalCluster, scheduler address) and submit it as a job.
* :class:`JobMonitor` — a job's state, progress, message, error and hint, a live preview
  (binary JPEG frames while it runs, PNG at the end), Cancel (which works while the kernel
  is busy) and "Open comparison".

Both work in JupyterLab, Notebook and ``panel serve`` (``pn.extension("ipywidgets")``,
then ``pn.panel(widget)``); see ``docs/widgets.md``.
"""

from __future__ import annotations

from promethium_lab.widgets.monitor import JobMonitor, encode_frame
from promethium_lab.widgets.wizard import JobWizard, find_datasets

__all__ = ["JobMonitor", "JobWizard", "encode_frame", "find_datasets"]
