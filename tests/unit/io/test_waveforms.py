"""Tests of promethium_lab.io.waveforms on the real miniSEED/SAC files in ../shared/data."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import obspy
import pytest
from _waveform_helpers import expect_error, expected_index, obspy_read, row_of, runs

from promethium_lab.core.errors import ErrorCode
from promethium_lab.io.waveforms import guess_waveform_format, open_waveforms

DATA = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))
GAPS = DATA / "BW.BGLD..EHE_gaps.mseed"
NL = DATA / "NL.HGN.00.BHZ_2003-05-29.mseed"
THREE = DATA / "GE.APE..BH_3comp.mseed"
SAC_LE = DATA / "NZ.CRLZ.10.HHZ_le.SAC"
SAC_BE = DATA / "II.TLY.00.BHZ_be.SAC"
WAVEFORM_FILES = [GAPS, NL, THREE, SAC_LE, SAC_BE]

# II.TLY's SAC delta is rounded by ObsPy, which warns; the reader passes that warning on
# (tested in test_obspy_warnings_are_passed_on).
pytestmark = pytest.mark.filterwarnings("ignore:Sample spacing read from SAC file:UserWarning")


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- format guess


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (GAPS, "MSEED"),
        (NL, "MSEED"),
        (THREE, "MSEED"),
        (SAC_LE, "SAC"),
        (SAC_BE, "SAC"),
        (DATA / "f3_ibm_be.sgy", None),
        (DATA / "kit_1trace_le.su", None),
        (DATA / "README.md", None),
    ],
)
def test_guess_format_of_real_files(path, expected):
    assert guess_waveform_format(path) == expected
    assert guess_waveform_format(str(path)) == expected


def test_guess_format_reads_bytes_not_name(tmp_path):
    mseed_named_sac = shutil.copy(NL, tmp_path / "looks_like.SAC")
    sac_named_mseed = shutil.copy(SAC_BE, tmp_path / "looks_like.mseed")
    assert guess_waveform_format(mseed_named_sac) == "MSEED"
    assert guess_waveform_format(sac_named_mseed) == "SAC"
    noise = write_bytes(tmp_path / "noise.mseed", np.random.default_rng(0).bytes(4096))
    assert guess_waveform_format(noise) is None
    assert guess_waveform_format(write_bytes(tmp_path / "empty.SAC", b"")) is None


def test_guess_format_path_errors(tmp_path):
    expect_error(ErrorCode.PATH_NOT_FOUND, guess_waveform_format, tmp_path / "nope.mseed")
    expect_error(ErrorCode.PATH_IS_DIRECTORY, guess_waveform_format, tmp_path)


# --------------------------------------------------------------------------- data model


def test_dataset_layout():
    ds = open_waveforms(THREE)
    assert ds.amplitude.dims == ("trace", "time")
    assert ds.sample_mask.dims == ("trace", "time")
    assert ds.trace_mask.dims == ("trace",)
    assert ds.amplitude.dtype == np.float32
    assert ds.sample_mask.dtype == bool
    assert ds.trace_mask.dtype == bool
    for name in ("network", "station", "location", "channel"):
        assert ds[name].dims == ("trace",)
        assert ds[name].dtype.kind == "U"
    assert ds.starttime.dtype == np.dtype("datetime64[ns]")
    assert ds.sampling_rate.dtype == np.float64
    assert ds.time.attrs["units"] == "ms"
    np.testing.assert_allclose(ds.time.values, np.arange(ds.sizes["time"]) * 50.0)
    assert ds.attrs["geometry"] == "waveforms"
    assert ds.attrs["source_path"] == str(THREE)
    assert ds.attrs["source_format"] == "MSEED"
    assert ds.attrs["sample_interval_us"] == 50000
    assert isinstance(ds.attrs["sample_interval_us"], int)
    assert ds.attrs["reference_time"] == "2009-10-01T14:21:34.445000Z"
    assert list(ds.channel.values) == ["BHE", "BHN", "BHZ"]  # sorted by SEED id
    assert set(ds.network.values) == {"GE"} and set(ds.station.values) == {"APE"}
    assert list(ds.location.values) == ["", "", ""]
    np.testing.assert_array_equal(ds.sampling_rate.values, [20.0, 20.0, 20.0])
    assert ds.trace_mask.values.all()


@pytest.mark.parametrize("path", WAVEFORM_FILES, ids=lambda p: p.name)
def test_live_samples_equal_obspy_exactly(path):
    ds = open_waveforms(path)
    st = obspy_read(path)
    ref_ns = min(tr.stats.starttime.ns for tr in st)
    assert ds.attrs["reference_time"] == str(obspy.UTCDateTime(ns=ref_ns))
    amp = ds.amplitude.values
    live = ds.sample_mask.values
    covered = np.zeros_like(live)
    for tr in st:
        row = row_of(ds, tr.id)
        a = expected_index(tr, ref_ns)
        b = a + tr.stats.npts
        np.testing.assert_array_equal(amp[row, a:b], tr.data.astype(np.float32))
        assert live[row, a:b].all()
        assert amp[row, a] == np.float32(tr.data[0])
        covered[row, a:b] = True
    # nothing else is live, and every unrecorded sample is 0
    np.testing.assert_array_equal(live, covered)
    assert int(live.sum()) == sum(tr.stats.npts for tr in st)
    assert not amp[~live].any()
    np.testing.assert_array_equal(ds.trace_mask.values, live.any(axis=1))
    assert ds.sizes["trace"] == len({tr.id for tr in st})


@pytest.mark.parametrize(
    ("path", "seed_id", "npts", "rate", "dtype_in_file"),
    [
        (SAC_LE, "NZ.CRLZ.10.HHZ", 32768, 100.0, "<f4"),
        (SAC_BE, "II.TLY.00.BHZ", 12684, 20.0, ">f4"),
    ],
)
def test_sac_little_and_big_endian(path, seed_id, npts, rate, dtype_in_file):
    st = obspy_read(path)
    assert st[0].data.dtype == np.dtype(dtype_in_file)  # the file's byte order
    ds = open_waveforms(path)
    assert ds.attrs["source_format"] == "SAC"
    assert ds.sizes == {"trace": 1, "time": npts}
    assert row_of(ds, seed_id) == 0
    assert ds.sampling_rate.item() == rate
    assert ds.attrs["sample_interval_us"] == pytest.approx(1e6 / rate)
    assert ds.sample_mask.values.all()
    assert ds.amplitude.dtype == np.float32  # native float32 even for a big-endian file
    assert ds.amplitude.dtype.isnative
    np.testing.assert_array_equal(ds.amplitude.values[0], st[0].data.astype(np.float32))
    assert ds.starttime.values[0] == np.datetime64(st[0].stats.starttime.ns, "ns")


def test_obspy_warnings_are_passed_on():
    with pytest.warns(UserWarning, match="Sample spacing read from SAC file"):
        open_waveforms(SAC_BE)


# --------------------------------------------------------------------------- gaps


def test_gaps_are_masked_with_obspy_gap_sizes():
    st = obspy_read(GAPS)
    gaps = st.get_gaps()
    assert len(gaps) == 3
    ds = open_waveforms(GAPS)
    assert ds.sizes["trace"] == 1
    mask = ds.sample_mask.values[0]
    segments = [412, 824, 824, 50668]
    assert [tr.stats.npts for tr in st] == segments
    expected: list[tuple[bool, int]] = []
    for i, n in enumerate(segments):
        expected.append((True, n))
        if i < len(gaps):
            expected.append((False, int(gaps[i][7])))  # obspy: number of missing samples
    assert runs(mask) == expected
    assert ds.sizes["time"] == sum(n for _, n in expected)
    assert not ds.amplitude.values[0][~mask].any()
    # the live samples are the segments, in order
    np.testing.assert_array_equal(
        ds.amplitude.values[0][mask],
        np.concatenate([tr.data for tr in st]).astype(np.float32),
    )


def test_merge_false_gives_one_trace_per_segment():
    st = obspy_read(GAPS)
    ds = open_waveforms(GAPS, merge=False)
    assert ds.sizes["trace"] == 4
    assert list(ds.sample_mask.sum("time").values) == [412, 824, 824, 50668]
    assert list(ds.channel.values) == ["EHE"] * 4
    np.testing.assert_array_equal(
        ds.starttime.values, [np.datetime64(tr.stats.starttime.ns, "ns") for tr in st]
    )
    merged = open_waveforms(GAPS)
    np.testing.assert_array_equal(ds.amplitude.sum("trace").values, merged.amplitude.values[0])
    np.testing.assert_array_equal(ds.sample_mask.any("trace").values, merged.sample_mask[0])


# --------------------------------------------------------------------------- alignment


def test_three_components_with_different_start_times():
    st = obspy_read(THREE)
    ref = min(tr.stats.starttime for tr in st)
    ds = open_waveforms(THREE)
    amp, live = ds.amplitude.values, ds.sample_mask.values
    # README: BHZ 14:21:34.445, BHN 14:21:38.505 (81.2 samples later), BHE 14:21:50.675 (324.6)
    expected_start = {"GE.APE..BHZ": 0, "GE.APE..BHN": 81, "GE.APE..BHE": 325}
    for tr in st:
        row = row_of(ds, tr.id)
        idx = expected_start[tr.id]
        exact = (tr.stats.starttime - ref) * tr.stats.sampling_rate
        assert abs(idx - exact) <= 0.5  # nearest sample of the common axis
        assert amp[row, idx] == np.float32(tr.data[0])
        assert not live[row, :idx].any()  # before the trace starts
        assert live[row, idx : idx + tr.stats.npts].all()
        assert not live[row, idx + tr.stats.npts :].any()  # after it ends
        assert not amp[row, :idx].any() and not amp[row, idx + tr.stats.npts :].any()
        assert ds.starttime.values[row] == np.datetime64(tr.stats.starttime.ns, "ns")
        assert ds.time.values[idx] == pytest.approx(idx * 50.0)
    assert ds.sizes["time"] == 325 + 610


# --------------------------------------------------------------------------- several files


def test_list_of_files_equals_the_whole_file(tmp_path):
    raw = GAPS.read_bytes()
    cut = 512 * 20  # a record boundary
    first = write_bytes(tmp_path / "part1.mseed", raw[:cut])
    second = write_bytes(tmp_path / "part2.mseed", raw[cut:])
    whole = open_waveforms(GAPS)
    parts = open_waveforms([first, second])
    np.testing.assert_array_equal(parts.amplitude.values, whole.amplitude.values)
    np.testing.assert_array_equal(parts.sample_mask.values, whole.sample_mask.values)
    assert parts.attrs["source_path"] == [str(first), str(second)]
    assert parts.attrs["source_format"] == ["MSEED", "MSEED"]
    assert parts.attrs["reference_time"] == whole.attrs["reference_time"]


def test_identical_overlap_is_kept_once(tmp_path):
    copy = shutil.copy(NL, tmp_path / "copy.mseed")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = open_waveforms([NL, copy])
    single = open_waveforms(NL)
    assert ds.sizes == single.sizes
    np.testing.assert_array_equal(ds.amplitude.values, single.amplitude.values)
    assert ds.sample_mask.values.all()


def test_conflicting_overlap_is_masked_with_a_warning(tmp_path):
    start = obspy.UTCDateTime("2020-01-01T00:00:00")
    header = {"network": "XX", "station": "OVL", "channel": "HHZ", "sampling_rate": 100.0}
    a = obspy.Trace(np.arange(1000, dtype=np.int32), header={**header, "starttime": start})
    b_data = np.arange(800, 1600, dtype=np.int32)
    b_data[:100] += 7  # samples 800..899 were recorded twice with different values
    b = obspy.Trace(b_data, header={**header, "starttime": start + 8.0})
    path = tmp_path / "overlap.mseed"
    obspy.Stream([a, b]).write(str(path), format="MSEED", encoding="INT32", reclen=512)
    with pytest.warns(UserWarning, match="100 samples of XX.OVL..HHZ"):
        ds = open_waveforms(path)
    live = ds.sample_mask.values[0]
    assert runs(live) == [(True, 800), (False, 100), (True, 700)]
    amp = ds.amplitude.values[0]
    np.testing.assert_array_equal(amp[:800], np.arange(800, dtype=np.float32))
    np.testing.assert_array_equal(amp[900:], np.arange(900, 1600, dtype=np.float32))
    assert not amp[800:900].any()


def test_path_with_glob_characters_is_taken_literally(tmp_path):
    target = shutil.copy(NL, tmp_path / "a[1].mseed")
    shutil.copy(SAC_LE, tmp_path / "a1.mseed")  # what the glob 'a[1].mseed' would match
    ds = open_waveforms(target)
    assert list(ds.station.values) == ["HGN"]
    assert ds.attrs["source_path"] == str(target)


# --------------------------------------------------------------------------- sampling rates


def test_mixed_sampling_rates_in_a_list_are_rejected():
    err = expect_error(ErrorCode.INVALID_PARAMETER, open_waveforms, [SAC_LE, SAC_BE])
    assert "resample" in err.hint and "separately" in err.hint
    assert "100.0" in err.message and "20.0" in err.message


def test_mixed_sampling_rates_in_one_file_are_rejected(tmp_path):
    start = obspy.UTCDateTime("2020-01-01T00:00:00")
    traces = [
        obspy.Trace(
            np.ones(500, dtype=np.int32),
            header={
                "network": "XX",
                "station": "MIX",
                "channel": cha,
                "sampling_rate": rate,
                "starttime": start,
            },
        )
        for cha, rate in (("HHZ", 100.0), ("BHZ", 20.0))
    ]
    path = tmp_path / "mixed.mseed"
    obspy.Stream(traces).write(str(path), format="MSEED", encoding="INT32")
    err = expect_error(ErrorCode.INVALID_PARAMETER, open_waveforms, path)
    assert "XX.MIX..BHZ" in err.message and "XX.MIX..HHZ" in err.message


def test_files_years_apart_are_refused_before_allocating():
    # both 20 Hz, recorded 2009 and 2011: a dense axis would be ~1e9 samples per trace
    err = expect_error(ErrorCode.INVALID_PARAMETER, open_waveforms, [THREE, SAC_BE])
    assert "separately" in err.hint


# --------------------------------------------------------------------------- chunks


def test_chunks_give_dask_arrays_along_time():
    eager = open_waveforms(GAPS)
    lazy = open_waveforms(GAPS, chunks=10_000)
    for name in ("amplitude", "sample_mask"):
        assert isinstance(lazy[name].data, da.Array)
        assert lazy[name].data.chunks[0] == (1,)
        assert lazy[name].data.chunks[1][:-1] == (10_000,) * 5
        np.testing.assert_array_equal(lazy[name].values, eager[name].values)
    assert isinstance(eager.amplitude.data, np.ndarray)
    assert lazy.attrs == eager.attrs


# --------------------------------------------------------------------------- errors


def test_missing_path_and_directory(tmp_path):
    expect_error(ErrorCode.PATH_NOT_FOUND, open_waveforms, tmp_path / "missing.mseed")
    expect_error(ErrorCode.PATH_NOT_FOUND, open_waveforms, [NL, tmp_path / "missing.SAC"])
    expect_error(ErrorCode.PATH_IS_DIRECTORY, open_waveforms, tmp_path)


@pytest.mark.parametrize(
    "source", ["f3_ibm_be.sgy", "kit_1trace_le.su", "land_cmp700_be.su", "README.md"]
)
def test_non_waveform_files_are_unreadable(source):
    err = expect_error(ErrorCode.UNREADABLE_WAVEFORM, open_waveforms, DATA / source)
    assert "neither miniSEED nor SAC" in err.message


def test_random_and_empty_files_are_unreadable(tmp_path):
    noise = write_bytes(tmp_path / "noise.mseed", np.random.default_rng(1).bytes(8192))
    expect_error(ErrorCode.UNREADABLE_WAVEFORM, open_waveforms, noise)
    err = expect_error(
        ErrorCode.UNREADABLE_WAVEFORM, open_waveforms, write_bytes(tmp_path / "e.SAC", b"")
    )
    assert "empty" in err.message


def test_explicit_format_is_checked_against_the_bytes():
    err = expect_error(ErrorCode.UNREADABLE_WAVEFORM, open_waveforms, NL, format="SAC")
    assert "looks like MSEED" in err.message
    ds = open_waveforms(NL, format="mseed")  # case-insensitive
    assert ds.attrs["source_format"] == "MSEED"


@pytest.mark.parametrize(
    "kwargs",
    [{"format": "SEGY"}, {"chunks": 0}, {"chunks": 2.5}, {"chunks": True}, {"merge": "yes"}],
)
def test_bad_arguments(kwargs):
    expect_error(ErrorCode.INVALID_PARAMETER, open_waveforms, NL, **kwargs)


def test_empty_list_of_paths():
    expect_error(ErrorCode.INVALID_PARAMETER, open_waveforms, [])


@pytest.mark.parametrize(
    ("source", "size"),
    [
        (GAPS, 512 * 10 + 200),  # cut inside a record's data
        (GAPS, 512 * 10 + 20),  # cut inside a record's header
        (NL, 4096 + 1000),
        (NL, 1000),  # not even the first record is complete
        (NL, 100),  # shorter than the smallest record
    ],
)
def test_truncated_mseed_is_an_error_not_partial_data(tmp_path, source, size):
    # ObsPy itself returns the complete records and only warns here
    damaged = write_bytes(tmp_path / "cut.mseed", source.read_bytes()[:size])
    err = expect_error(ErrorCode.TRUNCATED_FILE, open_waveforms, damaged)
    assert str(damaged) in err.message


def test_mseed_cut_at_a_record_boundary_is_a_valid_shorter_file(tmp_path):
    damaged = write_bytes(tmp_path / "cut.mseed", GAPS.read_bytes()[: 512 * 20])
    st = obspy_read(damaged)
    ds = open_waveforms(damaged)
    assert int(ds.sample_mask.sum()) == sum(tr.stats.npts for tr in st) < 52728


def test_garbage_record_header_is_an_error(tmp_path):
    raw = bytearray(GAPS.read_bytes())
    raw[512 * 5 : 512 * 5 + 48] = np.random.default_rng(1).bytes(48)
    damaged = write_bytes(tmp_path / "garbage_header.mseed", bytes(raw))
    err = expect_error(ErrorCode.UNREADABLE_WAVEFORM, open_waveforms, damaged)
    assert "corrupt" in err.message


def test_garbage_record_data_is_an_error(tmp_path):
    raw = bytearray(GAPS.read_bytes())
    raw[512 * 5 + 64 : 512 * 5 + 300] = np.random.default_rng(1).bytes(236)
    damaged = write_bytes(tmp_path / "garbage_data.mseed", bytes(raw))
    expect_error(ErrorCode.UNREADABLE_WAVEFORM, open_waveforms, damaged)


def test_zero_and_blank_padding_is_ignored(tmp_path):
    raw = GAPS.read_bytes()
    padded = write_bytes(
        tmp_path / "padded.mseed", raw[: 512 * 20] + b"\0" * 512 + raw[512 * 20 :] + b" " * 1024
    )
    ds = open_waveforms(padded)
    whole = open_waveforms(GAPS)
    np.testing.assert_array_equal(ds.amplitude.values, whole.amplitude.values)
    np.testing.assert_array_equal(ds.sample_mask.values, whole.sample_mask.values)


@pytest.mark.parametrize("source", [SAC_LE, SAC_BE], ids=lambda p: p.name)
@pytest.mark.parametrize("keep", [0.5, 632 / 131704])  # half the samples; header only
def test_truncated_sac(tmp_path, source, keep):
    raw = source.read_bytes()
    damaged = write_bytes(tmp_path / "cut.SAC", raw[: max(632, int(len(raw) * keep))])
    expect_error(ErrorCode.TRUNCATED_FILE, open_waveforms, damaged)


def test_sac_with_trailing_bytes_is_unreadable(tmp_path):
    damaged = write_bytes(tmp_path / "long.SAC", SAC_LE.read_bytes() + b"\0" * 100)
    expect_error(ErrorCode.UNREADABLE_WAVEFORM, open_waveforms, damaged)
