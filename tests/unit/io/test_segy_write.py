"""SegyWriter: byte-identical round trips of real files, format conversion, errors, atomicity."""

from __future__ import annotations

import os
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import segyio

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.segy_spec import decode_binary_header, decode_trace_headers
from promethium_lab.io.segy_write import SegyWriter, patch_binary_header

DATA = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))
ITEMSIZE = {1: 4, 2: 4, 3: 2, 5: 4, 8: 1}

#: file, endian, format, traces, samples, unnormalised IBM words in the file
FILES = [
    ("f3_int16_be.sgy", ">", 3, 414, 75, 0),
    ("f3_ibm_be.sgy", ">", 1, 414, 75, 0),
    ("f3_ibm_le.sgy", "<", 1, 414, 75, 0),
    ("f3_2inlines_ibm.sgy", ">", 1, 200, 463, 0),
    ("viking_graben_4shots_ibm.segy", ">", 1, 480, 600, 0),
    ("liag_1trace_ibm_le.sgy", "<", 1, 1, 2001, 178),
]
FILE_IDS = [f[0] for f in FILES]


def _ibm_exact(word: int) -> Fraction:
    sign = -1 if word >> 31 else 1
    return sign * Fraction(word & 0xFFFFFF, 1 << 24) * Fraction(16) ** (((word >> 24) & 0x7F) - 64)


def _normalise_ibm(word: int) -> int:
    """The normalised IBM word of the same value (pure integer reference)."""
    sign, exp, frac = word & 0x80000000, (word >> 24) & 0x7F, word & 0xFFFFFF
    while frac and not frac & 0xF00000:
        frac, exp = frac << 4, exp - 1
    return sign | (exp << 24) | frac


class Source:
    """A SEG-Y file split into raw parts; samples decoded by segyio."""

    def __init__(self, path: Path, endian: str) -> None:
        self.path = path
        self.endian = endian
        self.raw = path.read_bytes()
        self.text = self.raw[:3200]
        self.binary = self.raw[3200:3600]
        self.bin = decode_binary_header(self.binary, endian)
        self.format = self.bin["data_sample_format"]
        seg_endian = "big" if endian == ">" else "little"
        with segyio.open(str(path), ignore_geometry=True, endian=seg_endian) as f:
            self.n_traces = f.tracecount
            self.n_samples = len(f.samples)
            self.samples = np.array(f.trace.raw[:])
            self.segyio_headers = [dict(f.header[i]) for i in (0, f.tracecount - 1)]
            assert f.ext_headers == 0
        trace_bytes = 240 + self.n_samples * ITEMSIZE[self.format]
        body = np.frombuffer(self.raw, np.uint8, offset=3600).reshape(self.n_traces, trace_bytes)
        self.headers = body[:, :240].copy()
        self.sample_bytes = body[:, 240:].copy()


def _write(path: Path, src: Source, fmt: int, samples: np.ndarray, *, block: int = 37, **kw):
    headers = src.headers if block % 2 else src.headers.view("V240").reshape(-1)
    with SegyWriter(
        path,
        text_header=src.text,
        binary_header=src.binary,
        n_samples=src.n_samples,
        sample_format=fmt,
        endian=kw.pop("endian", src.endian),
        **kw,
    ) as w:
        for i in range(0, src.n_traces, block):
            w.write_traces(headers[i : i + block], samples[i : i + block])
    assert w.traces_written == src.n_traces


def _true_samples(src: Source) -> tuple[np.ndarray, np.ndarray]:
    """segyio's samples, and for IBM the mask of unnormalised words.

    segyio assumes normalised IBM words; for the others it equals the exact value, which
    this checks, and the exact values replace its result at unnormalised words.
    """
    samples = src.samples.astype(np.float32)
    if src.format != 1:
        return samples, np.zeros(samples.shape, bool)
    words = src.sample_bytes.view(src.endian + "u4").astype(np.uint32)
    unnormalised = ((words & 0x00F00000) == 0) & ((words & 0x00FFFFFF) != 0)
    exact = np.array([float(_ibm_exact(int(w))) for w in words.ravel()]).reshape(words.shape)
    assert np.all(samples[~unnormalised] == exact[~unnormalised])
    samples[unnormalised] = exact[unnormalised]
    return samples, unnormalised


