"""Reports: run a parameterised notebook with Papermill into an executed notebook and HTML,
with its provenance in the notebook's metadata and as a table in its first cell.

A notebook records what it read and did by calling :func:`record_provenance` (usually in
its last cell); :func:`run_report` adds what only the runner knows (parameters, wall and CPU
time, job id), stores the whole in ``metadata["promethium"]["provenance"]`` and inserts the
table as the first cell. See ``docs/reports.md``.

The function lives here, not in :mod:`promethium_lab.reports` (which re-exports it), because
every front end calls the workflows and the front ends may not import each other.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from promethium_lab.core.errors import ErrorCode, PromethiumError

__all__ = [
    "PROVENANCE_MIME",
    "ReportResult",
    "collect_provenance",
    "offline_html",
    "provenance_table",
    "record_provenance",
    "run_report",
    "static_outputs",
]

#: MIME type of the output :func:`record_provenance` leaves for :func:`run_report`
PROVENANCE_MIME = "application/vnd.promethium.provenance+json"
#: packages whose versions every report records
PACKAGES = ("promethium_lab", "numpy", "xarray", "zarr", "torch", "segyio", "obspy",
            "papermill", "nbconvert")
#: script output types (BokehJS, HoloViews) dropped from the HTML
_SCRIPT = ("application/javascript", "application/vnd.holoviews", "application/vnd.bokehjs")
#: what is dropped from an output that has a static PNG (or a script) beside it
_INTERACTIVE = (*_SCRIPT, "text/html")


@dataclass(frozen=True)
class ReportResult:
    """A finished report.

    Attributes
    ----------
    notebook : Path
        The executed notebook (``<out_dir>/<name>.ipynb``).
    html : Path
        Its HTML export (``<out_dir>/<name>.html``).
    provenance : dict
        What was stored in ``metadata["promethium"]["provenance"]``.
    """

    notebook: Path
    html: Path
    provenance: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- provenance


def _mask_hash(mask: Any) -> str:
    """``sha256:<hex>`` of a boolean trace mask's shape and packed bits."""
    m = np.ascontiguousarray(np.asarray(mask, dtype=bool))
    h = hashlib.sha256(f"{m.shape}".encode())
    h.update(np.packbits(m, axis=None).tobytes())
    return "sha256:" + h.hexdigest()


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name.replace("_", "-"))
        except PackageNotFoundError:
            out[name] = None
    return out


def _cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _hardware() -> dict[str, Any]:
    """CPU and GPU of this process; the GPU through torch when it imports (guarded)."""
    hw: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                          "cpu": _cpu_model(),
                          "cpu_count": os.cpu_count(), "gpu": None, "cuda": None, "driver": None}
    try:
        import torch

        if torch.cuda.is_available():
            hw["gpu"] = ", ".join(torch.cuda.get_device_name(i)
                                  for i in range(torch.cuda.device_count()))
            hw["cuda"] = torch.version.cuda
    except Exception:  # no torch, or a broken CUDA install: the report still runs
        pass
    try:
        first = Path("/proc/driver/nvidia/version").read_text().splitlines()[0]
        hw["driver"] = " ".join(first.split()[:8])
    except (OSError, IndexError):
        pass
    return hw


def _model(reconstruction: dict[str, Any] | None) -> dict[str, Any] | None:
    """Name, version and checkpoint hash of the deep model a reconstruction used."""
    if not reconstruction:
        return None
    from promethium_lab.ml.methods import DEEP_METHODS

    chosen = reconstruction.get("chosen", reconstruction.get("method"))
    if chosen not in DEEP_METHODS:
        return None
    from promethium_lab.ml.registry import DEFAULT_MODELS

    ref = (reconstruction.get("params") or {}).get("model") or DEFAULT_MODELS.get(chosen, chosen)
    try:
        from promethium_lab.ml.registry import resolve

        entry = resolve(ref)
    except Exception as exc:  # recorded, not fatal: the report shows what is unknown
        return {"ref": str(ref), "error": str(exc)}
    return {"ref": str(ref), "name": entry.name, "version": entry.version,
            "weights_sha256": entry.metadata.get("weights_sha256"),
            "path": str(entry.path)}


