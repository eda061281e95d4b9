"""The training and parameter-sweep notebooks as reports: ``run_report`` runs them with
Papermill in real kernels (the sweep starts one more kernel per QC report it runs), on the
bundled Viking Graben shots, and what their tables show is what was computed and recorded."""

from __future__ import annotations

import math
import os
import re
import time
from html.parser import HTMLParser
from itertools import product
from pathlib import Path

import nbformat
import pytest

from promethium_lab.reports import run_report

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
METRICS = ("snr_missing_db", "snr_db", "psnr_db", "ssim")
FRACTIONS, METHODS = [0.3, 0.6], ["linear", "nearest"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory):
    """The kernels' environment for the module (the suite's autouse data dir is per test):
    a fresh data dir (job store, model registry), no progress bars from the workflows, the
    repository importable from any working directory, and one BLAS/torch thread (tiny
    models train fastest, and steadiest, that way on a busy two-core machine)."""
    folder = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROMETHIUM_DATA_DIR", str(folder))
        mp.setenv("PROMETHIUM_PROGRESS", "0")
        mp.setenv("OMP_NUM_THREADS", "1")
        mp.setenv("PYTHONPATH", os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
        yield folder


class _Tables(HTMLParser):
    """The ``<table>``s of an HTML fragment, as lists of rows of ``(tag, text)`` cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[tuple[str, str]]]] = []
        self._cell: list[str] | None = None
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell, self._tag = [], tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append((self._tag, "".join(self._cell).strip()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _dataframes(nb: nbformat.NotebookNode) -> list[list[dict[str, str]]]:
    """The notebook's displayed pandas tables (``class="dataframe"``): one dict per body
    row, column name -> shown text, and ``"index"``: the row's index cells (``th``)."""
    frames = []
    for out in _outputs(nb):
        html = out.get("data", {}).get("text/html", "")
        if 'class="dataframe"' not in html:
            continue
        parser = _Tables()
        parser.feed(html)
        for table in parser.tables:
            columns = [text for _, text in table[0] if text]
            frames.append([{"index": [t for tag, t in row if tag == "th"],
                            **dict(zip(columns, [t for tag, t in row if tag == "td"]))}
                           for row in table if any(tag == "td" for tag, _ in row)])
    return frames


def _check_clean(nb: nbformat.NotebookNode) -> None:
    errors = [o.get("text", "") for o in _outputs(nb) if o.get("name") == "stderr"]
    assert not [t for t in errors if "Traceback" in t or "Warning" in t], errors


def _check_html(html: Path, min_pngs: int) -> None:
    text = html.read_text()
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', text)) >= min_pngs
    assert "promethium-provenance" in text
    assert len(text.encode()) <= 5 * 2**20


# ----------------------------------------------------------------------- 02_train_model


@pytest.fixture(scope="module")
def train_report(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("train")
    started = time.perf_counter()
    result = run_report(NOTEBOOKS / "02_train_model.ipynb", {}, out, progress=False)
    print(f"\n02_train_model.ipynb: {time.perf_counter() - started:.1f} s")
    return result


def test_train_model_compares_the_trained_model_with_classical_methods(
        train_report, data_dir: Path) -> None:
    result = train_report
    assert result.notebook.is_file() and result.html.is_file()
    nb = nbformat.read(result.notebook, as_version=4)
    prov = nb.metadata["promethium"]["provenance"]
    assert prov == result.provenance
    rows = {row["run"]: row for row in prov["comparison"]}
    assert set(rows) == {"trained", "shipped", "linear", "pwd"}  # the CI-sized defaults
    for run, row in rows.items():
        for key in METRICS:
            assert math.isfinite(row[key]), (run, key, row)
    assert rows["trained"]["method"] == rows["shipped"]["method"] == "unet"

    # the model was trained here, saved in the registry, and is what the report names
    training = prov["training"]
    assert rows["trained"]["model"] == training["ref"]
    assert training["start"] == "synthetic-unet" and training["global_step"] == 4 * 64 // 8
    assert training["snr_hidden_db"]["final"] > training["snr_hidden_db"]["initial"]
    assert Path(training["path"]).is_relative_to(data_dir / "models")
    assert (Path(training["path"]) / "weights.pt").is_file()
    assert prov["model"]["path"] == training["path"]
    assert prov["model"]["weights_sha256"].startswith("sha256:")
    assert prov["method"]["name"] == "unet"
    assert prov["method"]["params"]["model"] == training["path"]
    assert prov["metrics"]["snr_missing_db"] == rows["trained"]["snr_missing_db"]
    assert prov["decimation"] == {"pattern": "random", "fraction": 0.5, "seed": 0}
    assert prov["trace_mask"]["absent"] == 240
    assert rows["pwd"]["snr_missing_db"] > 3.0  # the removed traces are really filled

    # the visible table shows the same numbers
    (table,) = _dataframes(nb)
    shown = {r["index"][0]: r for r in table}
    assert set(shown) == set(rows)
    for run, row in rows.items():
        for key in METRICS:
            assert float(shown[run][key]) == pytest.approx(row[key], abs=6e-4), (run, key)
    # the figures: SNR bars + training curve, and the sections
    assert len([o for o in _outputs(nb) if "image/png" in o.get("data", {})]) >= 2
    _check_clean(nb)
    _check_html(result.html, min_pngs=2)


# ----------------------------------------------------------------- 04_parameter_sweep


@pytest.fixture(scope="module")
def sweep_report(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The sweep as JupyterLab runs it: the kernel in notebooks/, the QC report found there."""
    out = tmp_path_factory.mktemp("sweep")
    before = sorted(p.name for p in NOTEBOOKS.iterdir())
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(NOTEBOOKS)
        started = time.perf_counter()
        result = run_report(NOTEBOOKS / "04_parameter_sweep.ipynb",
                            {"fractions": FRACTIONS, "methods": METHODS, "figures": False,
                             "out_dir": str(out / "runs")}, out / "report", progress=False)
        print(f"\n04_parameter_sweep.ipynb: {time.perf_counter() - started:.1f} s")
    assert sorted(p.name for p in NOTEBOOKS.iterdir()) == before  # nothing written there
    return result, out


@pytest.mark.slow  # four QC reports, each in its own kernel
def test_parameter_sweep_tabulates_every_sub_report(sweep_report) -> None:
    result, out = sweep_report
    assert result.notebook.is_file() and result.html.is_file()
    nb = nbformat.read(result.notebook, as_version=4)
    prov = nb.metadata["promethium"]["provenance"]
    assert prov["sub_reports"]["notebook"] == str(NOTEBOOKS / "03_qc_report.ipynb")
    sweep = prov["sweep"]
    pairs = [(row["fraction"], row["method"]) for row in sweep]
    assert sorted(pairs) == sorted(product(FRACTIONS, METHODS))  # one row per pair
    runs = out / "runs"
    assert sorted(p.name for p in runs.iterdir()) == sorted(
        f"{m}_{f:g}" for f, m in product(FRACTIONS, METHODS))

    for row in sweep:
        html = runs / row["report"]
        assert html.is_file() and html.name == "03_qc_report.html"
        assert sorted(p.name for p in html.parent.iterdir()) == [
            "03_qc_report.html", "03_qc_report.ipynb"]
        sub = nbformat.read(html.with_suffix(".ipynb"), as_version=4)
        sub_prov = sub.metadata["promethium"]["provenance"]
        for key in METRICS:  # the table's SNRs are the sub-report's own
            assert row[key] == sub_prov["metrics"][key], (row, key)
            assert math.isfinite(row[key])
        assert sub_prov["decimation"] == {"pattern": "random", "fraction": row["fraction"],
                                          "seed": 0}
        assert sub_prov["method"]["name"] == row["method"]
        assert sub_prov["report"]["parameters"]["method"] == row["method"]
        assert row["removed"] == round(row["fraction"] * 480) == sub_prov["trace_mask"]["absent"]

    # more traces removed, more error: the overall SNR falls with the ratio, per method
    for method in METHODS:
        snr = [r["snr_db"] for r in sorted(sweep, key=lambda r: r["fraction"])
               if r["method"] == method]
        assert snr == sorted(snr, reverse=True) and snr[0] > snr[-1], (method, snr)

    # the visible table shows the same numbers; the plot is there
    (table,) = _dataframes(nb)
    shown = {r["report"]: r for r in table}
    assert len(table) == len(shown) == len(sweep)
    for row in sweep:
        for key in METRICS:
            assert float(shown[row["report"]][key]) == pytest.approx(row[key], abs=6e-4)
    assert [o for o in _outputs(nb) if "image/png" in o.get("data", {})]
    _check_clean(nb)
    _check_html(result.html, min_pngs=1)
