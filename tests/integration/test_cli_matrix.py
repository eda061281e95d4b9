"""Every ``promethium-lab`` command, found in the typer app, run as a subprocess: with
``--help``, with a missing path and with impossible parameters. A user sees a typed error
or click's usage message (exit status 2), never a raw traceback; an unexpected exception is
one ``PL-INTERNAL`` line, a log file and exit status 3 (``--debug``: the traceback).

A command added to the app gets its ``--help`` case by itself, and fails
:func:`test_every_command_has_error_cases` until it is given its error cases below.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from _seismic_helpers import DATA, REPO, cli_env, run_cli

from promethium_lab.cli._common import EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED
from promethium_lab.cli.main import app, main

#: ``CODE: message (hint)``, the one line of a typed error
ERROR_LINE = re.compile(r"^(PL-[A-Z]+-\d{3}): (.+) \((.+)\)$")
#: the one line of an unexpected exception
INTERNAL_LINE = re.compile(
    r"^PL-INTERNAL: (\w+): (.*) \(a bug: the traceback is in (.+\.log)\)$")
SURVEY = DATA / "f3_missing_traces_ibm.sgy"  # real F3 cube, 175 of 414 traces absent
USAGE = "usage"  # expected outcome: click's usage error


def _walk(cmd: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], bool]]:
    subs = getattr(cmd, "commands", None) or {}
    yield path, bool(subs)
    for name, sub in subs.items():
        if not sub.hidden:
            yield from _walk(sub, (*path, name))


#: (command path, whether it is a group), the root group included, from the app itself
COMMANDS = list(_walk(typer.main.get_command(app)))
LEAVES = [path for path, group in COMMANDS if not group]

#: a missing input path per command: ``{missing}`` and ``{tmp}`` are filled in
MISSING_PATH: dict[tuple[str, ...], tuple[str, ...]] = {
    ("info",): ("{missing}.sgy",),
    ("ingest",): ("{missing}.sgy", "{tmp}/out.zarr"),
    ("export",): ("{missing}.zarr", "{tmp}/out.sgy"),
    ("reconstruct",): ("{missing}.zarr", "{tmp}/out.zarr"),
    ("train",): ("{missing}.zarr", "--registry", "{tmp}/models"),
    ("run",): ("ingest", "-p", "path={missing}.sgy", "-p", "store={tmp}/out.zarr"),
    ("report",): ("{missing}.ipynb", "--out", "{tmp}/out"),
}
#: commands without an input path, and why
NO_INPUT_PATH = {
    ("demo",): "reads the bundled data; --out is created",
    ("jobs", "list"): "reads the user's job store, created when absent",
    ("jobs", "show"): "takes a job id (unknown ids are in IMPOSSIBLE)",
    ("jobs", "cancel"): "takes a job id (unknown ids are in IMPOSSIBLE)",
    ("jobs", "reproduce"): "takes a job id (unknown ids are in IMPOSSIBLE)",
}
#: impossible parameters: (command path, arguments, expected code or USAGE); ``{survey}``
#: is a real SEG-Y file, ``{store}`` its ingested store
IMPOSSIBLE: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
    (("info",), ("{tmp}",), "PL-IO-012"),  # a folder that is not a store
    (("info",), ("{survey}", "--bogus"), USAGE),
    (("ingest",), ("{survey}", "{tmp}/out.zarr", "--geometry", "nonsense"), "PL-PARAM-001"),
    (("ingest",), ("{survey}", "{tmp}/out.zarr", "--endian", "sideways"), "PL-PARAM-001"),
    (("ingest",), ("{survey}", "{tmp}/out.zarr", "--inline-byte", "300"), USAGE),
    (("ingest",), ("{survey}", "{tmp}/out.zarr", "--workers", "0"), USAGE),
    (("export",), ("{store}", "{tmp}/out.sgy", "--format", "bogus"), "PL-PARAM-001"),
    (("reconstruct",), ("{store}", "{tmp}/out.zarr", "--method", "bogus"), "PL-PARAM-001"),
    (("reconstruct",), ("{store}", "{tmp}/out.zarr", "--overlap", "-1"), USAGE),
    (("reconstruct",), ("{store}", "{tmp}/out.zarr", "--param", "oops"), "PL-PARAM-001"),
    (("train",), ("synthetic", "--max-epochs", "0"), USAGE),
    (("demo",), ("--fraction", "2.0", "--out", "{tmp}/demo"), "PL-PARAM-001"),
    (("demo",), ("--out", "{survey}/demo"), "PL-IO-014"),  # a parent that is a file
    (("info",), ("{survey}", "--keep-truncated"), "PL-PARAM-001"),  # miniSEED only
    (("run",), ("nope",), "PL-PARAM-001"),
    (("run",), ("ingest", "-p", "nonsense"), "PL-PARAM-001"),
    (("run",), ("ingest", "-p", "path={survey}", "-p", "store={tmp}/out.zarr",
                "-p", "bogus=1"), "PL-PARAM-001"),
    (("run",), ("ingest", "-p", "path={survey}", "-p", "store={tmp}/out.zarr",
                "--executor", "bogus"), "PL-PARAM-001"),
    (("report",), ("{survey}", "-p", "oops", "--out", "{tmp}/out"), "PL-PARAM-001"),
    (("report",), ("{survey}", "--out", "{tmp}/out"), "PL-PARAM-001"),  # not a notebook
    (("jobs", "list"), ("--state", "bogus"), "PL-PARAM-001"),
    (("jobs", "list"), ("--limit", "0"), USAGE),
    (("jobs", "show"), ("no-such-job",), "PL-JOB-003"),
    (("jobs", "cancel"), ("no-such-job",), "PL-JOB-003"),
    (("jobs", "reproduce"), ("no-such-job",), "PL-JOB-003"),
    (("jobs", "reproduce"), ("no-such-job", "--report-dir", "{tmp}/out"), "PL-PARAM-001"),
]
def _name(path: tuple[str, ...]) -> str:
    return " ".join(path) or "promethium-lab"


def _usage(path: tuple[str, ...]) -> str:
    return " ".join(("Usage: promethium-lab", *path))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """The real F3 survey ingested (a valid store for commands that read one)."""
    from promethium_lab.workflows.ingest import ingest

    return ingest(SURVEY, tmp_path_factory.mktemp("store") / "f3.zarr", progress=False)


def _fill(args: tuple[str, ...], **values: object) -> list[str]:
    return [a.format(**values) for a in args]


def _env(tmp_path: Path) -> dict[str, str]:
    return cli_env(PROMETHIUM_DATA_DIR=str(tmp_path / "data"))


def assert_no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr


def assert_typed_error(done: subprocess.CompletedProcess, code: str) -> str:
    """Exit status 2, no traceback, the last line on stderr ``CODE: message (hint)`` (a job
    run shows its progress lines before)."""
    assert done.returncode == EXIT_ERROR, (done.returncode, done.stderr)
    assert_no_traceback(done)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    match = ERROR_LINE.match(lines[-1])
    assert match, done.stderr
    assert match.group(1) == code, lines[-1]
    return lines[-1]


def assert_usage_error(done: subprocess.CompletedProcess, path: tuple[str, ...]) -> None:
    """Click's usage error: exit status 2, the usage line and the message, no traceback."""
    assert done.returncode == EXIT_ERROR, (done.returncode, done.stderr)
    assert_no_traceback(done)
    assert _usage(path) in done.stderr, done.stderr
    assert "Error" in done.stderr and "PL-INTERNAL" not in done.stderr, done.stderr


