"""ChunkWindows: windows read chunk by chunk equal what zarr reads; other layouts fall
back to zarr itself."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, BytesCodec

from promethium_lab.io.chunk_files import ChunkWindows, window_reader


def _array(path, data, chunks, **kw):
    arr = zarr.create_array(path, shape=data.shape, chunks=chunks, dtype=data.dtype, **kw)
    arr[...] = data
    return zarr.open_array(path, mode="r")


@pytest.fixture()
def cube(tmp_path):
    data = np.random.default_rng(0).standard_normal((6, 23, 17)).astype("f4")
    return data, _array(tmp_path / "a", data, (4, 7, 5),
                        compressors=[BloscCodec(cname="zstd", clevel=1)])


@pytest.mark.parametrize("sel", [
    (slice(None), slice(None), slice(None)),
    (2, slice(3, 20), slice(0, 17)),         # a section across chunk edges
    (slice(1, 5), 22, slice(4, 5)),          # the last (partial) chunk
    (-1, slice(None), 16),
    (3, slice(5, 5), slice(None)),           # empty
    (0,),                                    # fewer indices than dims
])
def test_windows_equal_zarr(cube, sel):
    data, arr = cube
    reader = window_reader(arr)
    assert isinstance(reader, ChunkWindows)
    got = reader[sel]
    np.testing.assert_array_equal(got, arr[sel])
    np.testing.assert_array_equal(got, data[sel])
    assert got.dtype == np.float32


def test_unwritten_chunks_read_as_the_fill_value(tmp_path):
    arr = zarr.create_array(tmp_path / "a", shape=(10, 10), chunks=(4, 4), dtype="f4",
                            fill_value=np.nan)  # zarr's default codec: zstd
    arr[0:4, 0:4] = 1.0
    got = ChunkWindows(zarr.open_array(tmp_path / "a", mode="r"))[2:7, 2:7]
    assert (got[:2, :2] == 1).all() and np.isnan(got[2:]).all() and np.isnan(got[:, 2:]).all()


def test_bool_big_endian_and_uncompressed(tmp_path):
    mask = np.random.default_rng(1).random((30, 11)) > 0.5
    got = ChunkWindows(_array(tmp_path / "m", mask, (8, 4), compressors=[BloscCodec()]))[
        5:29, 1:10]
    np.testing.assert_array_equal(got, mask[5:29, 1:10])
    ints = np.arange(200, dtype=">i4").reshape(20, 10)
    arr = _array(tmp_path / "i", ints, (6, 6), serializer=BytesCodec(endian="big"),
                 compressors=None)
    np.testing.assert_array_equal(ChunkWindows(arr)[3:17, 2:9], ints[3:17, 2:9])


def test_raw_bytes_such_as_trace_headers(tmp_path):
    """240-byte records (the stores' ``raw_headers``), some chunks never written: the
    same bytes as zarr reads, zeros where nothing was written."""
    rng = np.random.default_rng(2)
    headers = rng.integers(0, 256, (13, 9, 240), dtype=np.uint8).view("V240")[..., 0]
    arr = zarr.create_array(tmp_path / "h", shape=(13, 9), chunks=(5, 4), dtype="V240",
                            compressors=[BloscCodec(cname="zstd", clevel=1, typesize=240)])
    arr[:10] = headers[:10]
    arr = zarr.open_array(tmp_path / "h", mode="r")
    got = window_reader(arr)[3:13, 2:9]
    assert isinstance(window_reader(arr), ChunkWindows) and got.dtype == np.dtype("V240")
    assert got.tobytes() == np.asarray(arr[3:13, 2:9]).tobytes()
    assert got[:7].tobytes() == headers[3:10, 2:9].tobytes()
    assert not np.frombuffer(got[7:].tobytes(), np.uint8).any()
    structured = np.zeros(4, dtype=[("a", "<i4"), ("b", "<f4")])
    arr = _array(tmp_path / "s", structured, (2,))
    assert window_reader(arr) is arr  # records with fields: zarr's own reading


def test_other_layouts_are_read_by_zarr(tmp_path):
    data = np.arange(64, dtype="f4").reshape(8, 8)
    sharded = _array(tmp_path / "s", data, (2, 2), shards=(4, 4))
    assert window_reader(sharded) is sharded
    memory = zarr.create_array(zarr.storage.MemoryStore(), shape=(8, 8), chunks=(4, 4),
                               dtype="f4")
    assert window_reader(memory) is memory
    plain = np.zeros(3)
    assert window_reader(plain) is plain  # not zarr at all: left as it is
    with pytest.raises(IndexError):
        ChunkWindows(_array(tmp_path / "b", data, (4, 4)))[0:8:2]
