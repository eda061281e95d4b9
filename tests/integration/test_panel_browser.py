"""The Promethium side panel of issue 14 in a real JupyterLab, driven by Debian's Chromium.

Starts ``jupyter lab`` on 127.0.0.1 (see ``_lab.py``) whose root holds the bundled Viking
Graben shot gathers, an F3 cube with absent traces, and a notebook that submits a long
job from its kernel and then waits on it. Playwright then uses the panel as a user does
and checks, with screenshots kept in ``tests/artifacts/panel_*.png``:

1. the Datasets tab lists the bundled dataset with its geometry summary;
2. double-clicking a ``.sgy`` in Lab's file browser opens the seismic viewer (summary and
   a section image), not "File Load Error … not UTF-8";
3. a job submitted from the notebook's kernel appears in the Jobs tab with rising
   progress, moving on the server's job events alone (every poll of the list is refused
   meanwhile), and Cancel (with its confirmation) stops it while that kernel is busy in
   ``job.wait()``: the row shows "canceled" and the blocked cell ends;
4. the Submit tab's form (built from the ``reconstruct`` parameter schema) shows the
   server's refusal of a missing input on that field, then submits a job that completes,
   and its "Compare" opens a notebook drawing ``viz.compare`` of input and output;
5. a section view opened from a dataset card is drawn at its frame's size with axes, and
   is reopened by JupyterLab's layout restorer after a page reload.
"""

from __future__ import annotations

import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from _lab import ARTIFACTS, LONG_JOB, LabServer, launch_chromium, start_lab
from nbformat.v4 import new_code_cell, new_notebook

import promethium_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BUNDLED = Path(promethium_lab.__file__).parent / "data" / "viking_graben_4shots_ibm.segy"
HOLED = "f3_missing_traces_ibm.sgy"
NOTEBOOK = "long_job.ipynb"
#: a job of minutes (3000 batches of 0.1 s) in the kernel's threads, then a cell that waits
SUBMIT_CELL = LONG_JOB + "\nlong_job.id"
WAIT_CELL = 'print("long job ended:", long_job.wait(timeout=600).value)'
#: guards against hanging, never speed assertions
STEP_MS = 60_000
JOB_MS = 150_000


@pytest.fixture
def panel_lab(tmp_path, seismic_file) -> Iterator[LabServer]:
    root = tmp_path / "root"
    (root / "surveys").mkdir(parents=True)
    shutil.copy2(BUNDLED, root / "surveys" / BUNDLED.name)
    seismic_file(HOLED, root)
    nb = new_notebook(cells=[new_code_cell(SUBMIT_CELL), new_code_cell(WAIT_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, root / NOTEBOOK)
    with start_lab(root, tmp_path / "jupyter") as server:
        yield server


class PanelPage:
    """Page object of JupyterLab with the Promethium panel and one notebook."""

    TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="promethium-lab-panel"]'
    FILES = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]'
    INDICATOR = ".jp-Notebook-ExecutionIndicator"

    def __init__(self, page: Any, server: LabServer) -> None:
        self.page = page
        self.server = server

    @property
    def panel(self) -> Any:
        return self.page.locator("#promethium-lab-panel")

    def shot(self, name: str) -> Path:
        path = ARTIFACTS / f"panel_{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def open_notebook(self) -> None:
        """Lab at the notebook, its kernel started and idle (accepting a kernel dialog)."""
        self.page.goto(f"{self.server.url}lab/tree/{NOTEBOOK}?token={self.server.token}")
        self.page.locator(".jp-Notebook .jp-Cell").nth(1).wait_for(timeout=90_000)
        dialog = self.page.locator(".jp-Dialog")
        deadline, idle = time.monotonic() + 90, 0
        while time.monotonic() < deadline and idle < 3:
            if dialog.is_visible():
                dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
                idle = 0
            idle = idle + 1 if self.kernel_status() == "idle" else 0
            self.page.wait_for_timeout(300)
        assert idle >= 3, f"the kernel is not idle: {self.kernel_status()!r}"

    def kernel_status(self) -> str | None:
        return self.page.locator(self.INDICATOR).first.get_attribute("data-status")

    def show_panel_tab(self, name: str) -> None:
        if not self.panel.is_visible():
            self.page.locator(self.TAB).click()
        self.panel.locator(f'.pl-TabStrip-tab[data-tab="{name}"]').click()

    def activate_main_tab(self, label: str) -> None:
        self.page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=label).first.click()

    def cell(self, i: int) -> Any:
        return self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(i)

    def run_cell(self, i: int) -> None:
        self.cell(i).locator(".jp-InputPrompt").first.click()
        self.page.keyboard.press("Shift+Enter")

    def job(self, kind: str) -> Any:
        return self.panel.locator(".pl-Job").filter(
            has=self.page.locator(".pl-Job-task", has_text=kind)).first

    def progress(self, row: Any) -> int:
        return int(row.locator(".pl-Job-progress").get_attribute("aria-valuenow") or 0)


def _drawn(img: Any) -> bool:
    return bool(img.evaluate("n => n.complete && n.naturalWidth > 0"))


