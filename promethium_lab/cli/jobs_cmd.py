"""``promethium-lab jobs list|show|cancel|reproduce`` and ``promethium-lab run KIND``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from promethium_lab.cli._common import CliApp, parse_params

__all__ = ["jobs_app", "run_cmd"]

jobs_app = CliApp(name="jobs", help="List, show, cancel and reproduce jobs (of every kernel, "
                  "worker and shell of this user).", no_args_is_help=True)

#: exit status of ``jobs reproduce --run`` when the re-run's result differs from the job's
EXIT_DIFFERENT = 1


def _age(t: float | None) -> str:
    if t is None:
        return "-"
    s = max(0.0, time.time() - t)
    return f"{s:.0f}s" if s < 120 else f"{s / 60:.0f}m" if s < 7200 else f"{s / 3600:.0f}h"


@jobs_app.command("list")
def list_cmd(
    state: Annotated[list[str] | None, typer.Option(
        "--state", help="only jobs in this state (repeatable)")] = None,
    kind: Annotated[str | None, typer.Option(help="only jobs of this kind")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List jobs, newest first."""
    from promethium_lab.jobs import list_jobs

    records = list_jobs(state=state or None, kind=kind, limit=limit)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in records], indent=2))
        return
    if not records:
        typer.echo("no jobs")
        return
    typer.echo(f"{'ID':<12}  {'KIND':<11} {'STATE':<10} {'PROGRESS':>8}  {'AGE':>5}  "
               f"{'EXECUTOR':<24} MESSAGE")
    for r in records:
        msg = r.error["code"] + " " + r.error["message"] if r.error else r.message
        typer.echo(f"{r.id:<12}  {r.kind:<11} {r.state.value:<10} {r.progress:>8.0%}  "
                   f"{_age(r.created_at):>5}  {r.executor[:24]:<24} {msg[:60]}")


@jobs_app.command("show")
def show_cmd(
    job_id: Annotated[str, typer.Argument(help="job id")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show one job's record."""
    from promethium_lab.jobs import get_store

    rec = get_store().get(job_id)
    data = rec.to_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for key in ("id", "kind", "state", "progress", "message", "executor", "worker",
                "created_at", "started_at", "updated_at", "finished_at"):
        value = f"{rec.progress:.0%}" if key == "progress" else data[key]
        typer.echo(f"{key:<13} {value if value not in (None, '') else '-'}")
    typer.echo(f"{'parameters':<13} {json.dumps(data['parameters'])}")
    if rec.artifacts:
        typer.echo(f"{'artifacts':<13} {json.dumps(rec.artifacts)}")
    if rec.preview_path:
        typer.echo(f"{'preview':<13} {rec.preview_path}")
    if rec.error:
        e = rec.error
        typer.echo(f"{'error':<13} {e['code']}: {e['message']}"
                   + (f" ({e['hint']})" if e.get("hint") else ""))
    if rec.partial_outputs:
        typer.echo(f"{'partial':<13} " + ", ".join(
            f"{p['path']} ({'removed' if p['removed'] else 'NOT removed'})"
            for p in rec.partial_outputs))
    if rec.traceback:
        typer.echo(rec.traceback.rstrip())


@jobs_app.command("cancel")
def cancel_cmd(job_id: Annotated[str, typer.Argument(help="job id")]) -> None:
    """Cancel a job (it stops within one batch, wherever it runs)."""
    from promethium_lab.jobs import cancel_job

    state = cancel_job(job_id)
    typer.echo(f"{job_id} {state.value}")


@jobs_app.command("reproduce")
def reproduce_cmd(
    job_id: Annotated[str, typer.Argument(help="id of a completed job")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="notebook to write (.ipynb) or a folder for reproduce_<id>.ipynb "
        "(default: the working folder)")] = None,
    run: Annotated[bool, typer.Option(
        "--run", help="run the notebook as a report and compare the result hashes (exit "
        "status 1 when they differ)")] = False,
    report_dir: Annotated[Path | None, typer.Option(
        "--report-dir", help="with --run: folder of the executed notebook and its HTML "
        "[default: reports]")] = None,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", help="folder of the re-run's outputs (default: beside the job's, "
        "as <name>.reproduced.zarr)")] = None,
    progress: Annotated[bool, typer.Option(
        help="with --run: progress bar (one step per cell)")] = True,
) -> None:
    """Write the notebook that re-runs a completed job with the same parameters; with
    --run, run it and say whether its result hash equals the job's."""
    from promethium_lab.core.errors import PromethiumError
    from promethium_lab.jobs.reproduce import reproduce_notebook, run_reproduction

    if not run:
        if report_dir is not None:
            raise PromethiumError.invalid("--report-dir needs --run",
                                          hint="add --run to run the notebook as a report")
        path = reproduce_notebook(job_id, out, output_dir=output_dir)
        typer.echo(f"notebook    {path}")
        return
    done = run_reproduction(job_id, notebook=out, report_dir=report_dir or Path("reports"),
                            output_dir=output_dir, progress=progress)
    typer.echo(f"notebook    {done.notebook}")
    typer.echo(f"report      {done.report.notebook}")
    typer.echo(f"html        {done.report.html}")
    typer.echo(f"output      {done.output or '-'}")
    typer.echo(f"original    {done.original_hash or '-'}")
    typer.echo(f"result      {done.result_hash or '-'}")
    if done.matches is None:
        typer.echo("matches     unknown (the job left no output to compare with)")
    else:
        typer.echo(f"matches     {'yes' if done.matches else 'NO'}")
    if done.matches is False:
        raise typer.Exit(EXIT_DIFFERENT)


