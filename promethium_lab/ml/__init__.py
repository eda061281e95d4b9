"""Deep reconstruction: models, training data, Lightning training, sliding-window
inference, and the model registry.

Importing :mod:`promethium_lab.ml` is cheap: the names below are loaded from their
submodules (and torch with them) on first use, and PyTorch Lightning only with
:mod:`promethium_lab.ml.train`.

=========================  ===============================================
``DEEP_METHODS``           :mod:`promethium_lab.ml.methods` (no torch)
``reconstruct_deep``       :mod:`promethium_lab.ml.reconstruct`
``reconstruct_residual``   :mod:`promethium_lab.ml.residual` (``method="deep"``)
``infer_survey``,          :mod:`promethium_lab.ml.infer`
``sliding_window_inference``
``fit``                    :mod:`promethium_lab.ml.train`
``list_models``, ``load``, :mod:`promethium_lab.ml.registry`
``save``
``build_model``,           :mod:`promethium_lab.ml.models`
``ReconstructionModel``
``SurveyPatches``,         :mod:`promethium_lab.ml.data`
``SyntheticPatches``
=========================  ===============================================
"""

from __future__ import annotations

import importlib
from typing import Any

from promethium_lab.ml.methods import DEEP_METHODS

__all__ = [
    "DEEP_METHODS",
    "ReconstructionModel",
    "SurveyPatches",
    "SyntheticPatches",
    "build_model",
    "fit",
    "infer_survey",
    "list_models",
    "load",
    "reconstruct_deep",
    "reconstruct_residual",
    "save",
    "sliding_window_inference",
]

_WHERE = {
    "reconstruct_deep": "promethium_lab.ml.reconstruct",
    "reconstruct_residual": "promethium_lab.ml.residual",
    "infer_survey": "promethium_lab.ml.infer",
    "sliding_window_inference": "promethium_lab.ml.infer",
    "fit": "promethium_lab.ml.train",
    "list_models": "promethium_lab.ml.registry",
    "load": "promethium_lab.ml.registry",
    "save": "promethium_lab.ml.registry",
    "build_model": "promethium_lab.ml.models",
    "ReconstructionModel": "promethium_lab.ml.models",
    "SurveyPatches": "promethium_lab.ml.data",
    "SyntheticPatches": "promethium_lab.ml.data",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'promethium_lab.ml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
