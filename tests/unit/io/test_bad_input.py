"""Damaged and wrong inputs: each gives its typed PromethiumError, and ingest leaves no store."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from promethium_lab.core.context import TaskContext
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.segy import open_segy, read_layout
from promethium_lab.io.store import open_store
from promethium_lab.workflows.ingest import detect_format, ingest, open_survey

DATA = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))
F3 = "f3_ibm_be.sgy"  # 414 traces of 240 + 75 * 4 bytes after a 3600-byte header
F3_MISSING = "f3_missing_traces_ibm.sgy"  # its trace headers hold the right sample count
TRACE = 240 + 75 * 4


def patch_word(data: bytes, byte: int, value: int, size: int = 2) -> bytes:
    """Set the big-endian word at 1-based ``byte`` of the file."""
    out = bytearray(data)
    out[byte - 1 : byte - 1 + size] = int(value).to_bytes(size, "big", signed=True)
    return bytes(out)


def patch_traces(data: bytes, byte: int, value: int, size: int = 2) -> bytes:
    """Set the big-endian word at 1-based trace-header ``byte`` of every trace."""
    out = bytearray(data)
    for start in range(3600, len(out), TRACE):
        out[start + byte - 1 : start + byte - 1 + size] = int(value).to_bytes(size, "big",
                                                                              signed=True)
    return bytes(out)


def f3_bytes(name: str = F3) -> bytes:
    return (DATA / name).read_bytes()


def _duplicate_trace(data: bytes) -> bytes:
    return data + data[3600 : 3600 + TRACE]  # trace 0 twice: its (inline, crossline) repeats


#: name -> (file bytes, expected code, reader keyword arguments)
CASES: dict[str, tuple[Callable[[], bytes], ErrorCode, dict]] = {
    "cut_mid_trace": (lambda: f3_bytes()[: 3600 + 10 * TRACE + 100],
                      ErrorCode.TRUNCATED_FILE, {}),
    "cut_mid_trace_le": (lambda: f3_bytes("f3_ibm_le.sgy")[: 3600 + 200 * TRACE + 7],
                         ErrorCode.TRUNCATED_FILE, {}),
    "cut_mid_trace_endian_given": (lambda: f3_bytes()[:-1], ErrorCode.TRUNCATED_FILE,
                                   {"endian": "big"}),
    "cut_in_file_header": (lambda: f3_bytes()[:3500], ErrorCode.NOT_SEGY, {}),
    "cut_in_text_header": (lambda: f3_bytes()[:1000], ErrorCode.NOT_SEGY, {}),
    "file_header_only": (lambda: f3_bytes()[:3600], ErrorCode.TRUNCATED_FILE, {}),
    "empty": (lambda: b"", ErrorCode.NOT_SEGY, {}),
    "format_7": (lambda: patch_word(f3_bytes(), 3225, 7), ErrorCode.UNSUPPORTED_FORMAT, {}),
    "format_4": (lambda: patch_word(f3_bytes(), 3225, 4), ErrorCode.UNSUPPORTED_FORMAT, {}),
    "format_999": (lambda: patch_word(f3_bytes(), 3225, 999), ErrorCode.NOT_SEGY, {}),
    "format_0": (lambda: patch_word(f3_bytes(), 3225, 0), ErrorCode.NOT_SEGY, {}),
    "zero_samples": (lambda: patch_traces(patch_word(f3_bytes(), 3221, 0), 115, 0),
                     ErrorCode.BAD_SAMPLE_COUNT, {}),
    # the trace headers say 75, which divides the file: the binary header is what is wrong
    "absurd_sample_count": (lambda: patch_word(f3_bytes(F3_MISSING), 3221, 9999),
                            ErrorCode.BAD_SAMPLE_COUNT, {}),
    "sample_count_off_by_two": (lambda: patch_word(f3_bytes(F3_MISSING), 3221, 77),
                                ErrorCode.BAD_SAMPLE_COUNT, {}),
    # f3_ibm_be's trace headers say 462 (nonsense) too: no way to tell a cut file apart
    "sample_count_wrong_everywhere": (lambda: patch_word(f3_bytes(), 3221, 77),
                                      ErrorCode.TRUNCATED_FILE, {}),
    "sample_count_larger_than_file": (lambda: patch_word(f3_bytes(), 3221, 32000),
                                      ErrorCode.TRUNCATED_FILE, {}),
    "inline_byte_constant": (f3_bytes, ErrorCode.INCONSISTENT_GEOMETRY,
                             {"geometry": "poststack3d", "inline_byte": 117}),
    "inline_byte_is_crossline": (f3_bytes, ErrorCode.INCONSISTENT_GEOMETRY,
                                 {"geometry": "poststack3d", "inline_byte": 193}),
    "duplicate_trace": (lambda: _duplicate_trace(f3_bytes()), ErrorCode.INCONSISTENT_GEOMETRY,
                        {"geometry": "poststack3d"}),
    "random_bytes": (lambda: np.random.default_rng(7).integers(0, 256, 50_000, np.uint8)
                     .tobytes(), ErrorCode.NOT_SEGY, {}),
    "png": (lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(6000), ErrorCode.NOT_SEGY, {}),
}


@pytest.fixture
def bad_file(tmp_path):
    def make(case: str) -> tuple[Path, ErrorCode, dict]:
        make_bytes, code, kwargs = CASES[case]
        path = tmp_path / f"{case}.sgy"
        path.write_bytes(make_bytes())
        return path, code, kwargs

    return make


def assert_code(exc_info, code: ErrorCode) -> None:
    err = exc_info.value
    assert err.code is code, f"{err.code.name} != {code.name}: {err}"
    assert str(err).startswith(f"{code.value}: ")
    assert err.message and err.hint
    assert err.to_dict()["name"] == code.name


def assert_no_store(store: Path) -> None:
    """Nothing at ``store`` that looks complete."""
    assert not (store / "zarr.json").exists()
    with pytest.raises(PromethiumError) as exc_info:
        open_store(store)
    assert exc_info.value.code in (ErrorCode.STORE_INCOMPLETE, ErrorCode.PATH_NOT_FOUND)


def test_the_sample_files_are_what_the_cases_assume():
    data = f3_bytes()
    assert (len(data) - 3600) % TRACE == 0 and (len(data) - 3600) // TRACE == 414
    assert int.from_bytes(data[3600 + 114 : 3600 + 116], "big") == 462
    missing = f3_bytes(F3_MISSING)
    assert int.from_bytes(missing[3600 + 114 : 3600 + 116], "big") == 75
    layout = read_layout(DATA / F3)
    assert (layout.n_traces, layout.n_samples, layout.sample_format) == (414, 75, 1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_read_layout_and_open_segy_raise_the_typed_error(case, bad_file):
    path, code, kwargs = bad_file(case)
    layout_kwargs = {k: v for k, v in kwargs.items() if k in ("endian", "su")}
    if code is not ErrorCode.INCONSISTENT_GEOMETRY:
        with pytest.raises(PromethiumError) as exc_info:
            read_layout(path, **layout_kwargs)
        assert_code(exc_info, code)
    else:
        assert read_layout(path, **layout_kwargs).n_traces >= 414  # the layout is fine
    with pytest.raises(PromethiumError) as exc_info:
        open_segy(path, **kwargs)
    assert_code(exc_info, code)


@pytest.mark.parametrize("case", sorted(CASES))
def test_failed_ingest_leaves_no_store(case, bad_file, tmp_path):
    path, code, kwargs = bad_file(case)
    store = tmp_path / "out.zarr"
    with pytest.raises(PromethiumError) as exc_info:
        ingest(path, store, progress=False, **kwargs)
    assert_code(exc_info, code)
    assert_no_store(store)
    assert not store.with_name("out.zarr.partial").exists()


def test_messages_name_the_problem(bad_file):
    path, _, _ = bad_file("cut_mid_trace")
    with pytest.raises(PromethiumError, match=r"100 bytes after 10 complete traces"):
        read_layout(path)
    path, _, _ = bad_file("format_4")
    with pytest.raises(PromethiumError, match="format code 4"):
        read_layout(path)
    path, _, _ = bad_file("absurd_sample_count")
    with pytest.raises(PromethiumError, match="9999") as exc_info:
        read_layout(path)
    assert "3221" in exc_info.value.hint
    path, _, _ = bad_file("inline_byte_constant")
    with pytest.raises(PromethiumError, match="constant"):
        open_segy(path, geometry="poststack3d", inline_byte=117)


@pytest.mark.parametrize("interval", [0, -2])
def test_no_positive_sample_interval_falls_back_to_4_ms_with_a_warning(interval, tmp_path):
    """Not an error any more: segyio's fallback, said in a warning (docs/data-model.md)."""
    path = tmp_path / "no_dt.sgy"
    path.write_bytes(patch_traces(patch_word(f3_bytes(), 3217, interval), 117, interval))
    layout = read_layout(path)
    assert (layout.sample_interval_us, layout.sample_interval_source) == (4000, "default")
    with pytest.warns(UserWarning, match="no positive sample interval"):
        ds = open_segy(path)
    assert ds.attrs["sample_interval_source"] == "default"
    assert np.allclose(np.diff(ds["time"].values), 4.0)


