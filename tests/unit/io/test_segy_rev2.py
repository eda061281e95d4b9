"""SEG-Y rev 2.1 and the long tail of issue 11 (classes 1-9), on files built byte by byte.

Each class has a file of its own from :mod:`_segy_factory`; the samples, time axis and
headers are checked against the values written, against segyio where segyio reads the
file, and ingest → export must give the file back byte for byte.
"""

from __future__ import annotations

import base64
import warnings
from pathlib import Path

import numpy as np
import pytest
import segyio
from _segy_factory import segy_bytes, su_bytes, text_record, write

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.segy import DEFAULT_SAMPLE_INTERVAL_US, open_segy, read_layout
from promethium_lab.io.segy_spec import UNSUPPORTED_FORMATS, SampleFormat
from promethium_lab.io.segy_write import SegyWriter, patch_sample_count
from promethium_lab.io.store import open_store
from promethium_lab.workflows.export import FORMAT_CODES, export
from promethium_lab.workflows.info import describe, format_summary
from promethium_lab.workflows.ingest import ingest

RNG = np.random.default_rng(11)


def samples_f32(n_traces: int, ns: int) -> np.ndarray:
    return RNG.normal(0, 1000, (n_traces, ns)).astype(np.float32)


def segyio_reference(path: Path, endian: str = ">", su: bool = False):
    """(samples as float32, sample axis in ms, trace header dicts) as segyio reads them."""
    seg_endian = "big" if endian == ">" else "little"
    opener = segyio.su.open if su else segyio.open
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with opener(str(path), ignore_geometry=True, endian=seg_endian) as f:
            return (np.asarray(f.trace.raw[:]).astype(np.float32), np.asarray(f.samples),
                    [dict(h) for h in f.header])


