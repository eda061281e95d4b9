"""The example notebooks run top to bottom under papermill in a real Jupyter kernel."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import papermill as pm
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
DATA = Path(os.environ["PROMETHIUM_TEST_DATA"])


def _run(name: str, tmp_path: Path, **parameters) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>`` in ``tmp_path`` with papermill; the executed notebook."""
    src = tmp_path / name
    shutil.copy(NOTEBOOKS / name, src)
    out = tmp_path / f"out_{name}"
    pm.execute_notebook(str(src), str(out), parameters=parameters, cwd=str(tmp_path),
                        kernel_name="python3", progress_bar=False)
    return nbformat.read(out, as_version=4)


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _text(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in _outputs(nb))


def _with(nb: nbformat.NotebookNode, mime: str) -> list[dict]:
    return [o for o in _outputs(nb) if mime in o.get("data", {})]


def test_quickstart(tmp_path: Path) -> None:
    nb = _run("01_quickstart.ipynb", tmp_path, workdir="qs", fraction=0.5, seed=1)
    text = _text(nb)
    assert "480 live, 0 absent" in text
    assert "240 of 480 traces removed" in text
    assert "completed; method" in text
    snr = float(text.split("snr_missing_db")[1].split()[0])
    assert snr > 3.0, text  # the removed traces are really filled, not zeros (0 dB)
    # the injected parameters cell follows the tagged one
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert ["parameters"] in tags and ["injected-parameters"] in tags
    # three views (section, decimated section, comparison), each interactive with a PNG
    views = [o for o in _with(nb, "application/vnd.holoviews_exec.v0+json")
             if "image/png" in o["data"]]  # not the extension's own loading output
    assert len(views) == 3
    assert _with(nb, "application/vnd.jupyter.widget-view+json")  # the wizard and monitor
    assert not [o for o in _outputs(nb) if o.get("name") == "stderr"
                and "Warning" in o.get("text", "")]
    assert (tmp_path / "qs" / "reconstructed.zarr" / "zarr.json").is_file()


@pytest.mark.parametrize(("source", "title"), [
    ("", "viking_graben_4shots_ibm.segy — shot 5"),
    ("II.TLY.00.BHZ_be.SAC", "II.TLY.00.BHZ_be.SAC — II.TLY.00.BHZ"),
    ("f3_ibm_be.sgy", "f3_ibm_be.sgy — inline 122"),
])
def test_ingest_and_view(tmp_path: Path, source: str, title: str) -> None:
    """Also on a one-trace SAC file (Datashader's NaN resolution crashed it) and a 3-D cube."""
    nb = _run("05_ingest_and_view.ipynb", tmp_path,
              source=str(DATA / source) if source else "")
    text = _text(nb)
    if not source:
        assert "geometry    shot" in text
        assert "480 live, 0 absent" in text
    assert title in text  # the view names what it shows
    assert _with(nb, "image/png"), "the section's static PNG was not displayed"
    assert (tmp_path / "survey.zarr" / "zarr.json").is_file()
    assert (tmp_path / "section.png").stat().st_size > 5_000
    assert "TqdmWarning" not in "".join(
        o.get("text", "") for o in _outputs(nb) if o.get("name") == "stderr")
