"""The widgets in a Panel app: ``panel serve`` on 127.0.0.1, started and stopped here, builds
a page holding a JobMonitor (and a JobWizard) following a real job.

Runs in a subprocess: rendering ipywidgets on a Panel server patches ipywidgets' comm and
kernel globals, which must not leak into the other tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEADLINE_S = 90  # only a guard against hanging: never a speed assertion

APP = textwrap.dedent('''
    """A Panel app: a wizard and the monitor of a running job."""
    import json
    import os

    import panel as pn

    from promethium_lab.jobs import register_workflow, submit
    from promethium_lab.widgets import JobMonitor, JobWizard

    pn.extension("ipywidgets")
    register_workflow("batches", "promethium_lab.jobs.testing:batches", replace=True)
    job = submit("batches", n_batches=4, batch_s=0.05)
    monitor = JobMonitor(job)
    wizard = JobWizard(root=os.environ["SURVEYS"])
    page = pn.Column("# Promethium jobs", pn.panel(wizard), pn.panel(monitor)).servable()

    doc = pn.state.curdoc
    widgets = [m for root in doc.roots for m in root.references()
               if type(m).__name__ == "IPyWidget"]
    state = {}
    for model in widgets:
        state.update(model.bundle["state"]["state"])
    job.wait(60)
    with open(os.environ["REPORT"], "w") as fh:
        json.dump({
            "panes": [type(p).__name__ for p in page.objects],
            "models": [m.bundle["spec"]["model_id"] for m in widgets],
            "monitor": monitor.model_id, "wizard": wizard.model_id,
            "esm": state.get(monitor.model_id, {}).get("state", {}).get("_esm", ""),
            "job": job.state.value,
        }, fh)
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_panel_serve_builds_an_app_with_a_job_monitor(tmp_path, promethium_data_dir):
    import ipywidgets_bokeh  # noqa: F401  (a dependency: the test must not skip silently)

    surveys = tmp_path / "surveys"
    surveys.mkdir()
    (surveys / "line.sgy").write_bytes(b"\0" * 10)
    app = tmp_path / "jobs_app.py"
    app.write_text(APP)
    report = tmp_path / "report.json"
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(REPO), os.environ.get("PYTHONPATH")])), "REPORT": str(report),
        "SURVEYS": str(surveys), "PROMETHIUM_DATA_DIR": str(promethium_data_dir),
        "BOKEH_ALLOW_WS_ORIGIN": f"127.0.0.1:{port}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", str(app), "--address", "127.0.0.1",
         "--port", str(port), "--num-procs", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + DEADLINE_S
        page = None
        while page is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/jobs_app",
                                            timeout=DEADLINE_S) as response:
                    assert response.status == 200
                    page = response.read().decode()
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert "bokeh" in page.lower()
        while not report.exists():
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.1)
        built = json.loads(report.read_text())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    assert built["panes"] == ["Markdown", "IPyWidget", "IPyWidget"], output
    assert sorted(built["models"]) == sorted([built["wizard"], built["monitor"]])
    assert "cancelViaServer" in built["esm"]  # the monitor's own front end travels along
    assert built["job"] == "completed"
