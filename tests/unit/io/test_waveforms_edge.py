"""Bad and unusual waveform input (issues 10 and 11): each case is a small file made here.

* miniSEED whose last record is cut short: an error, or with ``truncated="keep"`` the whole
  records with the cut record's samples masked and reported;
* miniSEED text records (encoding 0) and LOG channels (sampling rate 0): text in
  ``attrs["log_text"]``, a typed error when there are no samples at all;
* SAC that is no evenly sampled time series (``leven = 0``, ``iftype`` other than ITIME);
* alphanumeric SAC (SACXY);
* dispatch by content: a file named ``.mseed``/``.sac`` whose bytes are no waveform gets the
  waveform reader's error, with a hint that says what the bytes look like;
* ``promethium-lab info`` on each bad file: one typed line, no traceback.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr
from _waveform_helpers import expect_error, expected_index, obspy_read, row_of, runs

from promethium_lab.core.errors import ErrorCode
from promethium_lab.io.formats import (
    FILE_KINDS,
    detect_format,
    kind_from_suffix,
    sniff_format,
)
from promethium_lab.io.store import open_store
from promethium_lab.io.survey import open_survey
from promethium_lab.io.waveforms import guess_waveform_format, open_waveforms
from promethium_lab.workflows.info import describe
from promethium_lab.workflows.ingest import ingest

DATA = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))
REPO = Path(__file__).resolve().parents[3]
GAPS = DATA / "BW.BGLD..EHE_gaps.mseed"  # 128 records of 512 bytes, one channel
NL = DATA / "NL.HGN.00.BHZ_2003-05-29.mseed"  # 2 records of 4096 bytes
THREE = DATA / "GE.APE..BH_3comp.mseed"  # a full SEED volume: control records, then data
SAC_LE = DATA / "NZ.CRLZ.10.HHZ_le.SAC"
SAC_BE = DATA / "II.TLY.00.BHZ_be.SAC"
SEGY = DATA / "f3_ibm_be.sgy"
SU = DATA / "kit_1trace_le.su"

T0 = obspy.UTCDateTime("2020-01-01T00:00:00")

pytestmark = pytest.mark.filterwarnings("ignore:Sample spacing read from SAC file:UserWarning")


# --------------------------------------------------------------------------- helpers


def make_trace(data: np.ndarray, channel: str, rate: float, *, station: str = "GEN",
               start: obspy.UTCDateTime = T0) -> obspy.Trace:
    return obspy.Trace(np.asarray(data), header={
        "network": "XX", "station": station, "location": "", "channel": channel,
        "sampling_rate": rate, "starttime": start})


def text_trace(text: str, channel: str = "LOG", rate: float = 0.0) -> obspy.Trace:
    """A miniSEED text channel: encoding 0 (ASCII); a LOG channel has sampling rate 0."""
    return make_trace(np.frombuffer(text.encode("ascii"), dtype="S1"), channel, rate)


def write_mseed(path: Path, traces: list[obspy.Trace], **kwargs) -> Path:
    with warnings.catch_warnings():  # "more than one different encodings" for text + data
        warnings.simplefilter("ignore")
        obspy.Stream(traces).write(str(path), format="MSEED", reclen=512, **kwargs)
    return path


def cut_last_record(source: Path, target: Path, keep: int, reclen: int = 512) -> Path:
    """``source`` with only the first ``keep`` bytes of its last record."""
    raw = source.read_bytes()
    target.write_bytes(raw[: len(raw) - reclen + keep])
    return target


def record_at(source: Path, offset: int, reclen: int) -> obspy.Trace:
    """The trace ObsPy reads from the one record at ``offset`` of ``source``."""
    (tr,) = obspy_read(io.BytesIO(source.read_bytes()[offset : offset + reclen]))
    return tr


LOG_TEXT = "".join(f"2020-01-01T00:{i:02d}:00 clock locked, temperature {20 + i % 5} C\n"
                   for i in range(40))  # 2160 characters: several 512-byte records


# SAC header words (0-based, 4 bytes each): nvhdr 76, iftype 85, leven 105
_SAC_WORDS = {"nvhdr": 76, "iftype": 85, "leven": 105}


def sac_order(raw: bytes) -> str:
    """Byte order of a binary SAC file: the one in which nvhdr reads 6."""
    off = 4 * _SAC_WORDS["nvhdr"]
    return "<" if struct.unpack("<i", raw[off : off + 4])[0] == 6 else ">"


def patch_sac(source: Path, target: Path, *, extra: bytes = b"", **words: int) -> Path:
    """Copy of a binary SAC file with header words changed (in the file's byte order)."""
    raw = bytearray(source.read_bytes())
    order = sac_order(raw)
    for name, value in words.items():
        struct.pack_into(order + "i", raw, 4 * _SAC_WORDS[name], value)
    target.write_bytes(bytes(raw) + extra)
    return target


def write_sacxy(source: Path, target: Path, **words: int) -> Path:
    """An alphanumeric SAC copy of a binary SAC file, header words changed."""
    from obspy.io.sac import arrayio

    hf, hi, hs, data = arrayio.read_sac(str(source))
    for name, value in words.items():
        hi[_SAC_WORDS[name] - 70] = value
    arrayio.write_sac_ascii(str(target), hf, hi, hs, data)
    return target


def two_channel_file(path: Path) -> Path:
    """BHA (2016 INT32 samples) written after BHB (5000): the last record of the file is
    BHA's, and its span ends inside the time axis."""
    rng = np.random.default_rng(7)
    bhb = make_trace(rng.integers(-5000, 5000, 5000).astype(np.int32), "BHB", 100.0)
    bha = make_trace(rng.integers(-5000, 5000, 2016).astype(np.int32), "BHA", 100.0)
    return write_mseed(path, [bhb, bha], encoding="INT32")


# --------------------------------------------------------------------------- truncated miniSEED


@pytest.mark.parametrize("keep", [256, 511, 48, 20], ids=lambda k: f"{k}of512")
def test_cut_last_record_is_a_typed_error(tmp_path, keep):
    # 511 of 512 bytes: ObsPy drops the record without a word; 20: the header itself is cut
    cut = cut_last_record(GAPS, tmp_path / "cut.mseed", keep)
    for read in (open_waveforms, open_survey, describe):
        err = expect_error(ErrorCode.TRUNCATED_FILE, read, cut)
        assert "ends inside its last record" in err.message
        assert f"the record at byte {512 * 127} has {keep}" in err.message
        assert "truncated='keep'" in err.hint


def test_keep_masks_the_cut_record_at_the_end(tmp_path, caplog):
    cut = cut_last_record(GAPS, tmp_path / "cut.mseed", 256)
    lost = record_at(GAPS, 512 * 127, 512)
    whole = open_waveforms(GAPS)
    with caplog.at_level(logging.WARNING, logger="promethium_lab.io.waveforms"):
        ds = open_waveforms(cut, truncated="keep")
    assert ds.sizes == whole.sizes  # the axis still covers what the cut record held
    ref_ns = obspy.UTCDateTime(whole.attrs["reference_time"]).ns
    start = expected_index(lost, ref_ns)
    assert (start, lost.stats.npts) == (whole.sizes["time"] - 412, 412)
    expected = whole.sample_mask.values.copy()
    expected[0, start : start + lost.stats.npts] = False
    np.testing.assert_array_equal(ds.sample_mask.values, expected)
    live = ds.sample_mask.values
    np.testing.assert_array_equal(ds.amplitude.values[live], whole.amplitude.values[live])
    assert not ds.amplitude.values[~live].any()
    assert ds.attrs["truncated_records"] == [{
        "path": str(cut), "offset": 512 * 127, "bytes_present": 256, "record_length": 512,
        "seed_id": "BW.BGLD..EHE", "starttime": str(lost.stats.starttime),
        "npts": 412, "sampling_rate": 200.0, "masked": True,
    }]
    (record,) = [r for r in caplog.records if r.name == "promethium_lab.io.waveforms"]
    assert record.levelno == logging.WARNING
    assert str(cut) in record.getMessage() and "masked" in record.getMessage()


@pytest.mark.parametrize("keep", [256, 511], ids=lambda k: f"{k}of512")
def test_keep_masks_a_hole_inside_the_axis(tmp_path, keep):
    intact = two_channel_file(tmp_path / "intact.mseed")
    size = intact.stat().st_size
    cut = cut_last_record(intact, tmp_path / "cut.mseed", keep)
    lost = record_at(intact, size - 512, 512)
    assert lost.id == "XX.GEN..BHA" and 0 < lost.stats.npts < 2016
    st = obspy_read(str(intact))
    ref_ns = min(tr.stats.starttime.ns for tr in st)
    ds = open_waveforms(cut, truncated="keep")
    whole = open_waveforms(intact)
    assert ds.sizes == whole.sizes == {"trace": 2, "time": 5000}
    a, b = row_of(ds, "XX.GEN..BHA"), row_of(ds, "XX.GEN..BHB")
    hole = expected_index(lost, ref_ns)
    assert hole == 2016 - lost.stats.npts
    assert runs(ds.sample_mask.values[a]) == [(True, hole), (False, 5000 - hole)]
    np.testing.assert_array_equal(ds.sample_mask.values[b], whole.sample_mask.values[b])
    # what is read is what ObsPy reads from the intact file
    bha = st.select(channel="BHA")[0].data.astype(np.float32)
    np.testing.assert_array_equal(ds.amplitude.values[a, :hole], bha[:hole])
    assert not ds.amplitude.values[a, hole:].any()
    np.testing.assert_array_equal(ds.amplitude.values[b],
                                  st.select(channel="BHB")[0].data.astype(np.float32))
    (entry,) = ds.attrs["truncated_records"]
    assert entry == {
        "path": str(cut), "offset": size - 512, "bytes_present": keep, "record_length": 512,
        "seed_id": "XX.GEN..BHA", "starttime": str(lost.stats.starttime),
        "npts": lost.stats.npts,
        "sampling_rate": 100.0, "masked": True,
    }


def test_keep_a_cut_record_after_seed_volume_headers(tmp_path):
    # the last record holds all 610 samples of BHE: its row stays, with nothing live
    cut = cut_last_record(THREE, tmp_path / "cut.mseed", 2048, reclen=4096)
    expect_error(ErrorCode.TRUNCATED_FILE, open_waveforms, cut)
    ds = open_waveforms(cut, truncated="keep")
    whole = open_waveforms(THREE)
    assert ds.sizes == whole.sizes == {"trace": 3, "time": 935}
    assert list(ds.channel.values) == list(whole.channel.values) == ["BHE", "BHN", "BHZ"]
    np.testing.assert_array_equal(ds.trace_mask.values, [False, True, True])
    assert not ds.sample_mask.values[0].any()
    np.testing.assert_array_equal(ds.sample_mask.values[1:], whole.sample_mask.values[1:])
    np.testing.assert_array_equal(ds.amplitude.values[1:], whole.amplitude.values[1:])
    assert ds.attrs["truncated_records"][0]["seed_id"] == "GE.APE..BHE"
    assert ds.attrs["truncated_records"][0]["npts"] == 610


def test_keep_when_the_header_itself_is_cut(tmp_path):
    # 20 bytes: the SEED id is there, the start time and sample count are not
    cut = cut_last_record(GAPS, tmp_path / "cut.mseed", 20)
    ds = open_waveforms(cut, truncated="keep")
    whole = open_waveforms(GAPS)
    assert ds.sizes["time"] == whole.sizes["time"] - 412  # nothing to say what it held
    np.testing.assert_array_equal(ds.sample_mask.values,
                                  whole.sample_mask.values[:, : ds.sizes["time"]])
    assert ds.attrs["truncated_records"] == [{
        "path": str(cut), "offset": 512 * 127, "bytes_present": 20, "record_length": None,
        "seed_id": "BW.BGLD..EHE", "starttime": None, "npts": None, "sampling_rate": None,
        "masked": False,
    }]


def test_keep_with_no_whole_record_is_an_error(tmp_path):
    cut = tmp_path / "cut.mseed"
    cut.write_bytes(NL.read_bytes()[:1000])  # inside the first 4096-byte record
    err = expect_error(ErrorCode.TRUNCATED_FILE, open_waveforms, cut, truncated="keep")
    assert "no whole record" in err.message


def test_keep_reaches_the_reader_from_every_entry(tmp_path):
    cut = cut_last_record(GAPS, tmp_path / "cut.mseed", 256)
    expected = open_waveforms(cut, truncated="keep")
    np.testing.assert_array_equal(open_survey(cut, truncated="keep").sample_mask.values,
                                  expected.sample_mask.values)
    via_xarray = xr.open_dataset(cut, engine="promethium", truncated="keep")
    np.testing.assert_array_equal(via_xarray.sample_mask.values, expected.sample_mask.values)
    assert describe(cut, truncated="keep")["dims"] == {"trace": 1, "time": 54376}
    store = ingest(cut, tmp_path / "cut.zarr", truncated="keep", progress=False)
    stored = open_store(store)
    np.testing.assert_array_equal(stored.sample_mask.values, expected.sample_mask.values)
    assert stored.attrs["truncated_records"] == expected.attrs["truncated_records"]
    expect_error(ErrorCode.TRUNCATED_FILE, ingest, cut, tmp_path / "no.zarr", progress=False)
    assert not (tmp_path / "no.zarr").exists()


def test_truncated_option_is_checked(tmp_path):
    err = expect_error(ErrorCode.INVALID_PARAMETER, open_waveforms, NL, truncated="yes")
    assert "error, keep" in err.message
    for call in (lambda: open_survey(SEGY, truncated="keep"),
                 lambda: ingest(SEGY, tmp_path / "f3.zarr", truncated="keep", progress=False)):
        err = expect_error(ErrorCode.INVALID_PARAMETER, call)
        assert "miniSEED files only" in err.message
    assert not (tmp_path / "f3.zarr").exists()
    assert open_survey(SEGY, truncated="error").attrs["geometry"] == "poststack3d"
    err = expect_error(ErrorCode.INVALID_PARAMETER, open_survey, NL, geometry="shot")
    assert "geometry" in err.message and "truncated" in err.hint


# --------------------------------------------------------------------------- text records


def test_log_channel_text_is_kept_in_attrs(tmp_path):
    data = make_trace(np.arange(3000, dtype=np.int32) % 97 - 48, "HHZ", 100.0)
    path = write_mseed(tmp_path / "with_log.mseed", [data, text_trace(LOG_TEXT)])
    st = obspy_read(str(path))
    assert len(st.select(channel="LOG")) > 1  # the text spans several records
    for ds in (open_waveforms(path), open_survey(path)):
        assert ds.sizes == {"trace": 1, "time": 3000}
        assert list(ds.channel.values) == ["HHZ"]
        np.testing.assert_array_equal(ds.amplitude.values[0],
                                      st.select(channel="HHZ")[0].data.astype(np.float32))
        assert ds.sample_mask.values.all()
        assert ds.attrs["log_text"] == {"XX.GEN..LOG": LOG_TEXT}
    assert describe(path)["dims"] == {"trace": 1, "time": 3000}


def test_text_records_with_a_sampling_rate_are_text(tmp_path):
    # encoding 0 at 100 Hz beside a 100 Hz data channel: ObsPy gives bytes, not numbers
    data = make_trace(np.arange(500, dtype=np.int32), "HHZ", 100.0)
    path = write_mseed(tmp_path / "ascii.mseed", [data, text_trace("operator note", "HHT", 100.0)])
    ds = open_waveforms(path)
    assert list(ds.channel.values) == ["HHZ"]
    np.testing.assert_array_equal(ds.amplitude.values[0], np.arange(500, dtype=np.float32))
    assert ds.attrs["log_text"] == {"XX.GEN..HHT": "operator note"}


@pytest.mark.parametrize("rate", [0.0, 1.0], ids=["LOG", "ascii_1Hz"])
def test_text_only_file_is_a_typed_error(tmp_path, rate):
    path = write_mseed(tmp_path / "log.mseed", [text_trace(LOG_TEXT, rate=rate)])
    for read in (open_waveforms, open_survey, describe):
        err = expect_error(ErrorCode.UNREADABLE_WAVEFORM, read, path)
        assert "only text records" in err.message and "no waveform samples" in err.message
        assert f"XX.GEN..LOG ({len(LOG_TEXT)} characters)" in err.message
        assert "log_text" in err.hint and "damaged" not in err.hint


def test_numeric_channel_without_a_rate_says_what_it_is(tmp_path):
    path = write_mseed(tmp_path / "soh.mseed",
                       [make_trace(np.arange(10, dtype=np.int32), "VEI", 0.0)],
                       encoding="INT32")
    err = expect_error(ErrorCode.UNSUPPORTED_FORMAT, open_waveforms, path)
    assert "XX.GEN..VEI" in err.message and "sampling rate 0" in err.message
    assert "damaged" not in err.hint


# --------------------------------------------------------------------------- SAC


@pytest.mark.parametrize("source", [SAC_LE, SAC_BE], ids=["le", "be"])
@pytest.mark.parametrize("with_x", [False, True], ids=["patched", "with_x_values"])
def test_unevenly_sampled_sac_is_unsupported(tmp_path, source, with_x):
    order = sac_order(source.read_bytes())
    npts = obspy_read(str(source))[0].stats.npts
    # an uneven file holds the npts x values after the y values
    extra = np.arange(npts, dtype=order + "f4").tobytes() if with_x else b""
    path = patch_sac(source, tmp_path / "uneven.sac", leven=0, extra=extra)
    for read in (open_waveforms, open_survey):
        err = expect_error(ErrorCode.UNSUPPORTED_FORMAT, read, path)
        assert "unevenly sampled (leven = 0" in err.message
        assert "resample" in err.hint


@pytest.mark.parametrize(("iftype", "what"), [
    (2, "real and imaginary parts (IRLIM)"),
    (3, "amplitude and phase (IAMPH)"),
    (4, "general x-y data (IXY)"),
    (51, "x-y-z data (IXYZ)"),
    (7, "unknown type (iftype 7)"),
])
@pytest.mark.parametrize("source", [SAC_LE, SAC_BE], ids=["le", "be"])
def test_sac_that_is_no_time_series_is_unsupported(tmp_path, source, iftype, what):
    path = patch_sac(source, tmp_path / "spectrum.sac", iftype=iftype)
    err = expect_error(ErrorCode.UNSUPPORTED_FORMAT, open_waveforms, path)
    assert what in err.message and "not a time series" in err.message
    assert "ITIME" in err.hint


def test_undefined_iftype_and_leven_read_as_a_time_series(tmp_path):
    # SAC's defaults; files from some writers leave them undefined (-12345)
    path = patch_sac(SAC_LE, tmp_path / "undefined.sac", iftype=-12345, leven=-12345)
    ds = open_waveforms(path)
    np.testing.assert_array_equal(ds.amplitude.values[0],
                                  obspy_read(str(SAC_LE))[0].data.astype(np.float32))
    # and a spectrum next to it is still refused, so the check did run
    expect_error(ErrorCode.UNSUPPORTED_FORMAT, open_waveforms,
                 patch_sac(SAC_LE, tmp_path / "s.sac", iftype=2))


def sacxy_copy(source: Path, target: Path, npts: int | None = None) -> Path:
    """ObsPy's alphanumeric SAC copy of a binary SAC file (first ``npts`` samples)."""
    st = obspy_read(str(source))
    st[0].data = st[0].data[:npts]
    st.write(str(target), format="SACXY")
    return target


@pytest.mark.parametrize("source", [SAC_LE, SAC_BE], ids=["le", "be"])
def test_alphanumeric_sac_is_read_like_obspy(tmp_path, source):
    # 5 values a line: ObsPy 1.5 reads the file back when the last line is full
    npts = obspy_read(str(source))[0].stats.npts // 5 * 5
    path = sacxy_copy(source, tmp_path / "alpha.txt", npts)
    expected = obspy_read(str(path))[0]
    assert guess_waveform_format(path) == "SACXY"
    assert detect_format(path) == sniff_format(path) == "sacxy"
    for ds in (open_waveforms(path), open_survey(path),
               xr.open_dataset(path, engine="promethium")):
        assert ds.attrs["source_format"] == "SACXY"
        assert ds.sizes == {"trace": 1, "time": npts}
        assert row_of(ds, expected.id) == 0
        np.testing.assert_array_equal(ds.amplitude.values[0], expected.data.astype(np.float32))
        assert ds.sampling_rate.item() == expected.stats.sampling_rate
        assert ds.starttime.values[0] == np.datetime64(expected.stats.starttime.ns, "ns")
    from promethium_lab.io.backend import PromethiumBackendEntrypoint

    assert PromethiumBackendEntrypoint().guess_can_open(str(path))


def test_alphanumeric_sac_with_a_short_last_line(tmp_path):
    # 12684 samples: the last line holds 4 values (ObsPy 1.5's own reader fails on numpy 2)
    path = sacxy_copy(SAC_BE, tmp_path / "alpha.txt")
    values = np.array(" ".join(path.read_text().splitlines()[30:]).split(), dtype="<f4")
    assert values.size == 12684
    ds = open_waveforms(path)
    np.testing.assert_array_equal(ds.amplitude.values[0], values)
    assert ds.sampling_rate.item() == 20.0
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(path.read_text().splitlines()[:-10]) + "\n")
    err = expect_error(ErrorCode.TRUNCATED_FILE, open_waveforms, cut)
    assert "npts = 12684" in err.message