def _datasets_tab(lab: PanelPage) -> None:
    from playwright.sync_api import expect

    lab.show_panel_tab("datasets")
    card = lab.panel.locator(f'.pl-Dataset[data-path="surveys/{BUNDLED.name}"]')
    expect(card).to_be_visible(timeout=STEP_MS)
    expect(card.locator(".pl-Dataset-badge")).to_have_text("SEG-Y")
    # the geometry summary of the headers: 4 shots × 120 channels × 600 samples
    expect(card.locator(".pl-Dataset-summary")).to_have_text(
        "shot · 4 × 120 × 600 · 0–2396 ms", timeout=STEP_MS)
    holed = lab.panel.locator(f'.pl-Dataset[data-path="{HOLED}"] .pl-Dataset-summary')
    expect(holed).to_contain_text("poststack3d", timeout=STEP_MS)
    expect(holed).to_contain_text("absent")
    # a long name is cut with an ellipsis, whole in its tooltip
    name = card.locator(".pl-Dataset-name")
    assert name.get_attribute("title") == f"surveys/{BUNDLED.name}"
    assert name.evaluate("n => getComputedStyle(n).textOverflow") == "ellipsis"
    # Copy path confirms with a notification
    card.locator(".pl-Dataset-copy").click()
    expect(lab.page.locator(".jp-toast-message", has_text="Copied the path")).to_be_visible()
    lab.shot("datasets")


def _viewer_from_file_browser(lab: PanelPage) -> None:
    from playwright.sync_api import expect

    lab.page.locator(lab.FILES).click()
    item = lab.page.locator(".jp-DirListing-item", has_text=HOLED).first
    expect(item).to_have_attribute("data-file-type", "promethium-segy")
    item.dblclick()
    viewer = lab.page.locator(".pl-SeismicDocument:visible")
    expect(viewer.locator(".pl-SectionView-summary")).to_contain_text("poststack3d",
                                                                      timeout=STEP_MS)
    expect(viewer.locator(".pl-SectionView-status")).to_contain_text("Section at inline",
                                                                     timeout=STEP_MS)
    assert _drawn(viewer.locator(".pl-SectionView-image"))
    assert not lab.page.locator(".jp-Dialog", has_text="File Load Error").is_visible()
    lab.shot("viewer")


def _cancel_a_kernel_job(lab: PanelPage) -> None:
    from playwright.sync_api import expect

    lab.activate_main_tab(NOTEBOOK)
    lab.run_cell(0)
    expect(lab.cell(0).locator(".jp-OutputArea-executeResult")).to_be_visible(timeout=STEP_MS)
    job_id = (lab.cell(0).locator(".jp-OutputArea-executeResult .jp-OutputArea-output")
              .inner_text().strip("' \n"))
    lab.run_cell(1)  # the kernel is now busy in long_job.wait()
    lab.show_panel_tab("jobs")
    row = lab.panel.locator(f'.pl-Job[data-job-id="{job_id}"]')
    expect(row).to_have_attribute("data-state", re.compile("running|previewing"),
                                  timeout=STEP_MS)
    expect(row.locator(".pl-Job-executor")).to_contain_text("kernel")
    # the row moves on the server's job events alone: every poll of the list is refused
    refused: list[str] = []
    list_route = re.compile(r".*/promethium/jobs\?.*")

    def refuse(route: Any) -> None:
        refused.append(route.request.url)
        route.abort()

    lab.page.route(list_route, refuse)
    seen = [lab.progress(row)]
    deadline = time.monotonic() + STEP_MS / 1000
    # until the row has moved three times and the list has been polled (and refused) at
    # least once: a fast job can do the first before the first poll comes due
    while (len(set(seen)) < 3 or not refused) and time.monotonic() < deadline:
        lab.page.wait_for_timeout(500)
        seen.append(lab.progress(row))
    lab.page.unroute(list_route, refuse)
    assert seen == sorted(seen) and len(set(seen)) >= 3, f"progress did not rise: {seen}"
    assert refused, "the list was not polled while the tab was visible"
    expect(row.locator(".pl-Job-preview")).to_be_visible(timeout=STEP_MS)
    assert lab.kernel_status() == "busy"
    lab.shot("jobs_running")

    row.locator(".pl-Job-cancel").click()
    dialog = lab.page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Cancel this job?")
    dialog.locator(".jp-Dialog-button", has_text="Cancel job").click()
    expect(row).to_have_attribute("data-state", "canceled", timeout=STEP_MS)
    expect(lab.cell(1).locator(".jp-OutputArea-output")).to_contain_text(
        "long job ended: canceled", timeout=STEP_MS)
    lab.shot("jobs_canceled")


