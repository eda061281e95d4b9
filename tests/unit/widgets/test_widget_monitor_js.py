"""The JobMonitor's front end (static/monitor.js) in Chromium, with a stand-in for anywidget's
model: binary frames shown and acknowledged, errors with hints, Cancel through the server
route (XSRF header and token) or, without a Jupyter server, through a comm message.
Screenshots of the light and dark looks go to tests/artifacts/."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from promethium_lab.widgets import encode_frame
from promethium_lab.widgets.monitor import STATIC

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
ORIGIN = "http://promethium.test"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="/promethium.css">%(config)s
</head><body data-jp-theme-light="%(light)s" style="background:%(ground)s">
<div id="root"></div>
<script type="module">
  import widget from "/monitor.js";
  const state = %(state)s;
  const listeners = {};
  window.sent = [];
  const model = {
    get: (name) => state[name],
    on: (event, cb) => (listeners[event] = listeners[event] || []).push(cb),
    off: (event, cb) => { listeners[event] = (listeners[event] || []).filter((f) => f !== cb); },
    send: (msg) => window.sent.push(msg),
  };
  window.setState = (changes) => {
    if (changes.frame) {  // base64 -> DataView, as ipywidgets hands binary buffers over
      const bytes = Uint8Array.from(atob(changes.frame), (c) => c.charCodeAt(0));
      changes.frame = new DataView(bytes.buffer);
    }
    Object.assign(state, changes);
    for (const name of Object.keys(changes)) {
      (listeners["change:" + name] || []).forEach((cb) => cb());
    }
  };
  widget.render({ model, el: document.getElementById("root") });
  window.ready = true;
</script></body></html>"""

STATE = {"job_id": "abc123def456", "kind": "reconstruct", "state": "running", "progress": 0.4,
         "message": "block 4/10", "error": None, "executor": "kernel", "comparable": True,
         "can_compare": False, "frame": None, "frame_format": "", "frame_id": 0,
         "frame_size": [0, 0]}


@pytest.fixture
def browser():
    from playwright import sync_api

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                               args=["--no-sandbox", "--disable-gpu",
                                     "--disable-background-networking",
                                     "--disable-component-update", "--disable-sync",
                                     "--no-first-run"])
        yield b
        b.close()


def open_page(browser, *, server: bool, light: bool = True):
    """A page at ORIGIN holding one monitor; returns it and the requests to the server."""
    config = ('<script id="jupyter-config-data" type="application/json">'
              '{"baseUrl": "/user/ana/", "token": "tok-42"}</script>') if server else ""
    html = PAGE % {"config": config, "light": str(light).lower(), "state": json.dumps(STATE),
                   "ground": "#ffffff" if light else "#050B24"}
    context = browser.new_context(viewport={"width": 900, "height": 820})
    context.add_cookies([{"name": "_xsrf", "value": "xsrf-value", "url": ORIGIN}])
    page = context.new_page()
    posted: list[dict] = []

    def serve(route, request):
        path = request.url[len(ORIGIN):]
        if path in ("/monitor.js", "/promethium.css"):
            kind = "text/javascript" if path.endswith(".js") else "text/css"
            route.fulfill(status=200, content_type=kind,
                          body=(STATIC / path[1:]).read_text())
        elif path.endswith("/cancel"):
            posted.append({"path": path, "method": request.method, **request.headers})
            route.fulfill(status=200, content_type="application/json",
                          body=json.dumps({"id": STATE["job_id"], "state": "stopping"}))
        else:
            route.fulfill(status=200, content_type="text/html", body=html)

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/lab")
    page.wait_for_function("window.ready === true")
    return page, posted


def frame_b64(fmt: str) -> tuple[str, list[int]]:
    t = np.linspace(0, 1, 300)[None, :]
    section = np.sin(40 * t + np.linspace(0, 6, 200)[:, None]) * np.exp(-2 * t)
    data, size = encode_frame(section, fmt)
    return base64.b64encode(data).decode(), list(size)


def test_frames_are_shown_and_acknowledged(browser):
    page, _ = open_page(browser, server=True)
    assert page.locator(".pl-percent").inner_text() == "40 %"
    assert page.locator(".pl-preview").is_hidden()
    for frame_id, fmt in ((1, "jpeg"), (2, "png")):
        data, size = frame_b64(fmt)
        page.evaluate("(s) => window.setState(s)", {"frame": data, "frame_format": fmt,
                                                    "frame_size": size, "frame_id": frame_id})
        page.wait_for_function(f"window.sent.some((m) => m.type === 'ack' && m.id === {frame_id})")
        shown = page.evaluate("() => { const i = document.querySelector('.pl-preview-img');"
                              " return [i.naturalWidth, i.naturalHeight, i.src]; }")
        assert shown[:2] == size and shown[2].startswith("blob:")
    assert "PNG 200×300 · final (lossless)" in page.locator(".pl-preview-caption").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget_monitor_light.png"), full_page=True)


def test_an_error_shows_its_code_and_hint(browser):
    page, _ = open_page(browser, server=True, light=False)
    page.evaluate("(s) => window.setState(s)", {
        "state": "failed", "error": {"code": "PL-PARAM-001", "message": "overlap=-1 is negative",
                                     "hint": "use 0 or more traces", "retryable": False}})
    assert page.locator(".pl-error-head").inner_text() == "PL-PARAM-001: overlap=-1 is negative"
    assert page.locator(".pl-error-hint").inner_text() == "Hint: use 0 or more traces"
    assert page.locator(".pl-cancel").is_disabled()
    assert page.locator(".pl-badge").inner_text().lower() == "failed"
    data, size = frame_b64("png")
    page.evaluate("(s) => window.setState(s)",
                  {"frame": data, "frame_format": "png", "frame_size": size, "frame_id": 1})
    page.wait_for_function("window.sent.some((m) => m.type === 'ack')")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget_monitor_dark.png"), full_page=True)


def test_cancel_goes_to_the_server_route_with_xsrf_and_token(browser):
    page, posted = open_page(browser, server=True)
    page.locator(".pl-cancel").click()
    page.wait_for_function("document.querySelector('.pl-note').textContent.includes('server')")
    assert len(posted) == 1
    request = posted[0]
    assert request["path"] == f"/user/ana/promethium/jobs/{STATE['job_id']}/cancel"
    assert request["method"] == "POST"
    assert request["x-xsrftoken"] == "xsrf-value"
    assert request["authorization"] == "token tok-42"
    assert not [m for m in page.evaluate("window.sent") if m["type"] == "cancel"]
    assert page.locator(".pl-cancel").is_disabled()


def test_without_a_jupyter_server_cancel_is_a_comm_message(browser):
    page, posted = open_page(browser, server=False)
    page.locator(".pl-cancel").click()
    page.wait_for_function("window.sent.some((m) => m.type === 'cancel')")
    assert posted == []
    assert "kernel" in page.locator(".pl-note").inner_text()
    page.evaluate("(s) => window.setState(s)", {"state": "completed", "can_compare": True})
    page.locator(".pl-compare").click()
    page.wait_for_function("window.sent.some((m) => m.type === 'compare')")
