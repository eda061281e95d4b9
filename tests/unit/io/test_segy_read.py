"""open_segy on every real SEG-Y/SU file, checked against segyio's decoding."""

from __future__ import annotations

import itertools
import os
import pickle
from pathlib import Path

import numpy as np
import obspy
import pytest
import segyio
import xarray as xr

from promethium_lab.io.segy import SegyAmplitudeArray, open_segy
from promethium_lab.io.store import open_store
from promethium_lab.workflows.ingest import ingest

DATA = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))

#: every SEG-Y / SU file of the developer set: name -> (byte order, Seismic Unix?)
SEGY_FILES = {
    "f3_int16_be.sgy": ("big", False),
    "f3_ibm_be.sgy": ("big", False),
    "f3_ibm_le.sgy": ("little", False),
    "f3_missing_traces_ibm.sgy": ("big", False),
    "f3_2inlines_ibm.sgy": ("big", False),
    "viking_graben_4shots_ibm.segy": ("big", False),
    "land_cmp700_be.su": ("big", True),
    "kit_1trace_le.su": ("little", True),
    "liag_1trace_ibm_le.sgy": ("little", False),
}
F3_MISSING = "f3_missing_traces_ibm.sgy"


def test_every_segy_file_of_the_data_set_is_listed():
    on_disk = {p.name for p in DATA.iterdir() if p.suffix.lower() in (".sgy", ".segy", ".su")}
    assert on_disk == set(SEGY_FILES)


def segyio_open(name: str):
    endian, su = SEGY_FILES[name]
    path = str(DATA / name)
    if su:
        return segyio.su.open(path, endian=endian, ignore_geometry=True)
    return segyio.open(path, ignore_geometry=True, endian=endian)


def exact_ibm(words: np.ndarray) -> np.ndarray:
    """IBM floats (as native uint32) decoded exactly in float64 arithmetic."""
    words = words.astype(np.uint64)
    sign = np.where(words >> 31, -1.0, 1.0)
    exponent = ((words >> 24) & 0x7F).astype(np.int64) - 64
    mantissa = (words & 0xFFFFFF).astype(np.float64) / 2.0**24
    return sign * mantissa * np.power(16.0, exponent)


class Reference:
    """What segyio reads from one file: samples, headers, sample axis.

    segyio's IBM decoder is wrong for unnormalised words (leading hex digit 0), which
    ``liag_1trace_ibm_le.sgy`` holds; those samples are decoded exactly here instead
    (at most 20 significant bits: float32 holds them exactly).
    """

    def __init__(self, name: str) -> None:
        endian, su = SEGY_FILES[name]
        with segyio_open(name) as f:
            self.samples = np.asarray(f.trace.raw[:]).astype(np.float32)
            self.headers = [dict(h) for h in f.header]
            self.axis = np.asarray(f.samples, dtype=float)
            ibm = not su and int(f.format) == 1
            self.n = len(self.headers)
        self.n_unnormalised = 0
        if ibm:
            start, ns = 3600, self.samples.shape[1]
            order = ">" if endian == "big" else "<"
            words = np.frombuffer((DATA / name).read_bytes()[start:], dtype=order + "u4")
            words = words.reshape(self.n, 60 + ns)[:, 60:].astype(np.uint32)
            odd = ((words & 0x00F00000) == 0) & ((words & 0x00FFFFFF) != 0)
            self.n_unnormalised = int(odd.sum())
            self.samples[odd] = exact_ibm(words[odd]).astype(np.float32)

    def field(self, byte: int) -> np.ndarray:
        return np.array([h[byte] for h in self.headers], dtype=np.int64)


@pytest.fixture(scope="module")
def reference():
    cache: dict[str, Reference] = {}

    def get(name: str) -> Reference:
        if name not in cache:
            cache[name] = Reference(name)
        return cache[name]

    return get


