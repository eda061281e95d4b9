"""The main job end to end on bundled real data."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from promethium_lab.core.context import TaskContext

__all__ = ["run_demo"]


def run_demo(out_dir: str | os.PathLike = "promethium_demo", *, progress: bool | None = None,
             context: TaskContext | None = None) -> dict[str, Any]:
    """Ingest the bundled Viking Graben shots into Zarr, summarise them, draw a section.

    Writes ``<out_dir>/viking_graben.zarr``, ``summary.json`` and ``section.png``;
    returns the summary with the paths of what it wrote.
    """
    from promethium_lab.data import sample_path
    from promethium_lab.io.store import open_store
    from promethium_lab.viz.section import save_section_png, select_section
    from promethium_lab.workflows.info import describe
    from promethium_lab.workflows.ingest import ingest

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = ingest(sample_path("viking_graben"), out / "viking_graben.zarr", overwrite=True,
                   progress=progress, context=context)
    ds = open_store(store)
    info = describe(ds)
    shot = int(ds["shot_point"].values[0]) if "shot_point" in ds.coords else None
    section = select_section(ds, **({"shot_point": shot} if shot is not None else {}))
    png = save_section_png(section, out / "section.png",
                           title=f"Viking Graben, shot {shot}" if shot is not None else "")
    info.update({"store": str(store), "section_png": str(png)})
    (out / "summary.json").write_text(json.dumps(info, indent=2))
    return info
