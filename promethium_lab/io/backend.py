"""xarray backend: ``xr.open_dataset(path, engine="promethium")``.

Opens SEG-Y / SU / miniSEED / SAC files and Zarr stores written here (or by MDIO)
as survey datasets; nothing is read until indexed, and no dask graph is built unless
``chunks=`` asks for dask (xarray's own convention: ``chunks=None`` by default). A store's
``amplitude`` is a :class:`~promethium_lab.io.store.StoreAmplitudeArray`: a slice reads
just the chunks it needs, exactly: from ``amplitude``, or from an exact ``fast_<dim>``
copy made for its direction when the store has one (never from the lossy view copies).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import xarray as xr
from xarray.backends import BackendEntrypoint

__all__ = ["PromethiumBackendEntrypoint"]


class PromethiumBackendEntrypoint(BackendEntrypoint):
    """Seismic files and stores as ``xarray.Dataset`` (see ``docs/data-model.md``)."""

    description = "SEG-Y, Seismic Unix, miniSEED, SAC and promethium/MDIO Zarr stores"
    url = "https://github.com/promethium-lab/promethium_lab"
    open_dataset_parameters = (
        "filename_or_obj", "drop_variables", "geometry", "endian", "truncated",
    )

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """True for files whose bytes look like SEG-Y/SU/miniSEED/SAC, and for our stores."""
        from promethium_lab.io.formats import (
            SEGY_KINDS,
            WAVEFORM_KINDS,
            kind_from_suffix,
            sniff_format,
        )

        if not isinstance(filename_or_obj, str | os.PathLike):
            return False
        p = Path(filename_or_obj)
        if p.is_dir():
            from promethium_lab.io.store import is_complete_store

            return is_complete_store(p) and "promethium" in (p / "zarr.json").read_text()
        kind = sniff_format(p) if p.is_file() else kind_from_suffix(p)
        return kind in SEGY_KINDS + WAVEFORM_KINDS

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        geometry: str = "auto",
        endian: str = "auto",
        truncated: str = "error",
        **key_bytes: int,
    ) -> xr.Dataset:
        """Open a file or store; ``geometry``, ``endian`` and ``*_byte`` apply to SEG-Y,
        ``truncated`` (``"error"`` or ``"keep"``) to miniSEED.

        Variables come back lazily indexed, not as dask arrays: xarray wraps them in dask
        itself when ``xr.open_dataset`` is given ``chunks`` (a store's variables carry
        their chunks as ``preferred_chunks``, so ``chunks={}`` gives the store's).
        """
        from promethium_lab.io.formats import SEGY_KINDS, detect_format, has_partial
        from promethium_lab.io.survey import open_survey

        p = Path(filename_or_obj)
        options: dict[str, Any] = {} if truncated == "error" else {"truncated": truncated}
        if p.is_dir() or has_partial(p):
            options["chunks"] = None  # a store: lazily indexed, no dask
        elif detect_format(p) in SEGY_KINDS:
            options.update(geometry=geometry, endian=endian, **key_bytes)
        ds = open_survey(p, **options)
        if drop_variables:
            names = [drop_variables] if isinstance(drop_variables, str) else list(drop_variables)
            ds = ds.drop_vars(names, errors="ignore")
        return ds
