"""JSON-safe copies of parameters, metrics and records (attrs, metadata, job results)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["json_safe"]


def json_safe(v: Any) -> Any:
    """A copy of ``v`` that ``json.dumps`` takes: mappings (keys as str), lists and tuples
    (as lists), numpy scalars and arrays (as Python numbers and lists) and plain values
    as they are; anything else becomes its ``str``."""
    if isinstance(v, Mapping):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)
