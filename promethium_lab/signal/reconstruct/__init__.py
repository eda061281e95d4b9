"""Reconstruction of missing traces: classical methods and an ``auto`` choice among them.

Every method takes a survey ``xarray.Dataset`` (``amplitude`` over trace dims + ``time``,
``trace_mask`` True = live; one trace dim for sections, two for cubes) and returns a new,
filled survey: recorded traces kept as they are, ``trace_mask`` True everywhere, the mask
it was given kept as ``input_trace_mask``, and ``attrs["reconstruction"]`` =
``{"method", "params", "seconds", "n_filled"}``. Large surveys are processed in
overlapping windows blended with a tapered partition of unity (:mod:`.windows`).

- :func:`pwd` — plane-wave destruction interpolation (Fomel, 2002); handles aliased
  regular decimation.
- :func:`mssa` — (damped) multichannel singular spectrum analysis (Oropeza & Sacchi,
  2011; Huang et al., 2016).
- :func:`pocs` — FK thresholding by projection onto convex sets (Abma & Kabir, 2006).
- :func:`linear`, :func:`nearest`, :func:`sinc` — baselines.
- :func:`reconstruct` — dispatcher; ``method="auto"`` picks by a blind test.
"""

from __future__ import annotations

from promethium_lab.signal.reconstruct.auto import (
    AUTO_CANDIDATES,
    METHODS,
    describe_mask,
    reconstruct,
)
from promethium_lab.signal.reconstruct.interp import linear, nearest, sinc
from promethium_lab.signal.reconstruct.mssa import mssa
from promethium_lab.signal.reconstruct.pocs import pocs
from promethium_lab.signal.reconstruct.pwd import estimate_slopes, pwd
from promethium_lab.signal.reconstruct.windows import apply_windowed

__all__ = [
    "AUTO_CANDIDATES",
    "METHODS",
    "apply_windowed",
    "describe_mask",
    "estimate_slopes",
    "linear",
    "mssa",
    "nearest",
    "pocs",
    "pwd",
    "reconstruct",
    "sinc",
]