def test_directory_and_missing_path(tmp_path):
    for fn in (read_layout, open_segy, detect_format):
        with pytest.raises(PromethiumError) as exc_info:
            fn(tmp_path)
        assert_code(exc_info, ErrorCode.PATH_IS_DIRECTORY)
        with pytest.raises(PromethiumError) as exc_info:
            fn(tmp_path / "nope.sgy")
        assert_code(exc_info, ErrorCode.PATH_NOT_FOUND)
    for source in (tmp_path, tmp_path / "nope.sgy"):
        store = tmp_path / "out.zarr"
        with pytest.raises(PromethiumError) as exc_info:
            ingest(source, store, progress=False)
        assert exc_info.value.code in (ErrorCode.PATH_IS_DIRECTORY, ErrorCode.PATH_NOT_FOUND)
        assert_no_store(store)
    with pytest.raises(PromethiumError) as exc_info:  # a folder that is no store
        open_survey(tmp_path)
    assert_code(exc_info, ErrorCode.NOT_A_STORE)


def test_ingest_into_a_missing_folder(tmp_path):
    with pytest.raises(PromethiumError) as exc_info:
        ingest(DATA / F3, tmp_path / "no" / "such" / "out.zarr", progress=False)
    assert_code(exc_info, ErrorCode.PATH_NOT_FOUND)
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("name", ["NL.HGN.00.BHZ_2003-05-29.mseed", "NZ.CRLZ.10.HHZ_le.SAC"])
def test_waveform_files_are_not_segy(name):
    with pytest.raises(PromethiumError) as exc_info:
        read_layout(DATA / name)
    assert_code(exc_info, ErrorCode.NOT_SEGY)
    assert detect_format(DATA / name) in ("mseed", "sac")