@pytest.fixture(scope="module")
def opened():
    cache: dict[str, xr.Dataset] = {}

    def get(name: str) -> xr.Dataset:
        if name not in cache:
            cache[name] = open_segy(DATA / name)
        return cache[name]

    return get


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("name", sorted(SEGY_FILES))
def test_amplitudes_equal_segyio_at_their_grid_cells(name, reference, opened):
    ref, ds = reference(name), opened(name)
    amp = ds["amplitude"]
    assert amp.dims[-1] == "time"
    assert amp.dtype == np.float32
    values = amp.values
    index = ds["segy_trace_index"].values
    mask = ds["trace_mask"].values
    assert values.shape == (*index.shape, ref.samples.shape[1])
    # every file trace sits in exactly one live cell, bit for bit
    assert np.array_equal(np.sort(index[mask]), np.arange(ref.n))
    assert np.array_equal(values[mask], ref.samples[index[mask]])
    assert not values[~mask].any()


@pytest.mark.parametrize("name", sorted(SEGY_FILES))
def test_grid_labels_match_the_header_words_of_the_placed_trace(name, reference, opened):
    ref, ds = reference(name), opened(name)
    index = ds["segy_trace_index"].values
    mask = ds["trace_mask"].values
    trace_dims = ds["amplitude"].dims[:-1]
    key_bytes = ds.attrs["key_bytes"]
    for axis, dim in enumerate(trace_dims):
        if dim == "trace":  # irregular: cells are file order
            assert np.array_equal(ds["trace"].values, np.arange(ref.n))
            continue
        labels = np.broadcast_to(
            ds[dim].values.reshape([-1 if a == axis else 1 for a in range(len(trace_dims))]),
            index.shape,
        )
        assert np.array_equal(ref.field(key_bytes[dim])[index[mask]], labels[mask]), dim


EXPECTED_GRIDS = {
    "f3_int16_be.sgy": ("poststack3d", {"inline": 23, "crossline": 18, "time": 75}),
    "f3_ibm_be.sgy": ("poststack3d", {"inline": 23, "crossline": 18, "time": 75}),
    "f3_ibm_le.sgy": ("poststack3d", {"inline": 23, "crossline": 18, "time": 75}),
    F3_MISSING: ("poststack3d", {"inline": 23, "crossline": 18, "time": 75}),
    "f3_2inlines_ibm.sgy": ("poststack3d", {"inline": 2, "crossline": 100, "time": 463}),
    "viking_graben_4shots_ibm.segy": ("shot", {"shot_point": 4, "channel": 120, "time": 600}),
    "land_cmp700_be.su": ("cdp_offset", {"cdp": 1, "offset": 24, "time": 1100}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_GRIDS))
def test_geometry_and_dims(name, opened):
    geometry, sizes = EXPECTED_GRIDS[name]
    ds = opened(name)
    assert ds.attrs["geometry"] == geometry
    assert dict(ds["amplitude"].sizes) == sizes


def test_attrs_describe_the_source(opened):
    be, le, i16 = opened("f3_ibm_be.sgy"), opened("f3_ibm_le.sgy"), opened("f3_int16_be.sgy")
    assert (be.attrs["segy_endian"], be.attrs["segy_format"]) == (">", 1)
    assert (le.attrs["segy_endian"], le.attrs["segy_format"]) == ("<", 1)
    assert (i16.attrs["segy_endian"], i16.attrs["segy_format"]) == (">", 3)
    assert be.attrs["sample_interval_us"] == 4000
    assert be.attrs["source_path"] == str(DATA / "f3_ibm_be.sgy")
    su = opened("land_cmp700_be.su")
    assert (su.attrs["segy_format"], su.attrs["segy_su"]) == (5, 1)
    # the byte-swapped copy decodes to the very same cube
    assert np.array_equal(be["amplitude"].values, le["amplitude"].values)
    assert np.array_equal(be["amplitude"].values, i16["amplitude"].values)