def test_alphanumeric_sac_header_is_checked_too(tmp_path):
    path = write_sacxy(SAC_LE, tmp_path / "uneven.txt", leven=0)
    err = expect_error(ErrorCode.UNSUPPORTED_FORMAT, open_waveforms, path)
    assert "leven = 0" in err.message
    path = write_sacxy(SAC_LE, tmp_path / "spectrum.txt", iftype=3)
    err = expect_error(ErrorCode.UNSUPPORTED_FORMAT, open_survey, path)
    assert "IAMPH" in err.message


# --------------------------------------------------------------------------- dispatch by content


def _not_waveforms(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Files named as waveforms whose bytes are none, and what the hint must name."""
    png = tmp_path / "image.mseed"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4000))
    noise = tmp_path / "noise.sac"
    noise.write_bytes(np.random.default_rng(3).bytes(5000))
    empty = tmp_path / "empty.mseed"
    empty.write_bytes(b"")
    return {
        "segy": (Path(shutil.copy(SEGY, tmp_path / "f3.mseed")), "a SEG-Y file"),
        "su": (Path(shutil.copy(SU, tmp_path / "kit.sac")), "a Seismic Unix file"),
        "text": (Path(shutil.copy(DATA / "README.md", tmp_path / "readme.sac")),
                 "text (first line: '# "),
        "png": (png, "a PNG image"),
        "noise": (noise, "unrecognised binary data"),
        "empty": (empty, "no bytes"),
    }


@pytest.mark.parametrize("case", ["segy", "su", "text", "png", "noise", "empty"])
def test_waveform_named_file_with_other_content_gets_the_waveform_error(tmp_path, case):
    path, named = _not_waveforms(tmp_path)[case]
    store = tmp_path / "out.zarr"
    for call in (lambda: detect_format(path), lambda: open_survey(path),
                 lambda: describe(path), lambda: ingest(path, store, progress=False),
                 lambda: xr.open_dataset(path, engine="promethium"),
                 lambda: open_waveforms(path)):
        err = expect_error(ErrorCode.UNREADABLE_WAVEFORM, call)
        assert named in err.hint, err.hint
        assert "3600 bytes" not in str(err)
    assert not store.exists()


def test_detect_format_reads_content_not_names(tmp_path):
    misnamed = {
        "mseed": shutil.copy(NL, tmp_path / "nl.sgy"),
        "sac": shutil.copy(SAC_BE, tmp_path / "tly.segy"),
        "segy": shutil.copy(SEGY, tmp_path / "f3.bin"),
        "su": shutil.copy(DATA / "land_cmp700_be.su", tmp_path / "land.dat"),
    }
    for kind, path in misnamed.items():
        assert detect_format(path) == sniff_format(path) == kind
    assert detect_format(SU) == "su"
    assert open_survey(misnamed["su"]).attrs["segy_su"] == 1
    assert open_survey(misnamed["mseed"]).attrs["source_format"] == "MSEED"
    store = ingest(NL, tmp_path / "nl.zarr", progress=False)
    assert detect_format(store) == "zarr"
    mdio = tmp_path / "survey.mdio"
    mdio.mkdir()
    (mdio / "zarr.json").write_text(json.dumps(
        {"zarr_format": 3, "node_type": "group", "attributes": {"apiVersion": "1.0.0"}}))
    assert detect_format(mdio) == "mdio"
    (tmp_path / "folder").mkdir()
    expect_error(ErrorCode.PATH_IS_DIRECTORY, detect_format, tmp_path / "folder")
    expect_error(ErrorCode.PATH_IS_DIRECTORY, ingest, store, tmp_path / "again.zarr")
    assert sniff_format(DATA / "README.md") is None


def test_segy_is_told_without_obspy_and_only_when_sure(tmp_path):
    """A SEG-Y file is recognised from its headers and size alone (no ObsPy import);
    bytes that only look like SEG-Y go on to the waveform checks."""
    code = ("import sys; from promethium_lab.io.formats import detect_format; "
            f"kinds = [detect_format(p) for p in {[str(SEGY), str(DATA / 'f3_ibm_le.sgy')]}]; "
            "print(kinds, 'obspy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["['segy',", "'segy']", "False"]
    from promethium_lab.io.formats import _surely_segy

    raw = SEGY.read_bytes()
    assert _surely_segy(raw[:3840], len(raw))
    assert not _surely_segy(raw[:3840], len(raw) - 1)  # traces do not fill the file
    assert not _surely_segy(b"0" + raw[1:3840], len(raw))  # no "C": a miniSEED record?
    cut = tmp_path / "cut.sgy"
    cut.write_bytes(raw[:-7])
    assert detect_format(cut) == "segy"  # the waveform checks ran, then the SEG-Y check


def test_file_kind_table():
    assert {FILE_KINDS[s] for s in (".sgy", ".segy")} == {"segy"}
    assert kind_from_suffix("a/b/LINE.SGY") == "segy"
    assert kind_from_suffix("x.su") == "su"
    assert kind_from_suffix("x.mseed") == kind_from_suffix("x.miniseed") == "mseed"
    assert kind_from_suffix("x.SAC") == "sac"
    assert kind_from_suffix("x.zarr") == "zarr" and kind_from_suffix("x.mdio") == "mdio"
    assert kind_from_suffix("x.txt") is None


def test_io_owns_detection_and_opening():
    import importlib

    import promethium_lab.io.backend as backend
    import promethium_lab.io.formats as formats
    import promethium_lab.io.survey as survey

    # (the package attribute ``workflows.ingest`` is the function; take the module)
    wf_ingest = importlib.import_module("promethium_lab.workflows.ingest")

    # the workflow names stay importable, as re-exports of io's
    assert wf_ingest.detect_format is formats.detect_format
    assert wf_ingest.open_survey is survey.open_survey
    # io does not reach up into workflows
    for module in (backend, formats, survey):
        assert "promethium_lab.workflows" not in Path(module.__file__).read_text()


# --------------------------------------------------------------------------- CLI


def run_cli(*args: object) -> subprocess.CompletedProcess:
    """``promethium-lab ARGS`` in a subprocess (as tests/integration/_seismic_helpers.py)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["PROMETHIUM_PROGRESS"] = "0"
    return subprocess.run([sys.executable, "-m", "promethium_lab.cli.main", *map(str, args)],
                          env=env, capture_output=True, text=True, timeout=180)


def test_cli_info_on_each_bad_file_is_one_typed_line(tmp_path):
    bad = {
        "cut_mseed": (cut_last_record(GAPS, tmp_path / "cut.mseed", 511), "PL-IO-004"),
        "log_only": (write_mseed(tmp_path / "log.mseed", [text_trace(LOG_TEXT)]), "PL-IO-009"),
        "ascii_only": (write_mseed(tmp_path / "ascii.mseed",
                                   [text_trace("note", rate=1.0)]), "PL-IO-009"),
        "uneven_sac": (patch_sac(SAC_LE, tmp_path / "uneven.sac", leven=0), "PL-IO-005"),
        "spectrum_sac": (patch_sac(SAC_BE, tmp_path / "spec.sac", iftype=2), "PL-IO-005"),
        "segy_named_mseed": (_not_waveforms(tmp_path)["segy"][0], "PL-IO-009"),
        "text_named_sac": (_not_waveforms(tmp_path)["text"][0], "PL-IO-009"),
    }
    for name, (path, code) in bad.items():
        result = run_cli("info", path)
        out = result.stdout + result.stderr
        assert result.returncode == 2, (name, out)
        assert "Traceback" not in out, (name, out)
        assert out.strip().splitlines()[-1].startswith(f"{code}: "), (name, out)
    # a cut last record is read, masked and reported when asked for
    cut = bad["cut_mseed"][0]
    store = tmp_path / "cut.zarr"
    for args in (("info", cut, "--keep-truncated"),
                 ("ingest", cut, store, "--keep-truncated")):
        result = run_cli(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "waveforms" in result.stdout and "Traceback" not in result.stderr
    from promethium_lab.io.store import open_store

    kept = open_store(store)
    assert kept.attrs["truncated_records"]
    assert not bool(kept["sample_mask"].values.all())
    # what is readable now prints a summary
    with_log = write_mseed(tmp_path / "with_log.mseed", [
        make_trace(np.arange(300, dtype=np.int32), "HHZ", 100.0), text_trace(LOG_TEXT)])
    sacxy = sacxy_copy(SAC_LE, tmp_path / "alpha.txt")
    for path in (with_log, sacxy):
        result = run_cli("info", path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "waveforms" in result.stdout and "Traceback" not in result.stderr
