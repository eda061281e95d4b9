"""The layers of docs/architecture.md hold: ``lint-imports`` passes and there are no import
cycles inside the package (issue 12)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp  # import-linter's graph library (both in the test extra)
import importlinter  # noqa: F401
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("promethium_lab")


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    adj = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(adj):
        if start in index:
            continue
        work = [(start, iter(adj[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(adj[w])))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_lint_imports_passes():
    proc = subprocess.run(
        [sys.executable, "-c",
         "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_no_import_cycles(graph):
    assert _cycles(graph) == []


@pytest.mark.parametrize(("a", "b"), [
    ("promethium_lab.cli.main", "promethium_lab.cli.jobs_cmd"),
    ("promethium_lab.ml.data", "promethium_lab.signal.gain"),
    ("promethium_lab.ml.models.base", "promethium_lab.ml.models.unet"),
    ("promethium_lab.ml.models.base", "promethium_lab.ml.models.pinn"),
    ("promethium_lab.ml.models.base", "promethium_lab.ml.models.autoencoder"),
])
def test_named_cycles_are_gone(graph, a, b):
    assert not (graph.chain_exists(importer=a, imported=b)
                and graph.chain_exists(importer=b, imported=a))


def test_gain_lives_in_signal(graph):
    assert "promethium_lab.signal.gain" in graph.modules
    assert "promethium_lab.ml.gain" not in graph.modules


def test_lower_layers_never_import_the_package_root(graph):
    lower = ("core", "io", "signal", "ml", "workflows", "jobs")
    offenders = sorted(
        m for m in graph.find_modules_that_directly_import("promethium_lab")
        if m.split(".")[1:2] and m.split(".")[1] in lower
    )
    assert offenders == []
