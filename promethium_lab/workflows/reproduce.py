"""Reproduce a result: the notebook that re-runs a workflow with recorded parameters, and
the result hash that says whether two runs gave the same output.

This module knows workflows and results, not jobs: :func:`reproduction_notebook` builds the
notebook from plain values (kind, target, parameters, ...). Looking a job up, checking that
it completed and hashing its original output is
:func:`promethium_lab.jobs.reproduce.reproduce_notebook`, which every front end calls (the
CLI's ``promethium-lab jobs reproduce``, the JobMonitor's Reproduce button, the server's
``POST promethium/jobs/<id>/reproduce``). See ``docs/reports.md``.

The **result hash** (:func:`result_hash`) is defined once, here:

* a Zarr store: :func:`promethium_lab.io.store.store_hash`, one sha256 over the shape, dtype
  and decoded values of every array (chunks, compression and attributes such as creation
  time, metrics or run time do not count);
* a file (an exported SEG-Y): the sha256 of its bytes;
* a folder that is no store (a model version): the sha256 of its files by relative path and
  bytes, without ``metadata.json`` (training times and metrics);
* a mapping (what ``evaluate`` returns): the sha256 of its canonical JSON, with the values
  a job record keeps;
* an in-memory ``xarray.Dataset``: the sha256 of its variables as for a store.
"""

from __future__ import annotations

import hashlib
import json
import os
import pprint
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.serialize import json_safe

__all__ = [
    "REPRODUCED_SUFFIX",
    "reproduced_path",
    "reproduction_notebook",
    "result_facts",
    "result_hash",
]

#: inserted before the suffix of a re-run's outputs: ``filled.zarr`` -> ``filled.reproduced.zarr``
REPRODUCED_SUFFIX = ".reproduced"
#: files of a folder result left out of its hash (they hold times, not results)
_UNHASHED_FILES = frozenset({"metadata.json"})


# ---------------------------------------------------------------------------- result hash
def _sha256_file(path: Path, h: Any = None) -> Any:
    h = h or hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h


def _folder_hash(path: Path) -> str:
    h = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        if file.name in _UNHASHED_FILES:
            continue
        h.update(file.relative_to(path).as_posix().encode() + b"\0")
        _sha256_file(file, h)
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


