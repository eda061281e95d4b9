"""Training the reconstruction models with PyTorch Lightning.

:class:`ReconstructionTask` wraps any :class:`~promethium_lab.ml.models.ReconstructionModel`
in a ``LightningModule`` (loss from the model's own ``loss``; AdamW); :func:`fit` runs a
``Trainer`` with what a reproducible, interruptible training needs:

* deterministic seeds (``seed_everything(seed, workers=True)``, deterministic algorithms,
  patch draws keyed by ``(seed, epoch, index)``; the same call gives the same weights);
* checkpoints (``best-*.ckpt`` by the monitored loss and ``last.ckpt``) and
  ``resume=<checkpoint>`` to continue an interrupted run (epoch, optimizer and callbacks
  restored);
* early stopping on the validation loss (the training loss without validation data);
* the **hidden-trace SNR** ``10 log10(Σ target² / Σ (pred - target)²)`` over the hidden
  live traces, logged per epoch for training and validation (0 dB is what zero-filling
  scores);
* CPU everywhere; on a CUDA GPU, mixed precision (bf16 where supported, else fp16) and
  pinned-memory data loading;
* progress, previews and cancellation through a
  :class:`~promethium_lab.core.context.TaskContext` (checked after every batch).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from promethium_lab.core.context import TaskContext, ensure_context
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.ml.device import resolve_device
from promethium_lab.ml.models import ReconstructionModel, build_model

__all__ = [
    "ReconstructionTask",
    "TrainResult",
    "evaluate",
    "fit",
    "hidden_sums",
    "load_checkpoint",
    "snr_db",
]


def hidden_sums(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                valid: torch.Tensor | None = None) -> tuple[float, float]:
    """``(Σ target², Σ (pred - target)²)`` over hidden valid traces (mask 0, valid 1)."""
    amp = pred[:, :1].detach().float()
    t = target.detach().float()
    hidden = (1.0 - mask.detach().float()).expand_as(t)
    if valid is not None:
        hidden = hidden * valid.detach().float().expand_as(t)
    return float((t**2 * hidden).sum()), float(((amp - t) ** 2 * hidden).sum())


def snr_db(signal: float, error: float) -> float:
    """``10 log10(signal / error)``; ``inf`` for no error, ``nan`` without signal."""
    if signal <= 0:
        return math.nan
    if error <= 0:
        return math.inf
    return 10.0 * math.log10(signal / error)


class ReconstructionTask(pl.LightningModule):
    """``LightningModule`` around a :class:`ReconstructionModel`.

    Parameters
    ----------
    model : ReconstructionModel, optional
        The network; else built from ``architecture`` and ``config`` (how checkpoints
        rebuild it: ``ReconstructionTask.load_from_checkpoint(path)``).
    architecture : str, optional
    config : dict, optional
    lr : float, default 1e-3
        AdamW learning rate.
    weight_decay : float, default 0
    """

    def __init__(self, model: ReconstructionModel | None = None, *,
                 architecture: str | None = None, config: dict[str, Any] | None = None,
                 lr: float = 1e-3, weight_decay: float = 0.0) -> None:
        super().__init__()
        if model is None:
            if architecture is None:
                raise PromethiumError.invalid("ReconstructionTask needs a model or an architecture")
            model = build_model(architecture, **(config or {}))
        self.model = model
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.save_hyperparameters({"architecture": model.architecture, "config": model.config(),
                                   "lr": self.lr, "weight_decay": self.weight_decay})
        self.sums = {"train": [0.0, 0.0], "val": [0.0, 0.0]}
        self.preview_sample: np.ndarray | None = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model(x, mask)

    def _step(self, batch: dict[str, torch.Tensor], stage: str
              ) -> tuple[torch.Tensor, torch.Tensor]:
        pred = self.model(batch["x"], batch["mask"])
        terms = self.model.loss_terms(pred, batch["target"], batch["mask"], batch.get("valid"))
        n = batch["x"].shape[0]
        for key, value in terms.items():
            name = f"{stage}_loss" if key == "loss" else f"{stage}_{key}"
            self.log(name, value.detach(), on_step=False, on_epoch=True, batch_size=n)
        sig, err = hidden_sums(pred, batch["target"], batch["mask"], batch.get("valid"))
        self.sums[stage][0] += sig
        self.sums[stage][1] += err
        return terms["loss"], pred

    def on_train_epoch_start(self) -> None:
        self.sums["train"] = [0.0, 0.0]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")[0]

    def on_train_epoch_end(self) -> None:
        self.log("train_snr_hidden_db", snr_db(*self.sums["train"]))

    def on_validation_epoch_start(self) -> None:
        self.sums["val"] = [0.0, 0.0]

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, pred = self._step(batch, "val")
        if batch_idx == 0:
            sample = pred[0, 0].detach().float().cpu().numpy()
            self.preview_sample = sample.reshape(-1, sample.shape[-1])[: sample.shape[-2]]
        return loss

    def on_validation_epoch_end(self) -> None:
        self.log("val_snr_hidden_db", snr_db(*self.sums["val"]))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.model.parameters(), lr=self.lr,
                                 weight_decay=self.weight_decay)


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu"
                    ) -> ReconstructionModel:
    """The model saved in a Lightning checkpoint written by :func:`fit` (eval mode)."""
    p = Path(path)
    if not p.is_file():
        raise PromethiumError(ErrorCode.PATH_NOT_FOUND, f"checkpoint {p} does not exist",
                              hint="pass a .ckpt written by promethium_lab.ml.train.fit")
    try:
        task = ReconstructionTask.load_from_checkpoint(p, map_location="cpu",
                                                       weights_only=False)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise PromethiumError(ErrorCode.MODEL_MISMATCH,
                              f"{p} is not a reconstruction checkpoint: {exc}",
                              hint="pass a .ckpt written by promethium_lab.ml.train.fit") from exc
    return task.model.to(resolve_device(device)).eval()


@torch.no_grad()
def evaluate(model: ReconstructionModel, data: Dataset | DataLoader, *, batch_size: int = 16,
             device: str | torch.device = "cpu", max_batches: int | None = None
             ) -> dict[str, float]:
    """Mean loss and hidden-trace SNR (dB) of a model over a patch dataset or loader."""
    loader = data if isinstance(data, DataLoader) else DataLoader(data, batch_size=batch_size)
    dev = resolve_device(device)
    was_training = model.training
    model.eval().to(dev)
    total, n, sig, err = 0.0, 0, 0.0, 0.0
    try:
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            batch = {k: v.to(dev) for k, v in batch.items()}
            pred = model(batch["x"], batch["mask"])
            k = batch["x"].shape[0]
            total += float(model.loss(pred, batch["target"], batch["mask"],
                                      batch.get("valid"))) * k
            n += k
            s, e = hidden_sums(pred, batch["target"], batch["mask"], batch.get("valid"))
            sig, err = sig + s, err + e
    finally:
        model.train(was_training)
    return {"loss": total / max(n, 1), "snr_hidden_db": snr_db(sig, err)}


@dataclass
class TrainResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : ReconstructionModel
        Trained (best weights by the monitored loss), in eval mode on the CPU.
    history : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``train_snr_hidden_db`` and, with validation
        data, ``val_loss``, ``val_snr_hidden_db`` (plus the loss terms).
    initial : dict
        ``loss`` and ``snr_hidden_db`` of the untrained model on the validation data (the
        training data without).
    final : dict
        The same after training (best weights).
    best_checkpoint, last_checkpoint : Path or None
    """

    model: ReconstructionModel
    history: list[dict[str, float]]
    initial: dict[str, float]
    final: dict[str, float]
    best_checkpoint: Path | None
    last_checkpoint: Path | None
    epochs: int
    global_step: int
    stopped_early: bool
    monitor: str
    seed: int
    device: str
    precision: str
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        """JSON-safe summary for the registry metadata."""
        def clean(d: dict[str, float]) -> dict[str, float | None]:
            return {k: (None if not math.isfinite(float(v)) else float(v)) for k, v in d.items()}

        return {"initial": clean(self.initial), "final": clean(self.final),
                "history": [clean(h) for h in self.history], "epochs": self.epochs,
                "global_step": self.global_step, "stopped_early": self.stopped_early,
                "monitor": self.monitor, "seconds": round(self.seconds, 3)}


