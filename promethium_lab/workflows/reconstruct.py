"""Reconstruct missing traces of a survey, in memory or streamed store to store."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.context import TaskContext, ensure_context
from promethium_lab.core.errors import PromethiumError
from promethium_lab.core.serialize import json_safe
from promethium_lab.io.blocks import budget_step, filled_survey, middle_section, run_blocks, tile
from promethium_lab.ml.methods import (  # methods served by trained networks
    DEEP_METHODS,
    RESIDUAL_METHODS,
    is_deep_method,
)

__all__ = ["DEEP_METHODS", "evaluate", "reconstruct"]

_IN_MEMORY_LIMIT = 2 * 2**30  # bytes of amplitude reconstructed without ``out=``
_BLIND_LIMIT = 64 * 2**20  # blind quality estimate on the whole survey up to this size


def _open(source: str | os.PathLike | xr.Dataset) -> xr.Dataset:
    if isinstance(source, xr.Dataset):
        return source
    from promethium_lab.workflows.ingest import open_survey

    return open_survey(source)


def _method_fn(method: str, params: dict[str, Any], context: TaskContext | None):
    """``fn(ds) -> filled ds`` for a classical or a deep method."""
    if method in RESIDUAL_METHODS:  # classical fill + residual net trained on the window
        from promethium_lab.ml.residual import reconstruct_residual

        def residual(ds: xr.Dataset) -> xr.Dataset:
            return reconstruct_residual(ds, **{"context": context, **params})

        return residual
    if method in DEEP_METHODS:
        from promethium_lab.ml import reconstruct_deep

        def deep(ds: xr.Dataset) -> xr.Dataset:
            return reconstruct_deep(ds, method=method, context=None, **params)

        return deep
    from promethium_lab.signal.reconstruct import reconstruct as classical

    def fn(ds: xr.Dataset) -> xr.Dataset:
        return classical(ds, method=method, **params)

    return fn


class _BlockReconstructor:
    """Reconstructs one block of trace cells (the "process this block" the block runner
    calls). Deep methods run the windows of the survey's global grid that touch the block
    (:func:`promethium_lab.ml.reconstruct.deep_blocks`: the survey is tiled once, here);
    windowed classical methods (POCS, MSSA, PWD) get the block plus the whole survey's
    windows that reach into it (a :class:`BlockGrid`); in both cases blocks come out
    exactly as one pass over the survey would, and only the windows that straddle block
    edges are computed twice. Other methods get a margin of ``overlap`` traces on every
    side, computed and dropped. Picklable, so blocks can run on Dask workers."""

    def __init__(self, ds: xr.Dataset, method: str, params: dict[str, Any], overlap: int,
                 context: TaskContext | None = None) -> None:
        keep = [v for v in ("amplitude", "trace_mask") if v in ds]
        self.ds = ds[keep]
        self.method, self.params, self.overlap = method, params, overlap
        self.context = context
        self.deep_info: list[dict[str, Any]] = []  # attrs["deep"] of each block ("deep")
        self.windows = _survey_windows(self.ds, method, params)
        self.deep = None
        if method in DEEP_METHODS:
            from promethium_lab.ml.reconstruct import deep_blocks

            self.deep = deep_blocks(self.ds, method=method, **params)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "context": None}

    def __call__(self, sl: tuple[slice, ...]) -> np.ndarray:
        from promethium_lab.signal.reconstruct.windows import BlockGrid, block_extent

        if self.deep is not None:
            out = self.deep(sl)
            if self.context is not None:
                self.context.preview(middle_section(
                    xr.DataArray(out, dims=self.ds["amplitude"].dims)))
            return out
        dims = self.ds["amplitude"].dims[:-1]
        shape = tuple(self.ds.sizes[d] for d in dims)
        params = dict(self.params)
        if self.windows is None:
            wide = tuple(slice(max(0, s.start - self.overlap), min(n, s.stop + self.overlap))
                         for s, n in zip(sl, shape))
        else:
            sizes, overlaps = self.windows
            wide = tuple(slice(*block_extent(n, w, o, s.start, s.stop))
                         for s, n, w, o in zip(sl, shape, sizes, overlaps))
        crop = tuple(slice(s.start - w.start, s.stop - w.start) for s, w in zip(sl, wide))
        if self.windows is not None:
            params["grid"] = BlockGrid(origin=tuple(w.start for w in wide), shape=shape,
                                       core=crop)
        # synchronous: inside a Dask worker task the default scheduler is the cluster
        window = self.ds.isel(dict(zip(dims, wide))).load(scheduler="synchronous")
        mask = np.asarray(window["trace_mask"].values, dtype=bool)
        if mask.all() or not mask.any():  # nothing to fill, or nothing to fill it from
            return np.asarray(window["amplitude"].values[crop], dtype=np.float32)
        if self.method in RESIDUAL_METHODS and self.context is not None:
            params["context"] = TaskContext(is_canceled=self.context.should_stop)
        filled = _method_fn(self.method, params, None)(window)
        if "deep" in filled.attrs:
            self.deep_info.append(filled.attrs["deep"])
        out = np.asarray(filled["amplitude"].values[crop], dtype=np.float32)
        if self.context is not None:
            self.context.preview(middle_section(filled["amplitude"].isel(dict(zip(dims, crop)))))
        return out


def _survey_windows(ds: xr.Dataset, method: str,
                    params: dict[str, Any]) -> tuple[list[int], list[int]] | None:
    """Window and overlap sizes a windowed classical method uses on the whole survey
    (trace dims only), or None for the other methods."""
    from promethium_lab.signal.reconstruct.windows import WINDOW_DEFAULTS, resolve_windows

    defaults = WINDOW_DEFAULTS.get(method, {}).get(ds["trace_mask"].ndim)
    if defaults is None:
        return None
    amp = ds["amplitude"]
    sizes, overlaps = resolve_windows(amp.shape, amp.dims, params.get("window"),
                                      params.get("overlap"), defaults)
    return sizes[:-1], overlaps[:-1]


def _preview_from_store(ctx: TaskContext, partial: Path, sl: tuple[slice, ...],
                        template: xr.Dataset) -> None:
    """Publish the middle section of a block just written to the partial store."""
    if ctx.on_preview is None:
        return
    import zarr

    dims = template["amplitude"].dims
    data = zarr.open_array(partial / "amplitude", mode="r")[(*sl, slice(None))]
    coords = {d: template[d].values[s] for d, s in zip(dims[:-1], sl) if d in template.coords}
    coords["time"] = template["time"].values
    ctx.preview(middle_section(xr.DataArray(data, dims=dims, coords=coords)))


def _choose_method(ds: xr.Dataset, method: str, params: dict[str, Any]) -> tuple[str, dict]:
    """Resolve ``auto`` once, on a representative window, so every block uses one method."""
    if method != "auto":
        return method, {}
    from promethium_lab.signal.reconstruct.auto import choose_method

    # the blind test only: the chosen method then runs once, block by block
    auto_params = {k: params[k] for k in ("candidates", "seed", "hidings") if k in params}
    info = choose_method(_auto_sample(ds), **auto_params)
    return str(info["chosen"]), info


def _auto_sample(ds: xr.Dataset, side: int = 64, n_probes: int = 64) -> xr.Dataset:
    """What ``auto`` decides on: the whole survey up to 64 MB, else a window of ``side``
    traces per trace dim that holds both live and absent traces, placed where the live
    traces carry the most energy (the traces that decide the SNR). The energy comes from
    ``n_probes`` whole traces of ``amplitude`` (lossless) on an even grid over the trace
    dims (an absent one takes its nearest live neighbour's), each standing for the traces
    nearest to it: cheap, as each probe decodes about one chunk of a store and a lazy
    survey reads nothing else."""
    from scipy.ndimage import distance_transform_edt, uniform_filter

    keep = ds[["amplitude", "trace_mask"]]
    amp = ds["amplitude"]
    if amp.nbytes <= _BLIND_LIMIT:
        return keep.load()
    dims = amp.dims[:-1]
    mask = np.asarray(ds["trace_mask"].transpose(*dims).values, dtype=bool)
    sizes = [min(side, n) for n in mask.shape]
    holes = uniform_filter((~mask).astype(np.float64), size=sizes, mode="constant")
    live = uniform_filter(mask.astype(np.float64), size=sizes, mode="constant")
    usable = (holes > 0) & (live > 0)
    if not usable.any():  # holes only where no live trace is near: take any live place
        usable = live > 0
    per_dim = max(2, round(n_probes ** (1 / len(dims))))
    probes = [np.unique(np.linspace(0, n - 1, min(n, per_dim)).round().astype(int))
              for n in mask.shape]
    traces = amp.isel(dict(zip(dims, probes))).transpose(*dims, amp.dims[-1]).values
    probe_energy = np.sum(np.asarray(traces, dtype=np.float64) ** 2, axis=-1)
    live_probe = mask[np.ix_(*probes)]
    if live_probe.any():  # an absent probe takes the energy of the nearest live one
        nearest = distance_transform_edt(~live_probe, return_distances=False,
                                         return_indices=True)
        probe_energy = probe_energy[tuple(nearest)]
    near = [np.abs(np.arange(n)[:, None] - p[None, :]).argmin(axis=1)
            for n, p in zip(mask.shape, probes)]
    energy = np.where(mask, probe_energy[np.ix_(*near)], 0.0)
    score = uniform_filter(energy, size=sizes, mode="constant")
    centre = np.unravel_index(int(np.argmax(np.where(usable, score, -np.inf))), mask.shape)
    window = {}
    for d, c, w, n in zip(dims, centre, sizes, mask.shape):
        start = int(min(max(c - w // 2, 0), n - w))
        window[d] = slice(start, start + w)
    return keep.isel(window).load()


def reconstruct(
    source: str | os.PathLike | xr.Dataset,
    *,
    method: str = "auto",
    out: str | os.PathLike | None = None,
    reference: xr.Dataset | str | os.PathLike | None = None,
    blind: bool | None = None,
    overlap: int = 16,
    block_mb: float = 32.0,
    overwrite: bool = False,
    chunks: tuple[int, ...] | None = None,
    access_patterns: tuple[str, ...] | None = None,
    views: tuple[str, ...] | None = None,
    client: Any = None,
    progress: bool | None = None,
    context: TaskContext | None = None,
    **params: Any,
) -> xr.Dataset | Path:
    """Fill the absent traces of a survey (``trace_mask == False``) and measure the result.

    The survey is processed in blocks of trace cells, each computed on a window
    ``overlap`` traces wider so blocks join seamlessly; progress is reported and
    cancellation checked between blocks, and each block's middle section is published as
    a preview. Quality is always measured: against ``reference`` when given (SNR, SNR on
    the filled traces, PSNR, SSIM), else by a blind test (hide 10 % of the live traces,
    reconstruct, score on them).

    Parameters
    ----------
    source : path-like or xarray.Dataset
        Survey (file, store, or dataset) with its ``trace_mask``.
    method : str
        ``auto``, a classical method (``pwd``, ``mssa``, ``pocs``, ``linear``, ``nearest``,
        ``sinc``) or a deep one: ``deep`` (the recommended one: ``auto``'s classical fill
        corrected by a small network trained on the survey, kept only when validation
        shows >= 0.3 dB gain; ``attrs["reconstruction"]["deep"]`` says whether;
        :func:`promethium_lab.ml.residual.reconstruct_residual` for its parameters), or
        ``unet``, ``autoencoder``, ``pinn`` (pass ``model=``).
    out : path-like, optional
        Write the result to this Zarr store (atomic, resumable) and return its path;
        default: return a dataset in memory.
    reference : dataset or path, optional
        The complete survey, for metrics against truth.
    blind : bool, optional
        Run the blind quality estimate (default: when there is no reference and the
        survey is at most 64 MB).
    overlap : int
        Extra traces on every side of a block.
    block_mb : float
        Size of a block of work.
    overwrite : bool
        Replace ``out`` if it exists.
    chunks, access_patterns, views
        Chunks, exact ``fast_<dim>`` copies and lossy ``view_<dim>`` copies of the ``out``
        store (see ``write_store``); blocks of work are aligned to them.
    client : distributed.Client, optional
        Run blocks on a Dask cluster (with ``out``).
    progress : bool, optional
        Show a tqdm bar.
    context : TaskContext, optional
        Progress, preview and cancel hooks (jobs, widgets).
    **params
        Passed to the method.

    Returns
    -------
    xarray.Dataset or Path
        The filled survey with ``trace_mask`` all True, the input mask as
        ``input_trace_mask``, and ``attrs["reconstruction"]`` and ``attrs["metrics"]``.
    """
    ctx = ensure_context(context)
    ds = _open(source)
    if "trace_mask" not in ds:
        raise PromethiumError.invalid(
            "the survey has no trace_mask",
            hint="reconstruction fills traces where trace_mask is False")
    if overlap < 0:
        raise PromethiumError.invalid(
            f"overlap={overlap} is negative",
            hint="use 0 or more traces")
    mask = np.asarray(ds["trace_mask"].values, dtype=bool)
    if not mask.any():
        raise PromethiumError.invalid(
            "the survey has no live traces",
            hint="there is nothing to reconstruct from; check the mask")
    started = time.perf_counter()
    chosen, auto_info = _choose_method(ds, method, params)
    run_params = {k: v for k, v in params.items() if k not in ("candidates", "seed", "hidings")}
    if chosen in DEEP_METHODS and "model" not in run_params:
        run_params["model"] = None
    if chosen in DEEP_METHODS:
        from promethium_lab.ml.reconstruct import survey_gain

        # one gain curve (or none) for the whole survey, shared by every block
        run_params["gain"] = survey_gain(ds, run_params.get("gain", "model"),
                                         model=run_params["model"], method=chosen,
                                         root=run_params.get("root"))
    amp = ds["amplitude"]
    show = ctx.show_progress if progress is None else progress
    if chosen in RESIDUAL_METHODS:
        run_params.setdefault("progress", show)  # its training bar follows this call's
    worker = _BlockReconstructor(ds, chosen, run_params, overlap, context=ctx)
    if out is None and amp.nbytes > _IN_MEMORY_LIMIT:
        raise PromethiumError.invalid(
            f"the survey has {amp.nbytes / 2**30:.1f} GB of samples, too many to reconstruct "
            "in memory", hint="pass out='result.zarr' to stream the result to a store",
        )

    record = {"method": method if method == "auto" else chosen, "chosen": chosen,
              "params": json_safe(params), "overlap": overlap}
    if auto_info:
        record["auto"] = json_safe(auto_info)
    metrics = _quality(ds, chosen, run_params, reference, blind)
    result_attrs = {**ds.attrs, "reconstruction": record, "metrics": metrics}

    if out is not None:
        from promethium_lab.io.store import write_store

        template = filled_survey(ds)
        template.attrs = result_attrs
        fingerprint = {"reconstruct": record, "source": str(ds.attrs.get("source_path", ""))}
        on_block = None
        if client is not None:  # blocks run on workers: preview from the written block
            def on_block(sl: tuple[slice, ...], partial: Path) -> None:
                _preview_from_store(ctx, partial, sl, template)
        from promethium_lab.core.resources import gpu_resources  # None without a client

        path = write_store(template, out, read_block=worker, overwrite=overwrite,
                           block_mb=block_mb, fingerprint=fingerprint, progress=show,
                           chunks=chunks, access_patterns=access_patterns, views=views,
                           callback=ctx.progress, should_stop=ctx.should_stop, client=client,
                           resources=gpu_resources(client, is_deep_method(chosen)),
                           on_block=on_block)
        record["seconds"] = round(time.perf_counter() - started, 3)
        _deep_record(record, worker)
        extra: dict[str, Any] = {"reconstruction": record}
        if reference is not None:
            metrics.update(evaluate(path, reference))
            extra["metrics"] = metrics
        from promethium_lab.io.store import update_attributes

        update_attributes(path, **extra)
        return path

    from promethium_lab.core.progress import Progress

    blocks = tile(amp.shape[:-1], budget_step(amp.shape[:-1], amp.shape[-1], block_mb,
                                              halve=True))
    filled = np.empty(amp.shape, dtype=np.float32)

    def work(i: int) -> None:
        ctx.check("reconstruction")
        filled[blocks[i]] = worker(blocks[i])

    with Progress(len(blocks), desc=f"reconstruct ({chosen})", unit="block", show=show,
                  callback=ctx.progress) as bar:
        run_blocks(work, range(len(blocks)), on_done=lambda _r: bar.update())
    record["seconds"] = round(time.perf_counter() - started, 3)
    _deep_record(record, worker)
    result = filled_survey(ds, filled)
    if reference is not None:
        metrics.update(evaluate(result, reference, original_mask=mask))
    result.attrs = result_attrs
    return result


def _deep_record(record: dict[str, Any], worker: _BlockReconstructor) -> None:
    """``record["deep"]`` for ``method="deep"``: whether the learned correction was kept
    (the block's ``attrs["deep"]``; with several blocks, each block's and ``kept`` when
    any kept it)."""
    if not worker.deep_info:
        return
    infos = json_safe(worker.deep_info)
    if len(infos) == 1:
        record["deep"] = infos[0]
    else:
        record["deep"] = {"kept": any(i.get("kept") for i in infos),
                          "classical": infos[0].get("classical"), "blocks": infos}


def _quality(ds: xr.Dataset, method: str, params: dict[str, Any], reference: Any,
             blind: bool | None) -> dict[str, Any]:
    """Blind estimate (hide live traces, reconstruct, score) unless a reference is given."""
    if reference is not None:
        return {}
    if blind is None:
        blind = ds["amplitude"].nbytes <= _BLIND_LIMIT
    if not blind:
        return {"note": "no reference and no blind estimate (blind=False, or a survey "
                        "over 64 MB); pass blind=True or reference="}
    from promethium_lab.signal.qc import blind_estimate

    fn = _method_fn(method, params, None)
    live = ds[["amplitude", "trace_mask"]].load()
    est = blind_estimate(live, fn, fraction=0.1, seed=0)
    return {f"blind_{k}": v for k, v in json_safe(est).items()}


def evaluate(
    estimate: xr.Dataset | str | os.PathLike,
    reference: xr.Dataset | str | os.PathLike,
    *,
    original_mask: np.ndarray | xr.DataArray | None = None,
    context: TaskContext | None = None,
) -> dict[str, Any]:
    """Quality of a reconstruction against the complete survey.

    Returns SNR and PSNR (dB), SSIM and, when the mask of the input is known (argument or
    the estimate's ``input_trace_mask``), SNR on the filled traces only. Traces absent from
    the reference itself (its ``trace_mask``) hold no truth: they are left out of every
    figure (the estimate is taken as the reference's there, and they never count as filled).
    """
    from promethium_lab.signal.qc import metrics as qc_metrics

    est = _open(estimate)
    ref = _open(reference)
    if est["amplitude"].shape != ref["amplitude"].shape:
        raise PromethiumError.invalid(
            f"estimate {est['amplitude'].shape} and reference {ref['amplitude'].shape} differ",
            hint="compare a reconstruction with the survey it was decimated from",
        )
    if original_mask is None and "input_trace_mask" in est:
        original_mask = est["input_trace_mask"]
    if isinstance(original_mask, np.ndarray):
        original_mask = xr.DataArray(original_mask, dims=est["amplitude"].dims[:-1])
    amplitude = est["amplitude"]
    if "trace_mask" in ref and not bool(ref["trace_mask"].all()):
        truth = ref["trace_mask"].astype(bool)
        amplitude = amplitude.where(truth, ref["amplitude"])
        if original_mask is not None:
            original_mask = original_mask.astype(bool) | ~truth
    ensure_context(context).progress(0.0, "evaluate")
    result = qc_metrics(amplitude, ref["amplitude"], original_mask=original_mask)
    ensure_context(context).progress(1.0, "evaluate")
    return json_safe(result)