def test_file_headers_are_kept_raw(opened):
    import base64

    ds = opened("f3_ibm_be.sgy")
    attrs = ds["segy_file_header"].attrs
    raw = (DATA / "f3_ibm_be.sgy").read_bytes()
    assert base64.b64decode(attrs["rawTextHeader"]) == raw[:3200]
    assert base64.b64decode(attrs["rawBinaryHeader"]) == raw[3200:3600]
    assert attrs["binaryHeader"]["data_sample_format"] == 1
    assert attrs["binaryHeader"]["samples_per_trace"] == 75
    # EBCDIC text decoded as segyio decodes it, in 40 lines of 80 characters
    for name in ["f3_ibm_be.sgy", "f3_int16_be.sgy", F3_MISSING, "viking_graben_4shots_ibm.segy"]:
        text = opened(name)["segy_file_header"].attrs["textHeader"]
        with segyio_open(name) as f:
            expected = bytes(f.text[0]).decode("ascii", "replace")
        assert [len(line) for line in text.splitlines()] == [80] * 40
        flat = text.replace("\n", "")
        assert len(flat) == 3200
        # segyio's EBCDIC table differs from cp037 only in a few symbols ("|" vs "¦")
        assert all(a == b for a, b in zip(flat, expected) if b.isalnum() or b == " ")
    assert "Cropped F3" in opened("f3_int16_be.sgy")["segy_file_header"].attrs["textHeader"]
    liag = opened("liag_1trace_ibm_le.sgy")  # ASCII text header
    text = (DATA / "liag_1trace_ibm_le.sgy").read_bytes()[:80].decode("ascii")
    assert liag["segy_file_header"].attrs["textHeader"].splitlines()[0] == text


@pytest.mark.parametrize("name", sorted(SEGY_FILES))
def test_raw_and_decoded_headers_are_the_file_headers(name, reference, opened):
    ref, ds = reference(name), opened(name)
    su = SEGY_FILES[name][1]
    index = ds["segy_trace_index"].values
    mask = ds["trace_mask"].values
    blob = (DATA / name).read_bytes()
    start = 0 if su else 3600
    trace_len = (len(blob) - start) // ref.n
    file_headers = np.frombuffer(blob[start:], np.uint8).reshape(ref.n, trace_len)[:, :240]
    raw = ds["raw_headers"].values
    assert raw.dtype == np.dtype("V240")
    got = np.frombuffer(raw[mask].tobytes(), np.uint8).reshape(-1, 240)
    assert np.array_equal(got, file_headers[index[mask]])
    assert not np.frombuffer(raw[~mask].tobytes(), np.uint8).any()
    headers = ds["headers"].values
    for name_, byte in [("inline", 189), ("crossline", 193), ("cdp_x", 181),
                        ("delay_recording_time", 109), ("coordinate_scalar", 71),
                        ("orig_field_record_num", 9), ("source_to_receiver_distance", 37)]:
        assert np.array_equal(headers[name_][mask], ref.field(byte)[index[mask]]), name_


# --------------------------------------------------------------------------- mask, time, coords


def test_unnormalised_ibm_words_are_decoded_exactly(reference, opened):
    name = "liag_1trace_ibm_le.sgy"
    ref, ds = reference(name), opened(name)
    assert ref.n_unnormalised == 178  # so the comparison above covers them
    with segyio_open(name) as f:
        segyio_values = np.asarray(f.trace.raw[:], dtype=np.float32)
    values = ds["amplitude"].values
    differs = values != segyio_values
    assert int(differs.sum()) == 178  # only where segyio's decoder is wrong
    assert np.array_equal(values, ref.samples)
    assert np.all(np.abs(values) < 1e-8) and np.any(values != 0)