def assert_round_trip(path: Path, tmp_path: Path) -> None:
    """ingest → export gives the file back byte for byte."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # fallbacks are tested where taken
        store = ingest(path, tmp_path / f"{path.stem}.zarr", progress=False)
    out = export(store, tmp_path / f"{path.stem}.out.sgy", progress=False)
    assert out.read_bytes() == path.read_bytes()


def amplitude_in_file_order(ds) -> np.ndarray:
    index = ds["segy_trace_index"].values.reshape(-1)
    values = ds["amplitude"].values.reshape(index.size, -1)
    return values[np.argsort(index)]


# --------------------------------------------------------------------------- class 1


def test_class1_one_sample_per_trace_summary(tmp_path):
    """``info`` and the ingest summary formatted a None sample interval (TypeError)."""
    values = np.array([[1.5], [-2.0], [3.25]], np.float32)
    path = write(tmp_path / "one.sgy", segy_bytes(values, dt=2000, delay=8))
    info = describe(path)
    text = format_summary(info)  # raised TypeError
    assert info["dims"]["time"] == 1
    assert info["time_ms"] == [8.0, 8.0]
    assert info["sample_interval_ms"] == 2.0
    assert "time        8 … 8 ms, dt 2 ms" in text
    assert "amplitude   -2 … 3.25" in text
    store = ingest(path, tmp_path / "one.zarr", progress=False)
    assert "dt 2 ms" in format_summary(describe(store))  # what ingest prints
    assert "dt unknown" in format_summary({**info, "sample_interval_ms": None})
    ref, axis, _ = segyio_reference(path)
    assert np.array_equal(open_segy(path)["amplitude"].values.reshape(-1, 1), ref)
    assert np.allclose(open_segy(path)["time"].values, axis)
    out = export(store, tmp_path / "one.out.sgy", progress=False)
    assert out.read_bytes() == path.read_bytes()


# --------------------------------------------------------------------------- class 2


@pytest.mark.parametrize("n_ext", [2, 6])
def test_class2_extended_text_headers_counted_whatever_the_revision(n_ext, tmp_path):
    """Revision 0 with the count set: the records are headers, not 31 or 81 text traces."""
    values = samples_f32(6, 50)
    records = [text_record(f"C 1 extended header {i}") for i in range(n_ext)]
    data = segy_bytes(values, rev=(0, 0), extended=records, delay=4)
    path = write(tmp_path / f"ext{n_ext}.sgy", data)
    layout = read_layout(path)
    assert layout.data_offset == 3600 + 3200 * n_ext
    assert (layout.n_traces, layout.n_samples) == (6, 50)
    ds = open_segy(path)
    assert np.array_equal(amplitude_in_file_order(ds), values)
    assert ds["time"].values[0] == 4.0 and np.allclose(np.diff(ds["time"].values), 2.0)
    attrs = ds["segy_file_header"].attrs
    assert base64.b64decode(attrs["rawExtendedTextHeaders"]) == b"".join(records)
    ref, axis, headers = segyio_reference(path)
    assert np.array_equal(amplitude_in_file_order(ds), ref)
    assert np.allclose(ds["time"].values, axis)
    assert [h[segyio.TraceField.CDP] for h in headers] == list(ds["cdp"].values)
    assert_round_trip(path, tmp_path)
    # noise there (EBCDIC blanks, 0x4040) counts more records than the file holds: none
    noise = write(tmp_path / "noise.sgy", segy_bytes(values, rev=(0, 0), ext_count=0x4040))
    with pytest.warns(UserWarning, match="16448 extended textual headers"):
        assert np.array_equal(amplitude_in_file_order(open_segy(noise)), values)


# --------------------------------------------------------------------------- class 3


@pytest.mark.parametrize("ebcdic", [True, False], ids=["ebcdic", "ascii"])
def test_class3_variable_extended_headers_end_at_the_endtext_stanza(ebcdic, tmp_path):
    values = samples_f32(5, 40)
    records = [text_record(["((SEG: Text))", f"record {i}"], ebcdic=ebcdic) for i in range(2)]
    records.append(text_record(["((SEG: EndText))"], ebcdic=ebcdic))
    data = segy_bytes(values, rev=(2, 1), extended=records, ext_count=-1)
    path = write(tmp_path / "variable.sgy", data)
    layout = read_layout(path)
    assert layout.data_offset == 3600 + 3 * 3200
    assert layout.binary_fields["num_extended_text_headers"] == -1
    ds = open_segy(path)
    assert np.array_equal(amplitude_in_file_order(ds), values)
    assert list(ds["cdp"].values) == [101, 102, 103, 104, 105]
    assert_round_trip(path, tmp_path)


def test_class3_variable_count_without_the_stanza_is_a_typed_error(tmp_path):
    records = [text_record("((SEG: Text)) but no end")]
    path = write(tmp_path / "no_end.sgy",
                 segy_bytes(samples_f32(3, 10), rev=(2, 0), extended=records, ext_count=-1))
    with pytest.raises(PromethiumError) as err:
        read_layout(path)
    assert err.value.code is ErrorCode.TRUNCATED_FILE
    assert "EndText" in err.value.message and "3505-3506" in err.value.hint


# --------------------------------------------------------------------------- class 4


@pytest.mark.parametrize(("ns", "ns16"), [(70_000, 0), (300, 123)], ids=["over_16_bits", "stale"])
def test_class4_rev2_32_bit_sample_count(ns, ns16, tmp_path):
    """Bytes 3269-3272 override the 16-bit count (3221-3222) in a rev 2 file."""
    values = samples_f32(3, ns)
    data = segy_bytes(values, rev=(2, 0),
                      binary={3221: ("u2", ns16), 3269: ("i4", ns)}, traces={115: ("u2", ns16)})
    path = write(tmp_path / f"ns{ns}.sgy", data)
    ds = open_segy(path)
    assert ds.sizes["time"] == ns
    assert np.array_equal(amplitude_in_file_order(ds), values)
    ref, axis, _ = segyio_reference(path)
    assert np.array_equal(amplitude_in_file_order(ds), ref)
    assert np.allclose(ds["time"].values, axis)
    assert_round_trip(path, tmp_path)
    # before rev 2 those bytes are unassigned: noise there is not a sample count
    rev1 = write(tmp_path / "rev1.sgy", segy_bytes(values[:, :50], binary={3269: ("i4", 999)}))
    assert read_layout(rev1).n_samples == 50


@pytest.mark.parametrize("endian", [">", "<"])
def test_class4_rev2_extended_sample_interval(endian, tmp_path):
    """The IEEE double in bytes 3273-3280 overrides bytes 3217-3218 (rev 2); the byte-order
    constant (3297-3300) says the byte order."""
    values = samples_f32(2, 20)
    data = segy_bytes(values, rev=(2, 0), dt=0, endian=endian,
                      binary={3273: ("f8", 125.0), 3297: ("u4", 0x01020304)})
    path = write(tmp_path / "ext_dt.sgy", data)
    layout = read_layout(path)
    assert (layout.sample_interval_us, layout.sample_interval_source) == (125, "extended")
    assert layout.endian == endian
    ds = open_segy(path)
    assert np.allclose(ds["time"].values, 0.125 * np.arange(20))
    assert ds.attrs["sample_interval_us"] == 125
    fractional = write(tmp_path / "frac.sgy", segy_bytes(
        values, rev=(2, 0), dt=1000, endian=endian, binary={3273: ("f8", 312.5)},
        traces={117: ("u2", 0)}))
    assert read_layout(fractional).sample_interval_us == 312.5
    assert np.allclose(np.diff(open_segy(fractional)["time"].values), 0.3125)
    assert_round_trip(path, tmp_path)


def test_class4_rev2_trace_count_trailer_and_first_trace_offset(tmp_path):
    """Bytes 3513-3520 (trace count), 3521-3528 (first trace offset), 3529-3532 (trailer)."""
    values = samples_f32(4, 30)
    trailer = text_record("((SEG: Trailer)) 1 record")
    counted = write(tmp_path / "counted.sgy", segy_bytes(
        values, rev=(2, 1), binary={3513: ("u8", 4), 3529: ("i4", 1)}, trailer=trailer))
    layout = read_layout(counted)
    assert (layout.n_traces, layout.trailer) == (4, trailer)
    assert np.array_equal(amplitude_in_file_order(open_segy(counted)), values)
    assert_round_trip(counted, tmp_path)
    # the trailer count alone (no trace count) says the same
    stanzas = write(tmp_path / "stanzas.sgy", segy_bytes(
        values, rev=(2, 1), binary={3529: ("i4", 1)}, trailer=trailer))
    assert (read_layout(stanzas).n_traces, read_layout(stanzas).trailer) == (4, trailer)
    # an explicit first-trace offset that is not after whole 3200-byte records
    gap = b"\x01" * 100
    offset = write(tmp_path / "offset.sgy", segy_bytes(
        values, rev=(2, 1), binary={3521: ("u8", 3700)}, gap=gap))
    layout = read_layout(offset)
    assert (layout.data_offset, layout.extended_headers) == (3700, gap)
    assert np.array_equal(amplitude_in_file_order(open_segy(offset)), values)
    assert_round_trip(offset, tmp_path)
    # more traces counted than the file holds: cut short
    short = write(tmp_path / "short.sgy", segy_bytes(
        values, rev=(2, 1), binary={3513: ("u8", 5)}))
    with pytest.raises(PromethiumError) as err:
        read_layout(short)
    assert err.value.code is ErrorCode.TRUNCATED_FILE and "3513-3520" in err.value.message


def test_class4_writer_keeps_the_rev2_trace_count_true(tmp_path):
    """Writing fewer traces than the source's count (bytes 3513-3520) updates the count."""
    values = samples_f32(4, 8)
    trailer = text_record("((SEG: Trailer))")
    data = segy_bytes(values, rev=(2, 1), binary={3513: ("u8", 4), 3529: ("i4", 1)},
                      trailer=trailer)
    out = tmp_path / "two.sgy"
    with SegyWriter(out, text_header=data[:3200], binary_header=data[3200:3600], n_samples=8,
                    sample_format=5, trailer=trailer) as writer:
        writer.write_traces(np.frombuffer(data[3600:3600 + 240], np.uint8).reshape(1, 240)
                            .repeat(2, axis=0), values[:2])
    written = out.read_bytes()
    assert int.from_bytes(written[3512:3520], "big") == 2
    assert written[-3200:] == trailer
    layout = read_layout(out)
    assert (layout.n_traces, layout.trailer) == (2, trailer)