def collect_provenance(source: str | os.PathLike | None = None, *, dataset: Any = None,
                       reconstruction: dict[str, Any] | None = None,
                       decimation: dict[str, Any] | None = None,
                       job_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """JSON-safe provenance of a result.

    Parameters
    ----------
    source : path, optional
        The input survey file (or store): its sha256, headers digest, geometry and dims.
    dataset : xarray.Dataset, optional
        The survey as it was reconstructed: the hash of its ``trace_mask``.
    reconstruction : dict, optional
        ``attrs["reconstruction"]`` of the result (method, parameters); for a deep method
        the model's registry version and checkpoint hash are added.
    decimation : dict, optional
        How traces were removed (pattern, fraction, seed).
    job_id : str, optional
        The job this ran in (default: ``$PROMETHIUM_JOB_ID`` when set).
    **extra
        More JSON-safe facts (e.g. ``metrics``).

    Returns
    -------
    dict
        ``input``, ``trace_mask``, ``decimation``, ``method``, ``model``,
        ``store_format_version``, ``versions``, ``hardware``, ``job_id``, ``time`` and
        ``extra``'s keys.
    """
    from promethium_lab.core.serialize import json_safe
    from promethium_lab.io.store import FORMAT_VERSION

    prov: dict[str, Any] = {}
    if source is not None:
        from promethium_lab.workflows.info import describe
        from promethium_lab.workflows.reproduce import result_hash  # a file's: its sha256

        path = Path(source).expanduser().resolve()
        info = describe(path, amplitudes=False)
        prov["input"] = {"path": str(path),
                         "sha256": result_hash(path) if path.is_file() else None,
                         "size_bytes": path.stat().st_size if path.is_file() else None,
                         "headers_digest": info["headers_digest"],
                         "geometry": info["geometry"], "dims": info["dims"],
                         "traces": info["traces"], "absent_traces": info["absent_traces"]}
    if dataset is not None and "trace_mask" in dataset:
        mask = np.asarray(dataset["trace_mask"].values, dtype=bool)
        prov["trace_mask"] = {"sha256": _mask_hash(mask), "live": int(mask.sum()),
                              "absent": int(mask.size - mask.sum())}
    if decimation is not None:
        prov["decimation"] = dict(decimation)
    if reconstruction:
        prov["method"] = {"name": reconstruction.get("chosen", reconstruction.get("method")),
                          "requested": reconstruction.get("method"),
                          "params": reconstruction.get("params", {}),
                          "seconds": reconstruction.get("seconds")}
    prov["model"] = _model(reconstruction)
    prov["store_format_version"] = FORMAT_VERSION
    prov["versions"] = _versions()
    prov["hardware"] = _hardware()
    prov["job_id"] = job_id or os.environ.get("PROMETHIUM_JOB_ID")
    try:
        import resource

        own = resource.getrusage(resource.RUSAGE_SELF)
        cpu = own.ru_utime + own.ru_stime
    except ImportError:  # pragma: no cover - not POSIX
        cpu = time.process_time()
    prov["time"] = {"process_cpu_s": round(cpu, 3)}
    prov.update(extra)
    return json_safe(prov)


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(_flatten(value, name + "."))
        else:
            rows.append((name, value))
    return rows


def _cell_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def provenance_table(prov: dict[str, Any], *, as_html: bool = True) -> str:
    """The provenance as a two-column table (``field``, ``value``), nested keys dotted.

    Parameters
    ----------
    prov : dict
        From :func:`collect_provenance` (or a report's metadata).
    as_html : bool, default True
        HTML ``<table>``; False gives aligned plain text.
    """
    rows = [(k, _cell_text(v)) for k, v in _flatten(prov)]
    if not as_html:
        width = max((len(k) for k, _ in rows), default=0)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
    body = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(v)}</td></tr>"
                   for k, v in rows)
    return ('<table class="promethium-provenance"><thead><tr><th>field</th><th>value</th>'
            f"</tr></thead><tbody>{body}</tbody></table>")