def _submit_and_compare(lab: PanelPage) -> None:
    from playwright.sync_api import expect

    lab.show_panel_tab("submit")
    form = lab.panel.locator('.pl-Form[data-kind="reconstruct"]')
    expect(form).to_be_visible(timeout=STEP_MS)
    field = form.locator('.pl-Form-field[data-field="source"]')
    field.locator("input").fill("no_such_survey.sgy")
    form.locator('.pl-Form-field[data-field="method"] input').fill("linear")
    form.locator('.pl-Form-field[data-field="out"] input').fill("filled.zarr")
    lab.panel.locator(".pl-Submit-button").click()
    # the server's refusal sits on the field it is about
    expect(field.locator(".pl-Form-error")).to_contain_text("does not exist", timeout=STEP_MS)
    assert field.locator("input").get_attribute("aria-invalid") == "true"
    lab.shot("submit_error")

    field.locator("input").fill(HOLED)
    lab.panel.locator(".pl-Submit-button").click()
    row = lab.job("reconstruct · linear")
    expect(row).to_be_visible(timeout=STEP_MS)
    expect(row).to_have_attribute("data-state", "completed", timeout=JOB_MS)
    expect(row.locator(".pl-Job-metrics")).to_contain_text("live", timeout=STEP_MS)
    expect(lab.page.locator(".jp-toast-message", has_text="completed")).to_be_visible(
        timeout=STEP_MS)
    lab.shot("jobs_completed")

    # Reproduce writes the notebook that re-runs the job and opens it
    row.locator(".pl-Job-reproduce").click()
    reproduce = lab.page.locator(".jp-NotebookPanel:visible")
    expect(reproduce.locator(".jp-Cell").first).to_contain_text("Reproduce", timeout=STEP_MS)
    expect(lab.page.locator(".jp-toast-message", has_text="compares the result hashes")
           ).to_be_visible(timeout=STEP_MS)
    lab.shot("reproduce")

    lab.show_panel_tab("jobs")
    row.locator(".pl-Job-open").click()
    notebook = lab.page.locator(".jp-NotebookPanel:visible")
    expect(notebook.locator(".jp-Cell").nth(1)).to_contain_text("viz.compare(before, after)",
                                                                timeout=STEP_MS)
    # the comparison's Bokeh canvases are drawn (hidden loader outputs come first)
    canvas = notebook.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output canvas").first
    expect(canvas).to_be_visible(timeout=JOB_MS)
    errors = notebook.locator(".jp-OutputArea-output[data-mime-type='application/"
                              "vnd.jupyter.stderr']").all_inner_texts()
    assert not [e for e in errors if "Traceback" in e], errors
    lab.page.wait_for_timeout(1_000)
    lab.shot("compare")


def _wait_for_saved_layout(lab: PanelPage, needle: str) -> None:
    """Wait until JupyterLab has saved a workspace layout holding ``needle`` (it saves
    the layout a moment after it changes; a reload before that restores the old one)."""
    request = urllib.request.Request(f"{lab.server.url}lab/api/workspaces",
                                     headers={"Authorization": f"token {lab.server.token}"})
    deadline = time.monotonic() + STEP_MS / 1000
    while time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=5) as response:
            if needle in response.read().decode():
                return
        time.sleep(0.3)
    raise AssertionError(f"no saved workspace holds {needle!r}")


def _section_view_survives_a_reload(lab: PanelPage) -> None:
    """A section view opened from a dataset card is a figure that fills its frame, with
    axes, and JupyterLab's layout restorer reopens it after a reload."""
    from playwright.sync_api import expect

    lab.show_panel_tab("datasets")
    card = lab.panel.locator(f'.pl-Dataset[data-path="{HOLED}"]')
    card.locator(".pl-Dataset-section").click()
    view = lab.page.locator(".pl-SectionViewer:visible")
    expect(view.locator(".pl-SectionView-status")).to_contain_text("Section at inline",
                                                                   timeout=STEP_MS)
    image, frame = view.locator(".pl-SectionView-image"), view.locator(".pl-SectionView-figure")
    assert _drawn(image)
    box, natural = frame.bounding_box(), image.evaluate("n => [n.naturalWidth, n.naturalHeight]")
    assert abs(natural[0] - box["width"]) <= 2 and abs(natural[1] - box["height"]) <= 2, \
        (natural, box)  # drawn at the frame's size, not stretched
    _wait_for_saved_layout(lab, "promethium-section:")
    lab.page.reload()
    restored = lab.page.locator(".pl-SectionViewer")
    expect(restored.locator(".pl-SectionView-path")).to_have_text(HOLED, timeout=JOB_MS)
    expect(restored.locator(".pl-SectionView-status")).to_contain_text(
        "Section at inline", timeout=STEP_MS)
    lab.shot("section_restored")


@contextmanager
def _chromium_page(console: list[str]) -> Iterator[Any]:
    """A Chromium page of 1400 × 900 whose console messages go to ``console``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, launch_chromium(pw) as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        yield page


def test_the_panel_browses_watches_cancels_and_compares(panel_lab):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with _chromium_page(console) as page:
        lab = PanelPage(page, panel_lab)
        try:
            lab.open_notebook()
            _datasets_tab(lab)
            _viewer_from_file_browser(lab)
            _cancel_a_kernel_job(lab)
            _submit_and_compare(lab)
            _section_view_survives_a_reload(lab)
        except AssertionError as err:
            page.screenshot(path=str(ARTIFACTS / "panel_failed.png"))
            raise AssertionError(
                "console:\n" + "\n".join(console[-40:])
                + f"\nserver log:\n{panel_lab.log_text()}") from err