# --------------------------------------------------------------------------- class 5


def test_class5_additional_trace_headers_kept_raw_and_written_back(tmp_path):
    values = samples_f32(5, 24)
    extra = RNG.integers(0, 256, (5, 480), dtype=np.uint8)
    data = segy_bytes(values, rev=(2, 1), binary={3507: ("i2", 2)}, extra=extra)
    path = write(tmp_path / "extra.sgy", data)
    layout = read_layout(path)
    assert (layout.n_extra_headers, layout.trace_size) == (2, 720 + 24 * 4)
    ds = open_segy(path)
    assert np.array_equal(amplitude_in_file_order(ds), values)
    assert list(ds["cdp"].values) == [101, 102, 103, 104, 105]
    raw_extra = ds["raw_extra_headers"]
    assert raw_extra.dtype == np.dtype("V480") and raw_extra.dims == ds["raw_headers"].dims
    order = np.argsort(ds["segy_trace_index"].values)
    got = np.frombuffer(raw_extra.values[order].tobytes(), np.uint8).reshape(5, 480)
    assert np.array_equal(got, extra)
    standard = np.frombuffer(ds["raw_headers"].values[order].tobytes(), np.uint8)
    assert np.array_equal(standard.reshape(5, 240),
                          np.frombuffer(data[3600:], np.uint8).reshape(5, -1)[:, :240])
    store = ingest(path, tmp_path / "extra.zarr", progress=False)
    assert open_store(store)["raw_extra_headers"].dtype == np.dtype("V480")
    assert export(store, tmp_path / "back.sgy", progress=False).read_bytes() == data
    # in another sample format the additional headers still follow each standard one
    ibm = np.frombuffer(export(store, tmp_path / "ibm.sgy", format="ibm",
                               progress=False).read_bytes()[3600:], np.uint8).reshape(5, -1)
    assert np.array_equal(ibm[:, 240:720], extra)
    # IBM floats keep 21-24 bits of the float32 mantissa: rounded, not exact
    back = amplitude_in_file_order(open_segy(tmp_path / "ibm.sgy"))
    assert np.allclose(back, values, rtol=2.0**-21, atol=0)


