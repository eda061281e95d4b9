"""Reproduce a completed job: write the notebook that re-runs it with the same parameters
(:func:`reproduce_notebook`) and, optionally, run it as a report (:func:`run_reproduction`).

Every front end calls these: ``promethium-lab jobs reproduce ID [--run]``, the JobMonitor's
Reproduce button (:meth:`promethium_lab.widgets.follow.JobFollower.reproduce`) and the
server's ``POST promethium/jobs/<id>/reproduce``. The notebook itself is built by
:func:`promethium_lab.workflows.reproduce.reproduction_notebook`; the result hash is
:func:`promethium_lab.workflows.reproduce.result_hash`.

The re-run never touches the job's output: it writes ``<name>.reproduced<suffix>`` beside
it (or in ``output_dir``) and compares its result hash with the hash of the job's output,
computed when the notebook is written (so jobs recorded before result hashes existed can be
reproduced too).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs.models import JobRecord, JobState
from promethium_lab.jobs.registry import (
    OUTPUT_KEYWORD,
    PYTHON_ONLY_KEYWORD,
    accepted_parameters,
    get_workflow,
    load_target,
)
from promethium_lab.jobs.store import JobStore, get_store

__all__ = ["Reproduction", "reproduce_notebook", "run_reproduction"]

#: how :func:`promethium_lab.core.serialize.json_safe` records a Python object a job was given
_OBJECT_REPR = re.compile(r"<[A-Za-z_][\w.]*( object)?( at 0x[0-9a-f]+)?>")


@dataclass(frozen=True)
class Reproduction:
    """A reproduced job, run as a report.

    Attributes
    ----------
    job_id : str
        The job reproduced.
    notebook : Path
        The notebook written by :func:`reproduce_notebook`.
    report : ReportResult
        The executed notebook and its HTML (:func:`promethium_lab.workflows.report.run_report`).
    output : str or None
        What the re-run wrote (e.g. ``filled.reproduced.zarr``).
    original_hash, result_hash : str or None
        Result hashes of the job's output and of the re-run's.
    """

    job_id: str
    notebook: Path
    report: Any
    output: str | None
    original_hash: str | None
    result_hash: str | None

    @property
    def matches(self) -> bool | None:
        """True when both hashes are equal; None when the job left no output to compare."""
        if self.original_hash is None:
            return None
        return self.original_hash == self.result_hash


def _store(job_store: JobStore | str | os.PathLike | None) -> JobStore:
    return job_store if isinstance(job_store, JobStore) else get_store(job_store)


def _completed(st: JobStore, job_id: str) -> JobRecord:
    """The record of ``job_id``; JOB_NOT_FOUND, or JOB_NOT_COMPLETED unless it completed."""
    rec = st.get(job_id)
    if rec.state == JobState.COMPLETED:
        return rec
    if rec.state in (JobState.FAILED, JobState.CANCELED):
        why = f" ({rec.error['code']}: {rec.error['message']})" if rec.error else ""
        hint = ("only a completed job has a result to reproduce; fix the cause and submit it "
                "again, then reproduce that job")
    else:
        why = ""
        hint = (f"only a completed job has a result to reproduce; wait for it "
                f"(promethium-lab jobs show {job_id})")
    raise PromethiumError(ErrorCode.JOB_NOT_COMPLETED,
                          f"job {job_id} is {rec.state.value}, not completed{why}", hint=hint)


def _is_path(prop: dict[str, Any]) -> bool:
    return prop.get("format") == "path" or any(
        isinstance(o, dict) and o.get("format") == "path" for o in prop.get("anyOf", ()))


def _check_inputs(rec: JobRecord, schema: dict[str, Any]) -> str | None:
    """Refuse parameters a notebook cannot rebuild and inputs that are gone; returns the
    name of the first input path parameter (the survey, for the provenance)."""
    props = schema.get("properties", {})
    first = None
    for name, value in rec.parameters.items():
        prop = props.get(name, {})
        if (isinstance(value, str) and _OBJECT_REPR.fullmatch(value)) or prop.get(
                PYTHON_ONLY_KEYWORD):
            raise PromethiumError.invalid(
                f"job {rec.id} was given a Python object for {name!r} (recorded as "
                f"{value!r}), which a notebook cannot rebuild",
                hint="submit it with a file or store path instead, then reproduce that job")
        if not (_is_path(prop) and isinstance(value, str)) or prop.get(OUTPUT_KEYWORD):
            continue
        if not Path(value).expanduser().exists():
            raise PromethiumError(
                ErrorCode.PATH_NOT_FOUND,
                f"{name} of job {rec.id} ({value}) does not exist any more",
                hint="the re-run reads the same input: put it back at that path")
        first = first or name
    return first


def _original_hash(rec: JobRecord) -> tuple[str | None, str | None]:
    """The job's output and its result hash (None, None when it kept no result)."""
    from promethium_lab.workflows.reproduce import result_hash

    output = rec.artifacts.get("output")
    if isinstance(output, str):
        if not Path(output).expanduser().exists():
            return output, None  # gone: the re-run still runs, with nothing to compare
        return output, result_hash(output)
    if rec.artifacts and "result" not in rec.artifacts:  # a mapping result (evaluate)
        return None, result_hash(rec.artifacts)
    return None, None


def _changes(rec: JobRecord, spec: Any, func: Any,
             output_dir: str | os.PathLike | None) -> dict[str, Any]:
    """The re-run's own output paths, and ``overwrite=True`` when it writes any."""
    from promethium_lab.workflows.reproduce import reproduced_path

    changes: dict[str, Any] = {}
    for name in spec.outputs:
        value = rec.parameters.get(name)
        if isinstance(value, str):
            changes[name] = os.fspath(reproduced_path(value, output_dir))
    names, var_kw = accepted_parameters(func)
    if changes and ("overwrite" in names or var_kw):
        changes["overwrite"] = True
    return changes


