"""The result hash of a store (``io.store.array_hashes`` / ``store_hash``): the arrays'
values, shapes and dtypes, never their chunks, compression or attributes; real F3 data."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import zarr

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.store import array_hashes, store_hash, update_attributes
from promethium_lab.workflows.ingest import ingest


@pytest.fixture
def f3_store(tmp_path, data_dir):
    return ingest(data_dir / "f3_missing_traces_ibm.sgy", tmp_path / "f3.zarr", progress=False)


def test_every_array_has_a_digest_and_the_store_one_over_them(f3_store):
    digests = array_hashes(f3_store)
    assert {"amplitude", "trace_mask", "raw_headers", "inline", "crossline", "time"} <= set(
        digests)
    assert list(digests) == sorted(digests)
    assert all(d.startswith("sha256:") and len(d) == 71 for d in digests.values())
    # the view copies hold the same quantised values, chunked differently: one digest
    assert {"view_inline", "view_crossline", "view_time", "view_time_scale"} <= set(digests)
    assert digests["view_inline"] == digests["view_time"] != digests["amplitude"]
    assert store_hash(f3_store) == store_hash(f3_store)
    assert store_hash(f3_store).startswith("sha256:")


def test_chunks_compression_and_attributes_do_not_count(f3_store, tmp_path, data_dir):
    other = ingest(data_dir / "f3_missing_traces_ibm.sgy", tmp_path / "other.zarr",
                   chunks=(4, 4, 16), block_mb=0.01, progress=False)
    meta = zarr.open_array(other / "amplitude", mode="r").metadata
    assert zarr.open_array(f3_store / "amplitude", mode="r").chunks != meta.chunk_grid.chunk_shape
    assert array_hashes(other)["amplitude"] == array_hashes(f3_store)["amplitude"]
    before = store_hash(f3_store)
    update_attributes(f3_store, metrics={"snr_db": 12.5}, note="measured later")
    assert store_hash(f3_store) == before


def test_one_changed_sample_changes_its_array_and_the_store(f3_store, tmp_path):
    copy = tmp_path / "changed.zarr"
    shutil.copytree(f3_store, copy)
    before = array_hashes(copy)
    amp = zarr.open_array(copy / "amplitude", mode="r+")
    amp[3, 4, 10] = np.float32(amp[3, 4, 10]) + np.float32(1.0)
    after = array_hashes(copy)
    assert after["amplitude"] != before["amplitude"]
    assert {k: v for k, v in after.items() if k != "amplitude"} == {
        k: v for k, v in before.items() if k != "amplitude"}
    assert store_hash(copy) != store_hash(f3_store)


def test_what_is_no_complete_store_is_a_typed_error(f3_store, tmp_path):
    cases = [(tmp_path / "missing.zarr", ErrorCode.PATH_NOT_FOUND)]
    (tmp_path / "plain").mkdir()
    cases.append((tmp_path / "plain", ErrorCode.NOT_A_STORE))
    partial = tmp_path / "half.zarr.partial"
    shutil.copytree(f3_store, partial)
    cases.append((partial, ErrorCode.STORE_INCOMPLETE))
    for path, code in cases:
        with pytest.raises(PromethiumError) as info:
            store_hash(path)
        assert info.value.code == code, path
        assert info.value.hint