def test_class5_bad_or_pre_rev2_additional_header_counts(tmp_path):
    values = samples_f32(2, 8)
    bad = write(tmp_path / "neg.sgy", segy_bytes(values, rev=(2, 0), binary={3507: ("i2", -3)}))
    with pytest.raises(PromethiumError) as err:
        read_layout(bad)
    assert err.value.code is ErrorCode.NOT_SEGY and "3507-3508" in err.value.hint
    rev1 = write(tmp_path / "rev1.sgy", segy_bytes(values, binary={3507: ("i2", 2)}))
    assert read_layout(rev1).n_extra_headers == 0  # unassigned before rev 2, as in segyio


# --------------------------------------------------------------------------- class 6


@pytest.mark.parametrize(("delay", "scalar", "t0"),
                         [(10_000, -10, 1000.0), (5, 10, 50.0), (-300, -100, -3.0)])
def test_class6_time_scalar_scales_the_delay(delay, scalar, t0, tmp_path):
    values = samples_f32(3, 12)
    path = write(tmp_path / "scalar.sgy", segy_bytes(values, delay=delay,
                                                     traces={215: ("i2", scalar)}))
    ds = open_segy(path)
    t = ds["time"].values
    assert t[0] == t0 and np.allclose(np.diff(t), 2.0)
    assert int(ds["headers"].values["delay_recording_time"][0]) == delay  # header kept raw
    _, axis, _ = segyio_reference(path)
    assert np.allclose(t, axis)
    assert_round_trip(path, tmp_path)


# --------------------------------------------------------------------------- class 7


