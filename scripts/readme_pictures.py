#!/usr/bin/env python
"""Copy the README's pictures from the browser tests' screenshots into ``docs/images``.

The browser tests leave their screenshots in ``tests/artifacts`` (not committed); run the
suite (``bash .ci/run``), then this script, to refresh the pictures of the README's user
guide. Each is reduced to a 256-colour PNG, a tenth of the size, which screenshots of a
user interface survive.

Run: ``python scripts/readme_pictures.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
IMAGES = ROOT / "docs" / "images"

#: README picture <- the screenshot a test takes
PICTURES = {
    "quickstart_section.png": "quickstart_section.png",        # test_quickstart_browser
    "panel_jobs.png": "panel_jobs_running.png",                # test_panel_browser
    "panel_compare.png": "panel_compare.png",                  # test_panel_browser
    "panel_section.png": "panel_section_restored.png",         # test_panel_browser
    "widget_monitor.png": "widget_monitor_light.png",          # test_widget_monitor_js
    "report.png": "report_html.png",                           # test_reports
    "hub_panel.png": "hub_panel_jobs.png",                     # test_hub
}


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    missing = [src for src in PICTURES.values() if not (ARTIFACTS / src).is_file()]
    if missing:
        print(f"missing screenshots (run the tests first): {missing}", file=sys.stderr)
        return 1
    for name, src in PICTURES.items():
        with Image.open(ARTIFACTS / src) as img:
            small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
            small.save(IMAGES / name, optimize=True)
        print(f"{name:24s} {(IMAGES / name).stat().st_size / 1024:6.0f} KiB  <- {src}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
