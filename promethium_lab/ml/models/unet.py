"""U-Net for trace reconstruction, the mask as an input channel.

Ronneberger, O., Fischer, P. & Brox, T. (2015), "U-Net: Convolutional networks for
biomedical image segmentation", *MICCAI 2015*, LNCS 9351, 234–241: a contracting path of
convolution blocks and down-samplings, an expanding path of up-samplings whose features
are concatenated with the contracting path's at the same scale (skip connections), and a
1×1 convolution head. Used for seismic trace interpolation by e.g. Wang, Zhang, Lu &
Chen (2019), "Deep-learning-based seismic data interpolation: a preliminary result",
*Geophysics* 84(1), V11–V20.
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
    register_architecture,
)

__all__ = ["UNet"]


@register_architecture
class UNet(ReconstructionModel):
    """U-Net (Ronneberger et al. 2015) on ``[x, mask]``, predicting a correction of ``x``.

    The input is two channels, the samples (hidden traces zeroed) and the visible-trace
    mask; the output is ``x · mask + head(features)``, so visible traces pass through and
    the network learns what to put in the gaps (and, in denoising, what to subtract).

    Parameters
    ----------
    spatial_dims : {2, 3}
        2-D (``traces × time``) or 3-D (``inline × crossline × time``) convolutions.
    depth : int, default 2
        Down-samplings (max-pool 2); window sides must be multiples of ``2**depth``.
    width : int, default 16
        Channels of the first level; level ``k`` has ``width · 2**k``.
    patch : sequence of int, optional
        Default training/inference window.
    visible_weight : float, default 0.1
        Loss weight of visible traces (see :class:`ReconstructionModel`).
    """

    architecture = "unet"

    def __init__(self, *, spatial_dims: int = 2, depth: int = 2, width: int = 16,
                 patch: Sequence[int] | None = None, visible_weight: float = 0.1) -> None:
        super().__init__(spatial_dims=spatial_dims, depth=depth, patch=patch,
                         visible_weight=visible_weight)
        if isinstance(width, bool) or int(width) != width or width < 1:
            raise PromethiumError.invalid(f"width must be a positive integer, got {width!r}")
        self.width = int(width)
        self._config["width"] = self.width
        nd = self.spatial_dims
        chans = [self.width * 2**k for k in range(self.depth + 1)]
        self.encoders = nn.ModuleList()
        c_in = 2
        for c in chans[:-1]:
            self.encoders.append(conv_block(nd, c_in, c))
            c_in = c
        self.pool = conv_layer(nd, "pool")(2)
        self.bottleneck = conv_block(nd, c_in, chans[-1])
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for k in reversed(range(self.depth)):
            self.ups.append(conv_layer(nd, "up")(chans[k + 1], chans[k], 2, stride=2))
            self.decoders.append(conv_block(nd, 2 * chans[k], chans[k]))
        self.head = conv_layer(nd)(chans[0], 1 + self.n_aux, 1)

    def features(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Last decoder features (before the head) of normalised input."""
        h = torch.cat([x * mask, mask], dim=1)
        skips = []
        for enc in self.encoders:
            h = enc(h)
            skips.append(h)
            h = self.pool(h)
        h = self.bottleneck(h)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            h = dec(torch.cat([up(h), skip], dim=1))
        return h

    def _forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(x, mask))
        amp = x * mask + out[:, :1]
        return torch.cat([amp, out[:, 1:]], dim=1) if self.n_aux else amp