def test_class7_negative_binary_interval_falls_back_to_the_trace_header(tmp_path):
    values = samples_f32(3, 10)
    path = write(tmp_path / "neg_dt.sgy", segy_bytes(values, binary={3217: ("i2", -2)}))
    layout = read_layout(path)
    assert layout.sample_interval_us == 2000  # not 65534
    assert layout.sample_interval_source == "trace"
    ds = open_segy(path)
    assert np.allclose(np.diff(ds["time"].values), 2.0)
    _, axis, _ = segyio_reference(path)
    assert np.allclose(ds["time"].values, axis)
    assert_round_trip(path, tmp_path)
    # negative in the trace headers too: segyio's 4 ms fallback, with a warning
    both = write(tmp_path / "both.sgy", segy_bytes(values, binary={3217: ("i2", -2)},
                                                  traces={117: ("i2", -2)}))
    with pytest.warns(UserWarning, match="no positive sample interval"):
        ds = open_segy(both)
    assert ds.attrs["sample_interval_us"] == DEFAULT_SAMPLE_INTERVAL_US
    assert np.allclose(ds["time"].values, segyio_reference(both)[1])


def test_class7_disagreeing_intervals_keep_the_binary_header_with_a_warning(tmp_path):
    path = write(tmp_path / "disagree.sgy",
                 segy_bytes(samples_f32(2, 6), dt=2000, traces={117: ("u2", 1000)}))
    with pytest.warns(UserWarning, match="first trace header 1000"):
        ds = open_segy(path)
    assert ds.attrs["sample_interval_us"] == 2000


# --------------------------------------------------------------------------- class 8


@pytest.mark.parametrize("endian", ["<", ">"])
def test_class8_seismic_unix_with_dt_zero(endian, tmp_path):
    """segyread writes dt = 0 when the interval was only in the binary header."""
    values = samples_f32(4, 25)
    path = write(tmp_path / "dt0.su", su_bytes(values, endian=endian, dt=0))
    layout = read_layout(path)
    assert (layout.sample_interval_us, layout.sample_interval_source) == (4000, "default")
    with pytest.warns(UserWarning, match="assuming 4000 µs"):
        ds = open_segy(path)
    assert np.array_equal(amplitude_in_file_order(ds), values)
    assert np.allclose(ds["time"].values, 4.0 * np.arange(25))
    ref, axis, _ = segyio_reference(path, endian, su=True)
    assert np.array_equal(amplitude_in_file_order(ds), ref)
    assert not axis.any()  # segyio.su takes dt = 0 as it is: every sample at 0 ms


# --------------------------------------------------------------------------- class 9

#: values each new format holds exactly, and float32 too (so the round trip is exact)
FORMAT_VALUES = {
    6: [0.5, -1.25, float(np.float32(1e30)), float(np.float32(-3.1e-20)), 0.0, 7.0],
    9: [-(2**40), 2**40, -1, 0, 123_456, -(2**62)],
    10: [0, 1, 2**31, 2**32 - 256, 65_535, 16_777_216],
    11: [0, 1, 65_535, 32_768, 255, 4_096],
    12: [0, 2**63, 2**40, 1, 16_777_216, 2**64 - 2**40],
    16: [0, 1, 255, 128, 127, 64],
}


@pytest.mark.parametrize("endian", [">", "<"])
@pytest.mark.parametrize("fmt", sorted(FORMAT_VALUES))
def test_class9_new_sample_formats_read_and_write_back(fmt, endian, tmp_path):
    row = np.array(FORMAT_VALUES[fmt], dtype=SampleFormat(fmt).dtype("="))
    values = np.stack([row, row[::-1], np.roll(row, 2)])
    data = segy_bytes(values, fmt=fmt, endian=endian)
    path = write(tmp_path / f"fmt{fmt}.sgy", data)
    ds = open_segy(path)
    assert ds.attrs["segy_format"] == fmt and ds["amplitude"].dtype == np.float32
    assert np.array_equal(amplitude_in_file_order(ds), values.astype(np.float32))
    ref, _, _ = segyio_reference(path, endian)
    assert np.array_equal(amplitude_in_file_order(ds), ref)
    assert_round_trip(path, tmp_path)