# ---------------------------------------------------------------------------- the matrix
def test_every_command_has_error_cases():
    assert {("info",), ("jobs", "list"), ("run",)} <= set(LEAVES)  # discovery works
    missing = set(LEAVES) - set(MISSING_PATH) - set(NO_INPUT_PATH)
    assert not missing, f"give these commands a missing-path case: {sorted(missing)}"
    impossible = set(LEAVES) - {path for path, _, _ in IMPOSSIBLE}
    assert not impossible, f"give these commands an impossible parameter: {sorted(impossible)}"
    assert not (set(MISSING_PATH) | set(NO_INPUT_PATH)) - set(LEAVES), "stale entries"


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=_name)
def test_help(path, tmp_path):
    done = run_cli(*path, "--help", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert _usage(path) in done.stdout, done.stdout
    assert_no_traceback(done)
    if path == ():
        assert "--debug" in done.stdout
        assert all(p[0] in done.stdout for p in LEAVES)


@pytest.mark.parametrize("path", list(MISSING_PATH), ids=_name)
def test_missing_path(path, tmp_path):
    missing = tmp_path / "absent" / "survey"
    args = _fill(MISSING_PATH[path], missing=missing, tmp=tmp_path)
    done = run_cli(*path, *args, env=_env(tmp_path))
    line = assert_typed_error(done, "PL-IO-001")
    assert str(missing) in line
    assert not any(tmp_path.glob("out*")), "nothing may be left behind"


def _case_id(path: tuple[str, ...], args: tuple[str, ...]) -> str:
    return f"{_name(path)} {' '.join(args)}"


@pytest.mark.parametrize(("path", "args", "expected"), [
    pytest.param(path, args, expected, id=_case_id(path, args))
    for path, args, expected in IMPOSSIBLE])
def test_impossible_parameter(path, args, expected, store, tmp_path):
    filled = _fill(args, survey=SURVEY, store=store, tmp=tmp_path)
    done = run_cli(*path, *filled, env=_env(tmp_path))
    if expected == USAGE:
        assert_usage_error(done, path)
    else:
        assert_typed_error(done, expected)
    assert not any(tmp_path.glob("out*")), "nothing may be left behind"


# ------------------------------------------------------------------ unexpected exceptions
def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the describe step broke\non two lines")


@pytest.fixture
def broken_info(monkeypatch):
    """``promethium-lab info`` whose workflow raises an exception no one expects."""
    import promethium_lab.workflows.info as info

    monkeypatch.setattr(info, "describe", _boom)
    monkeypatch.delenv("PROMETHIUM_DEBUG", raising=False)


def test_unexpected_exception_is_one_line_and_a_log_file(broken_info, promethium_data_dir,
                                                         capsys):
    assert main(["info", str(SURVEY)]) == EXIT_INTERNAL
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    match = INTERNAL_LINE.match(lines[0])
    assert match, lines[0]
    assert match.groups()[:2] == ("RuntimeError", "the describe step broke on two lines")
    log = Path(match.group(3))
    assert log.parent == promethium_data_dir / "logs"
    assert re.fullmatch(r"cli-\d{8}-\d{6}-\d+\.log", log.name)
    text = log.read_text()
    assert "Traceback (most recent call last)" in text
    assert "in _boom" in text and "RuntimeError: the describe step broke" in text
    assert "Python 3." in text


@pytest.mark.parametrize("how", ["--debug", "PROMETHIUM_DEBUG"])
def test_debug_prints_the_traceback(how, broken_info, promethium_data_dir, monkeypatch,
                                    capsys):
    argv = ["info", str(SURVEY)]
    if how == "--debug":
        argv.insert(0, "--debug")
    else:
        monkeypatch.setenv("PROMETHIUM_DEBUG", "1")
    assert main(argv) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last)")
    assert "in _boom" in err and "RuntimeError: the describe step broke" in err
    assert "PL-INTERNAL" not in err
    assert not (promethium_data_dir / "logs").exists()
    # the option holds for one invocation only
    monkeypatch.delenv("PROMETHIUM_DEBUG", raising=False)
    assert main(["info", str(SURVEY)]) == EXIT_INTERNAL
    assert INTERNAL_LINE.match(capsys.readouterr().err.strip())


