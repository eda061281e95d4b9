"""Plots of surveys: sections, slices, gathers (Datashader-backed)."""

from __future__ import annotations

from promethium_lab.viz.section import (
    rasterize_section,
    save_comparison_png,
    save_section_png,
    select_section,
)

__all__ = ["rasterize_section", "save_comparison_png", "save_section_png", "select_section"]
