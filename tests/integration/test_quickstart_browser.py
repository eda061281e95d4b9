"""The quickstart notebook in a real JupyterLab, driven by Debian's Chromium.

Starts ``jupyter lab`` on 127.0.0.1 (see ``_lab.py``) whose root holds a copy of
``notebooks/01_quickstart.ipynb``, with papermill-style injected parameters
(``submit = False``: the test clicks the wizard's Submit itself) and one extra cell at the
end that runs a long job in the foreground. Playwright then runs the notebook's cells
as a user does (select a cell, Shift+Enter) and checks, with screenshots kept in
``tests/artifacts/quickstart_*.png``:

1. the section view draws a non-blank Bokeh canvas, and a mouse-wheel zoom re-renders it:
   the canvas pixels change and the DynamicMap re-reads the data (the image glyph's data
   now covers only the zoomed window, which only the kernel can send);
2. the wizard (method picked in its dropdown, parameters typed into its form) submits a job
   when its Submit button is clicked; the monitor's progress bar rises in several steps and
   its preview image changes (pixels, not only the blob URL), ending on the lossless PNG;
3. the monitor's Cancel stops a job while the kernel is busy in ``job.wait()``: the POST to
   ``promethium/jobs/<id>/cancel`` succeeds, the monitor shows "canceled", and the blocked
   cell finishes (the kernel becomes idle) within a bound;
4. the before / after / reference / difference comparison draws non-blank canvases.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from _lab import ARTIFACTS, LONG_JOB, LabServer, launch_chromium, start_lab
from nbformat.v4 import new_code_cell

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"
NAME = "01_quickstart.ipynb"
#: parameters injected after the tagged cell, as papermill does
INJECTED = "# Parameters\nsubmit = False\n"
#: appended cell: a job of minutes (3000 batches of 0.1 s) the cell waits on in the foreground
LONG_JOB_CELL = f"""\
# browser test: a long job in the foreground, stopped with its monitor's Cancel
from promethium_lab.widgets import JobMonitor
{LONG_JOB}
display(JobMonitor(long_job))
print("long job ended:", long_job.wait(timeout=600).value)"""
#: what the wizard's form is changed to in the browser: a quick method, and small blocks of
#: work aligned to small chunks, so the job reports progress and a preview many times
FORM = {"block_mb": "0.05", "chunks": "[1, 16, 600]", "access_patterns": "[]", "views": "[]"}
METHOD = "linear"
#: guards against hanging, never speed assertions
CELL_S = 240
JOB_S = 180
CANCEL_S = 30

#: the image glyphs' data of the Bokeh document that renders the output ``el``
IMAGE_SOURCES_JS = """(el) => {
  const holder = el.querySelector('[data-root-id]');
  if (!holder || !window.Bokeh || !window.Bokeh.documents) return null;
  const id = holder.dataset.rootId;
  for (const doc of window.Bokeh.documents) {
    if (!doc.get_model_by_id(id)) continue;
    const out = [];
    for (const m of doc.all_models) {
      const type = m.type || m.constructor.__name__;
      const data = m.data;
      if (type === 'ColumnDataSource' && data && data.image && data.image.length) {
        const im = data.image[0];
        out.push({shape: Array.from(im.shape || []), dw: Number(data.dw[0]),
                  dh: Number(data.dh[0]), x: Number(data.x[0]), y: Number(data.y[0])});
      }
    }
    return out;
  }
  return null;
}"""
#: records, in the page, every progress value and every decoded preview frame shown under
#: ``root`` (a MutationObserver and a capturing ``load`` listener), however fast the job runs
RECORDER_JS = """(root) => {
  const rec = {progress: [], frames: []};
  window.__plRecord = rec;
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      rec.progress.push(Number(m.target.getAttribute('aria-valuenow')));
    }
  }).observe(root, {subtree: true, attributes: true, attributeFilter: ['aria-valuenow']});
  root.addEventListener('load', (ev) => {
    const img = ev.target;
    if (!img.classList || !img.classList.contains('pl-preview-img')) return;
    const caption = img.parentElement.querySelector('.pl-preview-caption');
    // the frame as the browser decoded it, sampled (nearest, no averaging) to at most
    // 128 x 128 (RGB rows)
    const w = Math.min(img.naturalWidth, 128), h = Math.min(img.naturalHeight, 128);
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const g = canvas.getContext('2d');
    g.imageSmoothingEnabled = false;
    g.drawImage(img, 0, 0, w, h);
    const rgba = g.getImageData(0, 0, w, h).data;
    const rows = [];
    for (let y = 0; y < h; y++) {
      const row = [];
      for (let x = 0; x < w; x++) {
        const k = 4 * (y * w + x);
        row.push([rgba[k], rgba[k + 1], rgba[k + 2]]);
      }
      rows.push(row);
    }
    rec.frames.push({caption: caption ? caption.textContent : '', pixels: rows});
  }, true);
}"""


# ----------------------------------------------------------------------------- helpers
def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def _centre(img: np.ndarray) -> np.ndarray:
    """The middle half of an image in both directions (inside a plot's frame)."""
    h, w = img.shape[:2]
    return img[h // 4: 3 * h // 4, w // 4: 3 * w // 4]


def _assert_drawn(img: np.ndarray, what: str, min_std: float = 8.0) -> None:
    """Not one flat colour: many colours and some contrast."""
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    assert colours >= 16 and float(img.std()) > min_std, (
        f"{what} looks blank: {colours} colours, std {img.std():.1f}")


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels that differ between two images of one element."""
    if a.shape != b.shape:
        return 1.0
    return float(np.mean(np.any(np.abs(a - b) > 8, axis=-1)))


def _save(name: str, png: bytes) -> Path:
    path = ARTIFACTS / name
    path.write_bytes(png)
    return path


def _side_by_side(pngs: list[bytes]) -> bytes:
    from PIL import Image

    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
    out = Image.new("RGB", (sum(i.width for i in images), max(i.height for i in images)),
                    "white")
    x = 0
    for image in images:
        out.paste(image, (x, 0))
        x += image.width
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


def _quickstart_copy(root: Path) -> dict[str, Any]:
    """Write the test's copy of the quickstart into ``root``; the indexes of its cells."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(i for i, c in enumerate(nb.cells)
                  if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(params + 1, new_code_cell(
        INJECTED, metadata={"tags": ["injected-parameters"]}))
    nb.cells.append(new_code_cell(LONG_JOB_CELL, metadata={"tags": ["browser-test"]}))
    root.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, root / NAME)

    def index(text: str) -> int:
        return next(i for i, c in enumerate(nb.cells)
                    if c.cell_type == "code" and text in c.source)

    section = index("viz.section(ds,")
    return {
        "setup": [i for i, c in enumerate(nb.cells[: section + 1]) if c.cell_type == "code"],
        "section": section,
        "decimate": index("decimate("),
        "wizard": index("JobWizard(root="),
        "result": index("job.result()"),
        "compare": index("viz.compare("),
        "long_job": len(nb.cells) - 1,
        "count": len(nb.cells),
    }


@pytest.fixture
def quickstart_lab(tmp_path) -> Iterator[tuple[LabServer, dict[str, Any]]]:
    """``jupyter lab`` on 127.0.0.1 whose root holds the test's copy of the quickstart."""
    root = tmp_path / "root"
    cells = _quickstart_copy(root)
    with start_lab(root, tmp_path / "jupyter") as server:
        yield server, cells


# -------------------------------------------------------------------------- page object
class NotebookPage:
    """Page object of one notebook open in JupyterLab."""

    INDICATOR = ".jp-Notebook-ExecutionIndicator"

    def __init__(self, page: Any, server: LabServer) -> None:
        self.page = page
        self.server = server

    def open(self, name: str, n_cells: int) -> None:
        from playwright.sync_api import expect

        self.page.goto(f"{self.server.url}lab/tree/{name}?token={self.server.token}")
        expect(self.cells).to_have_count(n_cells, timeout=90_000)
        # JupyterLab now and then asks which kernel to start, even for a notebook whose
        # kernelspec exists: take its proposal (Python 3), as a user would
        dialog = self.page.locator(".jp-Dialog")
        deadline = time.monotonic() + 90
        idle = 0
        while time.monotonic() < deadline:
            if dialog.is_visible():
                dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
                idle = 0
                self.page.wait_for_timeout(1_000)
                continue
            idle = idle + 1 if self.kernel_status() == "idle" else 0
            if idle >= 3:
                return
            self.page.wait_for_timeout(300)
        raise AssertionError(f"the kernel is not idle after 90 s: {self.kernel_status()!r}")

    @property
    def cells(self) -> Any:
        return self.page.locator(".jp-Notebook .jp-Cell")

    def cell(self, i: int) -> Any:
        return self.cells.nth(i)

    def prompt(self, i: int) -> str:
        return self.cell(i).locator(".jp-InputPrompt").first.inner_text().strip()

    def kernel_status(self) -> str | None:
        return self.page.locator(self.INDICATOR).get_attribute("data-status")

    def run(self, *indexes: int) -> None:
        """Select each cell (command mode) and press Shift+Enter, as a user does."""
        for i in indexes:
            self.cell(i).locator(".jp-InputPrompt").first.click()
            self.page.keyboard.press("Shift+Enter")

    def wait_done(self, *indexes: int, timeout: float = CELL_S) -> None:
        """Until every cell has its execution number and the kernel is idle; raises with
        the traceback of a cell that failed."""
        deadline = time.monotonic() + timeout
        prompts: list[str] = []
        while time.monotonic() < deadline:
            prompts = [self.prompt(i) for i in indexes]
            if self.kernel_status() == "idle" and all(
                    re.fullmatch(r"\[\d+\]:", p) for p in prompts):
                for i in indexes:
                    failed = self.errors(self.cell(i))
                    assert not failed, f"cell {i} failed:\n" + "\n".join(failed)
                return
            time.sleep(0.3)
        raise AssertionError(f"cells {indexes} did not finish in {timeout} s: {prompts}")

    def output(self, i: int) -> Any:
        return self.cell(i).locator(".jp-Cell-outputArea").first

    def result(self, i: int) -> Any:
        """The cell's execute result (a view, a widget)."""
        return self.cell(i).locator(".jp-OutputArea-executeResult").first

    def errors(self, where: Any = None) -> list[str]:
        """Tracebacks shown in the page (or under ``where``)."""
        scope = self.page if where is None else where
        shown = scope.locator(".jp-OutputArea-output[data-mime-type="
                              "'application/vnd.jupyter.stderr']").all_inner_texts()
        return [t for t in shown if "Traceback" in t or "Error" in t]


def _image_sources(view: Any) -> list[dict[str, Any]]:
    sources = view.evaluate(IMAGE_SOURCES_JS)
    assert sources, "no Bokeh document with an image glyph behind the view (BokehJS not loaded?)"
    return sources


def _check_section_and_zoom(lab: NotebookPage, i: int) -> None:
    from playwright.sync_api import expect

    view = lab.result(i)
    canvas = view.locator(".bk-Canvas").first
    expect(canvas).to_be_visible(timeout=60_000)
    canvas.scroll_into_view_if_needed()
    lab.page.wait_for_timeout(500)  # the first paint
    before_src = _image_sources(view)[0]
    before_png = canvas.screenshot()
    _save("quickstart_section.png", before_png)
    before = _pixels(before_png)
    _assert_drawn(_centre(before), "the section view's canvas")

    # zoom in with the mouse wheel over the middle of the plot (wheel zoom is active)
    box = canvas.bounding_box()
    lab.page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
    for _ in range(3):
        lab.page.mouse.wheel(0, -240)
        lab.page.wait_for_timeout(100)
    lab.page.mouse.move(2, 2)  # no hover tooltip in the screenshot
    deadline = time.monotonic() + 60
    after_src = before_src
    while time.monotonic() < deadline:
        after_src = _image_sources(view)[0]
        if after_src["dw"] < 0.8 * before_src["dw"]:
            break
        lab.page.wait_for_timeout(250)
    # the DynamicMap re-read the window: the image glyph now spans the zoomed range only
    assert after_src["dw"] < 0.8 * before_src["dw"], (
        f"the zoom did not re-read the data: image {before_src} -> {after_src}")
    assert after_src["dh"] < before_src["dh"] and after_src["shape"] != before_src["shape"]
    lab.page.wait_for_timeout(500)  # the re-render's paint
    after_png = canvas.screenshot()
    _save("quickstart_section_zoomed.png", after_png)
    after = _pixels(after_png)
    _assert_drawn(_centre(after), "the zoomed section view's canvas")
    assert _changed(_centre(before), _centre(after)) > 0.2, "the zoom did not re-render"


def _submit_from_the_wizard(lab: NotebookPage, i: int) -> dict[str, Any]:
    """Pick the method and type parameters into the form, click Submit, watch the monitor."""
    from playwright.sync_api import expect

    wizard = lab.output(i).locator(".pl-wizard")
    expect(wizard).to_be_visible(timeout=60_000)
    wizard.scroll_into_view_if_needed()
    # the choices a user makes are on screen (not hidden by a shared layout)
    for label in ("dataset", "task", "method", "run on"):
        expect(wizard.get_by_label(label, exact=True),
               f"the wizard's {label!r} dropdown is not shown").to_be_visible(timeout=10_000)
    expect(wizard.get_by_label("task", exact=True)).to_have_value("reconstruct")
    wizard.get_by_label("method", exact=True).select_option(METHOD)
    for name, value in FORM.items():
        field = wizard.get_by_label(name, exact=True)
        field.fill(value)
        field.press("Tab")  # number fields sync on change
    expect(wizard.get_by_label("out", exact=True)).to_have_value(
        re.compile(r"reconstructed\.zarr$"))
    _save("quickstart_wizard.png", wizard.screenshot())

    wizard.evaluate(RECORDER_JS)
    wizard.locator("button.pl-submit").click()
    monitor = wizard.locator(".pl-monitor")
    expect(monitor).to_be_visible(timeout=60_000)
    expect(monitor.locator(".pl-title")).to_contain_text("reconstruct")
    submitted = time.monotonic()

    bar = monitor.locator(".pl-progress")
    expect(bar).not_to_have_attribute("aria-valuenow", "0", timeout=JOB_S * 1000)
    if monitor.get_attribute("data-state") not in ("completed", "failed", "canceled"):
        _save("quickstart_monitor_running.png", monitor.screenshot())
    expect(monitor).to_have_attribute("data-state", re.compile("completed|failed|canceled"),
                                      timeout=JOB_S * 1000)
    job_s = time.monotonic() - submitted
    state = monitor.get_attribute("data-state")
    error = monitor.locator(".pl-error")
    assert state == "completed", (
        f"the job ended {state!r}: {error.inner_text() if error.is_visible() else ''}")
    expect(monitor.locator(".pl-preview-caption")).to_contain_text("final", timeout=30_000)
    _save("quickstart_monitor_done.png", monitor.screenshot())
    record = wizard.evaluate("() => window.__plRecord")

    # the progress bar rose in steps (never back), to 100 %
    progress = record["progress"]
    steps = sorted({p for p in progress if 0 < p < 100})
    assert len(steps) >= 2, f"the progress did not advance in steps: {progress}"
    assert progress == sorted(progress), f"the progress went back: {progress}"
    assert bar.get_attribute("aria-valuenow") == "100"
    # the preview changed while the job ran (JPEG frames), and ended on the lossless PNG
    frames = [(f["caption"], np.asarray(f["pixels"], dtype=np.int16))
              for f in record["frames"]]
    captions = [c for c, _ in frames]
    live = [px for c, px in frames if "JPEG" in c]
    assert len(live) >= 2, f"fewer than two live preview frames: {captions}"
    assert any(_changed(a, b) > 0.05 for a, b in pairwise(live)), (
        f"the live preview's pixels never changed between frames: {captions}")
    assert "PNG" in captions[-1] and "final" in captions[-1], captions
    for caption, pixels in frames:  # a quiet block draws in low contrast, never flat
        _assert_drawn(pixels, f"the preview frame ({caption})", min_std=1.0)
    return {"progress_steps": len(steps), "frames": len(frames), "job_s": job_s}


def _check_compare(lab: NotebookPage, i: int) -> int:
    from playwright.sync_api import expect

    view = lab.result(i)
    canvases = view.locator(".bk-Canvas")
    expect(canvases.first).to_be_visible(timeout=60_000)
    n = canvases.count()
    assert n >= 3, f"the comparison has {n} panels, not before / after / difference"
    lab.page.wait_for_timeout(500)
    shots = []
    for k in range(n):
        png = canvases.nth(k).screenshot()
        _assert_drawn(_centre(_pixels(png)), f"comparison panel {k + 1} of {n}")
        shots.append(png)
    _save("quickstart_compare.png", _side_by_side(shots))
    return n


def _cancel_while_busy(lab: NotebookPage, i: int) -> float:
    """Run the long-job cell, click its monitor's Cancel while the cell blocks the kernel."""
    from playwright.sync_api import expect

    lab.run(i)
    monitor = lab.output(i).locator(".pl-monitor")
    expect(monitor).to_be_visible(timeout=60_000)
    expect(monitor).to_have_attribute("data-state", re.compile("running|previewing"),
                                      timeout=60_000)
    expect(monitor.locator(".pl-progress")).not_to_have_attribute(
        "aria-valuenow", "0", timeout=30_000)
    # the cell is still running: the kernel is busy in long_job.wait()
    assert lab.prompt(i) == "[*]:" and lab.kernel_status() == "busy", (
        lab.prompt(i), lab.kernel_status())
    job_id = (monitor.locator(".pl-title").inner_text().split("·")[-1]).strip()

    clicked = time.monotonic()
    with lab.page.expect_response(
            lambda r: r.url.endswith(f"/promethium/jobs/{job_id}/cancel"),
            timeout=CANCEL_S * 1000) as answer:
        monitor.locator("button.pl-cancel").click()
    response = answer.value
    assert response.request.method == "POST" and response.ok, (
        f"cancel POST answered {response.status}: {response.text()}")

    expect(monitor).to_have_attribute("data-state", "canceled", timeout=CANCEL_S * 1000)
    expect(monitor.locator(".pl-badge")).to_have_text("canceled")
    lab.wait_done(i, timeout=CANCEL_S)
    took = time.monotonic() - clicked
    expect(lab.output(i)).to_contain_text("long job ended: canceled")
    assert int(monitor.locator(".pl-progress").get_attribute("aria-valuenow")) < 100
    lab.output(i).scroll_into_view_if_needed()
    _save("quickstart_cancel.png", lab.output(i).screenshot())
    return took


# ----------------------------------------------------------------------------------- test
def test_quickstart_in_jupyterlab(quickstart_lab):
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    server, cells = quickstart_lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    started = time.monotonic()
    with sync_playwright() as pw, launch_chromium(pw) as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text[:500]}")
                if msg.type in ("error", "warning") else None)
        lab = NotebookPage(page, server)
        try:
            lab.open(NAME, cells["count"])
            # 1. ingest and view: the section draws, and a zoom re-reads and re-renders it
            lab.run(*cells["setup"])
            lab.wait_done(*cells["setup"])
            _check_section_and_zoom(lab, cells["section"])

            # 2. remove traces, then submit from the wizard in the browser
            lab.run(cells["decimate"], cells["wizard"])
            lab.wait_done(cells["decimate"], cells["wizard"])
            job = _submit_from_the_wizard(lab, cells["wizard"])

            # the next cell takes the job Submit started
            lab.run(cells["result"])
            lab.wait_done(cells["result"])
            assert f"completed; method {METHOD}" in lab.output(cells["result"]).inner_text()

            # 3. Cancel while the kernel is busy (before the comparison: a HoloViews view's
            # comm traffic at the start of a cell can send that cell's prints elsewhere)
            took = _cancel_while_busy(lab, cells["long_job"])

            # 4. the comparison
            lab.run(cells["compare"])
            lab.wait_done(cells["compare"])
            panels = _check_compare(lab, cells["compare"])
            assert not lab.errors(), lab.errors()
        except (AssertionError, PlaywrightError) as err:
            page.screenshot(path=str(ARTIFACTS / "quickstart_failed.png"), full_page=True)
            raise AssertionError(
                f"{err}\nconsole:\n" + "\n".join(console[-40:])
                + f"\nserver log:\n{server.log_text()}") from err
    print(f"quickstart in JupyterLab: {time.monotonic() - started:.0f} s; the job took "
          f"{job['job_s']:.1f} s with {job['progress_steps']} progress steps and "
          f"{job['frames']} preview frames; {panels} comparison panels; cancel took "
          f"{took:.1f} s")
