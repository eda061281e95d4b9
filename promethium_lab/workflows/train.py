"""Train a deep reconstruction model on a survey (or on synthetic data) and register it.

The one entry for the task: the CLI, the widgets, the side panel and reports call
:func:`train`. torch and PyTorch Lightning are imported when it runs, not when this
module is imported.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xarray as xr

from promethium_lab.core.context import TaskContext, ensure_context
from promethium_lab.core.errors import PromethiumError
from promethium_lab.ml.methods import DEEP_METHODS as _ARCHITECTURES

if TYPE_CHECKING:
    from promethium_lab.ml.registry import ModelEntry

__all__ = ["train"]


def _source_stem(source: Any) -> str:
    if isinstance(source, str) and source == "synthetic":
        return "synthetic"
    if isinstance(source, (str, os.PathLike)):
        stem = Path(source).name
    elif isinstance(source, xr.Dataset):
        stem = Path(str(source.attrs.get("source_path") or "survey")).name
    else:
        stem = "survey"
    stem = re.sub(r"\.(zarr|sgy|segy)$", "", stem, flags=re.IGNORECASE)
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "survey"


def _hide_plan(source: Any, synthetic: bool, hide_pattern: str,
               hide_fraction: float | Sequence[float] | None
               ) -> tuple[str, Any, dict[str, Any] | None]:
    """``(pattern, fraction, mask description)``: ``"auto"`` and a missing fraction
    resolved from the survey's trace mask (see :func:`train`)."""
    from promethium_lab.ml.data import HIDE_PATTERNS, _live_grid, resolve_survey
    from promethium_lab.signal.reconstruct import describe_mask

    if hide_pattern != "auto" and hide_pattern not in HIDE_PATTERNS:
        raise PromethiumError.invalid(f"unknown hide pattern {hide_pattern!r}",
                              hint=f"'auto' or one of {HIDE_PATTERNS}")
    info = None
    if not synthetic:
        info = describe_mask(_live_grid(resolve_survey(source)))
    if hide_pattern == "auto":
        pattern = info["pattern"] if info is not None else "mixed"
        hide_pattern = pattern if pattern in HIDE_PATTERNS else "mixed"
    if hide_fraction is None:
        step = (info or {}).get("regular_step")
        if hide_pattern == "regular" and step:
            hide_fraction = round(1.0 - 1.0 / int(step), 6)
        else:
            hide_fraction = (0.2, 0.5)
    return hide_pattern, hide_fraction, info