def test_missing_traces_are_absent_cells_not_zero_traces(reference, opened):
    ref, ds = reference(F3_MISSING), opened(F3_MISSING)
    mask = ds["trace_mask"].values
    assert mask.dtype == bool
    assert mask.shape == (23, 18)
    assert int(mask.sum()) == 239
    assert int((~mask).sum()) == 175
    assert np.array_equal(mask, ds["segy_trace_index"].values >= 0)
    # live cells are exactly the (inline, crossline) pairs present in the file
    il, xl = np.meshgrid(ds["inline"].values, ds["crossline"].values, indexing="ij")
    present = set(zip(ref.field(189).tolist(), ref.field(193).tolist()))
    assert set(zip(il[mask].tolist(), xl[mask].tolist())) == present
    assert not any((a, b) in present for a, b in zip(il[~mask].tolist(), xl[~mask].tolist()))
    assert not ds["amplitude"].values[~mask].any()
    # absent cells have no coordinates, headers or raw headers
    assert np.isnan(ds["cdp_x"].values[~mask]).all()
    assert not ds["headers"].values["inline"][~mask].any()


@pytest.mark.parametrize("name", sorted(set(SEGY_FILES) - {F3_MISSING}))
def test_full_files_have_every_cell_live(name, reference, opened):
    ds = opened(name)
    assert bool(ds["trace_mask"].values.all())
    assert int(ds["trace_mask"].values.sum()) == reference(name).n


@pytest.mark.parametrize(
    ("name", "t0", "dt"),
    [("f3_int16_be.sgy", 4.0, 4.0), ("f3_ibm_be.sgy", 4.0, 4.0), ("f3_ibm_le.sgy", 4.0, 4.0),
     (F3_MISSING, 4.0, 4.0), ("f3_2inlines_ibm.sgy", 0.0, 4.0),
     ("viking_graben_4shots_ibm.segy", 0.0, 4.0), ("land_cmp700_be.su", 0.0, 2.0),
     ("liag_1trace_ibm_le.sgy", 0.0, 2.0)],
)
def test_time_axis_starts_at_the_recording_delay(name, t0, dt, reference, opened):
    ds = opened(name)
    t = ds["time"].values
    assert ds["time"].attrs["units"] == "ms"
    assert t[0] == t0
    assert np.allclose(np.diff(t), dt)
    assert t.size == ds.sizes["time"]
    # segyio's sample axis is the same (it also starts at the delay)
    assert np.allclose(t, reference(name).axis)


@pytest.mark.parametrize("name", ["f3_ibm_be.sgy", "f3_ibm_le.sgy", F3_MISSING,
                                  "f3_2inlines_ibm.sgy", "land_cmp700_be.su"])
def test_cdp_coordinates_are_scaled_by_the_coordinate_scalar(name, reference, opened):
    ref, ds = reference(name), opened(name)
    index = ds["segy_trace_index"].values
    mask = ds["trace_mask"].values
    scalar = ref.field(71).astype(float)
    factor = np.where(scalar < 0, -1 / np.where(scalar == 0, 1, scalar),
                      np.where(scalar == 0, 1, scalar))
    for coord, byte in [("cdp_x", 181), ("cdp_y", 185)]:
        expected = ref.field(byte) * factor
        got = ds[coord].values
        assert ds[coord].dims == ds["trace_mask"].dims
        assert got.dtype == np.float64
        assert ds[coord].attrs["units"] == "m"
        assert np.allclose(got[mask], expected[index[mask]], rtol=0, atol=1e-6)
    if name.startswith("f3_ibm_be"):
        assert np.all(ref.field(71) == -10)  # the scalar really divides here
        assert ds["cdp_x"].values[0, 0] == pytest.approx(620197.2)


def test_shot_gathers_get_source_and_group_coordinates(reference, opened):
    name = "viking_graben_4shots_ibm.segy"
    ref, ds = reference(name), opened(name)
    index = ds["segy_trace_index"].values
    for coord, byte in [("source_coord_x", 73), ("group_coord_x", 81)]:
        assert np.array_equal(ds[coord].values, ref.field(byte)[index].astype(float))
    assert ds["shot_point"].values.tolist() == [3, 4, 5, 6]
    assert ds["source_coord_x"].values[:, 0].tolist() == [3237, 3262, 3287, 3312]