def record_provenance(source: str | os.PathLike | None = None, **kwargs: Any) -> dict[str, Any]:
    """Collect the provenance (:func:`collect_provenance`) and display it in the notebook.

    The output carries the JSON under :data:`PROVENANCE_MIME`, which :func:`run_report`
    reads back into the executed notebook's metadata.

    Returns
    -------
    dict
        The provenance.
    """
    prov = collect_provenance(source, **kwargs)
    try:
        from IPython.display import display

        display({PROVENANCE_MIME: prov, "text/html": provenance_table(prov),
                 "text/plain": provenance_table(prov, as_html=False)}, raw=True)
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        pass
    return prov


# ----------------------------------------------------------------------------- running


def _recorded(nb: Any) -> dict[str, Any]:
    """The provenance a notebook recorded with :func:`record_provenance` (the last one)."""
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            if PROVENANCE_MIME in data:
                value = data[PROVENANCE_MIME]
                found = json.loads(value) if isinstance(value, str) else dict(value)
    return found


#: nbconvert's lab template without the scripts it loads from a CDN (require.js for
#: interactive outputs, which :func:`static_outputs` removes, and MathJax): a report reads
#: offline and asks no other host for anything.
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
"""


def offline_html(nb: Any) -> str:
    """The HTML page of ``nb`` (nbconvert's lab template) that loads nothing from the
    network; pass it :func:`static_outputs` first so no output needs JavaScript."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_loaders=[DictLoader({"promethium_offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="promethium_offline.html.j2")
    body, _ = exporter.from_notebook_node(nb)
    return body