class _Control(pl.Callback):
    """Epoch reseeding of the data, progress/cancel/preview, history and best weights."""

    def __init__(self, ctx: TaskContext, train_data: Any, total_steps: int, monitor: str,
                 has_val: bool) -> None:
        self.ctx = ctx
        self.train_data = train_data
        self.total_steps = max(1, total_steps)
        self.monitor = monitor
        self.has_val = has_val
        self.history: list[dict[str, float]] = []
        self.best_score = math.inf
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if hasattr(self.train_data, "set_epoch"):
            self.train_data.set_epoch(trainer.current_epoch)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        self.ctx.progress(min(trainer.global_step / self.total_steps, 1.0),
                          f"training epoch {trainer.current_epoch + 1}")
        if self.ctx.should_stop():
            raise PromethiumError.canceled("training",
                                           hint="resume from the last checkpoint with resume=")

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        sample = getattr(pl_module, "preview_sample", None)
        if sample is not None and self.ctx.on_preview is not None and not trainer.sanity_checking:
            import xarray as xr

            self.ctx.preview(xr.DataArray(sample, dims=("trace", "time"), name="amplitude",
                                          attrs={"epoch": trainer.current_epoch}))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                   if k.startswith(("train_", "val_"))}
        metrics["train_snr_hidden_db"] = snr_db(*pl_module.sums["train"])
        metrics["epoch"] = float(trainer.current_epoch)
        self.history.append(metrics)
        score = metrics.get(self.monitor, math.inf)
        if math.isfinite(score) and score < self.best_score:
            self.best_score = score
            self.best_state = copy.deepcopy(pl_module.model.state_dict())


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    names = ["pytorch_lightning", "lightning_fabric", "lightning.pytorch", "lightning.fabric"]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=r".*number of training batches.*")
        warnings.filterwarnings("ignore", message=r".*Checkpoint directory .* exists.*")
        warnings.filterwarnings("ignore", message=r".*The `srun` command is available.*")
        warnings.filterwarnings("ignore", message=r".*deterministic.*")
        warnings.filterwarnings("ignore", message=r".*LeafSpec.*")
        try:
            yield
        finally:
            for lg, lv in zip(loggers, levels):
                lg.setLevel(lv)