@pytest.mark.parametrize(("name", "endian", "fmt", "ntr", "ns", "n_unnorm"), FILES, ids=FILE_IDS)
def test_roundtrip_same_format_is_byte_identical(
    tmp_path: Path, name: str, endian: str, fmt: int, ntr: int, ns: int, n_unnorm: int
) -> None:
    src = Source(DATA / name, endian)
    assert (src.format, src.n_traces, src.n_samples) == (fmt, ntr, ns)
    samples, unnormalised = _true_samples(src)
    assert unnormalised.sum() == n_unnorm
    out = tmp_path / "out.sgy"
    _write(out, src, fmt, samples)
    got = out.read_bytes()
    if n_unnorm == 0:
        assert got == src.raw
        return
    # liag: the writer normalises; every byte is the same except those words, which hold
    # the normalised word of the same value.
    expected = bytearray(src.raw)
    words = src.sample_bytes.view(endian + "u4")
    trace_bytes = 240 + ns * 4
    for t, j in np.argwhere(unnormalised):
        offset = 3600 + t * trace_bytes + 240 + 4 * j
        w = int(words[t, j])
        assert _normalise_ibm(w) != w and _ibm_exact(_normalise_ibm(w)) == _ibm_exact(w)
        expected[offset : offset + 4] = _normalise_ibm(w).to_bytes(
            4, "big" if endian == ">" else "little"
        )
    assert got == bytes(expected)
    assert sum(a != b for a, b in zip(got, src.raw)) > 0


@pytest.mark.parametrize(("name", "endian", "fmt", "ntr", "ns", "n_unnorm"), FILES, ids=FILE_IDS)
def test_write_as_ieee(
    tmp_path: Path, name: str, endian: str, fmt: int, ntr: int, ns: int, n_unnorm: int
) -> None:
    src = Source(DATA / name, endian)
    samples, _ = _true_samples(src)
    out = tmp_path / "out.sgy"
    _write(out, src, 5, samples, block=64)
    raw = out.read_bytes()
    assert len(raw) == 3600 + ntr * (240 + 4 * ns)
    assert raw[:3200] == src.text
    assert raw[3200:3224] == src.binary[:24] and raw[3226:3600] == src.binary[26:]
    assert decode_binary_header(raw[3200:3600], endian)["data_sample_format"] == 5
    body = np.frombuffer(raw, np.uint8, offset=3600).reshape(ntr, -1)
    np.testing.assert_array_equal(body[:, :240], src.headers)
    with segyio.open(
        str(out), ignore_geometry=True, endian="big" if endian == ">" else "little"
    ) as f:
        assert f.format == 5 or int(f.bin[segyio.BinField.Format]) == 5
        back = f.trace.raw[:]
        assert back.dtype == np.float32
        assert [dict(f.header[i]) for i in (0, ntr - 1)] == src.segyio_headers
    np.testing.assert_array_equal(back.view(np.uint32), samples.view(np.uint32))


def _segyio_file(path: Path, fmt: int, data: np.ndarray, endian: str = "big") -> None:
    spec = segyio.spec()
    spec.format = fmt
    spec.samples = list(np.arange(data.shape[1]) * 2.0)
    spec.tracecount = data.shape[0]
    spec.endian = endian
    with segyio.create(str(path), spec) as f:
        f.text[0] = segyio.tools.create_text_header({1: "promethium_lab SegyWriter test"})
        f.bin.update(hdt=2000, hns=data.shape[1])
        for i in range(data.shape[0]):
            f.header[i] = {
                segyio.TraceField.INLINE_3D: 100 + i // 7,
                segyio.TraceField.CROSSLINE_3D: 200 + i % 7,
                segyio.TraceField.offset: 25 * i,
                segyio.TraceField.TRACE_SAMPLE_COUNT: data.shape[1],
                segyio.TraceField.TRACE_SAMPLE_INTERVAL: 2000,
            }
        f.trace = data.copy()  # segyio converts the array it is given in place


