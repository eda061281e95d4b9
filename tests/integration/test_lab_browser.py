"""The Promethium side panel in a real JupyterLab, driven by Debian's Chromium.

Starts ``jupyter lab`` on 127.0.0.1 (a free port, a token, a temporary root holding real
seismic files), opens it with Playwright, opens the panel from the left side bar, waits
for the datasets to be listed, keeps a screenshot in ``tests/artifacts/``, and stops the
server. The extension is used as installed (``pip install -e .`` ships it), as a user has it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LabServer, start_lab

import promethium_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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
    with start_lab(root, tmp_path / "jupyter") as server:
        yield server


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
            # the Void/Neon look is applied: the brand band is Void navy in every theme
            header = lab.panel.locator(".pl-Panel-header")
            assert header.evaluate("n => getComputedStyle(n).backgroundColor") == (
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
