"""SEG-Y → Zarr → SEG-Y: byte-identical round trips, format changes, MDIO stores."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import segyio
from _seismic_helpers import DATA, make_ieee_segy, mdio_stores

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.segy import open_segy
from promethium_lab.workflows.export import export
from promethium_lab.workflows.ingest import ingest

IDENTICAL = ["f3_ibm_be.sgy", "f3_ibm_le.sgy", "f3_int16_be.sgy", "f3_missing_traces_ibm.sgy",
             "f3_2inlines_ibm.sgy", "viking_graben_4shots_ibm.segy", "generated_ieee_xl.sgy"]
LIAG = "liag_1trace_ibm_le.sgy"
ALL = [*IDENTICAL, LIAG]
ENDIAN = {"f3_ibm_le.sgy": "little", LIAG: "little"}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sources")
    paths = {name: DATA / name for name in ALL if name != "generated_ieee_xl.sgy"}
    generated = folder / "generated_ieee_xl.sgy"
    make_ieee_segy(generated, 7, 5, 40, crossline_sorted=True, seed=5)
    paths["generated_ieee_xl.sgy"] = generated
    return paths


@pytest.fixture(scope="module")
def stores(sources, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stores")
    return {name: ingest(path, folder / f"{name}.zarr", progress=False)
            for name, path in sources.items()}


def read_segy(path: Path, endian: str = "big"):
    """(text, binary header bytes, raw trace headers (N, 240), decoded samples) via segyio."""
    with segyio.open(str(path), ignore_geometry=True, endian=endian) as f:
        samples = np.asarray(f.trace.raw[:]).astype(np.float32)
        ext = int(f.ext_headers)
        fmt = int(f.format)
    data = path.read_bytes()
    start = 3600 + 3200 * ext
    size = {1: 4, 2: 4, 3: 2, 5: 4, 8: 1}[fmt]
    traces = np.frombuffer(data[start:], np.uint8).reshape(len(samples), -1)
    assert traces.shape[1] == 240 + size * samples.shape[1]
    return data[:3200], data[3200:3600], traces[:, :240], samples, fmt


def test_generated_source_is_crossline_sorted(sources):
    ds = open_segy(sources["generated_ieee_xl.sgy"])
    index = ds["segy_trace_index"].values
    assert ds.attrs["segy_format"] == 5
    assert index[1, 0] == 1 and index[0, 1] == 7  # file order runs down the inlines first
    assert not np.array_equal(index.ravel(), np.arange(index.size))


@pytest.mark.parametrize("live_only", [False, True])
@pytest.mark.parametrize("name", IDENTICAL)
def test_export_is_byte_identical(name, live_only, sources, stores, tmp_path):
    """Nothing filled: every cell written is a source trace, in file order (also for the
    crossline-sorted cube and the cube with absent traces), so the file is the source."""
    out = export(stores[name], tmp_path / "out.sgy", live_only=live_only, progress=False)
    assert out == tmp_path / "out.sgy"
    assert out.read_bytes() == sources[name].read_bytes()


def test_unnormalised_ibm_words_round_trip_by_value(sources, stores, tmp_path):
    """liag's IBM words are unnormalised: exported normalised, so bytes differ, values not."""
    out = export(stores[LIAG], tmp_path / "out.sgy", progress=False)
    src, got = sources[LIAG].read_bytes(), out.read_bytes()
    assert len(src) == len(got)
    assert src[:3840] == got[:3840]  # file headers and the trace header
    words_src = np.frombuffer(src[3840:], "<u4")
    words_out = np.frombuffer(got[3840:], "<u4")
    changed = words_src != words_out
    assert 0 < int(changed.sum()) <= 178
    assert not (words_out[changed] & 0x00F00000 == 0).any()  # normalised now
    expected = open_segy(sources[LIAG])["amplitude"].values.reshape(1, -1)
    assert np.array_equal(open_segy(out)["amplitude"].values.reshape(1, -1), expected)
    with segyio.open(str(out), ignore_geometry=True, endian="little") as f:
        # segyio decodes normalised words right: it now agrees with our exact decoding
        assert np.array_equal(np.asarray(f.trace.raw[:]), expected)


