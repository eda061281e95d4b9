"""Deep reconstruction of a survey: the entry the reconstruct workflow calls.

``reconstruct_deep(ds, method="unet")`` fills the absent traces of a survey with the
pretrained U-Net shipped in the package; ``model=`` names another registered model (or
a path, or a model object), ``mode="denoise"`` replaces every sample with the network's
output. See :func:`promethium_lab.ml.infer.infer_survey` for the inference parameters.

With a gain (``gain="auto"``, or by default when the model was trained with one:
``workflows.train`` records it as ``training.gain``) the survey is balanced in time by
:mod:`promethium_lab.signal.gain` before the network (one curve ``g(t)`` from the survey's live
traces, the same for every trace) and the gain is removed after it; live traces come back
exactly as they were.

Both entries share one block function (:class:`DeepBlocks`: the inference engine of
:func:`promethium_lab.ml.infer.block_inferer`, then the gain removed): the reconstruct
workflow tiles and writes the survey itself, :func:`reconstruct_deep` hands the blocks to
:func:`promethium_lab.ml.infer.infer_blocks` (the block engine of
:mod:`promethium_lab.io.blocks`, in memory or to one ``out`` store in one pass).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.context import TaskContext
from promethium_lab.core.errors import PromethiumError
from promethium_lab.ml import registry
from promethium_lab.ml.data import resolve_survey
from promethium_lab.ml.infer import block_inferer, infer_blocks, inference_record
from promethium_lab.ml.methods import DEEP_METHODS as METHODS
from promethium_lab.ml.models.base import ReconstructionModel
from promethium_lab.signal.gain import gain_record, resolve_gain

__all__ = ["METHODS", "DeepBlocks", "deep_blocks", "reconstruct_deep"]

_INFER_KEYS = ("patch", "overlap", "batch_size", "blend", "amp", "line_dim", "block_mb",
               "out", "overwrite")


_CACHE: dict[tuple[str, int, int, int], ReconstructionModel] = {}
_CACHE_LOCK = threading.Lock()


def _load_cached(ref: str | os.PathLike, root: str | os.PathLike | None) -> ReconstructionModel:
    """``registry.load`` once per model version (callers reconstructing block by block ask
    for the same model many times); changed weights or config are loaded again."""
    entry = registry.resolve(ref, root)
    try:
        st = entry.weights_path.stat()
        cfg = (entry.path / registry.CONFIG).stat()
    except OSError:
        return registry.load(entry)  # raises the registry's error
    key = (str(entry.path.resolve()), st.st_mtime_ns, st.st_size, cfg.st_mtime_ns)
    with _CACHE_LOCK:
        if key not in _CACHE:
            if len(_CACHE) >= 8:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = registry.load(entry)
        return _CACHE[key]


def reconstruct_deep(
    ds: xr.Dataset | str | os.PathLike,
    method: str | None = None,
    model: ReconstructionModel | str | os.PathLike | None = None,
    mode: str = "missing",
    context: TaskContext | None = None,
    *,
    device: str = "auto",
    root: str | os.PathLike | None = None,
    gain: Any = "model",
    **infer_params: Any,
) -> xr.Dataset:
    """Reconstruct a survey with a deep model by sliding-window inference.

    Parameters
    ----------
    ds : xarray.Dataset or path
        Survey (``amplitude``, ``trace_mask``), numpy- or dask/zarr-backed, or a store path.
    method : {"unet", "autoencoder", "pinn"}, optional
        Architecture; default the model's own, or ``"unet"`` when no model is named.
    model : None, str, path or ReconstructionModel
        None: the pretrained model shipped for ``method``
        (:data:`promethium_lab.ml.registry.DEFAULT_MODELS`); a registry reference
        (``"name"``, ``"name:v2"``) or a model directory; or a model object.
    mode : {"missing", "denoise"}, default "missing"
        Fill only the absent traces, or replace the whole survey with the network output.
    context : TaskContext, optional
        Progress, preview and cancel hooks.
    device : str, default "auto"
        ``"cpu"``, ``"cuda"`` (``NO_GPU`` without one) or ``"auto"``.
    root : path, optional
        Registry directory for named models (default the user's).
    gain : "model", "auto", None or array, default "model"
        Time-variant gain applied before the network and removed after it; ``"model"``:
        the model's own (``"auto"`` if it was trained with a gain, else none)
        (:mod:`promethium_lab.signal.gain`): ``"auto"`` computes the survey's curve
        (:func:`~promethium_lab.signal.gain.gain_curve`) from a sample of its live traces; an
        array of one value per time sample is used as it is (compute it once with
        ``gain_curve`` and pass it to every block when a large survey is reconstructed
        block by block, so all blocks share it); None runs the network on raw samples.
        Recorded in ``attrs["reconstruction"]["params"]["gain"]``.
    **infer_params
        ``patch``, ``overlap`` (0.5), ``batch_size`` (16), ``blend`` ("cosine"), ``amp``,
        ``line_dim``, ``block_mb`` (32), ``out`` (a Zarr store to write), ``overwrite``.

    Returns
    -------
    xarray.Dataset
        The reconstructed survey (``trace_mask`` all True, ``input_trace_mask``,
        ``attrs["reconstruction"]`` with the method, model reference and parameters).

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` (unknown method/mode/parameter, a patch that does not fit the
        network), ``MODEL_MISMATCH`` (weights and config disagree), ``NO_GPU``,
        ``BAD_DATA`` (NaN or infinite samples on live traces), ``CANCELED``.
    """
    started = time.perf_counter()
    _check_params(method, infer_params)
    run = {k: infer_params.pop(k) for k in ("block_mb", "out", "overwrite") if k in infer_params}
    net, ref = _resolve_model(model, method, root)
    survey = resolve_survey(ds)
    blocks, gain, curve = _blocks(survey, net, gain, mode, device, context, infer_params)
    record = inference_record(blocks.engine, net.architecture, ref)
    record["params"]["gain"] = gain_record(gain, curve)
    return infer_blocks(survey, blocks, record, context=context, started=started, **run)


class DeepBlocks:
    """The "process this block" of a deep method over a whole survey: ``blocks(trace_slices)
    -> ndarray`` (float32, every sample). Windows come from the survey's global grid, so
    any tiling gives one pass's result; a gain is applied before the network and removed
    after it, and in ``"missing"`` mode live traces are the survey's own samples."""

    def __init__(self, engine: Any, original: Any, live: np.ndarray,
                 curve: np.ndarray | None, mode: str) -> None:
        self.engine, self.original, self.live = engine, original, live
        self.curve, self.mode = curve, mode

    def __call__(self, sl: tuple[slice, ...]) -> np.ndarray:
        out = self.engine(sl)
        if self.curve is None:
            return out
        out = out / self.curve.astype(np.float32)
        if self.mode == "missing":
            from promethium_lab.signal.reconstruct.windows import read_block

            orig = read_block(self.original, (*sl, slice(None)), np.float32)
            out = np.where(self.live[sl][..., None], orig, out)
        return out.astype(np.float32)


def deep_blocks(
    ds: xr.Dataset,
    method: str | None = None,
    model: ReconstructionModel | str | os.PathLike | None = None,
    mode: str = "missing",
    context: TaskContext | None = None,
    *,
    device: str = "auto",
    root: str | os.PathLike | None = None,
    gain: Any = "model",
    **infer_params: Any,
) -> DeepBlocks:
    """The block function of a deep method, for a block runner that tiles the survey once.

    Parameters are those of :func:`reconstruct_deep` (``gain`` is best a curve computed
    once, :func:`survey_gain`); ``block_mb``, ``out`` and ``overwrite`` do not apply (the
    caller tiles and writes).

    Returns
    -------
    DeepBlocks
        ``blocks(trace_slices) -> ndarray`` of the filled amplitude (picklable).
    """
    _check_params(method, infer_params)
    for key in ("block_mb", "out", "overwrite"):
        infer_params.pop(key, None)
    net, _ref = _resolve_model(model, method, root)
    return _blocks(resolve_survey(ds), net, gain, mode, device, context, infer_params)[0]


def _check_params(method: str | None, infer_params: dict[str, Any]) -> None:
    if method is not None and method not in METHODS:
        raise PromethiumError.invalid(f"unknown deep method {method!r}",
                                      hint=f"one of {METHODS}")
    unknown = sorted(set(infer_params) - set(_INFER_KEYS))
    if unknown:
        raise PromethiumError.invalid(f"unknown inference parameter(s) {unknown}",
                                      hint=f"known: {list(_INFER_KEYS)}")


def _blocks(survey: xr.Dataset, net: ReconstructionModel, gain: Any, mode: str, device: str,
            context: TaskContext | None, infer_params: dict[str, Any]
            ) -> tuple[DeepBlocks, Any, np.ndarray | None]:
    """The block function of ``net`` on ``survey`` (gained when there is a curve), the gain
    parameter (``"model"`` resolved) and its curve."""
    if isinstance(gain, str) and gain == "model":
        gain = _trained_gain(net)
    curve = resolve_gain(gain, survey, int(survey["amplitude"].shape[-1]))
    src = survey
    if curve is not None:
        g = xr.DataArray(curve, dims="time")
        src = survey.assign(amplitude=(survey["amplitude"] * g).astype(np.float32))
    engine = block_inferer(src, net, mode=mode, device=device, context=context, **infer_params)
    blocks = DeepBlocks(engine, survey["amplitude"].data, engine.live,
                        None if curve is None else np.asarray(curve, dtype=np.float32), mode)
    return blocks, gain, curve


def _resolve_model(model: Any, method: str | None, root: str | os.PathLike | None
                   ) -> tuple[ReconstructionModel, str | None]:
    """The network ``model`` names (default: the shipped one of ``method``) and its
    registry reference."""
    ref: str | None
    if model is None:
        net = _load_cached(registry.DEFAULT_MODELS[method or "unet"], None)
        ref = net.registry_entry.ref  # type: ignore[attr-defined]
    elif isinstance(model, ReconstructionModel):
        net = model
        entry = getattr(model, "registry_entry", None)
        ref = entry.ref if entry is not None else None
    elif isinstance(model, (str, os.PathLike)):
        net = _load_cached(model, root)
        ref = net.registry_entry.ref  # type: ignore[attr-defined]
    else:
        raise PromethiumError.invalid(f"model must be a name, a path or a ReconstructionModel, got "
                              f"{type(model).__name__}")
    if method is not None and net.architecture != method:
        raise PromethiumError.invalid(f"method={method!r} but the model {ref or ''} is a "
                              f"{net.architecture!r}",
                              hint=f"pass method={net.architecture!r} or leave method out")
    return net, ref


def survey_gain(ds: xr.Dataset, gain: Any = "model", *, model: Any = None,
                method: str | None = None, root: str | os.PathLike | None = None
                ) -> np.ndarray | None:
    """The gain curve :func:`reconstruct_deep` applies to ``ds`` for a ``gain`` parameter:
    ``"model"`` follows the model's training (``"auto"`` when its metadata records a
    trained gain, else none). Compute it once and pass it to every block of a survey."""
    if isinstance(gain, str) and gain == "model":
        net, _ = _resolve_model(model, method, root)
        gain = _trained_gain(net)
    survey = resolve_survey(ds)
    return resolve_gain(gain, survey, int(survey["amplitude"].shape[-1]))


def _trained_gain(net: ReconstructionModel) -> str | None:
    """``"auto"`` when the model was trained on gained patches, else None."""
    entry = getattr(net, "registry_entry", None)
    training = ((getattr(entry, "metadata", None) or {}).get("training") or {})
    record = training.get("gain")
    return "auto" if isinstance(record, dict) and record.get("mode") else None
