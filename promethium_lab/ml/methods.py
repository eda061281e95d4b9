"""The deep reconstruction methods: the one list of them.

Two kinds:

- :data:`DEEP_METHODS`: a method named after the model architecture that serves it (see
  :mod:`promethium_lab.ml.models`); ``reconstruct(method=...)``, ``train(model=...)``
  read this list as the architectures;
- :data:`RESIDUAL_METHODS`: ``"deep"``, the recommended one (:mod:`promethium_lab.ml.residual`):
  the best classical fill corrected by a small network trained on the survey itself, kept
  only when it validates. It is a method, not an architecture: nothing is trained or
  registered under its name.

:func:`is_deep_method` (the jobs' GPU routing) covers both. This module imports nothing
heavy (no torch), so the layers above may use it at import time.
"""

from __future__ import annotations

__all__ = ["DEEP_METHODS", "RECONSTRUCT_DEEP_METHODS", "RESIDUAL_METHODS", "is_deep_method",
           "is_residual_method"]

#: Reconstruction methods run by a trained network, one per model architecture
#: (``ml.models.ARCHITECTURES`` holds their classes once torch is imported).
DEEP_METHODS: tuple[str, ...] = ("unet", "autoencoder", "pinn")

#: Classical fill + a residual network trained on the survey (``ml.residual``).
RESIDUAL_METHODS: tuple[str, ...] = ("deep",)

#: Every deep reconstruction method, the recommended one first (what front ends list).
RECONSTRUCT_DEEP_METHODS: tuple[str, ...] = (*RESIDUAL_METHODS, *DEEP_METHODS)


def is_deep_method(method: object) -> bool:
    """Whether ``method`` (any case) names a deep reconstruction method (``deep`` included)."""
    return isinstance(method, str) and method.lower() in RECONSTRUCT_DEEP_METHODS


def is_residual_method(method: object) -> bool:
    """Whether ``method`` (any case) is ``"deep"``, the classical fill + residual network."""
    return isinstance(method, str) and method.lower() in RESIDUAL_METHODS