def static_outputs(nb: Any) -> Any:
    """A copy of ``nb`` for export: where an output has an ``image/png``, its interactive
    representations (BokehJS/HoloViews HTML and JavaScript) are dropped; outputs that only
    load JavaScript (e.g. ``hv.extension``) are dropped. Keeps the HTML small and static."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is None:
                kept.append(out)  # streams, errors
                continue
            if not data:
                continue  # an empty display (HoloViews' comm placeholder)
            js = any(k.startswith(_SCRIPT) for k in data)
            if "image/png" in data or js:
                for key in [k for k in data if k.startswith(_INTERACTIVE)]:
                    del data[key]
                if "image/png" not in data and set(data) <= {"text/plain"}:
                    continue  # a JavaScript loader with nothing static to show
            out.get("metadata", {}).pop("application/vnd.holoviews_exec.v0+json", None)
            kept.append(out)
        cell["outputs"] = kept
    return nb


def _provenance_cell(prov: dict[str, Any]) -> Any:
    import nbformat

    cell = nbformat.v4.new_code_cell(
        "# Provenance of this report, added by promethium-lab report\n"
        "# (the same as JSON: metadata['promethium']['provenance'])",
        metadata={"tags": ["provenance"]})
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"text/html": "<h3>Provenance</h3>" + provenance_table(prov),
                              "text/plain": provenance_table(prov, as_html=False)})]
    return cell


def _failed_cell(err: Any) -> str:
    lines = [ln for ln in (getattr(err, "source", "") or "").splitlines() if ln.strip()]
    first = f' ("{lines[0].strip()[:60]}")' if lines else ""
    return f"cell In [{getattr(err, 'exec_count', '?')}]{first}"


def _quiet_kernel_manager(log: Any) -> type:
    """A kernel manager whose kernels write their stderr to ``log`` (an open file), so the
    kernel's own warnings and crash messages do not mix with the caller's output."""
    from jupyter_client.manager import AsyncKernelManager

    class _KernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:
            kw.setdefault("stderr", log)
            await super().start_kernel(**kw)

    return _KernelManager


def run_report(notebook: str | os.PathLike, parameters: dict[str, Any] | None = None,
               out_dir: str | os.PathLike = "reports", *, progress: bool = True,
               kernel_name: str = "python3", job_id: str | None = None) -> ReportResult:
    """Run a parameterised notebook with Papermill; write ``<out_dir>/<name>.ipynb`` and
    ``<out_dir>/<name>.html``.

    The executed notebook is written as ``<name>.ipynb.partial`` and renamed when the run,
    the provenance and the HTML export are complete. When a cell raises, the executed
    notebook is kept as ``<name>.failed.ipynb`` (no HTML), the kernel's stderr as
    ``<name>.failed.log`` when it wrote any, and a typed error names the cell.

    Parameters
    ----------
    notebook : path
        A notebook with a cell tagged ``parameters``.
    parameters : dict, optional
        JSON-safe values injected by Papermill after that cell.
    out_dir : path
        Output folder (made if needed).
    progress : bool, default True
        Papermill's tqdm progress bar (one step per cell).
    kernel_name : str, default "python3"
        Jupyter kernel to run it in.
    job_id : str, optional
        Recorded in the provenance (default: ``$PROMETHIUM_JOB_ID``).

    Returns
    -------
    ReportResult

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND`` (no notebook), ``INVALID_PARAMETER`` (not a notebook, values
        not JSON),
        ``BAD_OUTPUT_PATH``, ``REPORT_FAILED`` (a cell raised; names the cell).
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from promethium_lab.io.formats import make_output_folder, partial_path

    src = Path(notebook).expanduser()
    if not src.is_file():
        raise PromethiumError(ErrorCode.PATH_NOT_FOUND, f"no notebook {src}",
                              hint="give an .ipynb file, e.g. notebooks/03_qc_report.ipynb")
    try:
        nbformat.read(src, as_version=4)
    except Exception as err:  # JSON or schema errors: not a notebook at all
        raise PromethiumError.invalid(
            f"{src} is not a Jupyter notebook ({type(err).__name__})",
            hint="give an .ipynb file, e.g. notebooks/03_qc_report.ipynb") from None
    params = dict(parameters or {})
    try:
        json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise PromethiumError.invalid(
            f"report parameters are not JSON-safe: {err}",
            hint="pass numbers, strings, booleans, lists or null") from None
    out = make_output_folder(out_dir, "the report")
    name = src.stem
    final_nb, final_html = out / f"{name}.ipynb", out / f"{name}.html"
    part_nb, part_html = partial_path(final_nb, keep_suffix=True), partial_path(final_html)
    failed, failed_log = out / f"{name}.failed.ipynb", out / f"{name}.failed.log"
    kernel_log = partial_path(out / f"{name}.kernel.log")
    for stale in (part_nb, part_html, failed, failed_log):
        stale.unlink(missing_ok=True)

    started, cpu0 = time.perf_counter(), time.process_time()
    try:
        with open(kernel_log, "wb") as log:
            pm.execute_notebook(str(src), str(part_nb), parameters=params,
                                kernel_name=kernel_name, progress_bar=progress,
                                kernel_manager_class=_quiet_kernel_manager(log))
    except PapermillExecutionError as err:
        if part_nb.exists():
            os.replace(part_nb, failed)
        if kernel_log.exists() and kernel_log.stat().st_size:
            os.replace(kernel_log, failed_log)
        evalue = " ".join(str(err.evalue).split())[:300]
        raise PromethiumError(
            ErrorCode.REPORT_FAILED,
            f"{src.name} failed in {_failed_cell(err)}: {err.ename}: {evalue}",
            hint=f"the executed notebook is kept as {failed}; no report was written") from None
    except BaseException:
        part_nb.unlink(missing_ok=True)
        raise
    finally:
        kernel_log.unlink(missing_ok=True)
    wall = time.perf_counter() - started

    try:
        nb = nbformat.read(part_nb, as_version=4)
        prov = _recorded(nb) or collect_provenance(job_id=job_id)
        if job_id:
            prov["job_id"] = job_id
        prov["report"] = {"notebook": str(src.resolve()), "parameters": params,
                          "kernel": kernel_name}
        prov["time"] = {**prov.get("time", {}), "wall_s": round(wall, 3),
                        "runner_cpu_s": round(time.process_time() - cpu0, 3)}
        if "process_cpu_s" in prov["time"]:
            prov["time"]["kernel_cpu_s"] = prov["time"].pop("process_cpu_s")
        nb.metadata.setdefault("promethium", {})["provenance"] = prov
        nb.cells.insert(0, _provenance_cell(prov))
        nbformat.write(nb, part_nb)
        body = offline_html(static_outputs(nb))
        part_html.write_text(body, encoding="utf-8")
        os.replace(part_html, final_html)
        os.replace(part_nb, final_nb)
    except BaseException:
        part_nb.unlink(missing_ok=True)
        part_html.unlink(missing_ok=True)
        raise
    return ReportResult(notebook=final_nb, html=final_html, provenance=prov)

