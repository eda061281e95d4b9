"""ChunkFiles: whole chunks written straight to their files read back through zarr."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec

from promethium_lab.io.chunk_files import ChunkFiles


def _array(path, shape, chunks, dtype, compressors, fill_value):
    return zarr.create_array(path, shape=shape, chunks=chunks, dtype=dtype,
                             compressors=compressors, fill_value=fill_value)


@pytest.mark.parametrize(("dtype", "codec", "fill"), [
    ("f4", BloscCodec(cname="zstd", clevel=1, shuffle="shuffle"), np.nan),
    ("f4", BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle"), 0.0),
    ("i1", BloscCodec(cname="zstd", clevel=1, shuffle="noshuffle"), 0),
    ("f8", None, -1.5),
])
def test_zarr_reads_back_what_was_written(tmp_path, dtype, codec, fill):
    shape, chunks = (7, 10, 33), (3, 4, 16)  # edge chunks in every dim
    _array(tmp_path / "a", shape, chunks, dtype, [codec] if codec else None, fill)
    rng = np.random.default_rng(0)
    data = (rng.normal(size=shape) * 40).astype(dtype)
    w = ChunkFiles(tmp_path / "a")
    # two blocks on the chunk grid: the first inlines, then the rest (edge included)
    w.write((slice(0, 3), slice(0, 10), slice(None)), data[0:3])
    w.write((slice(3, 7), slice(None), slice(0, 33)), data[3:7])
    back = zarr.open_array(tmp_path / "a", mode="r")[...]
    np.testing.assert_array_equal(back, data)
    assert back.dtype == np.dtype(dtype)
    # every chunk of the grid is a file, edge chunks padded to the full chunk shape
    n_files = sum(1 for p in (tmp_path / "a" / "c").rglob("*") if p.is_file())
    assert n_files == 3 * 3 * 3


def test_unwritten_chunks_read_as_the_fill_value(tmp_path):
    _array(tmp_path / "a", (8, 20), (4, 20), "f4",
           [BloscCodec(cname="zstd", clevel=1, shuffle="shuffle")], np.nan)
    ChunkFiles(tmp_path / "a").write((slice(0, 4), slice(None)), np.ones((4, 20), "f4"))
    back = zarr.open_array(tmp_path / "a", mode="r")[...]
    assert np.all(back[:4] == 1) and np.all(np.isnan(back[4:]))


def test_a_region_off_the_chunk_grid_is_refused(tmp_path):
    _array(tmp_path / "a", (8, 20), (4, 10), "f4", None, 0.0)
    w = ChunkFiles(tmp_path / "a")
    assert w.aligned((slice(4, 8), slice(0, 20)))
    assert not w.aligned((slice(2, 6), slice(0, 20)))
    assert not w.aligned((slice(0, 4), slice(0, 15)))
    with pytest.raises(ValueError, match="not on the chunk grid"):
        w.write((slice(2, 6), slice(0, 20)), np.zeros((4, 20), "f4"))
    with pytest.raises(ValueError, match="data of shape"):
        w.write((slice(0, 4), slice(0, 20)), np.zeros((4, 10), "f4"))
    assert not (tmp_path / "a" / "c").exists()  # nothing written by a refused call


def test_layouts_it_does_not_encode_are_left_to_zarr(tmp_path):
    zarr.create_array(tmp_path / "sharded", shape=(8, 8), chunks=(2, 2), shards=(4, 4),
                      dtype="f4")
    zarr.create_array(tmp_path / "gzip", shape=(8, 8), chunks=(4, 4), dtype="f4",
                      compressors=[zarr.codecs.GzipCodec()])
    assert not ChunkFiles.supports(tmp_path / "sharded")
    assert not ChunkFiles.supports(tmp_path / "gzip")
    assert not ChunkFiles.supports(tmp_path / "missing")
    with pytest.raises(ValueError, match="codecs"):
        ChunkFiles(tmp_path / "gzip")


def test_the_writer_pickles_without_its_codec(tmp_path):
    _array(tmp_path / "a", (4, 8), (2, 8), "f4",
           [BloscCodec(cname="zstd", clevel=1, shuffle="shuffle")], 0.0)
    w = ChunkFiles(tmp_path / "a")
    w.write((slice(0, 2), slice(None)), np.full((2, 8), 2, "f4"))
    w2 = pickle.loads(pickle.dumps(w))
    w2.write((slice(2, 4), slice(None)), np.full((2, 8), 3, "f4"))
    back = zarr.open_array(tmp_path / "a", mode="r")[...]
    assert np.all(back[:2] == 2) and np.all(back[2:] == 3)


def test_dot_separated_chunk_keys_are_flat_files(tmp_path):
    zarr.create_array(tmp_path / "a", shape=(6, 5), chunks=(2, 5), dtype="i1",
                      compressors=[BloscCodec(cname="zstd", clevel=1, shuffle="noshuffle")],
                      fill_value=0, chunk_key_encoding={"name": "default", "separator": "."})
    data = np.arange(30, dtype="i1").reshape(6, 5)
    ChunkFiles(tmp_path / "a").write((slice(0, 6), slice(0, 5)), data)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["c.0.0", "c.1.0", "c.2.0",
                                                                  "zarr.json"]
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "a", mode="r")[...], data)
