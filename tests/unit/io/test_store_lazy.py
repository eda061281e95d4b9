"""The xarray path to a store without dask (issue 17): ``xr.open_dataset(store,
engine="promethium")`` and ``open_store(store, chunks=None)`` read exactly what a direct
zarr read gives, from the copy made for the slice direction, and build no dask graph."""

from __future__ import annotations

import pickle
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr
import zarr
from dask.callbacks import Callback

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.store import StoreAmplitudeArray, open_store
from promethium_lab.workflows.ingest import ingest

#: thin chunks, so a slice touches several chunks of ``amplitude`` and routing matters
CHUNKS = (4, 4, 25)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """The F3 cube (23 inlines x 18 crosslines x 75 samples) with three exact fast copies
    (asked for: a store has none by default) and the default view copies."""
    return ingest(data_dir / "f3_ibm_be.sgy", tmp_path_factory.mktemp("lazy") / "f3.zarr",
                  chunks=CHUNKS, access_patterns=("inline", "crossline", "time"),
                  progress=False)


def _backend_array(var: xr.DataArray) -> object:
    """The innermost lazily indexed array behind ``var`` (unwrapping xarray's layers)."""
    data: object = var.variable._data
    while hasattr(data, "array"):
        data = data.array
    return data


class _GraphCounter(Callback):
    """Counts dask graphs run while active (a real dask callback, nothing replaced)."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def _start(self, dsk: object) -> None:
        self.runs += 1


def test_slices_equal_direct_zarr_reads(store):
    ds = xr.open_dataset(store, engine="promethium")
    amp = ds["amplitude"]
    z = zarr.open_array(store / "amplitude", mode="r")
    np.testing.assert_array_equal(amp.isel(inline=7).values, z[7])
    np.testing.assert_array_equal(amp.sel(inline=int(ds.inline[7])).values, z[7])
    np.testing.assert_array_equal(amp.isel(crossline=11).values, z[:, 11])
    np.testing.assert_array_equal(amp.sel(crossline=int(ds.crossline[-1])).values, z[:, -1])
    np.testing.assert_array_equal(amp.isel(time=40).values, z[:, :, 40])
    np.testing.assert_array_equal(amp.sel(time=float(ds.time[3])).values, z[:, :, 3])
    # fancy: unsorted, repeated and stepped, orthogonal across dims
    il, xl = [9, 2, 2, 15], slice(17, 0, -3)
    np.testing.assert_array_equal(amp.isel(inline=il, crossline=xl, time=slice(5, 70, 6)).values,
                                  z.oindex[il, list(range(17, 0, -3)), slice(5, 70, 6)])
    # pointwise (vectorized) picks of traces
    pts_il, pts_xl = np.array([0, 5, 22, 5]), np.array([17, 3, 0, 4])
    picked = amp.isel(inline=xr.DataArray(pts_il, dims="p"),
                      crossline=xr.DataArray(pts_xl, dims="p")).values
    np.testing.assert_array_equal(amp.values, z[...])
    np.testing.assert_array_equal(picked, z[...][pts_il, pts_xl])
    # and what the dask path (open_store's default) reads
    ref = open_store(store)["amplitude"]
    np.testing.assert_array_equal(amp.isel(crossline=4).values, ref.isel(crossline=4).values)


def test_open_and_one_slice_build_no_dask_graph(store):
    with _GraphCounter() as counter:
        ds = xr.open_dataset(store, engine="promethium")
        section = ds["amplitude"].sel(inline=int(ds.inline[3])).values
    assert counter.runs == 0
    assert isinstance(section, np.ndarray) and section.shape == (18, 75)
    assert ds["amplitude"].chunks is None
    assert not isinstance(ds["amplitude"].variable._data, da.Array)
    assert isinstance(_backend_array(ds["amplitude"]), StoreAmplitudeArray)
    # header variables and coordinates are lazy too (no dask anywhere)
    assert all(ds[name].chunks is None for name in ds.variables)
    lazy = open_store(store, chunks=None)
    assert lazy["amplitude"].chunks is None
    assert isinstance(_backend_array(lazy["amplitude"]), StoreAmplitudeArray)


def test_each_slice_reads_the_copy_made_for_it(store):
    array = _backend_array(xr.open_dataset(store, engine="promethium")["amplitude"])
    assert isinstance(array, StoreAmplitudeArray)
    nil, nxl, nt = array.shape
    every = (slice(0, nil, 1), slice(0, nxl, 1), slice(0, nt, 1))
    assert array.source((5, *every[1:])) == "fast_inline"
    assert array.source((every[0], 5, every[2])) == "fast_crossline"
    assert array.source((*every[:2], 40)) == "fast_time"
    assert array.source((slice(0, 4, 1), slice(0, 4, 1), slice(0, 25, 1))) == "amplitude"
    assert array.source((np.array([1, 2]), slice(0, nxl, 1), slice(0, nt, 1))) == "fast_inline"
    # the lossy view copies are never a source of exact reads
    assert {"view_inline", "view_time", "view_time_scale"} <= {p.name for p in store.iterdir()}
    assert not [n for n in array.names if n.startswith("view_")]


def test_asking_for_chunks_gives_dask_with_the_store_chunks(store):
    ds = xr.open_dataset(store, engine="promethium", chunks={})
    assert isinstance(ds["amplitude"].data, da.Array)
    assert ds["amplitude"].data.chunksize == CHUNKS
    z = zarr.open_array(store / "amplitude", mode="r")
    np.testing.assert_array_equal(ds["amplitude"].isel(crossline=2).values, z[:, 2])
    assert isinstance(open_store(store)["amplitude"].data, da.Array)  # the default: dask
    with pytest.raises(PromethiumError) as err:
        open_store(store, chunks="everything")  # type: ignore[arg-type]
    assert err.value.code == ErrorCode.INVALID_PARAMETER


def test_lazy_array_pickles_and_reads_the_same(store):
    ds = xr.open_dataset(store, engine="promethium")
    array = _backend_array(ds["amplitude"])
    again = pickle.loads(pickle.dumps(array))
    assert isinstance(again, StoreAmplitudeArray) and again.names == array.names
    key = (slice(0, 23, 1), 6, slice(10, 60, 1))
    np.testing.assert_array_equal(again._raw_getitem(key), array._raw_getitem(key))


def test_a_store_without_fast_copies_reads_from_amplitude(tmp_path, data_dir):
    store = ingest(data_dir / "f3_missing_traces_ibm.sgy", tmp_path / "plain.zarr",
                   chunks=CHUNKS, access_patterns=(), views=(), progress=False)
    ds = xr.open_dataset(store, engine="promethium")
    array = _backend_array(ds["amplitude"])
    assert isinstance(array, StoreAmplitudeArray) and array.names == ("amplitude",)
    ref = open_store(store)
    for sel in ({"inline": 3}, {"crossline": 0}, {"time": 74}):
        np.testing.assert_array_equal(ds["amplitude"].isel(sel).values,
                                      ref["amplitude"].isel(sel).values)
    np.testing.assert_array_equal(ds["trace_mask"].values, ref["trace_mask"].values)
