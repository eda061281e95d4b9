"""The one interface of every deep reconstruction model, and the architecture table.

A :class:`ReconstructionModel` maps a window of samples with some traces hidden to the
whole window::

    pred = model(x, mask)          # x: (N, 1, *spatial), mask: broadcastable to x
    loss = model.loss(pred, target, mask, valid=valid)

``spatial`` is ``(traces, time)`` for 2-D models and ``(inline, crossline, time)`` for
3-D ones; ``mask`` is 1 on the traces the model may look at and 0 on the hidden/absent
ones (``x`` is 0 there), with a time extent of 1 or the full window. Channel 0 of
``pred`` is the reconstructed amplitude (:meth:`ReconstructionModel.reconstruct` returns
only that); models may add auxiliary channels after it (the PINN's slopes).

Every model is **scale-equivariant**: ``forward`` divides the window by the RMS of its
visible samples, runs the network, and multiplies the amplitude back, so amplitudes in
any unit (and the per-window gain differences of real data) look alike to the network.
The loss is measured in units of the target's RMS for the same reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from promethium_lab.core.errors import PromethiumError

__all__ = [
    "ARCHITECTURES",
    "ReconstructionModel",
    "conv_block",
    "conv_layer",
    "hidden_weights",
    "norm_layer",
    "register_architecture",
]

#: Architecture name -> model class (filled by :func:`register_architecture`).
ARCHITECTURES: dict[str, type[ReconstructionModel]] = {}

_EPS = 1e-8


def register_architecture(cls: type[ReconstructionModel]) -> type[ReconstructionModel]:
    """Class decorator: make ``cls`` buildable by its ``architecture`` name."""
    ARCHITECTURES[cls.architecture] = cls
    return cls


def conv_layer(spatial_dims: int, kind: str = "conv") -> type[nn.Module]:
    """``nn.Conv2d``/``nn.Conv3d`` (``kind="conv"``), transposed or max-pool of a dimension."""
    table = {
        ("conv", 2): nn.Conv2d, ("conv", 3): nn.Conv3d,
        ("up", 2): nn.ConvTranspose2d, ("up", 3): nn.ConvTranspose3d,
        ("pool", 2): nn.MaxPool2d, ("pool", 3): nn.MaxPool3d,
    }
    return table[(kind, spatial_dims)]


def _rms(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Per-item RMS of ``x`` over the samples where ``weight`` is 1: shape (N, 1, 1, ...)."""
    w = weight.expand_as(x).to(x.dtype)
    dims = tuple(range(1, x.ndim))
    num = (x.float() ** 2 * w).sum(dim=dims, keepdim=True)
    den = w.sum(dim=dims, keepdim=True).clamp_min(1.0)
    return torch.sqrt(num / den).clamp_min(_EPS)


def hidden_weights(mask: torch.Tensor, valid: torch.Tensor | None, like: torch.Tensor,
                   visible_weight: float) -> torch.Tensor:
    """Per-sample loss weights: 1 on hidden valid traces, ``visible_weight`` on visible ones."""
    m = mask.expand_as(like).float()
    v = torch.ones_like(m) if valid is None else valid.expand_as(like).float()
    return v * ((1.0 - m) + visible_weight * m)