@pytest.mark.parametrize("fmt", ["ieee", "ibm"])
@pytest.mark.parametrize("name", ALL)
def test_export_in_another_format_keeps_every_header(name, fmt, sources, stores, tmp_path):
    endian = ENDIAN.get(name, "big")
    out = export(stores[name], tmp_path / f"out_{fmt}.sgy", format=fmt, progress=False)
    text, binary, headers, _, src_fmt = read_segy(sources[name], endian)
    out_text, out_binary, out_headers, samples, out_fmt = read_segy(out, endian)
    assert out_fmt == {"ieee": 5, "ibm": 1}[fmt]
    assert out_text == text
    assert np.array_equal(out_headers, headers)  # trace headers, in file order, byte for byte
    # the binary header differs only in the sample format code (bytes 3225-3226)
    diff = [i for i, (a, b) in enumerate(zip(binary, out_binary)) if a != b]
    assert all(3224 <= 3200 + i < 3226 for i in diff)
    assert (out_fmt != src_fmt) == bool(diff)
    ds = open_segy(sources[name])
    index, mask = ds["segy_trace_index"].values, ds["trace_mask"].values
    expected = np.zeros_like(samples)
    expected[index[mask]] = ds["amplitude"].values[mask]
    if fmt == "ibm" and src_fmt == 5:  # IEEE -> IBM rounds to IBM's hex mantissa
        assert np.allclose(samples, expected, rtol=2.0**-20, atol=0)
        assert not np.array_equal(samples, expected)
    else:
        assert np.array_equal(samples, expected)
    assert np.array_equal(open_segy(out)["amplitude"].values, ds["amplitude"].values) or (
        fmt == "ibm" and src_fmt == 5)


def test_int16_source_exported_as_int16_from_float(stores, sources, tmp_path):
    out = export(stores["f3_int16_be.sgy"], tmp_path / "i16.sgy", format="int16",
                 progress=False)
    assert out.read_bytes() == sources["f3_int16_be.sgy"].read_bytes()


def test_export_to_an_existing_path(stores, tmp_path):
    target = tmp_path / "exists.sgy"
    target.write_bytes(b"keep me")
    with pytest.raises(PromethiumError) as exc_info:
        export(stores["f3_ibm_be.sgy"], target, progress=False)
    assert exc_info.value.code is ErrorCode.OUTPUT_EXISTS
    assert target.read_bytes() == b"keep me"
    export(stores["f3_ibm_be.sgy"], target, overwrite=True, progress=False)
    assert target.read_bytes() == (DATA / "f3_ibm_be.sgy").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.sgy"]


def test_export_errors(stores, tmp_path):
    with pytest.raises(PromethiumError) as exc_info:
        export(stores["f3_ibm_be.sgy"], tmp_path / "x.sgy", format="ieee64", progress=False)
    assert exc_info.value.code is ErrorCode.INVALID_PARAMETER
    with pytest.raises(PromethiumError) as exc_info:
        export(tmp_path / "missing.zarr", tmp_path / "x.sgy", progress=False)
    assert exc_info.value.code is ErrorCode.PATH_NOT_FOUND
    assert not (tmp_path / "x.sgy").exists()


def test_export_of_a_lazy_dataset_straight_from_segy(sources, tmp_path):
    out = export(open_segy(sources["f3_missing_traces_ibm.sgy"]), tmp_path / "o.sgy",
                 progress=False)
    assert out.read_bytes() == sources["f3_missing_traces_ibm.sgy"].read_bytes()


@pytest.fixture(scope="session")
def mdio_written(tmp_path_factory) -> dict[str, Path]:
    return mdio_stores(tmp_path_factory.getbasetemp() / "mdio")