def run_cmd(
    kind: Annotated[str, typer.Argument(help="job kind: ingest, export, reconstruct, ...")],
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="workflow parameter key=value (repeatable)")] = None,
    executor: Annotated[str, typer.Option(
        help="kernel (this process), dask (a LocalCluster), gateway, or a scheduler "
        "address tcp://host:port")] = "kernel",
    wait: Annotated[bool, typer.Option(
        "--wait/--no-wait", help="wait for the end (else print the id and return; the job "
        "goes on in a detached process or on the cluster)")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the final record as JSON")
                       ] = False,
) -> None:
    """Run a workflow as a job and (by default) wait for it, showing its progress."""
    from promethium_lab.core.errors import ErrorCode, PromethiumError
    from promethium_lab.jobs import JobState, error_from_dict, submit
    from promethium_lab.jobs.executors import close_executors

    params = parse_params(param or [])
    if not wait and executor in ("dask", "gateway"):
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER, f"--no-wait with --executor {executor} would lose the "
            "job: the cluster this command starts ends with it",
            hint="use --executor kernel (a detached process) or a scheduler address")
    try:
        job = submit(kind, executor=executor, detach=not wait, **params)
        if not wait:
            typer.echo(job.id)
            return
        rec = _watch(job, kind)
    finally:
        # the Dask client and LocalCluster end here, while the interpreter is whole: at
        # exit, a late Dask callback would find concurrent.futures' pools closed
        close_executors()
    if as_json:
        typer.echo(json.dumps(rec.to_dict(), indent=2))
    if rec.state != JobState.COMPLETED:
        raise error_from_dict(rec.error or {"code": ErrorCode.INTERNAL.value,
                                            "message": f"job {job.id} ended {rec.state.value}"})
    if not as_json:
        out = rec.artifacts.get("output")
        typer.echo(f"{job.id} completed" + (f": {out}" if out else ""))


def _watch(job: Any, kind: str) -> Any:
    """Show a job's state and progress on stderr until it ends; returns its final record.
    Ctrl-C cancels it (and waits up to 30 s for it to stop)."""
    typer.echo(f"job {job.id} ({kind}) on {job.record.executor}", err=True)
    last = ""
    try:
        while True:
            rec = job.record
            line = f"{rec.state.value} {rec.progress:.0%} {rec.message}".strip()
            if line != last:
                typer.echo(line, err=True)
                last = line
            if rec.is_terminal:
                return rec
            try:
                job.wait(timeout=0.5)
            except TimeoutError:
                pass
    except KeyboardInterrupt:
        job.cancel()
        job.wait(timeout=30)
        raise