def _dataset_hash(ds: Any) -> str:
    """The sha256 of an in-memory dataset's variables and coordinates (as for a store)."""
    digests = {}
    for name in sorted(map(str, ds.variables)):
        values = np.asarray(ds.variables[name].values)
        h = hashlib.sha256(json.dumps({"shape": list(values.shape),
                                       "dtype": values.dtype.str}).encode())
        if values.dtype.kind in "OT":
            h.update("\n".join(map(str, values.ravel().tolist())).encode())
        else:
            h.update(np.ascontiguousarray(values).tobytes())
        digests[name] = "sha256:" + h.hexdigest()
    text = json.dumps(digests, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _recorded_values(result: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a mapping result a job record keeps (as its artifacts)."""
    return {str(k): json_safe(v, strict=True) for k, v in result.items()
            if isinstance(v, str | int | float | bool | os.PathLike | list | dict)}


def result_hash(result: Any) -> str | None:
    """The result hash of what a workflow returned or a job wrote (see the module's
    docstring for what each kind of result hashes).

    Parameters
    ----------
    result : path-like, mapping, xarray.Dataset, object with a ``path``, or None
        A store, file or folder path; a mapping of values (``evaluate``); a dataset kept in
        memory; an object with a ``path`` attribute (a model registry entry).

    Returns
    -------
    str or None
        ``sha256:<hex>``; None for None.

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND`` for a path that does not exist, ``STORE_INCOMPLETE`` for an
        unfinished store, ``INVALID_PARAMETER`` for a result of another type.
    """
    if result is None:
        return None
    if hasattr(result, "data_vars"):  # an xarray.Dataset
        return _dataset_hash(result)
    if isinstance(result, Mapping):
        text = json.dumps(_recorded_values(result), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    path = getattr(result, "path", result)
    if not isinstance(path, str | os.PathLike):
        raise PromethiumError.invalid(
            f"a {type(result).__name__} result has no result hash",
            hint="a result hash is defined for stores, files, folders, mappings and datasets")
    p = Path(path).expanduser()
    if not p.exists():
        raise PromethiumError(ErrorCode.PATH_NOT_FOUND, f"the result {p} does not exist",
                              hint="it was moved or deleted after it was written")
    if p.is_file():
        return "sha256:" + _sha256_file(p).hexdigest()
    if (p / "zarr.json").is_file() or p.name.endswith(".zarr"):
        from promethium_lab.io.store import store_hash

        return store_hash(p)
    return _folder_hash(p)


def result_facts(result: Any) -> dict[str, Any]:
    """What a report's provenance records of a result: its path (``output``) and, for a
    store, its ``reconstruction`` and ``metrics`` attributes.

    Parameters
    ----------
    result : Any
        What the workflow returned.

    Returns
    -------
    dict
        ``{"output": str | None}`` plus ``reconstruction`` and ``metrics`` when the store
        has them.
    """
    path = getattr(result, "path", result)
    if not isinstance(path, str | os.PathLike):
        return {"output": None}
    facts: dict[str, Any] = {"output": os.fspath(path)}
    from promethium_lab.io.store import store_attributes

    attrs = store_attributes(path)
    for key in ("reconstruction", "metrics"):
        if isinstance(attrs.get(key), dict):
            facts[key] = attrs[key]
    return facts


# ----------------------------------------------------------------------------- notebook
def reproduced_path(path: str | os.PathLike, output_dir: str | os.PathLike | None = None
                    ) -> Path:
    """Where a re-run writes the output that its job wrote to ``path``:
    ``<name>.reproduced<suffix>`` beside it, or in ``output_dir``.

    Parameters
    ----------
    path : path-like
        The job's output (``filled.zarr``, ``survey.sgy``).
    output_dir : path-like, optional
        Folder for the re-run's outputs (default: the original's folder).

    Returns
    -------
    Path
        E.g. ``filled.reproduced.zarr``; never the original path.
    """
    p = Path(path).expanduser()
    suffix = p.suffix
    stem = p.name[: -len(suffix)] if suffix else p.name
    folder = Path(output_dir).expanduser() if output_dir is not None else p.parent
    return folder / f"{stem}{REPRODUCED_SUFFIX}{suffix}"


def _literal(value: Any) -> str:
    """A JSON-safe value as Python source (``True``, ``None``); a dict of several entries
    one entry a line."""
    if isinstance(value, dict) and len(value) > 1:
        items = "".join(f"    {k!r}: {pprint.pformat(v, width=80, sort_dicts=False)},\n"
                        for k, v in value.items())
        return "{\n" + items + "}"
    return pprint.pformat(value, width=88, sort_dicts=False)


def _code(cell_id: str, source: str, tags: tuple[str, ...] = ()) -> Any:
    import nbformat

    cell = nbformat.v4.new_code_cell(source.strip("\n"),
                                     metadata={"tags": list(tags)} if tags else {})
    cell.id = cell_id  # stable ids: the same job gives the same notebook
    return cell


def reproduction_notebook(
    *,
    job_id: str,
    kind: str,
    target: str,
    params: Mapping[str, Any],
    changes: Mapping[str, Any],
    original_output: str | None,
    original_hash: str | None,
    source_param: str | None = None,
    finished: str | None = None,
) -> Any:
    """The notebook that re-runs one job: a ``parameters`` cell holding the job's values,
    a cell running the job's workflow function with them, the result hashes compared, and
    the provenance recorded (:func:`promethium_lab.workflows.report.record_provenance`,
    naming the job).

    Parameters
    ----------
    job_id, kind, target : str
        The job's id, kind and ``module:function``.
    params : mapping
        The job's parameters (JSON-safe, as recorded).
    changes : mapping
        What the re-run passes differently: its output paths (never the job's), and
        ``overwrite=True`` so it can run again.
    original_output, original_hash : str or None
        The job's output and its result hash (None when it kept no output).
    source_param : str, optional
        The parameter naming the input survey (its hash goes into the provenance).
    finished : str, optional
        When the job completed (ISO 8601), for the title.

    Returns
    -------
    nbformat.NotebookNode
        A version 4 notebook for the ``python3`` kernel.
    """
    import nbformat

    safe = json_safe(dict(params), strict=True)
    changed = json_safe(dict(changes), strict=True)
    outputs = [k for k in changed if k != "overwrite"]
    where = (", ".join(f"`{k}` → `{changed[k]}`" for k in outputs)
             if outputs else "nothing (the job wrote no output file)")
    title = nbformat.v4.new_markdown_cell(
        f"# Reproduce job `{job_id}` ({kind})\n\n"
        f"Runs `{target}` again with the parameters job `{job_id}` ran with"
        + (f" (completed {finished})" if finished else "") + ".\n"
        f"The re-run writes {where}, then compares its result hash with the job's: one sha256 "
        "over the shape, dtype and values of every array of the output (attributes such as "
        "times and metrics do not count). The last cell records the provenance, naming the "
        "job.\n\n"
        f"Written by `promethium-lab jobs reproduce {job_id}`; run it as a report with "
        f"`promethium-lab jobs reproduce {job_id} --run` (see `docs/reports.md`).")
    title.id = "title"
    parameters = _code("parameters", f"""
# parameters: job {job_id} as it ran
job_id = {_literal(job_id)}
kind = {_literal(kind)}
target = {_literal(target)}  # the function the job ran
params = {_literal(safe)}
# what the re-run passes differently: new output paths, never the job's own
changes = {_literal(changed)}
original_output = {_literal(original_output)}
original_hash = {_literal(original_hash)}  # result hash of original_output
require_match = False  # True: fail the run when the result hashes differ
""", tags=("parameters",))
    run = _code("run", """
from promethium_lab.jobs.registry import load_target
from promethium_lab.workflows.reproduce import result_facts, result_hash

workflow = load_target(target)
result = workflow(**{**params, **changes})
reproduced_hash = result_hash(result)
facts = result_facts(result)
print(f"{kind} wrote {facts['output'] or 'no file'}")
""")
    compare = _code("compare", """
matches = original_hash is not None and reproduced_hash == original_hash
print(f"original    {original_output}\\n            {original_hash}")
print(f"reproduced  {facts['output']}\\n            {reproduced_hash}")
if original_hash is None:
    print("no original result to compare with")
else:
    print("the same result" if matches else "DIFFERENT results")
if require_match and not matches:
    raise AssertionError(f"job {job_id}: result {reproduced_hash} != {original_hash}")
""")
    source = f"params.get({source_param!r})" if source_param else "None"
    provenance = _code("provenance", f"""
from promethium_lab.workflows.report import record_provenance

_ = record_provenance(
    {source},
    reconstruction=facts.get("reconstruction"),
    metrics=facts.get("metrics"),
    job_id=job_id,
    reproduce={{"job_id": job_id, "kind": kind, "target": target, "parameters": params,
               "changes": changes, "original_output": original_output,
               "original_hash": original_hash, "output": facts["output"],
               "result_hash": reproduced_hash, "matches": matches}},
)
""")
    return nbformat.v4.new_notebook(
        cells=[title, parameters, run, compare, provenance],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"},
                  "language_info": {"name": "python"},
                  "promethium": {"reproduces": job_id}})