@pytest.mark.parametrize("endian", [">", "<"])
def test_ibm_from_ieee_source_matches_segyio_ibm_writer(tmp_path: Path, endian: str) -> None:
    rng = np.random.default_rng(21)
    data = (rng.standard_normal((49, 101)) * 10.0 ** rng.integers(-12, 6, (49, 1))).astype(
        np.float32
    )
    data.view(np.uint32)[...] &= np.uint32(0xFFFFFFF8)  # 21 significant bits: IBM-exact
    data[3, :10] = 0.0
    seg_endian = "big" if endian == ">" else "little"
    _segyio_file(tmp_path / "ieee.sgy", 5, data, seg_endian)
    _segyio_file(tmp_path / "ibm_segyio.sgy", 1, data, seg_endian)
    src = Source(tmp_path / "ieee.sgy", endian)
    assert src.format == 5
    np.testing.assert_array_equal(src.samples, data)
    out = tmp_path / "ibm_ours.sgy"
    _write(out, src, 1, src.samples, block=10)
    assert out.read_bytes() == (tmp_path / "ibm_segyio.sgy").read_bytes()
    with segyio.open(str(out), ignore_geometry=True, endian=seg_endian) as f:
        np.testing.assert_array_equal(f.trace.raw[:], data)


def test_ibm_from_arbitrary_floats_rounds_where_segyio_truncates(tmp_path: Path) -> None:
    rng = np.random.default_rng(22)
    data = (rng.standard_normal((30, 64)) * 1e3).astype(np.float32)
    _segyio_file(tmp_path / "ieee.sgy", 5, data)
    _segyio_file(tmp_path / "ibm_segyio.sgy", 1, data)
    src = Source(tmp_path / "ieee.sgy", ">")
    out = tmp_path / "ibm_ours.sgy"
    _write(out, src, 1, src.samples)
    ours, theirs = out.read_bytes(), (tmp_path / "ibm_segyio.sgy").read_bytes()
    assert ours[:3840] == theirs[:3840] and ours != theirs
    with segyio.open(str(out), ignore_geometry=True) as f:
        ours_val = f.trace.raw[:].astype(np.float64)
    with segyio.open(str(tmp_path / "ibm_segyio.sgy"), ignore_geometry=True) as f:
        theirs_val = f.trace.raw[:].astype(np.float64)
    err_ours, err_theirs = np.abs(ours_val - data), np.abs(theirs_val - data)
    assert np.all(err_ours <= err_theirs)
    assert np.all(err_ours <= np.abs(data) * 2.0**-21)  # half an ulp of >= 21 bits
    assert err_ours.sum() < 0.75 * err_theirs.sum()


def test_integer_formats(tmp_path: Path) -> None:
    src = Source(DATA / "f3_int16_be.sgy", ">")
    # format 2 (int32) from float32 and from the int16 samples themselves
    for i, samples in enumerate((src.samples.astype(np.float32), src.samples)):
        out = tmp_path / f"i4_{i}.sgy"
        _write(out, src, 2, samples)
        with segyio.open(str(out), ignore_geometry=True) as f:
            assert int(f.bin[segyio.BinField.Format]) == 2
            np.testing.assert_array_equal(f.trace.raw[:], src.samples)
    # format 8 (int8)
    small = np.round(src.samples / 100.0).astype(np.float32)
    out = tmp_path / "i1.sgy"
    _write(out, src, 8, small)
    raw = np.frombuffer(out.read_bytes(), np.uint8, offset=3600).reshape(src.n_traces, -1)
    np.testing.assert_array_equal(raw[:, 240:].view(np.int8), small)
    np.testing.assert_array_equal(raw[:, :240], src.headers)
    with segyio.open(str(out), ignore_geometry=True) as f:
        np.testing.assert_array_equal(f.trace.raw[:], small)