class ReconstructionModel(nn.Module):
    """Base of the deep reconstruction models (U-Net, autoencoder, PINN).

    Subclasses set ``architecture``, build their layers in ``__init__`` (every argument
    keyword-only and JSON-safe, recorded by :meth:`config`) and implement
    :meth:`_forward` on normalised input.

    Parameters
    ----------
    spatial_dims : {2, 3}
        2 for ``(traces, time)`` sections, 3 for ``(inline, crossline, time)`` cubes.
    depth : int
        Number of factor-2 down-samplings; every window side must be a multiple of
        ``2**depth`` (:meth:`check_patch`).
    patch : sequence of int
        Default window (traces..., time) for training and inference.
    visible_weight : float
        Loss weight of the visible traces relative to the hidden ones (1). Use 1 when
        training to denoise, a small value when training to fill gaps.
    """

    architecture: ClassVar[str] = ""
    #: Output channels after the amplitude (e.g. slopes).
    n_aux: int = 0

    def __init__(self, *, spatial_dims: int = 2, depth: int = 2,
                 patch: Sequence[int] | None = None, visible_weight: float = 0.1) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise PromethiumError.invalid(f"spatial_dims must be 2 or 3, got {spatial_dims!r}",
                                  hint="2 for sections (traces, time), 3 for cubes")
        if isinstance(depth, bool) or int(depth) != depth or not 0 <= depth <= 6:
            raise PromethiumError.invalid(f"depth must be an integer in 0..6, got {depth!r}")
        if not visible_weight >= 0:
            raise PromethiumError.invalid(f"visible_weight must be >= 0, got {visible_weight!r}")
        self.spatial_dims = int(spatial_dims)
        self.depth = int(depth)
        self.visible_weight = float(visible_weight)
        default = (32, 64) if spatial_dims == 2 else (16, 16, 64)
        self.patch = tuple(int(p) for p in (patch or default))
        self.check_patch(self.patch)
        self._config: dict[str, Any] = {"spatial_dims": self.spatial_dims, "depth": self.depth,
                                        "patch": list(self.patch),
                                        "visible_weight": self.visible_weight}

    # -- description --------------------------------------------------------------------
    @property
    def multiple(self) -> int:
        """Every window side must be a multiple of this (``2**depth``)."""
        return 2**self.depth

    def config(self) -> dict[str, Any]:
        """Constructor keywords (JSON-safe): ``build_model(architecture, **config())``."""
        return dict(self._config)

    def check_patch(self, patch: Sequence[int]) -> tuple[int, ...]:
        """Validate a window shape for this network (one size per spatial dim).

        Raises
        ------
        PromethiumError
            ``INVALID_PARAMETER`` when the length does not match ``spatial_dims`` or a side
            is not a positive multiple of ``2**depth``; the hint names the nearest valid sizes.
        """
        try:
            sizes = tuple(int(p) for p in patch)
        except (TypeError, ValueError) as exc:
            raise PromethiumError.invalid(
                f"patch must be a sequence of integers, got {patch!r}") from exc
        if len(sizes) != self.spatial_dims:
            raise PromethiumError.invalid(
                f"patch {sizes} has {len(sizes)} sizes; this {self.spatial_dims}-D "
                f"{self.architecture or 'model'} needs {self.spatial_dims}",
                hint="(traces, time) for 2-D models, (inline, crossline, time) for 3-D ones")
        m = self.multiple
        bad = [s for s in sizes if s < m or s % m]
        if bad:
            fixed = tuple(max(m, round(s / m) * m) for s in sizes)
            raise PromethiumError.invalid(
                f"patch {sizes} does not fit a network of depth {self.depth}: every side "
                f"must be a positive multiple of 2**depth = {m}",
                hint=f"use patch={fixed}, or a model of smaller depth")
        return sizes

    # -- computation --------------------------------------------------------------------
    def _forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Network on normalised input ``x`` and a full-size ``mask``; returns channels
        ``1 + n_aux`` (amplitude in units of the input RMS)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Reconstruct a batch of windows.

        Parameters
        ----------
        x : torch.Tensor
            ``(N, 1, *spatial)`` samples; 0 on hidden/absent traces.
        mask : torch.Tensor
            1 on visible traces, 0 on hidden ones; broadcastable to ``x`` (e.g. a time
            extent of 1).

        Returns
        -------
        torch.Tensor
            ``(N, 1 + n_aux, *spatial)``; channel 0 is the amplitude, in ``x``'s units.
        """
        if x.ndim != self.spatial_dims + 2 or x.shape[1] != 1:
            raise PromethiumError.invalid(
                f"input of shape {tuple(x.shape)} is not (N, 1, *{self.spatial_dims} sizes)",
                hint="one channel of samples; the mask is passed separately")
        self.check_patch(x.shape[2:])
        m = mask.to(x.dtype).expand_as(x)
        scale = _rms(x, m)
        out = self._forward(x / scale.to(x.dtype), m)
        amp = out[:, :1] * scale.to(out.dtype)
        return torch.cat([amp, out[:, 1:]], dim=1) if out.shape[1] > 1 else amp

    def reconstruct(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Only the amplitude channel of :meth:`forward`: ``(N, 1, *spatial)``."""
        return self.forward(x, mask)[:, :1]

    def loss_terms(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                   valid: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The loss and its parts (``"loss"``, ``"data"``, and model-specific terms).

        ``data`` is the weighted mean squared error in units of the target RMS,
        ``Σ w (pred - target)² / (s² Σ w)`` with ``w`` 1 on hidden valid traces and
        ``visible_weight`` on visible ones (:func:`hidden_weights`) and ``s`` the RMS of
        ``target`` over its valid traces (per window).
        """
        amp = pred[:, :1].float()
        target = target.float()
        w = hidden_weights(mask, valid, target, self.visible_weight)
        v = torch.ones_like(target) if valid is None else valid.expand_as(target).float()
        scale = _rms(target, v)
        dims = tuple(range(1, target.ndim))
        err = (((amp - target) / scale) ** 2 * w).sum(dim=dims)
        data = (err / w.sum(dim=dims).clamp_min(1.0)).mean()
        return {"loss": data, "data": data}

    def loss(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
             valid: torch.Tensor | None = None) -> torch.Tensor:
        """Training loss of ``pred = self(x, mask)`` against ``target``.

        Parameters
        ----------
        pred : torch.Tensor
            Output of :meth:`forward`.
        target : torch.Tensor
            ``(N, 1, *spatial)`` the true samples.
        mask : torch.Tensor
            The mask given to :meth:`forward` (1 = visible).
        valid : torch.Tensor, optional
            1 where the target is known (live traces of the survey); default everywhere.
        """
        return self.loss_terms(pred, target, mask, valid)["loss"]

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def extra_repr(self) -> str:
        return f"architecture={self.architecture!r}, config={self._config}"


def conv_block(spatial_dims: int, c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """``conv 3 → GroupNorm → LeakyReLU → conv 3 → GroupNorm → LeakyReLU`` (first conv
    strided by ``stride``). GroupNorm keeps each window's output independent of the
    others in a batch, so batched inference equals one window at a time."""
    conv = conv_layer(spatial_dims)
    return nn.Sequential(
        conv(c_in, c_out, 3, stride=stride, padding=1), norm_layer(c_out),
        nn.LeakyReLU(0.1, inplace=True),
        conv(c_out, c_out, 3, padding=1), norm_layer(c_out), nn.LeakyReLU(0.1, inplace=True),
    )


def norm_layer(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 4 groups."""
    return nn.GroupNorm(math.gcd(channels, 4) or 1, channels)
