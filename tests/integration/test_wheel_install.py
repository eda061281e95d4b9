"""``pip install`` of the wheel gives a JupyterLab with the panel and the server extension.

The rest of the suite runs on the editable install. Here the wheel is built from this
checkout (the prebuilt lab extension travels in it as shared data, so no Node build runs
at install time), installed without its dependencies into a fresh virtual environment that
sees this one's packages (JupyterLab and the rest), and that environment's own ``jupyter``
must list the extension from its own prefix, enabled and OK.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import promethium_lab

REPO = Path(__file__).resolve().parents[2]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300,
                          cwd=cwd)
    out = _ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{out[-4000:]}"
    return out


def _jupyter(python: Path, module: str, *args: str, cwd: Path) -> str:
    """``jupyter <app> ...`` run by the venv's own interpreter (``python -m jupyter``
    would find the subcommand's script on PATH, this environment's, not the venv's)."""
    argv = ["jupyter", *args]
    return _run(python, "-c", f"import sys; sys.argv = {argv!r}; "
                f"from {module} import main; main()", cwd=cwd)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-cache-dir", "-q", "-w", out, REPO)
    (built,) = out.glob("promethium_lab-*.whl")
    return built


def test_the_wheel_carries_the_prebuilt_extension_and_the_server_config(wheel):
    version = promethium_lab.__version__
    assert wheel.name.startswith(f"promethium_lab-{version}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = f"promethium_lab-{version}.data/data/"
    lab = f"{data}share/jupyter/labextensions/promethium-lab/"
    assert {f"{lab}package.json", f"{lab}install.json", f"{lab}static/style.js",
            f"{data}etc/jupyter/jupyter_server_config.d/promethium_lab.json"} <= names
    assert any(re.fullmatch(rf"{re.escape(lab)}static/remoteEntry\.\w+\.js", n) for n in names)
    # the package itself, with its bundled survey and shipped weights
    assert "promethium_lab/data/viking_graben_4shots_ibm.segy" in names
    assert any(n.startswith("promethium_lab/ml/weights/") for n in names)


def test_pip_install_of_the_wheel_gives_lab_the_panel(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--system-site-packages", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel)

    # the venv's copy is the one imported, not this checkout
    where = _run(python, "-c", "import promethium_lab; print(promethium_lab.__file__)",
                 cwd=tmp_path).strip()
    assert Path(where).is_relative_to(venv), where

    version = re.escape(promethium_lab.__version__)
    labext = _jupyter(python, "jupyterlab.labextensions", "list", cwd=tmp_path)
    block = labext[labext.index(str(venv / "share" / "jupyter" / "labextensions")):]
    assert re.search(rf"promethium-lab v{version} enabled\s+OK", block), labext
    server = _jupyter(python, "jupyter_server.extension.serverextension", "list", cwd=tmp_path)
    assert str(venv / "etc" / "jupyter") in server, server
    assert re.search(r"promethium_lab\s+enabled", server), server
    assert re.search(rf"promethium_lab {version} OK", server), server