# --------------------------------------------------------------------------- laziness


def _numpy_index(a: np.ndarray, key: tuple) -> np.ndarray:
    """Orthogonal indexing, one axis at a time (ints drop the axis), as xarray's isel."""
    for axis in reversed(range(len(key))):
        k = key[axis]
        a = a[(slice(None),) * axis + (k,)] if isinstance(k, slice) else np.take(a, k, axis=axis)
    return a


KEYS = [0, -1, 3, [3, 1, 1, 0], np.array([2, 0]), slice(None), slice(1, 9, 3),
        slice(None, None, -2), slice(5, 5), []]


@pytest.mark.parametrize("name", [F3_MISSING, "viking_graben_4shots_ibm.segy"])
def test_lazy_isel_equals_numpy_indexing_of_the_eager_array(name, opened):
    ds = opened(name)
    amp = ds["amplitude"]
    assert isinstance(amp.variable._data, xr.core.indexing.LazilyIndexedArray)
    eager = amp.values
    dims = amp.dims
    for key in itertools.product(KEYS, repeat=3):
        got = amp.isel(dict(zip(dims, key))).values
        expected = _numpy_index(eager, key)
        assert got.shape == expected.shape, key
        assert np.array_equal(got, expected), key


def test_lazy_vectorised_and_chained_indexing(opened):
    ds = opened(F3_MISSING)
    amp = ds["amplitude"]
    eager = amp.values
    got = amp.isel(inline=xr.DataArray([0, 3, 22], dims="p"),
                   crossline=xr.DataArray([1, 1, 17], dims="p")).values
    assert np.array_equal(got, eager[[0, 3, 22], [1, 1, 17]])
    chained = amp.isel(inline=slice(2, 20)).isel(crossline=[5, 2]).isel(time=slice(10, 0, -3))
    assert np.array_equal(chained.values, eager[2:20][:, [5, 2]][:, :, 10:0:-3])
    by_label = amp.sel(inline=120, crossline=[880, 876], time=slice(8.0, 40.0)).values
    il = list(ds["inline"].values).index(120)
    xls = [list(ds["crossline"].values).index(x) for x in (880, 876)]
    assert np.array_equal(by_label, eager[il][xls][:, 1:10])


def test_indexing_reads_only_the_touched_traces(opened, monkeypatch):
    ds = open_segy(DATA / F3_MISSING)
    source = ds["amplitude"].variable._data.array
    assert isinstance(source, SegyAmplitudeArray)
    seen: list[np.ndarray] = []
    original = source.read

    def spy(idx, time_key=slice(None)):
        seen.append(np.array(idx))
        return original(idx, time_key)

    monkeypatch.setattr(source, "read", spy)
    section = ds["amplitude"].isel(inline=4, crossline=slice(0, 3)).values
    assert section.shape == (3, 75)
    assert len(seen) == 1
    assert seen[0].size == 3


@pytest.mark.parametrize("chunks", [{"inline": 5}, {"inline": 4, "crossline": 7},
                                    {"inline": 6, "crossline": 5, "time": 10}])
def test_dask_chunks_give_the_same_values(chunks, opened):
    eager = opened(F3_MISSING)["amplitude"].values
    ds = open_segy(DATA / F3_MISSING, chunks=chunks)
    amp = ds["amplitude"]
    assert amp.chunks is not None
    for dim, size in chunks.items():
        assert amp.chunksizes[dim][0] == size
    if "time" not in chunks:
        assert amp.chunksizes["time"] == (75,)
    assert np.array_equal(amp.values, eager)
    assert np.array_equal(amp.isel(inline=[3, 0], time=slice(5, 50, 2)).values,
                          eager[[3, 0]][:, :, 5:50:2])


