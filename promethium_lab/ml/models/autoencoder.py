"""Convolutional denoising autoencoder.

Vincent, P., Larochelle, H., Bengio, Y. & Manzagol, P.-A. (2008), "Extracting and
composing robust features with denoising autoencoders", *ICML 2008*, 1096–1103: an
encoder ``h = f(x̃)`` of a corrupted input ``x̃ ~ q(x̃ | x)`` and a decoder ``g(h)``
trained to minimise ``L(x, g(f(x̃)))``. Here the corruption is masking traces out
(Vincent's "masking noise", whole traces at a time) and optionally additive noise;
encoder and decoder are strided and transposed convolutions with no skip connections,
so everything goes through the code. Applied to seismic interpolation and denoising by
e.g. Saad & Chen (2020), "Deep denoising autoencoder for seismic random noise
attenuation", *Geophysics* 85(4), V367–V376.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from promethium_lab.core.errors import PromethiumError
from promethium_lab.ml.models.base import (
    ReconstructionModel,
    conv_block,
    conv_layer,
    norm_layer,
    register_architecture,
)

__all__ = ["DenoisingAutoencoder"]


@register_architecture
class DenoisingAutoencoder(ReconstructionModel):
    """Convolutional denoising autoencoder (Vincent et al. 2008) on ``[x, mask]``.

    Parameters
    ----------
    spatial_dims : {2, 3}
    depth : int, default 2
        Stride-2 encoder stages; window sides must be multiples of ``2**depth``.
    width : int, default 16
        Channels of the first stage (doubled at each further stage).
    patch : sequence of int, optional
    visible_weight : float, default 0.5
        Loss weight of visible traces: the decoder must rebuild them too.
    """

    architecture = "autoencoder"

    def __init__(self, *, spatial_dims: int = 2, depth: int = 2, width: int = 16,
                 patch: Sequence[int] | None = None, visible_weight: float = 0.5) -> None:
        super().__init__(spatial_dims=spatial_dims, depth=depth, patch=patch,
                         visible_weight=visible_weight)
        if isinstance(width, bool) or int(width) != width or width < 1:
            raise PromethiumError.invalid(f"width must be a positive integer, got {width!r}")
        self.width = int(width)
        self._config["width"] = self.width
        nd = self.spatial_dims
        conv, up = conv_layer(nd), conv_layer(nd, "up")
        chans = [self.width * 2**k for k in range(self.depth + 1)]
        enc: list[nn.Module] = [conv_block(nd, 2, chans[0])]
        for k in range(self.depth):
            enc.append(conv_block(nd, chans[k], chans[k + 1], stride=2))
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = []
        for k in reversed(range(self.depth)):
            dec += [up(chans[k + 1], chans[k], 2, stride=2), norm_layer(chans[k]),
                    nn.LeakyReLU(0.1, inplace=True),
                    conv(chans[k], chans[k], 3, padding=1), norm_layer(chans[k]),
                    nn.LeakyReLU(0.1, inplace=True)]
        dec.append(conv(chans[0], 1, 1))
        self.decoder = nn.Sequential(*dec)

    def _forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(torch.cat([x * mask, mask], dim=1)))
