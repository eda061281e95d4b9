"""The deep reconstruction methods: the one list of them.

A deep method is named after the model architecture that serves it (see
:mod:`promethium_lab.ml.models`); ``reconstruct(method=...)``, ``train(model=...)`` and
the jobs' GPU routing all read this list. It imports nothing heavy (no torch), so the
layers above may use it at import time.
"""

from __future__ import annotations

__all__ = ["DEEP_METHODS", "is_deep_method"]

#: Reconstruction methods run by a trained network, one per model architecture
#: (``ml.models.ARCHITECTURES`` holds their classes once torch is imported).
DEEP_METHODS: tuple[str, ...] = ("unet", "autoencoder", "pinn")


def is_deep_method(method: object) -> bool:
    """Whether ``method`` (any case) names a deep reconstruction method."""
    return isinstance(method, str) and method.lower() in DEEP_METHODS
