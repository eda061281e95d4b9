"""Open any supported file or store as a survey dataset, the reader chosen by content."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xarray as xr

from promethium_lab.core.errors import PromethiumError
from promethium_lab.io.formats import (
    KIND_LABELS,
    STORE_KINDS,
    WAVEFORM_KINDS,
    detect_format,
    has_partial,
)

__all__ = ["open_survey"]


def _reader(kind: str) -> Callable[..., xr.Dataset]:
    if kind in STORE_KINDS:
        from promethium_lab.io.store import open_store

        return open_store
    if kind in WAVEFORM_KINDS:
        from promethium_lab.io.waveforms import open_waveforms

        return open_waveforms
    from promethium_lab.io.segy import open_segy

    return open_segy


def _check_options(kind: str, reader: Callable[..., Any], options: dict[str, Any]) -> None:
    """Raise INVALID_PARAMETER for options the chosen reader does not take."""
    params = inspect.signature(reader).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return  # open_segy takes **key_bytes and checks them itself
    known = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise PromethiumError.invalid(
            f"{', '.join(unknown)} do{'es' if len(unknown) == 1 else ''} not apply to "
            f"{KIND_LABELS[kind]} input",
            hint=f"{KIND_LABELS[kind]} input takes {', '.join(known) or 'no options'}",
        )


def open_survey(path: str | os.PathLike, **options: Any) -> xr.Dataset:
    """Open a SEG-Y / SU / miniSEED / SAC file or a Zarr / MDIO store as a survey dataset.

    The reader is chosen by :func:`~promethium_lab.io.formats.detect_format` (content, not
    name): :func:`~promethium_lab.io.segy.open_segy`,
    :func:`~promethium_lab.io.waveforms.open_waveforms` or
    :func:`~promethium_lab.io.store.open_store`.

    Parameters
    ----------
    path : path-like
        A file, or a store folder (an unfinished ``<store>.partial`` is refused by the store
        reader).
    **options
        Passed to the reader, e.g. ``geometry=``/``*_byte=`` for SEG-Y, ``truncated="keep"``
        for miniSEED. ``truncated="error"`` (the default everywhere) is accepted for any input.

    Raises
    ------
    PromethiumError
        The detector's or the reader's typed error; ``INVALID_PARAMETER`` for an option the
        chosen reader does not take.
    """
    p = Path(path).expanduser()
    if p.is_dir() or has_partial(p):
        kind = "zarr"
    else:
        kind = detect_format(p)
    reader = _reader(kind)
    options = dict(options)
    if kind not in WAVEFORM_KINDS and "truncated" in options:
        if options.pop("truncated") != "error":
            raise PromethiumError.invalid(
                f"{p.name} is {KIND_LABELS[kind]}: keeping a cut last record "
                "(truncated='keep') applies to miniSEED files only",
                hint="drop truncated='keep' for this input",
            )
    _check_options(kind, reader, options)
    if kind in ("segy", "su"):
        options.setdefault("su", kind == "su")
    return reader(p, **options)
