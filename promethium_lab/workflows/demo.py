"""The main job end to end on bundled real data."""

from __future__ import annotations

import json
import os
from typing import Any

from promethium_lab.core.context import TaskContext, ensure_context

__all__ = ["run_demo"]


def run_demo(
    out_dir: str | os.PathLike = "promethium_demo",
    *,
    method: str = "auto",
    fraction: float = 0.5,
    seed: int = 0,
    progress: bool | None = None,
    context: TaskContext | None = None,
) -> dict[str, Any]:
    """Ingest → decimate → reconstruct → measure → draw, on the bundled Viking Graben shots.

    Writes into ``out_dir``: ``viking_graben.zarr`` (the ingested survey),
    ``reconstructed.zarr`` (traces removed at random with ``fraction`` and ``seed``, then
    filled by ``method``), ``section.png`` (one shot gather), ``before_after.png``
    (complete / decimated / reconstructed) and ``summary.json`` with the metrics.

    Returns
    -------
    dict
        The survey summary, the reconstruction record and its metrics, and the paths.
    """
    from promethium_lab.data import sample_path
    from promethium_lab.io.formats import make_output_folder
    from promethium_lab.io.store import open_store
    from promethium_lab.signal.decimate import decimate
    from promethium_lab.workflows.figures import (
        save_comparison_png,
        save_section_png,
        select_section,
    )
    from promethium_lab.workflows.info import describe
    from promethium_lab.workflows.ingest import ingest
    from promethium_lab.workflows.reconstruct import reconstruct

    ctx = ensure_context(context)
    out = make_output_folder(out_dir, "the demo's outputs")
    store = ingest(sample_path("viking_graben"), out / "viking_graben.zarr", overwrite=True,
                   progress=progress, context=ctx.child(0.0, 0.2, preview=False))
    ds = open_store(store).load()
    info = describe(ds)
    shot = int(ds["shot_point"].values[0])
    png = save_section_png(select_section(ds, shot_point=shot), out / "section.png",
                           title=f"Viking Graben, shot {shot}")

    ctx.check("the demo")
    holed = decimate(ds, pattern="random", fraction=fraction, seed=seed)
    result_store = reconstruct(
        holed, method=method, out=out / "reconstructed.zarr", reference=ds, overwrite=True,
        progress=progress,
        context=ctx.child(0.2, 0.95),
    )
    result = open_store(result_store)
    metrics = result.attrs.get("metrics", {})
    record = result.attrs.get("reconstruction", {})
    chosen = record.get("chosen", method)
    snr_missing = metrics.get("snr_missing_db")
    compare = save_comparison_png(
        {
            "complete": select_section(ds, shot_point=shot),
            f"{fraction:.0%} traces removed": select_section(holed, shot_point=shot),
            f"reconstructed ({chosen})": select_section(result, shot_point=shot),
        },
        out / "before_after.png",
        masks={f"{fraction:.0%} traces removed": holed["trace_mask"].sel(shot_point=shot)},
        title=f"Viking Graben shot {shot}: {chosen}"
        + (f", SNR on removed traces {snr_missing:.1f} dB" if snr_missing is not None else ""),
    )
    ctx.progress(1.0, "demo done")
    info.update({
        "store": str(store),
        "reconstructed_store": str(result_store),
        "section_png": str(png),
        "before_after_png": str(compare),
        "decimation": {"pattern": "random", "fraction": fraction, "seed": seed},
        "reconstruction": record,
        "metrics": metrics,
    })
    (out / "summary.json").write_text(json.dumps(info, indent=2, default=str))
    return info
