"""Job previews: the newest downsampled result of a running job, one netCDF file per job.

A preview is written to ``<data_dir>/previews/<job_id>.nc`` through a temporary file and
``os.replace``, so readers (the side panel, ``job.preview`` in another kernel) see either
the previous preview or the new one, never half a file. Only the newest is kept.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MAX_PREVIEW_SIZE", "downsample", "read_preview", "write_preview"]

#: previews are at most this many samples along each of their (two) dims
MAX_PREVIEW_SIZE = 512
_KIND_ATTR = "promethium_preview"


def _section_dims(ds: Any) -> tuple[str, ...]:
    """Dims a Dataset without ``amplitude`` is cut along: its widest variable's, else all."""
    widest = max(ds.data_vars.values(), key=lambda v: v.ndim, default=None)
    return tuple(map(str, widest.dims)) if widest is not None else tuple(map(str, ds.dims))


def downsample(obj: Any, max_size: int = MAX_PREVIEW_SIZE) -> Any:
    """A small in-memory copy of an xarray object for display.

    The 2-D section a preview shows (:func:`promethium_lab.io.blocks.middle_section`):
    singleton dims are dropped, then the middle of the leading dims is taken (for
    ``inline, crossline, time``: the middle inline); then every dim is decimated by an
    integer stride to at most ``max_size`` samples (≤ 512 × 512 by default). A Dataset is
    cut along the dims of its ``amplitude``, else of its widest variable.
    """
    import xarray as xr

    from promethium_lab.io.blocks import middle_section

    if not isinstance(obj, xr.DataArray | xr.Dataset):
        raise TypeError(f"a preview is an xarray DataArray or Dataset, not {type(obj).__name__}")
    if isinstance(obj, xr.Dataset) and "amplitude" not in obj.data_vars:
        # middle_section reads the dims to cut from ``amplitude``: lend it a zero-stride one
        dims = _section_dims(obj)
        stand_in = np.broadcast_to(np.float32(0), tuple(obj.sizes[d] for d in dims))
        small = middle_section(obj.assign(amplitude=(dims, stand_in)), max_size)
        small = small.drop_vars("amplitude")
    else:
        small = middle_section(obj, max_size)
    return small.load() if hasattr(small, "load") else small


def _netcdf_safe(ds: Any) -> Any:
    """Drop what netCDF-3 cannot hold (structured/object arrays) and flatten attrs."""

    def attrs_ok(attrs: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in attrs.items():
            if isinstance(v, str | int | float | np.number) and not isinstance(v, bool):
                out[str(k)] = v
            elif isinstance(v, bool | np.bool_):
                out[str(k)] = int(v)
            elif v is not None:
                out[str(k)] = json.dumps(v, default=str)
        return out

    import xarray as xr

    safe: dict[str, Any] = {}
    for name, var in ds.variables.items():
        data, kind, size = var.values, var.dtype.kind, var.dtype.itemsize
        if kind in "VO":  # structured (raw headers) and object arrays
            continue
        if kind == "u":  # netCDF-3 has no unsigned types
            if size >= 4:
                continue
            data = data.astype(f"i{2 * size}")
        elif kind == "i" and size == 8 and data.size and (
                np.abs(data).max() > np.iinfo(np.int32).max):
            continue
        safe[str(name)] = xr.Variable(var.dims, data, attrs=attrs_ok(var.attrs))
    coords = {n: v for n, v in safe.items() if n in ds.coords}
    data_vars = {n: v for n, v in safe.items() if n not in ds.coords}
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs_ok(ds.attrs))
    return ds


def write_preview(obj: Any, folder: str | os.PathLike, job_id: str) -> Path:
    """Downsample ``obj`` and write it atomically as ``<folder>/<job_id>.nc``."""
    import xarray as xr

    small = downsample(obj)
    if isinstance(small, xr.DataArray):
        name = small.name if small.name is not None else "preview"
        ds = small.to_dataset(name=str(name))
        ds.attrs[_KIND_ATTR] = f"DataArray:{name}"
    else:
        ds = small.copy()
        ds.attrs[_KIND_ATTR] = "Dataset"
    ds = _netcdf_safe(ds)
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{job_id}.nc"
    tmp = out_dir / f".{job_id}.{uuid.uuid4().hex[:8]}.nc.tmp"
    try:
        ds.to_netcdf(tmp, engine="scipy")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def read_preview(path: str | os.PathLike) -> Any:
    """The preview at ``path`` (a DataArray or Dataset, in memory), or None if it is gone."""
    import xarray as xr

    try:
        with xr.open_dataset(path, engine="scipy") as ds:
            ds = ds.load()
    except (FileNotFoundError, OSError, ValueError):
        return None
    kind = str(ds.attrs.pop(_KIND_ATTR, "Dataset"))
    if kind.startswith("DataArray:"):
        name = kind.split(":", 1)[1]
        if name in ds.data_vars:
            da = ds[name]
            da.attrs.update({k: v for k, v in ds.attrs.items() if k not in da.attrs})
            return da
    return ds
