"""A real ``jupyter lab`` for the browser tests, and Debian's Chromium (not a test module).

:func:`start_lab` runs ``jupyter lab`` on 127.0.0.1 (a free port, a token, user-level
Jupyter state isolated under a temporary folder, the installed extensions visible) and stops
it afterwards; :func:`launch_chromium` opens the system's Chromium with Playwright.
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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

__all__ = [
    "ARTIFACTS",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "LabServer",
    "launch_chromium",
    "start_lab",
]


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


@contextmanager
def start_lab(root: Path, state: Path) -> Iterator[LabServer]:
    """``jupyter lab`` serving ``root``, its user-level state (config, data, runtime,
    settings, workspaces, the promethium job store) under ``state``; its log is
    ``state / "jupyter-lab.log"``. Stopped on exit."""
    root, state = root.resolve(), state.resolve()
    # Isolate user-level Jupyter state; the installed extensions (sys.prefix) stay visible.
    config_dir = state / "config"
    (config_dir / "labconfig").mkdir(parents=True)
    (config_dir / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_DATA_DIR=str(state / "data"),
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        PROMETHIUM_DATA_DIR=str(state / "promethium"),
    )
    port = _free_port()
    token = secrets.token_hex(16)
    log = state / "jupyter-lab.log"
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
        f"--LabApp.user_settings_dir={state / 'settings'}",
        f"--LabApp.workspaces_dir={state / 'workspaces'}",
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


@contextmanager
def launch_chromium(pw: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright's ``pw`` (never a downloaded one)."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    )
    browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    try:
        yield browser
    finally:
        browser.close()


#: notebook code submitting a job of minutes (3000 batches of 0.1 s) in the kernel's threads,
#: as ``long_job``
LONG_JOB = """\
from promethium_lab import jobs

jobs.register_workflow("batches", "promethium_lab.jobs.testing:batches", outputs=("out",),
                       replace=True)
long_job = jobs.submit("batches", n_batches=3000, batch_s=0.1)"""
