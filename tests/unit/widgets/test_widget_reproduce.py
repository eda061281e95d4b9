"""The monitors' Reproduce: a completed job's notebook written through the browser's message
(JobMonitor's comm, PanelJobMonitor's inbox) by ``jobs.reproduce_notebook``, its path or
typed error shown; and the button in monitor.js (Chromium)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from test_widget_monitor import browser_says
from test_widget_monitor_js import browser, open_page  # noqa: F401  (a fixture)

from promethium_lab.core.errors import ErrorCode
from promethium_lab.jobs import JobState, submit
from promethium_lab.jobs.testing import poll
from promethium_lab.widgets import JobMonitor

DEADLINE_S = 60  # only a guard against hanging: never a speed assertion


def test_reproduce_writes_the_notebook_of_a_completed_job(batches_kind, tmp_path):
    out = tmp_path / "b.out"
    job = submit(batches_kind, n_batches=2, batch_s=0.0, out=str(out))
    monitor = JobMonitor(job, poll_s=0.02, reproduce_dir=tmp_path / "nbs")
    poll(lambda: monitor.can_reproduce or None, "the completed state", DEADLINE_S)
    assert monitor.state == "completed" and monitor.reproduced == ""
    browser_says(monitor, type="reproduce")  # the button
    path = Path(monitor.reproduced)
    assert path == tmp_path / "nbs" / f"reproduce_{job.id}.ipynb"
    assert monitor.reproduce_error == ""
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["promethium"]["reproduces"] == job.id
    assert monitor.reproduce(tmp_path / "x.ipynb") == tmp_path / "x.ipynb"  # from Python
    monitor.close()


def test_reproduce_of_a_failed_job_shows_the_typed_error(batches_kind, tmp_path):
    job = submit(batches_kind, n_batches=2, batch_s=0.0, fail_at=0)
    assert job.wait(DEADLINE_S) == JobState.FAILED
    monitor = JobMonitor(job, poll_s=0.02, reproduce_dir=tmp_path, start=False)
    assert not monitor.can_reproduce
    browser_says(monitor, type="reproduce")
    assert monitor.reproduced == ""
    assert monitor.reproduce_error.startswith(f"{ErrorCode.JOB_NOT_COMPLETED.value}: job ")
    assert "(only a completed job" in monitor.reproduce_error
    assert list(tmp_path.glob("*.ipynb")) == []
    monitor.close()


def test_the_panel_monitor_reproduces_through_its_inbox(batches_kind, tmp_path):
    from promethium_lab.widgets import PanelJobMonitor

    job = submit(batches_kind, n_batches=1, batch_s=0.0, preview=False)
    assert job.wait(DEADLINE_S) == JobState.COMPLETED
    monitor = PanelJobMonitor(job, reproduce_dir=tmp_path, start=False)
    assert monitor.can_reproduce
    monitor.inbox = {"type": "reproduce", "seq": 1}  # as the browser writes it
    assert monitor.reproduced == str(tmp_path / f"reproduce_{job.id}.ipynb")
    assert Path(monitor.reproduced).is_file() and monitor.reproduce_error == ""


@pytest.mark.browser
def test_the_reproduce_button_asks_python_and_shows_the_path(browser):  # noqa: F811
    page, posted = open_page(browser, server=True)
    button = page.locator(".pl-reproduce")
    assert button.inner_text() == "Reproduce" and button.is_disabled()  # still running
    assert page.locator(".pl-reproduced").is_hidden()
    page.evaluate("(s) => window.setState(s)", {"state": "completed", "can_reproduce": True})
    button.click()
    page.wait_for_function("window.sent.some((m) => m.type === 'reproduce')")
    assert posted == []  # the kernel writes the notebook, not the server
    assert "writing" in page.locator(".pl-reproduced").inner_text()
    page.evaluate("(s) => window.setState(s)",
                  {"reproduced": "/home/ana/reproduce_abc123def456.ipynb"})
    shown = page.locator(".pl-reproduced")
    assert shown.inner_text() == "Notebook: /home/ana/reproduce_abc123def456.ipynb"
    assert shown.get_attribute("data-error") == "false"
    page.evaluate("(s) => window.setState(s)", {
        "reproduced": "", "reproduce_error": "PL-JOB-004: job abc123def456 is failed"})
    assert shown.inner_text() == "PL-JOB-004: job abc123def456 is failed"
    assert shown.get_attribute("data-error") == "true"