@pytest.mark.parametrize("fmt", sorted(UNSUPPORTED_FORMATS))
def test_class9_formats_segyio_does_not_decode_are_unsupported(fmt, tmp_path):
    size = {4: 4, 7: 3, 15: 3}[fmt]
    path = write(tmp_path / f"fmt{fmt}.sgy", segy_bytes(
        np.zeros((2, 10)), fmt=fmt, raw_samples=np.zeros((2, 10 * size), np.uint8)))
    with pytest.raises(PromethiumError) as err:
        read_layout(path)
    assert err.value.code is ErrorCode.UNSUPPORTED_FORMAT
    assert f"code {fmt}" in err.value.message and "16 (1-byte unsigned integer)" in err.value.hint


def test_class9_export_converts_to_the_new_formats_by_name(tmp_path):
    values = np.array([[0, 1, 2, 250], [3, 4, 5, 6]], np.float32)
    path = write(tmp_path / "ieee.sgy", segy_bytes(values))
    for name, code in [("uint8", 16), ("float64", 6), ("uint16", 11), ("int64", 9)]:
        out = export(open_segy(path), tmp_path / f"{name}.sgy", format=name, progress=False)
        back = open_segy(out)
        assert back.attrs["segy_format"] == code
        assert np.array_equal(amplitude_in_file_order(back), values)
        assert np.array_equal(segyio_reference(out)[0], values)
    negative = open_segy(path)
    negative["amplitude"] = -negative["amplitude"]
    with pytest.raises(PromethiumError) as err:  # 250 fits uint8, -1 does not
        export(negative, tmp_path / "neg.sgy", format="uint8", progress=False)
    assert err.value.code is ErrorCode.EXPORT_UNSUPPORTED


@pytest.mark.parametrize(("fmt", "bad"), [(16, -1.0), (16, 256.0), (11, 65_536.0),
                                          (10, 2.0**32), (12, 2.0**64), (9, 2.0**63),
                                          (9, 0.5), (12, np.nan)])
def test_class9_writer_rejects_samples_the_format_cannot_hold(fmt, bad, tmp_path):
    binary = segy_bytes(np.zeros((1, 4)), fmt=fmt)[3200:3600]
    samples = np.zeros((2, 4), np.float32)
    samples[1, 2] = bad
    out = tmp_path / "out.sgy"
    with pytest.raises(PromethiumError) as err:
        with SegyWriter(out, text_header=bytes(3200), binary_header=binary, n_samples=4,
                        sample_format=fmt) as writer:
            writer.write_traces(np.zeros((2, 240), np.uint8), np.ones((2, 4), np.float32))
            writer.write_traces(np.zeros((2, 240), np.uint8), samples)
    assert err.value.code is ErrorCode.EXPORT_UNSUPPORTED
    assert f"format {fmt} ({SampleFormat(fmt).description}) holds integers" in str(err.value)
    assert "sample 2 of trace 3" in err.value.message
    assert not out.exists()


# --------------------------------------------------------------------------- the one table


def test_one_sample_format_table():
    assert FORMAT_CODES == {f.label: f.code for f in SampleFormat}
    assert {f.code for f in SampleFormat} == {1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 16}
    assert [SampleFormat(c).itemsize for c in (1, 6, 11, 16)] == [4, 8, 2, 1]
    assert SampleFormat.IBM.dtype("<") == np.dtype("<u4")
    assert SampleFormat(12).description == "8-byte unsigned integer"


def test_patch_sample_count_keeps_a_header_that_already_says_it():
    rev2 = segy_bytes(np.zeros((1, 4)), rev=(2, 0),
                      binary={3221: ("u2", 0), 3269: ("i4", 70_000)})[3200:3600]
    assert patch_sample_count(rev2, ">", 70_000) == rev2
    patched = patch_sample_count(rev2, ">", 100)
    assert int.from_bytes(patched[68:72], "big") == 100
    assert int.from_bytes(patched[20:22], "big") == 100
    rev1 = segy_bytes(np.zeros((1, 4)))[3200:3600]
    assert int.from_bytes(patch_sample_count(rev1, ">", 9)[20:22], "big") == 9
    with pytest.raises(PromethiumError) as err:
        patch_sample_count(rev1, ">", 70_000)
    assert err.value.code is ErrorCode.EXPORT_UNSUPPORTED