def test_dask_chunks_on_prestack_and_little_endian(opened):
    for name, chunks in [("viking_graben_4shots_ibm.segy", {"shot_point": 1, "channel": 50}),
                         ("f3_ibm_le.sgy", {"crossline": 4})]:
        ds = open_segy(DATA / name, chunks=chunks)
        assert np.array_equal(ds["amplitude"].values, opened(name)["amplitude"].values)


def test_lazy_and_chunked_datasets_pickle(opened):
    eager = opened(F3_MISSING)["amplitude"].values
    lazy = open_segy(DATA / F3_MISSING)
    source = lazy["amplitude"].variable._data.array
    source.read(np.array([0]))  # opens the memory map, which must not travel
    assert source._mm is not None
    clone = pickle.loads(pickle.dumps(source))
    assert clone._mm is None
    assert np.array_equal(np.asarray(pickle.loads(pickle.dumps(lazy))["amplitude"].values), eager)
    chunked = open_segy(DATA / F3_MISSING, chunks={"inline": 5})
    graph = pickle.loads(pickle.dumps(chunked["amplitude"].data))  # what Dask ships to workers
    assert np.array_equal(graph.compute(scheduler="sync"), eager)


# --------------------------------------------------------------------------- xarray backend


@pytest.mark.parametrize("name", ["f3_ibm_be.sgy", "f3_ibm_le.sgy", "land_cmp700_be.su",
                                  "viking_graben_4shots_ibm.segy"])
def test_xarray_engine_opens_segy_and_su(name, opened):
    ds = xr.open_dataset(DATA / name, engine="promethium")
    ref = opened(name)
    assert ds.attrs["geometry"] == ref.attrs["geometry"]
    assert np.array_equal(ds["amplitude"].values, ref["amplitude"].values)
    assert np.array_equal(ds["trace_mask"].values, ref["trace_mask"].values)
    dropped = xr.open_dataset(DATA / name, engine="promethium", drop_variables=["headers"])
    assert "headers" not in dropped and "amplitude" in dropped


@pytest.mark.parametrize(
    ("name", "n_samples"),
    [("NL.HGN.00.BHZ_2003-05-29.mseed", 11947), ("NZ.CRLZ.10.HHZ_le.SAC", 32768),
     ("II.TLY.00.BHZ_be.SAC", 12684)],
)
def test_xarray_engine_opens_waveforms(name, n_samples):
    ds = xr.open_dataset(DATA / name, engine="promethium")
    assert ds.attrs["geometry"] == "waveforms"
    assert dict(ds["amplitude"].sizes) == {"trace": 1, "time": n_samples}
    expected = obspy.read(str(DATA / name))[0].data
    assert np.array_equal(ds["amplitude"].values[0], expected.astype(np.float32))
    assert bool(ds["trace_mask"].values.all())


def test_xarray_engine_opens_a_store(tmp_path, opened):
    store = ingest(DATA / F3_MISSING, tmp_path / "f3.zarr", progress=False)
    ds = xr.open_dataset(store, engine="promethium")
    ref = opened(F3_MISSING)
    assert ds.attrs["geometry"] == "poststack3d"
    assert np.array_equal(ds["amplitude"].values, ref["amplitude"].values)
    assert np.array_equal(ds["trace_mask"].values, ref["trace_mask"].values)
    assert np.array_equal(ds["amplitude"].values, open_store(store)["amplitude"].values)


def test_engine_guesses_by_content(tmp_path):
    from promethium_lab.io.backend import PromethiumBackendEntrypoint

    entry = PromethiumBackendEntrypoint()
    assert entry.guess_can_open(str(DATA / "f3_ibm_be.sgy"))
    assert entry.guess_can_open(str(DATA / "NL.HGN.00.BHZ_2003-05-29.mseed"))
    png = tmp_path / "image.sgy"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4000))
    assert not entry.guess_can_open(str(png))
    assert not entry.guess_can_open(str(tmp_path))  # a folder that is no store
