"""Seismic views for notebooks: interactive HoloViews + Datashader views of any size, and
the static PNG figures the workflows leave.

The interactive views (:func:`section`, :func:`time_slice`, :func:`survey_view`,
:func:`compare`, :func:`spectrum`, :func:`fk_spectrum`) return a :class:`View`: HoloViews'
Bokeh output in JupyterLab plus a static PNG in the notebook. See ``docs/visualization.md``.
"""

from __future__ import annotations

from promethium_lab.viz.compare import compare
from promethium_lab.viz.display import View, render_png
from promethium_lab.viz.raster import reduce_window, symmetric_clip
from promethium_lab.viz.section import (
    rasterize_section,
    save_comparison_png,
    save_section_png,
    select_section,
)
from promethium_lab.viz.spectra import fk_spectrum, spectrum
from promethium_lab.viz.views import section, survey_view, time_slice

__all__ = [
    "View",
    "compare",
    "fk_spectrum",
    "rasterize_section",
    "reduce_window",
    "render_png",
    "save_comparison_png",
    "save_section_png",
    "section",
    "select_section",
    "spectrum",
    "survey_view",
    "symmetric_clip",
    "time_slice",
]
