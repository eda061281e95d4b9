"""The Promethium side panel in a real JupyterLab, driven by Debian's Chromium.

Starts ``jupyter lab`` on 127.0.0.1 (a free port, a token, a temporary root holding real
seismic files), opens it with Playwright, opens the panel from the left side bar, waits
for the datasets to be listed, keeps a screenshot in ``tests/artifacts/``, and stops the
server. The extension is used as installed (``pip install -e .`` ships it), as a user has it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import promethium_lab

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A running ``jupyter lab`` subprocess."""

    url: str
    token: str
    root: Path
    log: Path
    proc: subprocess.Popen

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


def _wait_ready(server: LabServer, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        f"{server.url}api/status", headers={"Authorization": f"token {server.token}"}
    )
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"jupyter lab exited early:\n{server.log_text()}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"jupyter lab did not answer in {timeout} s:\n{server.log_text()}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def lab_server(tmp_path, seismic_file, zarr_store) -> Iterator[LabServer]:
    """``jupyter lab`` on 127.0.0.1 whose root holds a SEG-Y, a miniSEED file and a store."""
    root = tmp_path / "root"
    seismic_file("f3_ibm_be.sgy", root)
    seismic_file("GE.APE..BH_3comp.mseed", root / "waveforms")
    zarr_store(
        root / "stores" / "f3.zarr",
        {"promethium_version": promethium_lab.__version__, "geometry": "poststack3d"},
        shape=(23, 18, 75),
    )

    # Isolate user-level Jupyter state; the installed extensions (sys.prefix) stay visible.
    home = tmp_path / "jupyter"
    config_dir = home / "config"
    (config_dir / "labconfig").mkdir(parents=True)
    (config_dir / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        PROMETHIUM_DATA_DIR=str(home / "promethium"),
    )
    port = _free_port()
    token = secrets.token_hex(16)
    log = tmp_path / "jupyter-lab.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(root),
            start_new_session=True,
        )
    server = LabServer(url=f"http://127.0.0.1:{port}/", token=token, root=root, log=log, proc=proc)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(proc)


class PromethiumPanelPage:
    """Page object of JupyterLab with the Promethium side panel."""

    TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="promethium-lab-panel"]'
    PANEL = "#promethium-lab-panel"

    def __init__(self, page, server: LabServer) -> None:
        self.page = page
        self.server = server

    def open_lab(self) -> None:
        self.page.goto(f"{self.server.url}lab?token={self.server.token}")
        self.page.locator("#jp-main-dock-panel").wait_for(state="visible", timeout=90_000)
        self.page.locator(self.TAB).wait_for(state="visible", timeout=30_000)

    def open_panel(self) -> None:
        self.page.locator(self.TAB).click()
        self.panel.wait_for(state="visible", timeout=10_000)

    def run_from_palette(self, label: str) -> None:
        self.page.keyboard.press("Control+Shift+C")
        palette = self.page.locator("#command-palette")
        palette.locator("input").fill(label)
        palette.locator(".lm-CommandPalette-item", has_text=label).first.click()

    @property
    def panel(self):
        return self.page.locator(self.PANEL)

    def dataset(self, name: str):
        return self.panel.locator(".pl-Dataset-name", has_text=name)

    def status_text(self) -> str:
        return self.panel.locator(".pl-Panel-status").inner_text()


def test_panel_lists_the_segy_in_the_server_root(lab_server):
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    )
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "lab_promethium_panel.png"
    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
            lab = PromethiumPanelPage(page, lab_server)
            lab.open_lab()
            lab.open_panel()
            try:
                expect(lab.dataset("f3_ibm_be.sgy")).to_be_visible(timeout=30_000)
                expect(lab.dataset("GE.APE..BH_3comp.mseed")).to_be_visible()
            except AssertionError as err:
                page.screenshot(path=str(ARTIFACTS / "lab_promethium_panel_failed.png"))
                raise AssertionError(
                    f"panel status: {lab.status_text()!r}\nconsole:\n"
                    + "\n".join(console)
                    + f"\nserver log:\n{lab_server.log_text()}"
                ) from err

            item = lab.panel.locator('.pl-Dataset[data-path="f3_ibm_be.sgy"]')
            expect(item.locator(".pl-Dataset-badge")).to_have_text("SEG-Y")
            expect(item.locator(".pl-Dataset-detail")).to_contain_text("222 KiB")
            store = lab.panel.locator('.pl-Dataset[data-path="stores/f3.zarr"]')
            expect(store.locator(".pl-Dataset-badge")).to_have_text("Zarr")
            expect(store.locator(".pl-Dataset-detail")).to_have_text(
                "stores/ · poststack3d · 23 × 18 × 75"
            )
            expect(lab.panel.locator(".pl-Panel-status")).to_have_text("3 datasets")
            expect(lab.panel.locator(".pl-Panel-info")).to_contain_text(
                f"promethium_lab {promethium_lab.__version__}"
            )
            # the Void/Neon look is applied
            assert lab.panel.evaluate("n => getComputedStyle(n).backgroundColor") == (
                "rgb(5, 11, 36)"
            )
            assert (
                lab.panel.locator(".pl-Panel-title").evaluate("n => getComputedStyle(n).color")
                == "rgb(0, 240, 255)"
            )

            # the refresh button asks the server again and sees a new file
            (lab_server.root / "f3_copy.segy").write_bytes(
                (lab_server.root / "f3_ibm_be.sgy").read_bytes()
            )
            lab.panel.locator(".pl-Panel-refresh").click()
            expect(lab.dataset("f3_copy.segy")).to_be_visible(timeout=15_000)
            expect(lab.panel.locator(".pl-Panel-status")).to_have_text("4 datasets")
            page.screenshot(path=str(shot))

            # the layout restorer reopens the panel after a reload, and it loads again
            page.wait_for_timeout(1_500)  # the workspace is saved after a short debounce
            page.reload()
            expect(lab.dataset("f3_copy.segy")).to_be_visible(timeout=60_000)

            # closing the side bar hides the panel; the palette command opens it again
            page.locator(lab.TAB).click()
            expect(lab.panel).to_be_hidden()
            lab.run_from_palette("Open the Promethium Panel")
            expect(lab.dataset("f3_ibm_be.sgy")).to_be_visible(timeout=10_000)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
