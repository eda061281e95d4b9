"""Reproduce (issue 15): a completed job's notebook re-runs it with the same parameters and
gives the same result hash (``promethium-lab jobs reproduce ID --run``); and one
reconstruction started from the widget, the panel (``POST promethium/jobs`` on a real
Jupyter server), the CLI and a report writes byte-identical stores (equal array hashes).

Real data: the F3 cube with 175 of its 414 traces absent, filled by classical methods."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
from _jobs_helpers import DEADLINE_S, REPO, cli, env_for, poll
from _seismic_helpers import DATA

from promethium_lab.cli._common import EXIT_ERROR
from promethium_lab.cli.main import main
from promethium_lab.core.errors import ErrorCode
from promethium_lab.io.store import array_hashes, store_hash
from promethium_lab.jobs import JobState, JobStore, get_store

F3 = DATA / "f3_missing_traces_ibm.sgy"


def run(data: Path, *args: object, cwd: Path | None = None,
        timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(cli(*args), env=env_for(data), cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def lines_of(stdout: str) -> dict[str, str]:
    """``key value`` lines of a command's output as a dict."""
    return dict(line.split(None, 1) for line in stdout.splitlines() if line.strip())


def in_process(capsys, *argv: object) -> tuple[int, str, str]:
    """``promethium-lab ARGV`` in this process: exit status, stdout, stderr."""
    capsys.readouterr()
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_reproduce_run_gives_the_jobs_result_hash(promethium_data_dir, tmp_path, capsys,
                                                      monkeypatch):
    data = promethium_data_dir
    source = Path(shutil.copy2(F3, tmp_path / "f3.sgy"))
    out = tmp_path / "filled.zarr"
    done = run(data, "run", "reconstruct", "-p", f"source={source}", "-p", f"out={out}",
               "-p", "method=pocs", "-p", "blind=false")
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.split()[0]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    status, stdout, _ = in_process(capsys, "jobs", "reproduce", job_id)  # the notebook only
    assert status == 0
    assert stdout == f"notebook    {work / f'reproduce_{job_id}.ipynb'}\n"
    assert not (tmp_path / "filled.reproduced.zarr").exists()  # nothing ran

    done = run(data, "jobs", "reproduce", job_id, "--run", "--no-progress", "--report-dir",
               tmp_path / "reports", cwd=work)
    assert done.returncode == 0, done.stderr
    shown = lines_of(done.stdout)
    name = f"reproduce_{job_id}"
    assert shown["notebook"] == str(work / f"{name}.ipynb")
    assert shown["report"] == str(tmp_path / "reports" / f"{name}.ipynb")
    assert shown["html"] == str(tmp_path / "reports" / f"{name}.html")
    again = tmp_path / "filled.reproduced.zarr"
    assert shown["output"] == str(again)
    assert shown["original"] == store_hash(out) == store_hash(again) == shown["result"]
    assert shown["matches"] == "yes"
    prov = nbformat.read(shown["report"], as_version=4).metadata["promethium"]["provenance"]
    assert prov["job_id"] == job_id  # the provenance names the original job
    assert prov["reproduce"]["matches"] is True
    assert prov["reproduce"]["parameters"] == JobStore(data / "jobs.sqlite").get(
        job_id).parameters
    assert prov["method"]["name"] == "pocs" and prov["input"]["path"] == str(source)

    # an unknown id, a job still queued, --report-dir without --run: one typed line each
    queued = JobStore(data / "jobs.sqlite").create("reconstruct", {"source": str(source)})
    for argv, code in ((("feedfacecafe",), ErrorCode.JOB_NOT_FOUND),
                       ((queued.id,), ErrorCode.JOB_NOT_COMPLETED),
                       ((job_id, "--report-dir", "r"), ErrorCode.INVALID_PARAMETER)):
        status, stdout, stderr = in_process(capsys, "jobs", "reproduce", *argv)
        assert (status, stdout) == (EXIT_ERROR, ""), stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{code.value}: "), stderr
        assert lines[0].endswith(")")  # with its hint
    assert f"job {queued.id} is queued, not completed" in in_process(
        capsys, "jobs", "reproduce", queued.id)[2]
    assert list(work.iterdir()) == [work / f"reproduce_{job_id}.ipynb"]


async def test_widget_panel_cli_and_report_write_byte_identical_stores(
        jp_fetch, jp_root_dir, promethium_data_dir, monkeypatch):
    """The same reconstruction (F3, linear, no blind estimate) from the four front ends."""
    from promethium_lab.jobs import reproduce_notebook
    from promethium_lab.widgets import JobWizard

    # the report's kernel and the server's runner processes import this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    surveys = jp_root_dir / "surveys"
    src = Path(shutil.copy2(F3, (surveys.mkdir(), surveys)[1] / F3.name))
    stores = {front: surveys / f"{front}.zarr" for front in ("widget", "panel", "cli")}

    # (c) the CLI, in a process of its own, while the others start
    cli_run = subprocess.Popen(
        cli("reconstruct", src, stores["cli"], "--method", "linear", "-p", "blind=false"),
        env=env_for(promethium_data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    # (a) the widget: what its Submit button calls
    wizard = JobWizard(root=surveys, dataset=src, method="linear", executor="kernel",
                       params={"out": str(stores["widget"]), "blind": False})
    wizard.submit_w.click()
    assert wizard.errors == "" and wizard.job is not None
    # (b) the panel: POST promethium/jobs (a runner process of its own)
    body = json.dumps({"kind": "reconstruct", "parameters": {
        "source": f"surveys/{src.name}", "out": "surveys/panel.zarr", "method": "linear",
        "blind": False}}).encode()
    response = await jp_fetch("promethium", "jobs", method="POST", body=body)
    assert response.code == 201
    panel_id = json.loads(response.body)["id"]

    assert await asyncio.to_thread(wizard.job.wait, DEADLINE_S) == JobState.COMPLETED
    panel = await asyncio.to_thread(
        poll, lambda: (r := get_store().get(panel_id)).is_terminal and r, "the panel's job",
        DEADLINE_S)
    assert panel.state == JobState.COMPLETED, panel.error
    stdout, stderr = await asyncio.to_thread(cli_run.communicate, timeout=DEADLINE_S)
    assert cli_run.returncode == 0, stderr
    assert f"store       {stores['cli']}" in stdout

    # (d) a report: the panel job's reproduce notebook, run by Papermill (run_report,
    # through `promethium-lab report`: its kernel may not share this test's event loop)
    notebook = reproduce_notebook(panel_id, jp_root_dir / "nb")
    reports = jp_root_dir / "reports"
    done = await asyncio.to_thread(run, promethium_data_dir, "report", notebook, "--out",
                                   reports, "--no-progress")
    assert done.returncode == 0, done.stderr
    executed = nbformat.read(reports / notebook.name, as_version=4)
    prov = executed.metadata["promethium"]["provenance"]
    facts = prov["reproduce"]
    stores["report"] = Path(facts["output"])
    assert stores["report"] == surveys / "panel.reproduced.zarr"
    assert prov["job_id"] == panel_id and facts["matches"] is True

    hashes = {front: array_hashes(path) for front, path in stores.items()}
    assert "amplitude" in hashes["cli"] and "trace_mask" in hashes["cli"]
    for front, digests in hashes.items():
        assert digests == hashes["widget"], front
    results = {store_hash(path) for path in stores.values()}
    assert results == {facts["result_hash"]} == {facts["original_hash"]}
