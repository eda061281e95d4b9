"""The widgets in Panel: the same form and monitor logic in process, and a real ``panel
serve`` app on 127.0.0.1 driven in Chromium with every other address blocked — the monitor
follows a running job (rising progress, changing binary previews), its Cancel stops the job
through the job store, and the wizard submits a job whose monitor appears under it.

The server runs in a subprocess (its own Panel state and job threads); the test reads the
same job store (``PROMETHIUM_DATA_DIR``) to check what the page says.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs import JobState, get_job, submit
from promethium_lab.jobs.testing import poll
from promethium_lab.widgets import JobWizard, PanelJobMonitor, PanelJobWizard, panel_app

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
DEADLINE_S = 90  # only a guard against hanging: never a speed assertion
PNG = b"\x89PNG\r\n\x1a\n"

APP = textwrap.dedent('''
    """A Panel app: the job wizard, and the monitor of a long running job."""
    import os

    import panel as pn

    from promethium_lab.jobs import register_workflow, submit
    from promethium_lab.widgets import panel_app

    pn.extension()
    register_workflow("batches", "promethium_lab.jobs.testing:batches", replace=True)
    job = submit("batches", n_batches=1000, batch_s=0.05, shape=(200, 300))
    panel_app(os.environ["SURVEYS"], job=job, method="linear").servable()
''')

#: the pixels of the preview <img> (drawn on a canvas): size, mean and spread of the grey
FRAME_STATS_JS = """(img) => {
  if (!img.complete || !img.naturalWidth) { return null; }
  const c = document.createElement("canvas");
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext("2d");
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = 0, s2 = 0;
  for (let i = 0; i < d.length; i += 4) { s += d[i]; s2 += d[i] * d[i]; }
  const n = d.length / 4;
  return {src: img.src, w: c.width, h: c.height, mean: s / n,
          std: Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2))};
}"""


# ------------------------------------------------------------------------- in process
def test_the_panel_wizard_is_the_same_form_with_the_same_errors(survey_root):
    jw, pw = JobWizard(root=survey_root), PanelJobWizard(root=survey_root)
    assert set(pw.fields) == set(jw.fields) and pw.method_w.value == jw.method_w.value
    assert pw.dataset_w.value == jw.dataset_w.value
    assert pw.fields["blind"].widget.value == "auto"  # None shown as a choice
    assert pw.fields["blind"].widget.labels == ["auto", "yes", "no"]
    for wizard in (jw, pw):
        wizard.select(method="pocs")
        with pytest.raises(PromethiumError, match="schedule=3 is not one of the choices"):
            wizard.set_params(schedule=3)
        wizard.set_params(window="wide", blind=True)
        with pytest.raises(PromethiumError, match="method pocs: window in 'wide'"):
            wizard.validate()
        assert "Hint: window takes" in wizard.errors
        wizard.set_params(window=[16, 32])
    assert pw.validate() == jw.validate()
    assert pw.validate()[1]["blind"] is True
    assert "window takes" not in pw.kit.get_html(pw.method_fields["window"].error)

    pw.select(task="ingest")
    assert not pw.method_w.visible
    assert pw.fields["store"].widget.label == "store *"
    assert pw.fields["store"].widget.value.endswith("full.zarr")


def test_the_panel_monitor_follows_a_job_and_cancels_through_its_inbox(batches_kind, tmp_path):
    job = submit(batches_kind, n_batches=300, batch_s=0.05, shape=(120, 160))
    monitor = PanelJobMonitor(job, poll_s=0.05, ack_timeout=60)
    poll(lambda: monitor.frame_id == 1 or None, "the first frame", DEADLINE_S)
    assert monitor.frame_format == "jpeg" and monitor.state in ("running", "previewing")
    monitor.inbox = {"type": "ack", "id": 1, "seq": 1}  # as the browser writes it
    poll(lambda: monitor.frame_id == 2 or None, "the frame after the ack", DEADLINE_S)
    monitor.inbox = {"type": "cancel", "seq": 2}
    assert job.wait(DEADLINE_S) == JobState.CANCELED
    seq = itertools.count(3)

    def browser_acks():  # each frame shown, as a browser does: the final one goes out
        monitor.inbox = {"type": "ack", "id": monitor.frame_id, "seq": next(seq)}
        return not monitor.following or None

    poll(browser_acks, "the monitor thread to stop", DEADLINE_S)
    assert monitor.state == "canceled" and monitor.error["code"] == ErrorCode.CANCELED.value
    assert monitor.frame.startswith(PNG) and monitor.frame_size == [120, 160]
    monitor.inbox = {"type": "compare", "seq": next(seq)}  # no reconstruction: an error
    assert "only reconstruct jobs" in monitor.output.objects[0].object


def test_the_panel_wizard_submits_a_job_with_a_panel_monitor(survey_root):
    page = panel_app(survey_root, method="linear")
    assert page.monitor is None
    job = page.wizard.submit()
    assert isinstance(page.wizard.monitor, PanelJobMonitor)
    assert page.wizard.monitor_box.objects == [page.wizard.monitor.box]
    assert job.wait(DEADLINE_S) == JobState.COMPLETED
    monitor = page.wizard.monitor
    poll(lambda: not monitor.following or None, "the monitor thread to stop", DEADLINE_S)
    assert monitor.can_compare and monitor.state == "completed"
    monitor.inbox = {"type": "compare", "seq": 1}
    assert type(monitor.output.objects[0]).__name__ == "HoloViews"


# ---------------------------------------------------------------------- panel serve
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(request, tmp_path, promethium_data_dir):
    """``panel serve`` of APP on 127.0.0.1, with ``survey_root``'s datasets; yields its URL
    and its log."""
    survey_root = tmp_path / "surveys"  # written by the fixture while the server starts
    app = tmp_path / "jobs_app.py"
    app.write_text(APP)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(REPO), os.environ.get("PYTHONPATH")])), "SURVEYS": str(survey_root),
        "PROMETHIUM_DATA_DIR": str(promethium_data_dir),
        "BOKEH_ALLOW_WS_ORIGIN": f"127.0.0.1:{port}"}
    log = tmp_path / "panel.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", str(app), "--address", "127.0.0.1",
             "--port", str(port), "--num-procs", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/jobs_app"
    try:
        assert request.getfixturevalue("survey_root") == survey_root
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                # a static file: the app itself runs once, for the browser's session
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/js/bokeh.min.js",
                                            timeout=5):
                    break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield url, log
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture
def offline_page():
    """A Chromium page that may reach 127.0.0.1 only; yields it and the list of other
    addresses it tried."""
    from playwright import sync_api

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1000, "height": 1400})
        blocked: list[str] = []

        def gate(route, request):
            if request.url.startswith(("http://127.0.0.1:", "blob:", "data:")):
                route.continue_()
            else:
                blocked.append(request.url)
                route.abort()

        page.route("**/*", gate)
        page.on("websocket", lambda ws: None if ws.url.startswith("ws://127.0.0.1:")
                else blocked.append(ws.url))
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, blocked, errors
        browser.close()


def test_panel_serve_draws_the_widgets_offline_and_cancel_stops_the_job(served, offline_page):
    from playwright.sync_api import expect

    url, log = served
    page, blocked, errors = offline_page
    page.goto(url)
    monitor = page.locator(".pl-monitor").filter(has_text="batches · ")
    expect(monitor).to_be_visible(timeout=DEADLINE_S * 1000)
    title = monitor.locator(".pl-title").inner_text()
    assert title.startswith("batches · ")
    job = get_job(title.split("·")[-1].strip())

    # the monitor follows the running job: progress rises, the preview changes
    percents: list[int] = []
    frames: list[dict] = []
    img = monitor.locator(".pl-preview-img")

    def look():
        pct = int(monitor.locator(".pl-progress").get_attribute("aria-valuenow") or 0)
        if not percents or pct != percents[-1]:
            percents.append(pct)
        stats = img.evaluate(FRAME_STATS_JS) if img.is_visible() else None
        if stats and (not frames or stats["mean"] != frames[-1]["mean"]):
            frames.append(stats)
        return (len(percents) >= 4 and len(frames) >= 3) or None

    poll(look, "rising progress and changing previews", DEADLINE_S)
    assert percents == sorted(percents) and percents[-1] < 100, percents
    assert len({f["src"] for f in frames}) == len(frames)  # a new blob per frame
    assert frames[-1]["std"] > 0 and (frames[-1]["w"], frames[-1]["h"]) == (200, 300)
    caption = monitor.locator(".pl-preview-caption").inner_text()
    assert caption == "JPEG 200×300 · live"
    assert monitor.get_attribute("data-state") in ("running", "previewing")

    # the wizard beside it is Panel's own widgets, filled from the workflow's schema
    assert page.locator("select").first.is_visible()
    expect(page.get_by_text("New job · reconstruct")).to_be_visible()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "panel_monitor.png"), full_page=True)

    # Cancel: handled on the Panel server, which writes the job store's flag
    monitor.locator("button.pl-cancel").click()
    assert job.wait(DEADLINE_S) == JobState.CANCELED
    assert job.error["code"] == ErrorCode.CANCELED.value and job.record.progress < 1.0
    expect(monitor.locator(".pl-badge")).to_have_text("canceled", timeout=DEADLINE_S * 1000)
    expect(monitor.locator(".pl-preview-caption")).to_contain_text("final (lossless)",
                                                                   timeout=DEADLINE_S * 1000)

    # the wizard submits a reconstruction; its monitor appears under it and completes
    page.get_by_role("button", name="Submit").click()
    second = page.locator(".pl-monitor").filter(has_text="reconstruct · ")
    expect(second).to_be_visible(timeout=DEADLINE_S * 1000)
    expect(second).to_have_attribute("data-state", "completed", timeout=DEADLINE_S * 1000)
    expect(second.locator(".pl-compare")).to_be_enabled()
    second.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "panel_wizard.png"), full_page=True)

    assert blocked == [], f"requests to other addresses: {blocked}"
    assert errors == [], errors
    assert "Traceback" not in log.read_text(), log.read_text()