@pytest.mark.parametrize(
    ("fmt", "bad"),
    [
        (3, 0.5),
        (3, 32768.0),
        (3, -32769.0),
        (3, np.nan),
        (3, np.inf),
        (8, 128.0),
        (8, -129.0),
        (2, 1.25),
        (2, 2.0**31),
    ],
)
def test_integer_formats_reject_unrepresentable_samples(
    tmp_path: Path, fmt: int, bad: float
) -> None:
    src = Source(DATA / "f3_int16_be.sgy", ">")
    samples = np.zeros((src.n_traces, src.n_samples), np.float64)
    samples[5, 7] = bad
    out = tmp_path / "out.sgy"
    with pytest.raises(PromethiumError) as err:
        _write(out, src, fmt, samples)
    assert err.value.code is ErrorCode.EXPORT_UNSUPPORTED
    assert err.value.hint == "export as format 5 (IEEE) or 1 (IBM)"
    assert "trace 5" in err.value.message
    assert os.listdir(tmp_path) == []


def test_integer_format_rejects_out_of_range_integer_input(tmp_path: Path) -> None:
    src = Source(DATA / "f3_int16_be.sgy", ">")
    samples = src.samples.astype(np.int32)
    samples[0, 0] = 40_000
    with pytest.raises(PromethiumError) as err:
        _write(tmp_path / "out.sgy", src, 3, samples)
    assert err.value.code is ErrorCode.EXPORT_UNSUPPORTED
    assert os.listdir(tmp_path) == []


# --- parameters and errors ----------------------------------------------------------------


def _kw(**over):
    src = Source(DATA / "f3_ibm_be.sgy", ">")
    kw = dict(text_header=src.text, binary_header=src.binary, n_samples=75, sample_format=1)
    kw.update(over)
    return kw


def _code(exc_info: pytest.ExceptionInfo[PromethiumError]) -> ErrorCode:
    return exc_info.value.code


def test_output_exists_and_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.sgy"
    out.write_bytes(b"keep me")
    with pytest.raises(PromethiumError) as err:
        SegyWriter(out, **_kw())
    assert _code(err) is ErrorCode.OUTPUT_EXISTS
    assert out.read_bytes() == b"keep me"
    src = Source(DATA / "f3_ibm_be.sgy", ">")
    _write(out, src, 1, src.samples, overwrite=True)
    assert out.read_bytes() == src.raw
    assert sorted(os.listdir(tmp_path)) == ["out.sgy"]


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"sample_format": 4}, ErrorCode.EXPORT_UNSUPPORTED),
        ({"sample_format": 7}, ErrorCode.EXPORT_UNSUPPORTED),
        ({"sample_format": 15}, ErrorCode.EXPORT_UNSUPPORTED),
        ({"sample_format": True}, ErrorCode.EXPORT_UNSUPPORTED),
        ({"extra_trace_headers": 1}, ErrorCode.INVALID_PARAMETER),  # the header is rev 1
        ({"extra_trace_headers": -1}, ErrorCode.INVALID_PARAMETER),
        ({"sample_format": 0}, ErrorCode.EXPORT_UNSUPPORTED),
        ({"text_header": b" " * 3199}, ErrorCode.INVALID_PARAMETER),
        ({"binary_header": b"\0" * 401}, ErrorCode.INVALID_PARAMETER),
        ({"extended_headers": b" " * 100}, ErrorCode.INVALID_PARAMETER),
        ({"endian": "="}, ErrorCode.INVALID_PARAMETER),
        ({"n_samples": 0}, ErrorCode.INVALID_PARAMETER),
        ({"n_samples": 7.5}, ErrorCode.INVALID_PARAMETER),
    ],
)
def test_bad_constructor_arguments(tmp_path: Path, over: dict, code: ErrorCode) -> None:
    with pytest.raises(PromethiumError) as err:
        SegyWriter(tmp_path / "out.sgy", **_kw(**over))
    assert _code(err) is code
    assert os.listdir(tmp_path) == []


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(PromethiumError) as err:
        SegyWriter(tmp_path, **_kw(overwrite=True))
    assert _code(err) is ErrorCode.PATH_IS_DIRECTORY
    with pytest.raises(PromethiumError) as err:
        SegyWriter(tmp_path / "missing" / "out.sgy", **_kw())
    assert _code(err) is ErrorCode.PATH_NOT_FOUND
    assert os.listdir(tmp_path) == []


def test_extended_headers_written_after_binary_header(tmp_path: Path) -> None:
    src = Source(DATA / "f3_ibm_be.sgy", ">")
    ext = bytes(range(256)) * 12 + b"x" * 128
    out = tmp_path / "out.sgy"
    _write(out, src, 1, src.samples, extended_headers=ext)
    raw = out.read_bytes()
    assert raw[:3600] == src.raw[:3600] and raw[3600:6800] == ext and raw[6800:] == src.raw[3600:]