@pytest.mark.xdist_group("mdio")  # the MDIO stores are written once, on one worker
def test_export_of_an_mdio_store_with_raw_headers(mdio_written, tmp_path):
    """MDIO kept raw trace headers and file headers: all but the text header is exact."""
    name = "f3_ibm_be.sgy"
    out = export(mdio_written[name], tmp_path / "o.sgy", progress=False)
    src = (DATA / name).read_bytes()
    got = out.read_bytes()
    assert len(got) == len(src)
    assert got[3200:] == src[3200:]  # binary header, trace headers and IBM samples
    # MDIO keeps the text header decoded only; unmappable characters may change
    assert sum(a != b for a, b in zip(got[:3200], src[:3200])) <= 8
    text, *_ = read_segy(out)
    assert text.decode("cp037").startswith("C 1 DATE 2019-03-01")


@pytest.mark.xdist_group("mdio")  # the MDIO stores are written once, on one worker
def test_export_of_an_mdio_store_with_decoded_headers_only(mdio_written, tmp_path):
    """MDIO's defaults: no raw headers, no file headers; headers come from ``headers``."""
    name = "f3_missing_traces_ibm.sgy"
    out = export(mdio_written[name], tmp_path / "o.sgy", progress=False)
    _, _, headers, samples, _ = read_segy(DATA / name)
    _, out_binary, out_headers, out_samples, out_fmt = read_segy(out)
    assert int.from_bytes(out_binary[24:26], "big") == 5
    assert out_fmt == 5  # no source format known: IEEE
    assert len(out_samples) == 239
    assert np.array_equal(out_headers, headers)
    assert np.array_equal(out_samples, samples)
    with segyio.open(str(out), ignore_geometry=True) as f:
        assert f.bin[segyio.BinField.Interval] == 4000
        assert f.bin[segyio.BinField.Samples] == 75


def test_export_batches_cut_at_chunk_rows_and_keep_the_order():
    from promethium_lab.workflows.export import _batches

    shape = (40, 10)  # 40 inlines of 10 traces; chunks 8 inlines deep
    live = np.arange(400)
    got = _batches(live, 170, shape, (8, 10, 50))
    np.testing.assert_array_equal(np.concatenate(got), live)
    # ~170 traces a batch, cut where a band of 8 inlines (80 traces) ends: 160 each
    assert [b.size for b in got] == [160, 160, 80]
    assert all(b[0] % 80 == 0 for b in got)
    # dask chunks (tuples of tuples) or none: plain cuts of `per`
    assert [b.size for b in _batches(live, 170, shape, ((8,) * 5, (10,)))] == [170, 170, 60]
    assert _batches(np.array([], dtype=int), 10, shape, (8, 10)) == []


@pytest.mark.parametrize("threads", [1, 3])
def test_export_in_many_small_batches_is_byte_identical(threads, stores, tmp_path,
                                                        monkeypatch):
    """Batches of a few traces, encoded by several threads and written in order (and
    flushed to disk every 50 KB): still the source, byte for byte."""
    import importlib

    import promethium_lab.io.segy_write as segy_write

    export_module = importlib.import_module("promethium_lab.workflows.export")  # not the function
    monkeypatch.setattr(export_module, "EXPORT_THREADS", threads)
    monkeypatch.setattr(segy_write, "FLUSH_BYTES", 50_000)
    name = "f3_missing_traces_ibm.sgy"
    out = export(stores[name], tmp_path / "out.sgy", block_mb=0.01, progress=False)
    assert out.read_bytes() == (DATA / name).read_bytes()


def test_canceled_export_leaves_no_file(stores, tmp_path):
    """Canceled between two batches: no output, no partial file, the threads stopped."""
    import threading

    from promethium_lab.core.context import TaskContext

    checks = []

    def canceled() -> bool:
        checks.append(1)
        return len(checks) > 2

    ctx = TaskContext(is_canceled=canceled)
    with pytest.raises(PromethiumError) as exc_info:
        export(stores["f3_ibm_be.sgy"], tmp_path / "out.sgy", block_mb=0.01, context=ctx,
               progress=False)
    assert exc_info.value.code is ErrorCode.CANCELED
    assert os.listdir(tmp_path) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("promethium-export")]
