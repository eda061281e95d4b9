"""JSON-safe copies of parameters, metrics and records (attrs, metadata, job results)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["json_safe"]

#: Longest ``repr`` kept by ``json_safe(..., strict=True)``; longer ones become ``<Type>``.
_MAX_REPR = 200


def json_safe(v: Any, *, strict: bool = False) -> Any:
    """A copy of ``v`` that ``json.dumps`` takes.

    Mappings (not xarray objects) become dicts with str keys; lists, tuples and sets
    become lists; numpy scalars and arrays become Python numbers and lists; paths become
    str; plain values stay.

    Parameters
    ----------
    v : Any
        The value to convert.
    strict : bool, default False
        False (attrs, metrics): non-finite floats stay as they are (``json.dumps`` writes
        ``NaN``) and anything else becomes its ``str``. True (job parameters and results,
        strict JSON for the REST API): non-finite floats become ``"nan"``/``"inf"`` and
        anything else its short ``repr`` (``<Type>`` when long or multi-line).

    Returns
    -------
    Any
        The JSON-safe copy.
    """
    if isinstance(v, Mapping) and not hasattr(v, "dims"):  # an xarray Dataset is no dict
        return {str(k): json_safe(x, strict=strict) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [json_safe(x, strict=strict) for x in v]
    if isinstance(v, np.ndarray):
        return json_safe(v.tolist(), strict=strict) if strict else v.tolist()
    if isinstance(v, np.generic) or (strict and hasattr(v, "item")
                                     and getattr(v, "ndim", 1) == 0):
        return json_safe(v.item(), strict=strict)
    if isinstance(v, float):
        return str(v) if strict and not math.isfinite(v) else v
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if not strict:
        return str(v)
    text = repr(v)
    return f"<{type(v).__name__}>" if len(text) > _MAX_REPR or "\n" in text else text