@pytest.mark.parametrize(
    "make_block",
    [
        lambda h, s: (h, s[:, :-1]),  # wrong n_samples
        lambda h, s: (h, s[:-1]),  # fewer sample rows than headers
        lambda h, s: (h, s[0]),  # 1-D samples
        lambda h, s: (h[:, :239], s),  # short headers
        lambda h, s: (h.astype(np.int16), s),  # headers not uint8
        lambda h, s: (h, s.astype(np.complex64)),  # not real
    ],
    ids=["n_samples", "rows", "1d", "short-headers", "header-dtype", "complex"],
)
def test_bad_block_after_a_good_block_is_atomic(tmp_path: Path, make_block) -> None:
    src = Source(DATA / "f3_ibm_be.sgy", ">")
    out = tmp_path / "out.sgy"
    w = SegyWriter(out, **_kw())
    w.write_traces(src.headers[:10], src.samples[:10])
    partial = tmp_path / f"out.sgy.partial-{os.getpid()}"
    assert partial.stat().st_size == 3600 + 10 * (240 + 300) and not out.exists()
    with pytest.raises(PromethiumError) as err:
        w.write_traces(*make_block(src.headers[10:20], src.samples[10:20]))
    assert _code(err) is ErrorCode.INVALID_PARAMETER
    assert os.listdir(tmp_path) == []
    assert w.closed
    with pytest.raises(ValueError, match="closed"):
        w.write_traces(src.headers[:1], src.samples[:1])


def test_exception_in_with_body_removes_partial(tmp_path: Path) -> None:
    src = Source(DATA / "f3_ibm_be.sgy", ">")
    out = tmp_path / "out.sgy"
    with pytest.raises(RuntimeError, match="boom"), SegyWriter(out, **_kw()) as w:
        w.write_traces(src.headers[:50], src.samples[:50])
        assert len(os.listdir(tmp_path)) == 1
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path: Path) -> None:
    src = Source(DATA / "f3_ibm_be.sgy", ">")
    out = tmp_path / "out.sgy"
    out.write_bytes(b"old")
    with pytest.raises(PromethiumError), SegyWriter(out, **_kw(overwrite=True)) as w:
        w.write_traces(src.headers[:5], src.samples[:5])
        w.write_traces(src.headers[5:6], src.samples[5:6, :10])
    assert out.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.sgy"]


def test_empty_block_and_close_is_idempotent(tmp_path: Path) -> None:
    src = Source(DATA / "f3_ibm_be.sgy", ">")
    out = tmp_path / "out.sgy"
    w = SegyWriter(out, **_kw())
    w.write_traces(src.headers[:0], src.samples[:0])
    w.write_traces(src.headers, src.samples)
    w.close()
    w.close()
    assert out.read_bytes() == src.raw
    assert os.listdir(tmp_path) == ["out.sgy"]


