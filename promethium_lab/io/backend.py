"""xarray backend: ``xr.open_dataset(path, engine="promethium")``.

Opens SEG-Y / SU / miniSEED / SAC files and Zarr stores written here (or by MDIO)
as survey datasets; nothing is read until indexed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import xarray as xr
from xarray.backends import BackendEntrypoint

__all__ = ["PromethiumBackendEntrypoint"]

_SEGY_SUFFIXES = {".sgy", ".segy", ".su"}
_WAVEFORM_SUFFIXES = {".mseed", ".miniseed", ".sac"}


class PromethiumBackendEntrypoint(BackendEntrypoint):
    """Seismic files and stores as ``xarray.Dataset`` (see ``docs/data-model.md``)."""

    description = "SEG-Y, Seismic Unix, miniSEED, SAC and promethium/MDIO Zarr stores"
    url = "https://github.com/promethium-lab/promethium_lab"
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "geometry", "endian")

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """True for files whose bytes look like SEG-Y/miniSEED/SAC, and for our stores."""
        if not isinstance(filename_or_obj, str | os.PathLike):
            return False
        p = Path(filename_or_obj)
        if p.is_dir():
            from promethium_lab.io.store import is_complete_store

            return is_complete_store(p) and "promethium" in (p / "zarr.json").read_text()
        if not p.is_file():
            return p.suffix.lower() in _SEGY_SUFFIXES | _WAVEFORM_SUFFIXES
        from promethium_lab.core.errors import PromethiumError
        from promethium_lab.workflows.ingest import detect_format

        try:
            detect_format(p)
        except PromethiumError:
            return False
        return True

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        geometry: str = "auto",
        endian: str = "auto",
        **key_bytes: int,
    ) -> xr.Dataset:
        """Open a file or store; ``geometry``, ``endian`` and ``*_byte`` apply to SEG-Y."""
        from promethium_lab.workflows.ingest import open_survey

        p = Path(filename_or_obj)
        if p.is_dir():
            ds = open_survey(p)
        elif p.suffix.lower() in _WAVEFORM_SUFFIXES or _is_waveform(p):
            ds = open_survey(p)
        else:
            ds = open_survey(p, geometry=geometry, endian=endian, **key_bytes)
        if drop_variables:
            names = [drop_variables] if isinstance(drop_variables, str) else list(drop_variables)
            ds = ds.drop_vars(names, errors="ignore")
        return ds


def _is_waveform(p: Path) -> bool:
    from promethium_lab.io.waveforms import guess_waveform_format

    return p.is_file() and guess_waveform_format(p) is not None