def test_interrupt_and_usage_errors_raised_by_a_command(monkeypatch, capsys):
    import promethium_lab.workflows.info as info

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(info, "describe", interrupted)
    assert main(["info", str(SURVEY)]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err.strip() == "interrupted"

    def bad_parameter(*args: object, **kwargs: object) -> None:
        raise typer.BadParameter("not this one")

    monkeypatch.setattr(info, "describe", bad_parameter)
    assert main(["info", str(SURVEY)]) == EXIT_ERROR  # click's usage error, not a bug
    err = capsys.readouterr().err
    assert "not this one" in err and "PL-INTERNAL" not in err


BROKEN_ENTRY_POINT = """
import sys
import promethium_lab.workflows.info as info

def _boom(*args, **kwargs):
    raise ZeroDivisionError("division by zero in a workflow")

info.describe = _boom
from promethium_lab.cli.main import app
app(prog_name="promethium-lab")  # what the promethium-lab console script runs
"""


def test_console_script_exits_3_with_a_log(tmp_path):
    """The installed ``promethium-lab`` script calls ``app``: the same line and exit 3."""
    done = subprocess.run([sys.executable, "-c", BROKEN_ENTRY_POINT, "info", str(SURVEY)],
                          env=_env(tmp_path), cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == EXIT_INTERNAL, done.stderr
    assert_no_traceback(done)
    match = INTERNAL_LINE.match(done.stderr.strip())
    assert match, done.stderr
    assert match.group(1) == "ZeroDivisionError"
    log = Path(match.group(3))
    assert log.parent == tmp_path / "data" / "logs"
    assert "ZeroDivisionError: division by zero in a workflow" in log.read_text()
