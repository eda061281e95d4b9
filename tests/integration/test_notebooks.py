"""The example notebooks run top to bottom in a real Jupyter kernel."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def test_ingest_and_view_notebook(tmp_path: Path) -> None:
    nb_path = tmp_path / "01_ingest_and_view.ipynb"
    shutil.copy(NOTEBOOKS / nb_path.name, nb_path)
    nb = nbformat.read(nb_path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    outputs = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "geometry    shot" in outputs
    assert "480 live, 0 absent" in outputs
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the section image was not displayed"
    assert (tmp_path / "survey.zarr" / "zarr.json").is_file()
    assert (tmp_path / "section.png").stat().st_size > 10_000