def _notebook_path(job_id: str, out: str | os.PathLike | None) -> Path:
    """``out`` when it names an ``.ipynb``, else ``<out or .>/reproduce_<id>.ipynb``."""
    name = f"reproduce_{job_id}.ipynb"
    if out is None:
        return Path.cwd() / name
    p = Path(out).expanduser()
    return p if p.suffix == ".ipynb" else p / name


def reproduce_notebook(job_id: str, out: str | os.PathLike | None = None, *,
                       job_store: JobStore | str | os.PathLike | None = None,
                       output_dir: str | os.PathLike | None = None) -> Path:
    """Write the notebook that re-runs a completed job with the same parameters.

    The notebook (see :func:`promethium_lab.workflows.reproduce.reproduction_notebook`)
    holds the job's kind, workflow function and parameters as literal values in a cell
    tagged ``parameters``; running it calls that function again with them, writes the
    output to ``<name>.reproduced<suffix>`` (never over the job's own output), prints its
    result hash beside the job's (computed now, from the job's output) and records the
    provenance naming the job. Run it with Papermill, ``run_report``, or
    :func:`run_reproduction`.

    Parameters
    ----------
    job_id : str
        A completed job.
    out : path-like, optional
        The notebook to write (``.ipynb``), or a folder for ``reproduce_<id>.ipynb``
        (default: the working folder). Replaced when it exists.
    job_store : JobStore or path, optional
        The job store (default: the user's).
    output_dir : path-like, optional
        Folder for the re-run's outputs (default: beside the job's outputs).

    Returns
    -------
    Path
        The notebook written.

    Raises
    ------
    PromethiumError
        ``JOB_NOT_FOUND``; ``JOB_NOT_COMPLETED`` (queued, running, failed or canceled);
        ``INVALID_PARAMETER`` (a kind or workflow missing here, or a parameter that was a
        Python object); ``PATH_NOT_FOUND`` (an input that is gone); ``BAD_OUTPUT_PATH``.
    """
    import nbformat

    from promethium_lab.io.formats import make_output_folder, partial_path
    from promethium_lab.workflows.reproduce import reproduction_notebook

    st = _store(job_store)
    rec = _completed(st, job_id)
    spec = get_workflow(rec.kind)
    target = rec.target or spec.target_name
    func = load_target(target)
    source_param = _check_inputs(rec, spec.parameter_schema())
    if output_dir is not None:
        make_output_folder(output_dir, "the re-run's outputs")
    changes = _changes(rec, spec, func, output_dir)
    original_output, original_hash = _original_hash(rec)
    finished = rec.to_dict().get("finished_at")
    nb = reproduction_notebook(job_id=rec.id, kind=rec.kind, target=target,
                               params=rec.parameters, changes=changes,
                               original_output=original_output, original_hash=original_hash,
                               source_param=source_param, finished=finished)
    path = _notebook_path(rec.id, out)
    make_output_folder(path.parent, "the notebook")
    tmp = partial_path(path)
    try:
        nbformat.write(nb, tmp)
        os.replace(tmp, path)
    except IsADirectoryError:
        tmp.unlink(missing_ok=True)
        raise PromethiumError(ErrorCode.PATH_IS_DIRECTORY, f"{path} is a folder",
                              hint="give a notebook path ending in .ipynb") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def run_reproduction(job_id: str, *, notebook: str | os.PathLike | None = None,
                     report_dir: str | os.PathLike = "reports",
                     output_dir: str | os.PathLike | None = None,
                     job_store: JobStore | str | os.PathLike | None = None,
                     progress: bool = False, kernel_name: str = "python3") -> Reproduction:
    """Write a job's reproduce notebook (:func:`reproduce_notebook`) and run it as a report
    (:func:`promethium_lab.workflows.report.run_report`).

    Parameters
    ----------
    job_id : str
        A completed job.
    notebook : path-like, optional
        Where to write the notebook (as ``out`` of :func:`reproduce_notebook`).
    report_dir : path-like, default "reports"
        Folder of the executed notebook and its HTML; not the notebook's own folder.
    output_dir : path-like, optional
        Folder for the re-run's outputs (default: beside the job's).
    job_store : JobStore or path, optional
        The job store (default: the user's).
    progress : bool, default False
        Papermill's progress bar.
    kernel_name : str, default "python3"
        Jupyter kernel to run it in.

    Returns
    -------
    Reproduction
        The report, both result hashes and whether they match.

    Raises
    ------
    PromethiumError
        As :func:`reproduce_notebook`; ``INVALID_PARAMETER`` when ``report_dir`` is the
        notebook's folder (the executed copy would replace it); ``REPORT_FAILED`` when a
        cell raised.
    """
    from promethium_lab.workflows.report import run_report

    target = _notebook_path(job_id, notebook)
    if Path(report_dir).expanduser().resolve() == target.parent.resolve():
        raise PromethiumError.invalid(
            f"the report folder {report_dir} holds the notebook {target.name}: the executed "
            "copy would replace it",
            hint="give the report another folder (--report-dir) or the notebook another "
            "one (--out)")
    path = reproduce_notebook(job_id, target, job_store=job_store, output_dir=output_dir)
    report = run_report(path, None, report_dir, progress=progress, kernel_name=kernel_name,
                        job_id=job_id)
    facts = report.provenance.get("reproduce") or {}
    return Reproduction(job_id=job_id, notebook=path, report=report,
                        output=facts.get("output"), original_hash=facts.get("original_hash"),
                        result_hash=facts.get("result_hash"))
