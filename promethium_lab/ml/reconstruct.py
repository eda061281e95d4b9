"""Deep reconstruction of a survey: the entry the reconstruct workflow calls.

``reconstruct_deep(ds, method="unet")`` fills the absent traces of a survey with the
pretrained U-Net shipped in the package; ``model=`` names another registered model (or
a path, or a model object), ``mode="denoise"`` replaces every sample with the network's
output. See :func:`promethium_lab.ml.infer.infer_survey` for the inference parameters.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import xarray as xr

from promethium_lab.core.context import TaskContext
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.ml import registry
from promethium_lab.ml.infer import infer_survey
from promethium_lab.ml.models.base import ReconstructionModel

__all__ = ["METHODS", "reconstruct_deep"]

#: Deep methods (model architectures).
METHODS = ("unet", "autoencoder", "pinn")

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
    if method is not None and method not in METHODS:
        raise PromethiumError(ErrorCode.INVALID_PARAMETER, f"unknown deep method {method!r}",
                              hint=f"one of {METHODS}")
    unknown = sorted(set(infer_params) - set(_INFER_KEYS))
    if unknown:
        raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                              f"unknown inference parameter(s) {unknown}",
                              hint=f"known: {list(_INFER_KEYS)}")
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
        raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                              f"model must be a name, a path or a ReconstructionModel, got "
                              f"{type(model).__name__}")
    if method is not None and net.architecture != method:
        raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                              f"method={method!r} but the model {ref or ''} is a "
                              f"{net.architecture!r}",
                              hint=f"pass method={net.architecture!r} or leave method out")
    return infer_survey(ds, net, mode=mode, device=device, method=net.architecture,
                        model_ref=ref, context=context, **infer_params)
