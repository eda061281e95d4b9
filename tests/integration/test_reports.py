"""``promethium-lab report``: the QC report notebook on a real survey, through the CLI, in a
real Jupyter kernel; its provenance, its HTML, and what a failing notebook leaves."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nbformat
import pytest
from _seismic_helpers import DATA, run_cli

#: one worker runs the module, so the QC report (its module fixture) runs once in CI
pytestmark = pytest.mark.xdist_group("qc_report")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SURVEY = DATA / "viking_graben_4shots_ibm.segy"


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def qc_report(tmp_path_factory: pytest.TempPathFactory):
    """The QC report of the Viking Graben shots, 40 % of the traces removed, by POCS."""
    out = tmp_path_factory.mktemp("qc")
    proc = run_cli("report", NOTEBOOKS / "03_qc_report.ipynb", "-p", f"survey={SURVEY}",
                   "-p", "method=pocs", "-p", "fraction=0.4", "-p", "seed=3", "--out", out,
                   "--job-id", "0123456789ab", timeout=240)
    return proc, out


def test_qc_report_writes_notebook_and_html(qc_report) -> None:
    proc, out = qc_report
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cell/s" in proc.stderr  # papermill's tqdm progress
    assert f"notebook    {out / '03_qc_report.ipynb'}" in proc.stdout
    assert f"html        {out / '03_qc_report.html'}" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["03_qc_report.html", "03_qc_report.ipynb"]


def test_qc_report_provenance(qc_report) -> None:
    _, out = qc_report
    nb = nbformat.read(out / "03_qc_report.ipynb", as_version=4)
    prov = nb.metadata["promethium"]["provenance"]
    assert prov["input"]["sha256"] == _sha256(SURVEY)
    assert prov["input"]["headers_digest"].startswith("sha256:")
    assert prov["input"]["geometry"] == "shot"
    assert prov["input"]["dims"] == {"shot_point": 4, "channel": 120, "time": 600}
    assert prov["decimation"] == {"pattern": "random", "fraction": 0.4, "seed": 3}
    assert prov["trace_mask"]["sha256"].startswith("sha256:")
    assert prov["trace_mask"]["absent"] == round(0.4 * 480)
    assert prov["method"]["name"] == "pocs"
    assert prov["model"] is None  # a classical method
    assert prov["store_format_version"] >= 1
    assert prov["versions"]["papermill"] and prov["versions"]["numpy"]
    assert prov["hardware"]["cpu_count"] >= 1
    assert prov["report"]["parameters"]["seed"] == 3
    assert prov["job_id"] == "0123456789ab"  # --job-id
    assert prov["time"]["wall_s"] > 0 and prov["time"]["kernel_cpu_s"] > 0
    assert prov["metrics"]["snr_missing_db"] > 0

    first = nb.cells[0]
    assert "provenance" in first.metadata["tags"]
    table = first.outputs[0]["data"]["text/html"]
    assert "<table" in table
    for shown in (prov["input"]["sha256"], prov["trace_mask"]["sha256"], "pocs",
                  prov["versions"]["papermill"]):
        assert shown in table
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert tagged and tagged[0] > 0  # the table comes before everything the notebook ran


def test_qc_report_html_is_small_and_static(qc_report) -> None:
    _, out = qc_report
    html = (out / "03_qc_report.html").read_text()
    assert len(html.encode()) <= 5 * 2**20
    pngs = re.findall(r'<img [^>]*src="data:image/png;base64,', html)
    assert len(pngs) >= 3  # compare + 2 spectra
    assert "promethium-provenance" in html
    assert _sha256(SURVEY) in html


def test_qc_report_html_reads_in_a_browser(qc_report) -> None:
    """Opened offline in Chromium, the page shows its figures (decoded, not blank) and the
    provenance table; the screenshot is kept as ``tests/artifacts/report_html.png``."""
    from _lab import ARTIFACTS, launch_chromium
    from playwright.sync_api import sync_playwright

    _, out = qc_report
    page_url = (out / "03_qc_report.html").as_uri()
    with sync_playwright() as pw, launch_chromium(pw) as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        outside: list[str] = []
        page.route(re.compile(r"^https?://.*"),
                   lambda route: (outside.append(route.request.url), route.abort()))
        page.goto(page_url)
        page.wait_for_load_state("load")
        sizes = page.locator("img").evaluate_all(
            "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        assert len(sizes) >= 3 and all(ok and w > 100 and h > 100 for ok, w, h in sizes), sizes
        table = page.locator("table.promethium-provenance").first  # the first cell's
        assert table.is_visible() and "sha256:" in table.inner_text()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report_html.png"))
        page.locator("img").first.screenshot(path=str(ARTIFACTS / "report_figure.png"))
    assert not outside, f"the report fetched {outside}"  # nothing outside the file


def test_failing_notebook_names_the_cell(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("value = 1", metadata={"tags": ["parameters"]}),
               nbformat.v4.new_code_cell("total = value + 1"),
               nbformat.v4.new_code_cell("raise ValueError(f'bad value {value}')")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    src = tmp_path / "broken.ipynb"
    nbformat.write(nb, src)
    out = tmp_path / "out"
    proc = run_cli("report", src, "-p", "value=7", "--out", out, "--no-progress")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("PL-REPORT-001: broken.ipynb failed in cell In [4]")  # injected: [2]
    assert "ValueError: bad value 7" in lines[0]
    left = {p.name for p in out.iterdir()}
    assert "broken.failed.ipynb" in left and left <= {"broken.failed.ipynb", "broken.failed.log"}


def test_missing_notebook_is_a_typed_error(tmp_path: Path) -> None:
    proc = run_cli("report", tmp_path / "nope.ipynb", "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.startswith("PL-IO-001: no notebook")
    assert not (tmp_path / "out").exists()


def test_parameters_must_be_json_safe(tmp_path: Path) -> None:
    proc = run_cli("report", NOTEBOOKS / "03_qc_report.ipynb", "-p", "fraction=NaN",
                   "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.startswith("PL-PARAM-001: report parameters are not JSON-safe")
    assert not (tmp_path / "out").exists()


def test_provenance_of_a_deep_model_names_its_checkpoint() -> None:
    from promethium_lab.workflows.report import collect_provenance

    prov = collect_provenance(reconstruction={"method": "auto", "chosen": "unet", "params": {}})
    assert prov["model"]["name"] == "synthetic-unet"
    assert prov["model"]["weights_sha256"].startswith("sha256:")
    assert prov["model"]["version"] >= 1


def test_static_outputs_keep_the_png_only() -> None:
    from promethium_lab.workflows.report import static_outputs

    cell = nbformat.v4.new_code_cell("view")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={
            "application/javascript": "/* BokehJS */", "text/plain": ""}),
        nbformat.v4.new_output("display_data", data={}),
        nbformat.v4.new_output("execute_result", execution_count=1, data={
            "text/html": "<script>bokeh</script>", "image/png": "iVBORw0KGgo=",
            "application/vnd.holoviews_exec.v0+json": {}, "text/plain": "View('x')"}),
        nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    outs = static_outputs(nb).cells[0].outputs
    assert [sorted(o.get("data", {})) for o in outs] == [["image/png", "text/plain"], []]
    assert len(nb.cells[0].outputs) == 4  # the original is untouched


def test_a_report_warns_of_nothing_and_leaves_only_its_files(tmp_path: Path) -> None:
    """The unfinished notebook is named ``*.partial.ipynb``: Papermill has nothing to warn
    of, so no process-wide warning filter is needed (jobs run reports in threads)."""
    import warnings

    from promethium_lab.workflows.report import run_report

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("value = 1", metadata={"tags": ["parameters"]}),
               nbformat.v4.new_code_cell("print(value * 2)")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    src = tmp_path / "tiny.ipynb"
    nbformat.write(nb, src)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_report(src, {"value": 21}, tmp_path / "out", progress=False)
    assert not [w for w in caught if "does not end in" in str(w.message)]
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"tiny.ipynb", "tiny.html"}
    outputs = nbformat.read(result.notebook, as_version=4).cells[-1].outputs
    assert outputs[0]["text"].strip() == "42"