def test_segy_is_not_seismic_unix(tmp_path):
    su = tmp_path / "f3.su"
    su.write_bytes(f3_bytes())  # a file header where SU has none
    with pytest.raises(PromethiumError) as exc_info:
        read_layout(su)
    assert exc_info.value.code in (ErrorCode.NOT_SEGY, ErrorCode.TRUNCATED_FILE)
    truncated = tmp_path / "cut.su"
    truncated.write_bytes((DATA / "land_cmp700_be.su").read_bytes()[:-10])
    with pytest.raises(PromethiumError) as exc_info:
        read_layout(truncated)
    assert_code(exc_info, ErrorCode.NOT_SEGY)


def test_bad_parameters(tmp_path):
    with pytest.raises(PromethiumError) as exc_info:
        read_layout(DATA / F3, endian="middle")
    assert_code(exc_info, ErrorCode.INVALID_PARAMETER)
    with pytest.raises(PromethiumError) as exc_info:
        open_segy(DATA / F3, geometry="spherical")
    assert_code(exc_info, ErrorCode.INVALID_PARAMETER)
    store = tmp_path / "out.zarr"
    with pytest.raises(PromethiumError) as exc_info:
        ingest(DATA / "NZ.CRLZ.10.HHZ_le.SAC", store, geometry="poststack3d", progress=False)
    assert_code(exc_info, ErrorCode.INVALID_PARAMETER)
    assert_no_store(store)


def test_failure_while_writing_leaves_only_a_partial_store(tmp_path):
    """A write stopped half way leaves ``.partial`` only, which readers refuse."""
    store = tmp_path / "out.zarr"
    calls = itertools.count()
    with pytest.raises(PromethiumError) as exc_info:
        ingest(DATA / F3, store, chunks=(2, 2, 75), access_patterns=(), views=(), workers=1,
               block_mb=0.001, progress=False,
               context=TaskContext(is_canceled=lambda: next(calls) >= 5))
    assert_code(exc_info, ErrorCode.CANCELED)
    assert store.with_name("out.zarr.partial").is_dir()
    assert_no_store(store)
    with pytest.raises(PromethiumError) as exc_info:
        open_store(store)
    assert_code(exc_info, ErrorCode.STORE_INCOMPLETE)
    with pytest.raises(PromethiumError) as exc_info:
        open_store(store.with_name("out.zarr.partial"))
    assert_code(exc_info, ErrorCode.STORE_INCOMPLETE)


def test_store_without_completion_marker_is_refused(tmp_path):
    store = ingest(DATA / F3, tmp_path / "out.zarr", progress=False)
    meta = (store / "zarr.json").read_text()
    (store / "zarr.json").write_text(meta.replace('"complete": true', '"complete": false'))
    with pytest.raises(PromethiumError) as exc_info:
        open_store(store)
    assert_code(exc_info, ErrorCode.STORE_INCOMPLETE)
    (store / "zarr.json").unlink()
    with pytest.raises(PromethiumError) as exc_info:
        open_store(store)
    assert_code(exc_info, ErrorCode.NOT_A_STORE)
