"""Reports: Papermill runs the parameterised notebooks of ``notebooks/`` into executed
notebooks and HTML, with their provenance (see ``docs/reports.md``).

The implementation is :mod:`promethium_lab.workflows.report`, which every front end calls;
this package is the name notebooks use (``from promethium_lab.reports import
record_provenance``).
"""

from __future__ import annotations

from promethium_lab.workflows import report as _report
from promethium_lab.workflows.report import *  # noqa: F403  (the names of its __all__)

__all__ = list(_report.__all__)