def train(
    source: xr.Dataset | str | os.PathLike,
    *,
    model: str = "unet",
    out: str | os.PathLike | None = None,
    name: str | None = None,
    max_epochs: int = 5,
    patch: Sequence[int] | None = None,
    seed: int = 0,
    batch_size: int = 8,
    n_patches: int = 256,
    val_patches: int = 64,
    hide_fraction: float | Sequence[float] | None = None,
    hide_pattern: str = "mixed",
    noise: float = 0.0,
    gain: Any = None,
    lr: float = 1e-3,
    patience: int = 3,
    max_steps: int = -1,
    model_config: dict[str, Any] | None = None,
    accelerator: str = "auto",
    checkpoint_dir: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    context: TaskContext | None = None,
) -> ModelEntry:
    """Train a reconstruction model and save it in the model registry.

    Self-supervised on the user's survey (live traces hidden and restored, see
    :mod:`promethium_lab.ml.data`), or on freshly generated synthetic sections when
    ``source="synthetic"``.

    Parameters
    ----------
    source : xarray.Dataset, path or "synthetic"
        Survey or Zarr store (read lazily, patch by patch), or synthetic data.
    model : str, default "unet"
        An architecture (``"unet"``, ``"autoencoder"``, ``"pinn"``) to train from scratch,
        or a registered model (``"synthetic-unet"``, ``"name:v2"``, a path) to fine-tune.
    out : path, optional
        Registry directory (default the user's, ``<data_dir>/models``).
    name : str, optional
        Registry name (default ``<architecture>-<source name>``); each call adds a version.
    max_epochs : int, default 5
    patch : sequence of int, optional
        Training window (default the model's, ``(32, 64)`` for 2-D).
    seed : int, default 0
        Seeds the weights, the patch draws and the hidden traces.
    batch_size, n_patches, val_patches : int
        Batch size; patches per training epoch; fixed validation patches.
    hide_pattern : {"mixed", "random", "regular", "gap", "auto"}, default "mixed"
        How live traces are hidden (:func:`promethium_lab.ml.data.hide_traces`).
        ``"auto"`` mimics the survey's own missing traces
        (:func:`promethium_lab.signal.reconstruct.describe_mask` of its ``trace_mask``):
        ``"regular"`` for a regular decimation (every ``k``-th line live: every other live
        line is hidden, or all but every ``k``-th), ``"gap"`` when a run of absent traces
        holds most of them, ``"random"`` for scattered ones, and ``"mixed"`` for a complete
        survey and for synthetic data. ``"mixed"`` stays the default: fine-tuning the
        shipped U-Net on a real shot gather (docs/deep-learning.md) scored as well or
        better with it on random and regular decimation, and ``"auto"`` only won on a
        gap. The survey's mask description is recorded (``training.survey_mask``).
    hide_fraction : float or (float, float), optional
        Fraction of a patch's live traces to hide; default ``1 - 1/k`` for the
        ``"regular"`` pattern of a survey decimated to every ``k``-th line, else
        ``(0.2, 0.5)``.
    noise : float, default 0
        See :class:`promethium_lab.ml.data.SurveyPatches`.
    gain : "auto", None or array, default None
        Time-variant gain of the survey's patches (:mod:`promethium_lab.signal.gain`), the
        same curve for the training and validation patches; ``"auto"`` computes it from
        the survey (worth it on raw records whose amplitude decays by tens of dB), None
        trains on raw samples. Recorded in the metadata (``training.gain``); apply the
        model with the same ``gain`` (``reconstruct_deep(..., gain="auto")``). Not used
        with ``source="synthetic"``.
    lr, patience, max_steps
        AdamW learning rate; early-stopping patience (epochs); optimizer step limit.
    model_config : dict, optional
        Architecture keywords (``depth``, ``width``, ``spatial_dims``, ``physics_weight``,
        ...), for a model trained from scratch.
    accelerator : {"auto", "cpu", "cuda"}, default "auto"
    checkpoint_dir : path, optional
        Lightning checkpoints (default a fresh folder under ``<out>/<name>/checkpoints``).
    resume : path, optional
        ``last.ckpt`` of an interrupted run to continue.
    context : TaskContext, optional
        Progress, preview and cancellation.

    Returns
    -------
    promethium_lab.ml.registry.ModelEntry
        The new registry entry (``.to_dict()`` for JSON); its metadata records the data
        hash, seed, metrics (initial and final hidden-trace SNR, per-epoch history),
        parameters and software versions.
    """
    import torch

    from promethium_lab.ml import registry
    from promethium_lab.ml.data import (
        SurveyPatches,
        SyntheticPatches,
        data_fingerprint,
        resolve_survey,
    )
    from promethium_lab.ml.models import build_model
    from promethium_lab.ml.train import fit
    from promethium_lab.signal.gain import gain_record, resolve_gain

    ctx = ensure_context(context)
    started = time.perf_counter()
    parent = None
    torch.manual_seed(int(seed))  # the initial weights are part of what the seed fixes
    if model in _ARCHITECTURES:
        cfg = dict(model_config or {})
        if patch is not None:
            cfg.setdefault("patch", list(patch))
        net = build_model(model, **cfg)
    else:
        if model_config:
            raise PromethiumError.invalid("model_config applies to a model trained from scratch",
                                  hint=f"pass model as one of {_ARCHITECTURES}")
        net = registry.load(model, root=out)
        parent = net.registry_entry.to_dict()  # type: ignore[attr-defined]
        parent = {k: parent[k] for k in ("name", "version", "ref", "builtin")}
    patch = net.check_patch(patch if patch is not None else net.patch)
    name = name or f"{net.architecture}-{_source_stem(source)}"
    root = Path(out) if out is not None else registry.default_root()
    ctx.progress(0.0, "preparing data")
    synthetic = isinstance(source, str) and source == "synthetic"
    hide_pattern, hide_fraction, mask_info = _hide_plan(source, synthetic, hide_pattern,
                                                        hide_fraction)
    common = {"hide_fraction": hide_fraction, "hide_pattern": hide_pattern, "noise": noise}
    curve = None
    if synthetic:
        train_data = SyntheticPatches(patch, n_patches, seed=seed, **common)
        val_data = SyntheticPatches(patch, val_patches, seed=seed + 1_000_003,
                                    augment=False, **common)
        data_hash = "synthetic:promethium_lab.ml.data.SyntheticPatches"
    else:
        curve = resolve_gain(gain, source, int(resolve_survey(source)["amplitude"].shape[-1]))
        train_data = SurveyPatches(source, patch, n_patches, seed=seed, gain=curve, **common)
        val_data = SurveyPatches(source, patch, val_patches, seed=seed + 1_000_003,
                                 augment=False, gain=curve, **common)
        data_hash = data_fingerprint(source)
    ctx.check("training")
    if checkpoint_dir is None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        checkpoint_dir = root / name / "checkpoints" / f"run-{stamp}-{os.getpid()}"
    sub = ctx.child(0.02, 0.98)
    result = fit(net, train_data, val_data, max_epochs=max_epochs, max_steps=max_steps,
                 batch_size=batch_size, lr=lr, seed=seed, patience=patience,
                 checkpoint_dir=checkpoint_dir, resume=resume, accelerator=accelerator,
                 context=sub)
    source_text = "synthetic" if synthetic else (
        os.fspath(source) if isinstance(source, (str, os.PathLike))
        else str(source.attrs.get("source_path", "in-memory dataset")))
    metadata = {
        "source": source_text,
        "data_hash": data_hash,
        "seed": int(seed),
        "patch": list(patch),
        "training": {**result.params, "n_patches": int(n_patches),
                     "val_patches": int(val_patches), "hide_fraction": hide_fraction,
                     "hide_pattern": hide_pattern, "survey_mask": mask_info,
                     "noise": float(noise), "gain": gain_record(gain, curve),
                     "device": result.device, "self_supervised": not synthetic},
        "metrics": result.metrics(),
        "checkpoint": str(result.best_checkpoint) if result.best_checkpoint else None,
        "last_checkpoint": str(result.last_checkpoint) if result.last_checkpoint else None,
        "resumed_from": str(resume) if resume is not None else None,
        "parent": parent,
        "seconds": round(time.perf_counter() - started, 3),
    }
    entry = registry.save(result.model, name, root=root, metadata=metadata)
    ctx.progress(1.0, f"saved {entry.ref}")
    return entry
