"""Deep reconstruction models behind one interface, :class:`ReconstructionModel`.

=============  ===========================================  ==========================
architecture   class                                        reference
=============  ===========================================  ==========================
``unet``       :class:`~.unet.UNet`                         Ronneberger et al. (2015)
``autoencoder`` :class:`~.autoencoder.DenoisingAutoencoder`  Vincent et al. (2008)
``pinn``       :class:`~.pinn.PlaneWavePINN`                Raissi et al. (2019),
                                                            Fomel (2002)
=============  ===========================================  ==========================

Each model module imports :mod:`~.base` and registers its class in
:data:`~.base.ARCHITECTURES` (``@register_architecture``); :mod:`~.base` never imports
them. Importing this package imports them all, so :func:`build_model` sees the full table.
"""

from __future__ import annotations

from typing import Any

from promethium_lab.core.errors import PromethiumError
from promethium_lab.ml.models.autoencoder import DenoisingAutoencoder
from promethium_lab.ml.models.base import ARCHITECTURES, ReconstructionModel
from promethium_lab.ml.models.pinn import PlaneWavePINN, plane_wave_residual
from promethium_lab.ml.models.unet import UNet

__all__ = [
    "ARCHITECTURES",
    "DenoisingAutoencoder",
    "PlaneWavePINN",
    "ReconstructionModel",
    "UNet",
    "build_model",
    "plane_wave_residual",
]


def build_model(architecture: str, **config: Any) -> ReconstructionModel:
    """A fresh model of a registered architecture (``"unet"``, ``"autoencoder"``, ``"pinn"``).

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for an unknown architecture or keyword.
    """
    cls = ARCHITECTURES.get(str(architecture))
    if cls is None:
        raise PromethiumError.invalid(f"unknown model architecture {architecture!r}",
                                      hint=f"one of {sorted(ARCHITECTURES)}")
    try:
        return cls(**config)
    except TypeError as exc:
        raise PromethiumError.invalid(
            f"bad configuration for {architecture!r}: {exc}",
            hint=f"see help(promethium_lab.ml.models.{cls.__name__})") from exc
