"""The Binder files (``binder/``) agree with the project: the environment parses, pins the
torch CI tests with (as the CPU wheel), has a Python that ``requires-python`` accepts and the
JupyterLab the package needs; ``postBuild`` is an executable bash script that installs this
checkout; the README's Binder link opens a notebook that exists; and repo2docker (what
Binder runs) renders a build from them."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
ENVIRONMENT = BINDER / "environment.yml"
POSTBUILD = BINDER / "postBuild"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
BINDER_LINK = re.compile(r"https://mybinder\.org/v2/gh/[^\s)\]\"'>`]+")


def _environment() -> dict:
    env = yaml.safe_load(ENVIRONMENT.read_text())
    assert isinstance(env, dict) and isinstance(env.get("dependencies"), list), env
    return env


def _conda(name: str) -> str:
    """The conda match spec of ``name`` (``python=3.11`` -> ``=3.11``)."""
    specs = [d for d in _environment()["dependencies"] if isinstance(d, str)
             and re.match(rf"{re.escape(name)}\b(?![-_])", d)]
    assert len(specs) == 1, f"{name} is not listed once in {ENVIRONMENT}: {specs}"
    return specs[0][len(name):].strip()


def _pip() -> list[str]:
    lists = [d["pip"] for d in _environment()["dependencies"] if isinstance(d, dict)]
    assert len(lists) == 1, "one pip: list in environment.yml"
    return [str(x) for x in lists[0]]


def _ci_torch() -> Version:
    pins = re.findall(r"\btorch==([0-9][\w.+]*)", (ROOT / ".ci" / "run").read_text())
    assert len(set(pins)) == 1, f"one torch pin in .ci/run, found {pins}"
    return Version(pins[0])


def _binder_links() -> dict[str, list[str]]:
    """Binder links in the README and in binder/'s own files, by file."""
    found = {}
    for path in (ROOT / "README.md", *sorted(BINDER.iterdir())):
        links = BINDER_LINK.findall(path.read_text())
        if links:
            found[str(path.relative_to(ROOT))] = links
    return found


def test_environment_parses_and_pins_the_ci_torch_as_the_cpu_wheel() -> None:
    env = _environment()
    assert env["channels"] == ["conda-forge"]
    pip = _pip()
    torch = [Requirement(x) for x in pip if re.match(r"torch\b", x)]
    assert len(torch) == 1, pip
    (pin,) = torch[0].specifier
    assert pin.operator == "==", pin
    version = Version(pin.version)
    assert version.public == _ci_torch().public  # the torch CI tests with
    assert version.local == "cpu"  # not the default wheel, which brings CUDA libraries
    assert "--extra-index-url=https://download.pytorch.org/whl/cpu" in pip
    # the package accepts it
    (dep,) = [Requirement(d) for d in PYPROJECT["project"]["dependencies"]
              if Requirement(d).name == "torch"]
    assert dep.specifier.contains(version)


def test_python_satisfies_requires_python() -> None:
    spec = _conda("python")
    assert re.fullmatch(r"=\d+\.\d+", spec), f"pin python to a minor version, not {spec!r}"
    minor = Version(spec[1:])
    requires = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert requires.contains(minor) and requires.contains(f"{minor}.99")
    assert requires.contains(f"{sys.version_info.major}.{sys.version_info.minor}")


def test_environment_has_the_build_and_runtime_tools() -> None:
    # the wheel build runs hatch-jupyter-builder's npm builder (jlpm): Node.js is needed
    hook = PYPROJECT["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]
    assert hook["build-function"] == "hatch_jupyter_builder.npm_builder"
    node = _conda("nodejs")
    assert re.fullmatch(r"=\d+", node) and int(node[1:]) >= 18, node
    # the same JupyterLab range as the package
    (lab,) = [Requirement(d) for d in PYPROJECT["project"]["dependencies"]
              if Requirement(d).name == "jupyterlab"]
    assert SpecifierSet(_conda("jupyterlab")) == lab.specifier


def test_postbuild_is_an_executable_script_that_installs_the_checkout() -> None:
    assert POSTBUILD.is_file()
    assert os.stat(POSTBUILD).st_mode & 0o111 == 0o111, "postBuild must be executable"
    text = POSTBUILD.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text  # a failing step fails the Binder build
    subprocess.run(["bash", "-n", str(POSTBUILD)], check=True)  # parses as bash
    installs = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if "pip" in words and "install" in words:
            installs.append(words[words.index("install") + 1:])
    assert len(installs) == 1, installs
    assert installs[0][-1] == ".", installs  # this checkout, not a package from PyPI
    assert "-e" not in installs[0] and "--editable" not in installs[0]
    assert "torch.version.cuda is None" in text  # the CPU torch is still the one installed


def test_binder_link_opens_notebooks_that_exist() -> None:
    links = _binder_links()
    assert "README.md" in links, "the README has a Binder link"
    for where, urls in links.items():
        for url in urls:
            parts = urlsplit(url)
            assert re.fullmatch(r"/v2/gh/[\w.-]+/[\w.-]+/[\w.-]+", parts.path), (where, url)
            (urlpath,) = parse_qs(parts.query)["urlpath"]
            assert urlpath.startswith("lab/tree/"), (where, url)  # JupyterLab, not classic
            notebook = ROOT / urlpath.removeprefix("lab/tree/")
            assert notebook.suffix == ".ipynb" and notebook.is_file(), (where, url)
            nbformat.validate(nbformat.read(notebook, as_version=4))
    assert any("01_quickstart.ipynb" in url for url in links["README.md"])


def test_repo2docker_renders_the_build() -> None:
    """repo2docker itself picks the build from binder/ (``--no-build``: no Docker needed)."""
    proc = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--user-id", "1000",
         "--user-name", "jovyan", str(ROOT)],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    minor = _conda("python")[1:]
    assert f"Building conda environment for python={minor}" in proc.stderr
    dockerfile = proc.stdout
    assert dockerfile.lstrip().startswith("FROM ")
    assert '--file "binder/environment.yml"' in dockerfile
    # the repository is copied in, then postBuild runs as the notebook user
    copy = dockerfile.index("COPY --chown=1000:1000 src/ ${REPO_DIR}/")
    user = dockerfile.index("USER ${NB_USER}", copy)
    assert dockerfile.index("RUN ./binder/postBuild") > user
