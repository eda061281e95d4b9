"""Deep reconstruction models behind one interface, :class:`ReconstructionModel`.

=============  ===========================================  ==========================
architecture   class                                        reference
=============  ===========================================  ==========================
``unet``       :class:`~.unet.UNet`                         Ronneberger et al. (2015)
``autoencoder`` :class:`~.autoencoder.DenoisingAutoencoder`  Vincent et al. (2008)
``pinn``       :class:`~.pinn.PlaneWavePINN`                Raissi et al. (2019),
                                                            Fomel (2002)
=============  ===========================================  ==========================
"""

from __future__ import annotations

from promethium_lab.ml.models.autoencoder import DenoisingAutoencoder
from promethium_lab.ml.models.base import ARCHITECTURES, ReconstructionModel, build_model
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
