"""Physics-informed reconstruction: a U-Net whose loss adds a plane-wave destruction residual.

Physics-informed neural networks (Raissi, Perdikaris & Karniadakis (2019),
"Physics-informed neural networks: a deep learning framework for solving forward and
inverse problems involving nonlinear partial differential equations", *J. Comput. Phys.*
378, 686–707) add the residual of a governing equation, evaluated on the network's
output, to the data misfit. The equation here is the **local plane-wave equation**

.. math::  \\frac{\\partial u}{\\partial x} + \\sigma(x, t)\\,\\frac{\\partial u}{\\partial t} = 0,

satisfied by any locally planar event ``u = f(t - σ x)`` of slope ``σ`` (time samples per
trace). Its discretisation is the plane-wave destruction filter (Claerbout (1992),
*Earth Soundings Analysis*, ch. 4; Fomel (2002), "Applications of plane-wave destruction
filters", *Geophysics* 67(6), 1946–1960), here the two-point-by-two-point box (the
lowest-order member of Fomel's family, exact for events linear in ``t`` across a cell)::

    D_x u = ½[(u[i+1,j] - u[i,j]) + (u[i+1,j+1] - u[i,j+1])]
    D_t u = ½[(u[i,j+1] - u[i,j]) + (u[i+1,j+1] - u[i+1,j])]
    r     = D_x u + σ̄ D_t u          (σ̄: σ averaged over the 4 corners of the cell)

The network predicts the wavefield ``u`` **and** the slope field ``σ`` (one per trace
axis in 3-D: ``∂u/∂x_k + σ_k ∂u/∂t = 0``, Fomel's 3-D PWD); the slopes need no labels:
they are whatever makes the reconstruction locally planar. The loss is

.. math::  L = L_\\text{data} + λ_\\text{phys}\\,\\overline{r^2}
              + λ_\\text{smooth}\\,\\overline{|\\nabla σ|^2},

``u`` in units of the target RMS, ``λ_phys = physics_weight``,
``λ_smooth = slope_smoothness`` (a smooth slope field, as Fomel's slope estimation
regularises it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from promethium_lab.core.errors import PromethiumError
from promethium_lab.ml.models.base import _rms, register_architecture
from promethium_lab.ml.models.unet import UNet

__all__ = ["PlaneWavePINN", "plane_wave_residual", "slope_roughness"]


def _shift(t: torch.Tensor, axis: int, lo: int) -> torch.Tensor:
    """``t`` sliced to ``[lo, lo + n - 1)`` along ``axis``."""
    return t.narrow(axis, lo, t.shape[axis] - 1)


def plane_wave_residual(u: torch.Tensor, slopes: torch.Tensor) -> torch.Tensor:
    """Plane-wave destruction residual ``D_k u + σ̄_k D_t u`` for every trace axis ``k``.

    Parameters
    ----------
    u : torch.Tensor
        ``(N, 1, *trace axes, time)`` wavefield.
    slopes : torch.Tensor
        ``(N, n_trace_axes, *trace axes, time)``: ``σ_k`` in time samples per trace along
        trace axis ``k`` (positive: events later on higher trace numbers).

    Returns
    -------
    torch.Tensor
        ``(N, n_trace_axes, ...)`` residuals on the cell centres of each ``(k, time)`` plane
        (one sample shorter along ``k`` and ``time``; the other axes are cropped by one
        sample too so that all residuals share a shape).
    """
    nd = u.ndim - 2
    t_ax = u.ndim - 1
    if slopes.shape[1] != nd - 1:
        raise PromethiumError.invalid(f"{slopes.shape[1]} slope channels for {nd - 1} trace axes")
    out = []
    for k in range(nd - 1):
        ax = 2 + k
        u00 = _shift(_shift(u, ax, 0), t_ax, 0)
        u10 = _shift(_shift(u, ax, 1), t_ax, 0)
        u01 = _shift(_shift(u, ax, 0), t_ax, 1)
        u11 = _shift(_shift(u, ax, 1), t_ax, 1)
        s = slopes[:, k:k + 1]
        s_bar = 0.25 * (_shift(_shift(s, ax, 0), t_ax, 0) + _shift(_shift(s, ax, 1), t_ax, 0)
                        + _shift(_shift(s, ax, 0), t_ax, 1) + _shift(_shift(s, ax, 1), t_ax, 1))
        dx = 0.5 * ((u10 - u00) + (u11 - u01))
        dt = 0.5 * ((u01 - u00) + (u11 - u10))
        r = dx + s_bar * dt
        # crop the other trace axes so every residual has the same shape
        for other in range(nd - 1):
            if other != k:
                r = _shift(r, 2 + other, 0)
        out.append(r)
    return torch.cat(out, dim=1)


def slope_roughness(slopes: torch.Tensor) -> torch.Tensor:
    """Mean squared first difference of the slopes along every spatial axis."""
    total = slopes.new_zeros(())
    for ax in range(2, slopes.ndim):
        if slopes.shape[ax] > 1:
            total = total + (torch.diff(slopes, dim=ax) ** 2).mean()
    return total


@register_architecture
class PlaneWavePINN(UNet):
    """U-Net predicting the wavefield and its local slopes, trained with a plane-wave
    destruction residual (Raissi et al. 2019; Fomel 2002). See the module docstring.

    Parameters
    ----------
    spatial_dims, depth, width, patch, visible_weight
        As :class:`~promethium_lab.ml.models.unet.UNet`.
    physics_weight : float, default 0.1
        ``λ_phys``, weight of the mean squared plane-wave residual.
    slope_smoothness : float, default 0.01
        ``λ_smooth``, weight of the slope field's roughness.
    max_slope : float, default 4
        Slopes are ``max_slope · tanh(·)`` samples per trace.
    """

    architecture = "pinn"

    def __init__(self, *, spatial_dims: int = 2, depth: int = 2, width: int = 16,
                 patch: Sequence[int] | None = None, visible_weight: float = 0.1,
                 physics_weight: float = 0.1, slope_smoothness: float = 0.01,
                 max_slope: float = 4.0) -> None:
        super().__init__(spatial_dims=spatial_dims, depth=depth, width=width, patch=patch,
                         visible_weight=visible_weight)
        for name, value in (("physics_weight", physics_weight),
                            ("slope_smoothness", slope_smoothness)):
            if not value >= 0:
                raise PromethiumError.invalid(f"{name} must be >= 0, got {value!r}")
        if not max_slope > 0:
            raise PromethiumError.invalid(f"max_slope must be > 0, got {max_slope!r}")
        self.physics_weight = float(physics_weight)
        self.slope_smoothness = float(slope_smoothness)
        self.max_slope = float(max_slope)
        self._config.update(physics_weight=self.physics_weight,
                            slope_smoothness=self.slope_smoothness, max_slope=self.max_slope)

    @property
    def n_aux(self) -> int:  # type: ignore[override]
        """One slope channel per trace axis."""
        return self.spatial_dims - 1

    def _forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(x, mask))
        amp = x * mask + out[:, :1]
        slopes = self.max_slope * torch.tanh(out[:, 1:])
        return torch.cat([amp, slopes], dim=1)

    def slopes(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The predicted slope field(s), samples per trace: ``(N, spatial_dims - 1, ...)``."""
        return self.forward(x, mask)[:, 1:]

    def loss_terms(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                   valid: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        terms = super().loss_terms(pred, target, mask, valid)
        v = torch.ones_like(target) if valid is None else valid.expand_as(target).float()
        u = pred[:, :1].float() / _rms(target.float(), v)
        slopes = pred[:, 1:].float()
        physics = (plane_wave_residual(u, slopes) ** 2).mean()
        smooth = slope_roughness(slopes)
        terms["physics"] = physics
        terms["slope_roughness"] = smooth
        terms["loss"] = terms["data"] + self.physics_weight * physics \
            + self.slope_smoothness * smooth
        return terms
