"""Section images for the front ends.

The static PNG figures live in :mod:`promethium_lab.workflows.figures` (workflows leave
them as outputs, and a lower layer never imports a front end); they are re-exported here
beside the interactive views.
"""

from __future__ import annotations

from promethium_lab.workflows.figures import (
    rasterize_section,
    save_comparison_png,
    save_section_png,
    select_section,
)

__all__ = ["rasterize_section", "save_comparison_png", "save_section_png", "select_section"]