def fit(
    model: ReconstructionModel,
    train_data: Dataset,
    val_data: Dataset | None = None,
    *,
    max_epochs: int = 5,
    max_steps: int = -1,
    batch_size: int = 8,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    patience: int = 3,
    min_delta: float = 0.0,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    accelerator: str = "auto",
    precision: str | None = None,
    num_workers: int = 0,
    gradient_clip: float | None = 1.0,
    log_dir: str | os.PathLike | None = None,
    context: TaskContext | None = None,
) -> TrainResult:
    """Train a model on patch datasets (:mod:`promethium_lab.ml.data`).

    Parameters
    ----------
    model : ReconstructionModel
        Trained in place; the returned ``result.model`` is the same object.
    train_data, val_data : torch Dataset
        Items as :mod:`promethium_lab.ml.data` makes them; ``train_data.set_epoch`` is
        called at each epoch when it exists. Without ``val_data`` the training loss is
        monitored.
    max_epochs, max_steps : int
        Stop after this many epochs / optimizer steps (``-1``: no step limit).
    batch_size : int, default 8
    lr, weight_decay : float
        AdamW.
    seed : int, default 0
    patience, min_delta
        Early stopping on the monitored loss.
    checkpoint_dir : path, optional
        Write ``best-epochNNN.ckpt`` and ``last.ckpt`` there.
    resume : path, optional
        Continue from a checkpoint written by a previous call.
    accelerator : {"auto", "cpu", "cuda"}, default "auto"
        ``"cuda"`` without a GPU raises ``NO_GPU``.
    precision : str, optional
        Lightning precision; default ``"bf16-mixed"``/``"16-mixed"`` on CUDA, ``"32-true"``
        on the CPU.
    num_workers : int, default 0
        DataLoader worker processes.
    gradient_clip : float, optional
    log_dir : path, optional
        CSV metrics log (Lightning ``CSVLogger``).
    context : TaskContext, optional
        Progress, preview and cancellation (``CANCELED`` is raised; resume from
        ``last.ckpt``).
    """
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint

    started = time.perf_counter()
    ctx = ensure_context(context)
    if not isinstance(model, ReconstructionModel):
        raise PromethiumError.invalid(f"expected a ReconstructionModel, got {type(model).__name__}")
    for name, value, low in (("max_epochs", max_epochs, 1), ("batch_size", batch_size, 1),
                             ("patience", patience, 0), ("num_workers", num_workers, 0)):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise PromethiumError.invalid(f"{name} must be an integer >= {low}, got {value!r}")
    if not lr > 0:
        raise PromethiumError.invalid(f"lr must be > 0, got {lr}")
    patch = getattr(train_data, "patch", None)
    if patch is not None:
        model.check_patch(patch)
    dev = resolve_device(accelerator)
    cuda = dev.type == "cuda"
    if precision is None:
        precision = ("bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed") \
            if cuda else "32-true"
    if resume is not None and not Path(resume).is_file():
        raise PromethiumError(ErrorCode.PATH_NOT_FOUND, f"checkpoint {resume} does not exist",
                              hint="pass the last.ckpt of the interrupted run")

    deterministic_before = torch.are_deterministic_algorithms_enabled()
    with _quiet_lightning():
        pl.seed_everything(int(seed), workers=True, verbose=False)
        gen = torch.Generator().manual_seed(int(seed))
        loader_kw: dict[str, Any] = {"batch_size": int(batch_size), "num_workers": num_workers,
                                     "pin_memory": cuda, "persistent_workers": False}
        train_loader = DataLoader(train_data, shuffle=True, generator=gen, drop_last=False,
                                  **loader_kw)
        val_loader = DataLoader(val_data, shuffle=False, **loader_kw) \
            if val_data is not None else None
        initial = evaluate(model, val_loader or train_loader, device=dev,
                           max_batches=None if val_loader is not None else 4)
        monitor = "val_loss" if val_loader is not None else "train_loss"
        steps_per_epoch = len(train_loader)
        total = max_steps if max_steps and max_steps > 0 else int(max_epochs) * steps_per_epoch
        control = _Control(ctx, train_data, total, monitor, val_loader is not None)
        callbacks: list[pl.Callback] = [
            control,
            EarlyStopping(monitor=monitor, patience=int(patience), min_delta=float(min_delta),
                          mode="min", check_on_train_epoch_end=val_loader is None),
        ]
        ckpt_cb = None
        if checkpoint_dir is not None:
            Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
            ckpt_cb = ModelCheckpoint(dirpath=str(checkpoint_dir), filename="best-epoch{epoch:03d}",
                                      auto_insert_metric_name=False, monitor=monitor,
                                      mode="min", save_top_k=1, save_last=True)
            callbacks.append(ckpt_cb)
        logger: Any = False
        if log_dir is not None:
            from pytorch_lightning.loggers import CSVLogger

            logger = CSVLogger(str(log_dir), name="train")
        trainer = pl.Trainer(
            accelerator="gpu" if cuda else "cpu", devices=1, precision=precision,
            max_epochs=int(max_epochs), max_steps=int(max_steps),
            deterministic="warn" if cuda else True, callbacks=callbacks, logger=logger,
            enable_progress_bar=False, enable_model_summary=False,
            enable_checkpointing=ckpt_cb is not None, num_sanity_val_steps=0,
            gradient_clip_val=gradient_clip, log_every_n_steps=max(1, steps_per_epoch),
            default_root_dir=str(checkpoint_dir) if checkpoint_dir is not None else None,
        )
        task = ReconstructionTask(model, lr=lr, weight_decay=weight_decay)
        model.train()
        try:
            trainer.fit(task, train_loader, val_loader,
                        ckpt_path=str(resume) if resume is not None else None)
        finally:
            torch.use_deterministic_algorithms(deterministic_before)
        best_path = Path(ckpt_cb.best_model_path) if ckpt_cb and ckpt_cb.best_model_path \
            else None
        last_path = Path(ckpt_cb.last_model_path) if ckpt_cb and ckpt_cb.last_model_path \
            else None
        if best_path is not None and best_path.is_file():
            state = torch.load(best_path, map_location="cpu", weights_only=False)["state_dict"]
            model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()})
        elif control.best_state is not None:
            model.load_state_dict(control.best_state)
        model.cpu().eval()
        final = evaluate(model, val_loader or train_loader,
                         max_batches=None if val_loader is not None else 4)
    stopped_early = bool(trainer.current_epoch < int(max_epochs)
                         and any(isinstance(c, EarlyStopping) and c.stopped_epoch > 0
                                 for c in callbacks))
    ctx.progress(1.0, "training done")
    return TrainResult(
        model=model, history=control.history, initial=initial, final=final,
        best_checkpoint=best_path, last_checkpoint=last_path, epochs=trainer.current_epoch,
        global_step=int(trainer.global_step), stopped_early=stopped_early, monitor=monitor,
        seed=int(seed), device=str(dev), precision=str(precision),
        seconds=time.perf_counter() - started,
        params={"max_epochs": int(max_epochs), "max_steps": int(max_steps),
                "batch_size": int(batch_size), "lr": float(lr),
                "weight_decay": float(weight_decay), "patience": int(patience),
                "gradient_clip": gradient_clip, "precision": str(precision)},
    )