def test_blocks_encoded_apart_and_flushed_in_the_background(tmp_path: Path,
                                                            monkeypatch) -> None:
    """``encode`` in threads + ``write_block`` in order is the file ``write_traces``
    writes; with a flush every 20 KB, the data reach the disk during the writing."""
    from concurrent.futures import ThreadPoolExecutor

    import promethium_lab.io.segy_write as segy_write

    synced: list[int] = []
    started = threading.Event()
    real = segy_write._fdatasync

    def sync(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        started.set()
        real(fd)

    monkeypatch.setattr(segy_write, "FLUSH_BYTES", 20_000)
    monkeypatch.setattr(segy_write, "_fdatasync", sync)
    src = Source(DATA / "f3_ibm_be.sgy", ">")
    out = tmp_path / "out.sgy"
    with SegyWriter(out, **_kw()) as w, ThreadPoolExecutor(3) as pool:
        starts = range(0, src.n_traces, 50)
        blocks = pool.map(lambda i: w.encode(src.headers[i:i + 50], src.samples[i:i + 50]),
                          starts)
        for k, block in enumerate(blocks):
            assert block.shape[1] == 240 + 4 * src.n_samples
            w.write_block(block)
            if k == 0:
                assert started.wait(10)  # the first flush starts after 50 traces
    assert out.read_bytes() == src.raw
    assert synced and synced[0] < len(src.raw)  # flushed before the end


def test_failed_background_flush_aborts_the_writer(tmp_path: Path, monkeypatch) -> None:
    import promethium_lab.io.segy_write as segy_write

    def sync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(segy_write, "FLUSH_BYTES", 1)
    monkeypatch.setattr(segy_write, "_fdatasync", sync)
    src = Source(DATA / "f3_ibm_be.sgy", ">")
    out = tmp_path / "out.sgy"
    w = SegyWriter(out, **_kw())
    w.write_traces(src.headers[:10], src.samples[:10])  # starts the flush that fails
    with pytest.raises(OSError, match="Input/output"):
        w.close()
    assert w.closed and os.listdir(tmp_path) == []


# --- patch_binary_header ------------------------------------------------------------------


@pytest.mark.parametrize("endian", [">", "<"])
def test_patch_binary_header(endian: str) -> None:
    name = "f3_ibm_be.sgy" if endian == ">" else "f3_ibm_le.sgy"
    raw = (DATA / name).read_bytes()[3200:3600]
    patched = patch_binary_header(
        raw, endian, data_sample_format=5, samples_per_trace=40_000, sample_interval=2000, job_id=-7
    )
    fields = decode_binary_header(patched, endian)
    before = decode_binary_header(raw, endian)
    assert fields["data_sample_format"] == 5 and fields["sample_interval"] == 2000
    assert fields["job_id"] == -7
    assert fields["samples_per_trace"] == 40_000 - 65_536  # i2 view of the unsigned bits
    order = "big" if endian == ">" else "little"
    assert int.from_bytes(patched[20:22], order) == 40_000  # SEG-Y rev 1: unsigned
    changed = {i for i in range(400) if patched[i] != raw[i]}
    assert changed <= {0, 1, 2, 3, 16, 17, 20, 21, 24, 25}
    for k in before:
        if k not in ("data_sample_format", "samples_per_trace", "sample_interval", "job_id"):
            assert fields[k] == before[k]
    assert patch_binary_header(raw, endian) == raw


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ((b"\0" * 399, ">"), {"data_sample_format": 5}),
        ((b"\0" * 400, ">"), {"no_such_field": 1}),
        ((b"\0" * 400, ">"), {"data_sample_format": 70_000}),
        ((b"\0" * 400, ">"), {"data_sample_format": -32_769}),
        ((b"\0" * 400, ">"), {"job_id": 2**32}),
        ((b"\0" * 400, ">"), {"sample_interval": 2.5}),
        ((b"\0" * 400, "|"), {"sample_interval": 2}),
    ],
)
def test_patch_binary_header_errors(args: tuple, fields: dict) -> None:
    with pytest.raises(PromethiumError) as err:
        patch_binary_header(*args, **fields)
    assert err.value.code is ErrorCode.INVALID_PARAMETER


def test_trace_headers_are_written_as_given(tmp_path: Path) -> None:
    """The writer never touches trace headers, even when they disagree with the samples.

    The Viking Graben traces say 1500 samples (bytes 115-116) while the file and its binary
    header hold 600; written with 100 samples, the headers must still say 1500.
    """
    src = Source(DATA / "viking_graben_4shots_ibm.segy", ">")
    headers = src.headers.copy()
    decoded = decode_trace_headers(headers, ">")
    assert np.all(decoded["samples_per_trace"] == 1500) and decoded["orig_field_record_num"][0] == 3
    out = tmp_path / "out.sgy"
    data = src.samples[:, :100]
    with SegyWriter(
        out, text_header=src.text, binary_header=src.binary, n_samples=100, sample_format=5
    ) as w:
        w.write_traces(headers, data)
    body = np.frombuffer(out.read_bytes(), np.uint8, offset=3600).reshape(src.n_traces, -1)
    np.testing.assert_array_equal(body[:, :240], headers)
    np.testing.assert_array_equal(body[:, 240:].view(">f4"), data)
