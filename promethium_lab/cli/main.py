"""``promethium-lab`` command line: the workflows from a shell."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from promethium_lab.cli._common import CliApp, parse_params, set_debug
from promethium_lab.cli.jobs_cmd import jobs_app, run_cmd
from promethium_lab.core.errors import PromethiumError
from promethium_lab.io.segy_spec import SampleFormat

__all__ = ["app", "main"]

app = CliApp(
    name="promethium-lab",
    help="Seismic data reconstruction: ingest SEG-Y/miniSEED/SAC to Zarr, inspect, export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option(
        "--debug", help="print the traceback of an unexpected error instead of writing it "
        "to a log file (also PROMETHIUM_DEBUG=1)")] = False,
) -> None:
    """Seismic data reconstruction: ingest SEG-Y/miniSEED/SAC to Zarr, inspect, export."""
    set_debug(debug)


def _key_bytes(**kw: int | None) -> dict[str, int]:
    return {k: v for k, v in kw.items() if v is not None}


def _patterns(fast: str | None) -> tuple[str, ...] | None:
    if fast is None:
        return None
    names = [d.strip() for d in fast.split(",") if d.strip()]
    return () if names in ([], ["none"]) else tuple(names)


Geometry = Annotated[str, typer.Option(
    help="auto, poststack3d, poststack2d, shot, cdp_offset or irregular")]
Byte = Annotated[int | None, typer.Option(min=1, max=237)]
KeepTruncated = Annotated[bool, typer.Option(
    "--keep-truncated", help="miniSEED whose last record is cut: keep the whole records and "
    "mask the lost span in sample_mask (default: refuse the file)")]


@app.command()
def info(
    file: Annotated[Path, typer.Argument(help="SEG-Y/SU/miniSEED/SAC file or Zarr store")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    keep_truncated: KeepTruncated = False,
) -> None:
    """Summarise a survey file or store."""
    from promethium_lab.workflows.info import describe, format_summary

    summary = describe(file, **({"truncated": "keep"} if keep_truncated else {}))
    typer.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="SEG-Y/SU/miniSEED/SAC file")],
    store: Annotated[Path, typer.Argument(help="output Zarr store (folder)")],
    geometry: Geometry = "auto",
    inline_byte: Byte = None,
    crossline_byte: Byte = None,
    cdp_byte: Byte = None,
    offset_byte: Byte = None,
    shot_byte: Byte = None,
    channel_byte: Byte = None,
    endian: Annotated[str, typer.Option(help="auto, big or little")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="replace an existing store")] = False,
    fast: Annotated[str | None, typer.Option(
        "--fast", help="comma-separated dims that get an exact fast-slice copy (MDIO's "
        "fast_<dim>, each as large as the amplitude), e.g. 'time' (default: none)")] = None,
    views: Annotated[str | None, typer.Option(
        "--views", help="comma-separated dims that get a compact, lossy copy for viewing "
        "slices; 'none' for none (default: every dim of a 3-D grid)")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="writer threads")] = None,
    block_mb: Annotated[float, typer.Option(
        "--block-mb", hidden=True, min=0.001, help="uncompressed MB per block of work")] = 64.0,
    keep_truncated: KeepTruncated = False,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="write the blocks on the Dask cluster at this address "
        "(tcp://host:8786); its workers must see FILE and STORE at the same paths")] = None,
    dask_workers: Annotated[int | None, typer.Option(
        "--dask-workers", min=1, help="write the blocks on a Dask LocalCluster of this many "
        "worker processes on this machine")] = None,
) -> None:
    """Ingest a file into a chunked, compressed Zarr store (resumes an interrupted run)."""
    from promethium_lab.workflows.info import describe, format_summary
    from promethium_lab.workflows.ingest import ingest as run

    with _cluster_client(scheduler, dask_workers) as client:
        out = run(file, store, geometry=geometry, endian=endian, overwrite=overwrite,
                  access_patterns=_patterns(fast), views=_patterns(views), workers=workers,
                  block_mb=block_mb, truncated="keep" if keep_truncated else "error",
                  client=client,
                  **_key_bytes(inline_byte=inline_byte, crossline_byte=crossline_byte,
                               cdp_byte=cdp_byte, offset_byte=offset_byte,
                               shot_byte=shot_byte, channel_byte=channel_byte))
    typer.echo(format_summary(describe(out)))
    typer.echo(f"store       {out}")


@contextmanager
def _cluster_client(scheduler: str | None, n_workers: int | None) -> Iterator[Any]:
    """A Dask client for ``--scheduler`` / ``--dask-workers`` (None without either),
    closed (with the LocalCluster it started) on the way out."""
    if scheduler is None and n_workers is None:
        yield None
        return
    if scheduler is not None and n_workers is not None:
        raise PromethiumError.invalid(
            "--scheduler and --dask-workers both name a cluster",
            hint="give a scheduler address, or a number of local workers, not both")
    from promethium_lab.jobs.executors import DaskExecutor

    executor = DaskExecutor(scheduler, n_workers=n_workers or 2)
    try:
        yield executor.client
    finally:
        executor.close(settle_s=0)


@app.command()
def export(
    store: Annotated[Path, typer.Argument(help="Zarr store written by ingest (or MDIO)")],
    file: Annotated[Path, typer.Argument(help="output SEG-Y file")],
    format: Annotated[str, typer.Option(
        "--format", help="'source' (keep the source's) or a SEG-Y sample format: "
        + ", ".join(f.label for f in SampleFormat))] = "source",
    overwrite: Annotated[bool, typer.Option(help="replace an existing file")] = False,
    live_only: Annotated[bool, typer.Option(
        "--live-only", help="write only the live traces, byte-identical to the source "
        "(default: every grid cell, filled traces with synthesised headers)")] = False,
) -> None:
    """Export a store to SEG-Y with every header of the source."""
    from promethium_lab.workflows.export import export as run

    out = run(store, file, format=format, overwrite=overwrite,
              **({"live_only": True} if live_only else {}))
    typer.echo(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MB)")


@app.command()
def reconstruct(
    source: Annotated[Path, typer.Argument(help="survey file or Zarr store with holes")],
    out: Annotated[Path, typer.Argument(help="output Zarr store")],
    method: Annotated[str, typer.Option(
        help="auto, pwd, mssa, pocs, linear, nearest, sinc; deep (classical fill + a "
        "residual network trained on the survey, kept only when it validates), unet, "
        "autoencoder or pinn")] = "auto",
    model: Annotated[str | None, typer.Option(
        help="registered model name or path (deep methods)")] = None,
    reference: Annotated[Path | None, typer.Option(
        help="complete survey to measure against")] = None,
    overlap: Annotated[int, typer.Option(min=0, help="extra traces around each block")] = 16,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="method parameter KEY=VALUE (repeatable), e.g. -p rank=6")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing store")] = False,
) -> None:
    """Fill the absent traces of a survey into a new store, with its metrics."""
    from promethium_lab.io.store import open_store
    from promethium_lab.workflows.reconstruct import reconstruct as run

    params = parse_params(param or [])
    if model is not None:
        params["model"] = model
    path = run(source, method=method, out=out, reference=reference, overlap=overlap,
               overwrite=overwrite, **params)
    attrs = open_store(path).attrs
    typer.echo(f"method      {attrs.get('reconstruction', {}).get('chosen', method)}")
    deep = attrs.get("reconstruction", {}).get("deep")
    if isinstance(deep, dict):
        typer.echo(f"deep        {'kept' if deep.get('kept') else 'not kept'} over "
                   f"{deep.get('classical')} ({deep.get('reason', '')})")
    for key, value in (attrs.get("metrics") or {}).items():
        if isinstance(value, float):
            typer.echo(f"{key:<18}{value:.3f}")
    typer.echo(f"store       {path}")


@app.command()
def train(
    source: Annotated[str, typer.Argument(help="survey file/store, or 'synthetic'")],
    model: Annotated[str, typer.Option(
        help="unet, autoencoder, pinn, or a registered model to fine-tune")] = "unet",
    name: Annotated[str | None, typer.Option(help="registry name")] = None,
    registry: Annotated[Path | None, typer.Option(help="registry folder")] = None,
    max_epochs: Annotated[int, typer.Option(min=1)] = 5,
    seed: Annotated[int, typer.Option()] = 0,
    resume: Annotated[Path | None, typer.Option(help="checkpoint to resume from")] = None,
) -> None:
    """Train a deep reconstruction model on a survey (self-supervised) and register it."""
    from promethium_lab.workflows.train import train as run

    entry = run(source, model=model, name=name, out=registry, max_epochs=max_epochs,
                seed=seed, resume=resume)
    typer.echo(f"model       {entry.name} v{entry.version} ({entry.architecture})")
    for key, value in (entry.metadata.get("metrics") or {}).items():
        if isinstance(value, float):
            typer.echo(f"{key:<18}{value:.4g}")
    typer.echo(f"saved       {entry.path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("promethium_demo"),
    method: Annotated[str, typer.Option(help="reconstruction method")] = "auto",
    fraction: Annotated[float, typer.Option(help="fraction of traces removed")] = 0.5,
    seed: Annotated[int, typer.Option(help="seed of the removal")] = 0,
) -> None:
    """Main job on bundled real data: ingest → decimate → reconstruct → metrics → PNGs."""
    from promethium_lab.workflows.demo import run_demo
    from promethium_lab.workflows.info import format_summary

    summary = run_demo(out, method=method, fraction=fraction, seed=seed)
    typer.echo(format_summary(summary))
    typer.echo(f"store       {summary['store']}")
    m = summary["metrics"]
    typer.echo(f"removed     {summary['decimation']['fraction']:.0%} of the traces at random "
               f"(seed {summary['decimation']['seed']})")
    typer.echo(f"method      {summary['reconstruction'].get('chosen')}")
    for key, label in (("snr_missing_db", "SNR on removed traces"), ("snr_db", "SNR"),
                       ("psnr_db", "PSNR"), ("ssim", "SSIM")):
        if key in m:
            unit = "" if key == "ssim" else " dB"
            typer.echo(f"{label:<22}{m[key]:.3f}{unit}")
    typer.echo(f"result      {summary['reconstructed_store']}")
    typer.echo(f"section     {summary['section_png']}")
    typer.echo(f"compare     {summary['before_after_png']}")


@app.command()
def report(
    notebook: Annotated[Path, typer.Argument(
        help="parameterised notebook, e.g. notebooks/03_qc_report.ipynb")],
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="notebook parameter KEY=VALUE (repeatable; JSON values), "
        "e.g. -p method=pocs -p fraction=0.3")] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("reports"),
    kernel: Annotated[str, typer.Option(help="Jupyter kernel to run it in")] = "python3",
    progress: Annotated[bool, typer.Option(help="progress bar (one step per cell)")] = True,
    job_id: Annotated[str | None, typer.Option(
        help="the job the report is about, recorded in its provenance "
        "(default: $PROMETHIUM_JOB_ID)")] = None,
) -> None:
    """Run a notebook as a report: executed .ipynb + HTML, with its provenance."""
    from promethium_lab.workflows.report import run_report

    result = run_report(notebook, parse_params(param or []), out, progress=progress,
                        kernel_name=kernel, job_id=job_id)
    typer.echo(f"notebook    {result.notebook}")
    typer.echo(f"html        {result.html} ({result.html.stat().st_size / 2**20:.1f} MB)")


def main(argv: list[str] | None = None) -> int:
    """Entry point usable from Python: returns the exit status."""
    # standalone mode: click prints usage errors and turns every exit into SystemExit
    # (with standalone_mode=False it returns typer.Exit's code instead, which was lost)
    try:
        app(args=argv, prog_name="promethium-lab")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


# jobs: `promethium-lab jobs list|show|cancel`, `promethium-lab run KIND`
app.add_typer(jobs_app, name="jobs")
app.command("run")(run_cmd)

if __name__ == "__main__":
    sys.exit(main())
