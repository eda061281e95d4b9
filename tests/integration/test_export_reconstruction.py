"""Export of reconstructions (issue 10): one trace per grid cell, in grid order, live traces
byte-identical to the source, filled traces with headers made from their grid position.

Every survey is a real file of ``/work/shared/data`` with traces taken out (whole trace
blocks cut from the file, so the kept traces are the source's bytes); the removed traces
are the truth the synthesised headers are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import segyio
from _seismic_helpers import DATA, make_ieee_segy, run_cli

from promethium_lab.io.segy_headers import (
    INTERPOLATED_TRACE_ID,
    FilledTraceHeaders,
    export_order,
    source_order,
)
from promethium_lab.io.segy_spec import trace_header_dtype
from promethium_lab.io.store import open_store
from promethium_lab.workflows.export import export
from promethium_lab.workflows.ingest import ingest
from promethium_lab.workflows.reconstruct import reconstruct

ITEMSIZE = {1: 4, 2: 4, 3: 2, 5: 4, 8: 1}


@dataclass
class Segy:
    """A SEG-Y file as raw trace blocks."""

    path: Path
    endian: str  # ">" or "<"
    head: bytes  # text + binary header
    traces: np.ndarray  # (n, 240 + ns * itemsize) uint8
    ns: int

    @classmethod
    def read(cls, path: Path, endian: str = ">") -> Segy:
        data = path.read_bytes()
        order = "big" if endian == ">" else "little"
        ns = int.from_bytes(data[3220:3222], order)
        fmt = int.from_bytes(data[3224:3226], order)
        size = 240 + ns * ITEMSIZE[fmt]
        traces = np.frombuffer(data[3600:], np.uint8).reshape(-1, size)
        return cls(path, endian, data[:3600], traces, ns)

    def word(self, byte: int, size: int = 4) -> np.ndarray:
        """Header word at 1-based ``byte`` of every trace (int64)."""
        cols = np.ascontiguousarray(self.traces[:, byte - 1 : byte - 1 + size])
        return cols.view(f"{self.endian}i{size}").ravel().astype(np.int64)

    def subset(self, keep: np.ndarray, path: Path, patch: dict[int, np.ndarray] | None = None,
               ) -> Segy:
        """A copy holding the traces ``keep`` (bool), header words ``patch`` {byte: int32s}
        set on every trace first."""
        traces = self.traces.copy()
        for byte, values in (patch or {}).items():
            word = np.asarray(values, dtype=f"{self.endian}i4").view(np.uint8).reshape(-1, 4)
            traces[:, byte - 1 : byte + 3] = word
        path.write_bytes(self.head + traces[keep].tobytes())
        return Segy.read(path, self.endian)


def cli(*args: object, cwd: Path) -> str:
    done = run_cli(*args, cwd=cwd, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def pipeline(folder: Path, source: Segy, *ingest_args: str) -> dict[str, Path]:
    """ingest → reconstruct (linear) → export, all from the CLI."""
    paths = {"store": folder / "in.zarr", "filled": folder / "filled.zarr",
             "out": folder / "out.sgy"}
    cli("ingest", source.path, paths["store"], *ingest_args, cwd=folder)
    cli("reconstruct", paths["store"], paths["filled"], "--method", "linear", cwd=folder)
    cli("export", paths["filled"], paths["out"], cwd=folder)
    return paths


def check_common(out: Segy, source: Segy, labels: list[np.ndarray], keys: list[int],
                 live: np.ndarray, interval_us: int, delay_ms: int) -> np.ndarray:
    """Assertions every exported reconstruction meets; returns the filled rows of ``out``.

    ``labels``: per trace dim, the label of every grid cell in grid order; ``keys``: the
    header bytes of the labels; ``live``: per grid cell (grid order), True for a source trace.
    """
    assert out.head == source.head  # text and binary headers untouched (same ns, format)
    assert out.traces.shape == (live.size, source.traces.shape[1])  # one trace per cell
    for byte, values in zip(keys, labels):
        assert np.array_equal(out.word(byte), values)  # grid order, keys at the source's bytes
    # live traces: the source's bytes (header and samples), in the source's order
    assert np.array_equal(out.traces[live], source.traces)
    filled = ~live
    assert np.all(out.word(29, 2)[filled] == INTERPOLATED_TRACE_ID)
    assert not np.any(source.word(29, 2) == INTERPOLATED_TRACE_ID)
    assert np.all(out.word(115, 2)[filled] == out.ns)
    assert np.all(out.word(117, 2)[filled] == interval_us)
    assert np.all(out.word(109, 2)[filled] == delay_ms)
    assert np.all(out.word(109, 2)[live] == delay_ms)  # same delay as the live traces
    return filled


def check_samples(out: Segy, filled_store: Path) -> None:
    """Filled traces carry the reconstruction's samples (IBM-rounded)."""
    with segyio.open(str(out.path), ignore_geometry=True,
                     endian="big" if out.endian == ">" else "little") as f:
        samples = np.asarray(f.trace.raw[:])
    ds = open_store(filled_store)
    amp = np.asarray(ds["amplitude"].values).reshape(samples.shape)
    assert np.allclose(samples, amp, rtol=2.0**-20, atol=0)
    assert np.abs(samples).sum() > 0


def check_live_only(paths: dict[str, Path], source: Segy, folder: Path) -> None:
    """``live_only``: today's byte-identical copy of the live traces (= the holed source)."""
    out = export(paths["filled"], folder / "live_only.sgy", live_only=True, progress=False)
    assert out.read_bytes() == source.path.read_bytes()
    plain = export(paths["store"], folder / "plain.sgy", progress=False)
    assert plain.read_bytes() == source.path.read_bytes()  # nothing filled: the source itself
    helped = run_cli("export", "--help", cwd=folder)
    if "--live-only" in helped.stdout:
        cli("export", paths["filled"], folder / "live_only_cli.sgy", "--live-only", cwd=folder)
        assert (folder / "live_only_cli.sgy").read_bytes() == source.path.read_bytes()


# --------------------------------------------------------------------------- 2-D line


@pytest.fixture(scope="module")
def line(tmp_path_factory) -> tuple[Path, Segy, Segy, dict[str, Path]]:
    """Inline 105 of f3_2inlines as a 2-D line (CDP = crossline at bytes 21, CDPs
    300..398), every other CDP from 303 on removed (CDP 399 too)."""
    folder = tmp_path_factory.mktemp("line")
    full = Segy.read(DATA / "f3_2inlines_ibm.sgy")
    first = full.word(189) == 105
    xl = full.word(193)
    keep = first & ((xl % 2 == 0) | (xl == 301)) & (xl < 399)
    source = full.subset(keep, folder / "line.sgy", patch={21: full.word(193)})
    truth = full.subset(first & (xl < 399), folder / "truth.sgy",
                        patch={21: full.word(193)})
    return folder, source, truth, pipeline(folder, source)


def test_2d_line_exports_every_cdp_in_order(line):
    _, source, truth, paths = line
    out = Segy.read(paths["out"])
    cdps = np.arange(300, 399)
    live = np.isin(cdps, source.word(21))
    assert live.sum() == 51 and (~live).sum() == 48
    filled = check_common(out, source, [cdps], [21], live, interval_us=4000, delay_ms=0)
    assert np.all(np.diff(out.word(21)) == 1)  # strictly in grid order
    assert np.array_equal(out.word(193), cdps)  # crossline: interpolated, exact
    assert np.all(out.word(189) == 105)  # inline: a constant of the line, copied
    assert np.all(out.word(71, 2) == -10)  # the source's coordinate scalar
    assert np.all(out.word(37)[filled] == 1)  # offset: constant 1 in the source, copied
    assert np.all(out.word(1)[filled] == 0) and np.all(out.word(5)[filled] == 0)  # unnumbered
    at = np.flatnonzero(filled)
    assert live[at - 1].all() and live[at + 1].all()  # one-trace gaps
    for byte in (181, 185):
        got, word = out.word(byte)[filled], out.word(byte)
        # the mean of the two live neighbours (same scalar), rounded
        assert np.all(np.abs(got - (word[at - 1] + word[at + 1]) / 2) <= 0.5)
        # and within 1 m (scalar -10) of the coordinates of the traces taken out
        assert np.abs(got - truth.word(byte)[filled]).max() <= 10
    check_samples(out, paths["filled"])


def test_2d_line_live_only(line):
    folder, source, _, paths = line
    check_live_only(paths, source, folder)


def test_in_memory_reconstruction_exports_the_same_file(line, tmp_path):
    _, _, _, paths = line
    ds = reconstruct(paths["store"], method="linear", progress=False)
    out = export(ds, tmp_path / "mem.sgy", progress=False)
    assert out.read_bytes() == paths["out"].read_bytes()


# --------------------------------------------------------------------------- 3-D cube


@pytest.fixture(scope="module")
def cube(tmp_path_factory) -> tuple[Path, Segy, dict[str, Path]]:
    """f3_missing_traces_ibm.sgy: 239 of the 23 × 18 cells live."""
    folder = tmp_path_factory.mktemp("cube")
    source = Segy.read(DATA / "f3_missing_traces_ibm.sgy")
    return folder, source, pipeline(folder, source)


def test_3d_cube_exports_every_cell(cube):
    _, source, paths = cube
    out = Segy.read(paths["out"])
    il, xl = (a.ravel() for a in np.meshgrid(np.arange(111, 134), np.arange(875, 893),
                                             indexing="ij"))
    live = np.isin(il * 1000 + xl, source.word(189) * 1000 + source.word(193))
    assert live.sum() == 239 and (~live).sum() == 175
    filled = check_common(out, source, [il, xl], [189, 193], live, interval_us=4000,
                          delay_ms=4)
    # the same cube complete: the true coordinates of every filled cell
    truth = Segy.read(DATA / "f3_ibm_be.sgy")
    assert np.array_equal(truth.word(189) * 1000 + truth.word(193), il * 1000 + xl)
    assert np.all(out.word(71, 2) == -10)
    for byte in (181, 185):
        # the source's coordinates are rounded to float32 (steps of 8 = 0.8 m in cdp_y);
        # the corner wedge is extrapolated up to 15 bins from rows of 2-3 live traces,
        # which carries that rounding: within 5 m there, a fifth of the 25 m bin
        err = np.abs(out.word(byte)[filled] - truth.word(byte)[filled])
        assert err.max() <= 50 and np.median(err) <= 6, (byte, err.max(), np.median(err))
    assert np.all(out.word(37)[filled] == 1)
    check_samples(out, paths["filled"])


def test_3d_cube_live_only(cube):
    folder, source, paths = cube
    check_live_only(paths, source, folder)


def test_little_endian_cube_with_nonstandard_key_bytes(tmp_path):
    """f3_ibm_le (little-endian headers) ingested on bytes 9/21 (FFID, CDP = inline,
    crossline): the keys go to bytes 9 and 21, bytes 189/193 and the rest are interpolated,
    sequence numbers continue after the source's."""
    full = Segy.read(DATA / "f3_ibm_le.sgy", "<")
    il, xl = full.word(9), full.word(21)
    assert np.array_equal(il, full.word(189)) and np.array_equal(xl, full.word(193))
    gone = (il == 120) | ((il == 115) & (xl >= 880) & (xl <= 884))  # a whole inline, a gap
    gone |= np.isin(il * 1000 + xl, [113_878, 125_890, 130_876, 111_875])  # 111/875: a corner
    source = full.subset(~gone, tmp_path / "le.sgy")
    store = ingest(source.path, tmp_path / "le.zarr", inline_byte=9, crossline_byte=21,
                   progress=False)
    assert open_store(store).attrs["key_bytes"] == {"inline": 9, "crossline": 21}
    filled_store = reconstruct(store, method="linear", out=tmp_path / "le_filled.zarr",
                               progress=False)
    out = Segy.read(export(filled_store, tmp_path / "le_out.sgy", progress=False), "<")
    filled = check_common(out, source, [il, xl], [9, 21], ~gone, interval_us=4000, delay_ms=4)
    for byte in (17, 189, 193, 197):  # labels of the source interpolated: exact
        assert np.array_equal(out.word(byte), full.word(byte)), byte
    # sequence numbers: the live ones kept, the filled ones after the largest, in order
    for byte in (1, 5):
        top = source.word(byte).max()
        assert np.array_equal(out.word(byte)[filled], top + 1 + np.arange(filled.sum()))
    for byte in (73, 77, 181, 185):  # the corner 111/875 extrapolated from 876, 877
        err = np.abs(out.word(byte)[filled] - full.word(byte)[filled])
        assert err.max() <= 2, (byte, err.max())  # exact up to rounding (scalar -10)
    assert np.all(out.word(89, 2)[filled] == 1) and np.all(out.word(35, 2)[filled] == 1)
    assert np.all(out.word(105, 2)[filled] == -4)  # constants of the survey, copied


def test_crossline_sorted_cube_keeps_its_sort(tmp_path):
    """A cube written crossline by crossline exports crossline by crossline, the filled
    traces in their places, the live ones in file order (documented choice)."""
    src = tmp_path / "xl.sgy"
    make_ieee_segy(src, 6, 5, 30, crossline_sorted=True, seed=3)
    full = Segy.read(src)
    il, xl = full.word(189), full.word(193)
    gone = np.isin(il * 10_000 + xl, [1002_2004, 1003_2004, 1001_2006, 1004_2002])
    source = full.subset(~gone, tmp_path / "xl_holed.sgy")
    store = ingest(source.path, tmp_path / "xl.zarr", progress=False)
    filled_store = reconstruct(store, method="linear", out=tmp_path / "xl_filled.zarr",
                               progress=False)
    out = Segy.read(export(filled_store, tmp_path / "xl_out.sgy", progress=False))
    check_common(out, source, [il, xl], [189, 193], ~gone, interval_us=2000, delay_ms=0)
    assert np.array_equal(out.word(181)[gone], full.word(181)[gone])  # regular: exact
    assert np.array_equal(out.word(185)[gone], full.word(185)[gone])
    assert np.array_equal(out.word(5)[gone], [31, 32, 33, 34][: gone.sum()])


# --------------------------------------------------------------------------- gathers


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> tuple[Path, Segy, Segy, np.ndarray, dict[str, Path]]:
    """viking_graben_4shots with channels taken out of three shots (one at the end)."""
    folder = tmp_path_factory.mktemp("shots")
    full = Segy.read(DATA / "viking_graben_4shots_ibm.segy")
    ffid, chan = full.word(9), full.word(13)
    gone = (((ffid == 4) & (chan >= 30) & (chan <= 34)) | ((ffid == 5) & (chan == 60))
            | ((ffid == 6) & np.isin(chan, [100, 101])) | ((ffid == 3) & (chan == 120)))
    source = full.subset(~gone, folder / "shots.sgy")
    return folder, source, full, gone, pipeline(folder, source, "--geometry", "shot")


def test_shot_gathers_export_every_channel(shots):
    _, source, full, gone, paths = shots
    out = Segy.read(paths["out"])
    filled = check_common(out, source, [full.word(9), full.word(13)], [9, 13], ~gone,
                          interval_us=4000, delay_ms=0)
    assert out.ns == 600 and np.all(out.word(115, 2)[filled] == 600)  # the true count
    # ensemble and position words of the filled channels: as recorded (channel 120 of
    # the first shot, at two grid edges, extrapolated from channels 119 and 118)
    for byte in (17, 21, 25, 37, 73, 81):
        assert np.array_equal(out.word(byte)[filled], full.word(byte)[filled]), byte
    # survey constants copied: elevations, scalars, coordinate units, mute, fold
    for byte, size in ((41, 4), (45, 4), (69, 2), (71, 2), (89, 2), (113, 2), (33, 2)):
        assert np.all(out.word(byte, size)[filled] == full.word(byte, size)[0]), byte
    # sequence numbers: 1..480 in the source (gaps where removed), then 481...
    for byte in (1, 5):
        assert np.array_equal(out.word(byte)[filled], 481 + np.arange(filled.sum()))
        assert np.unique(out.word(byte)).size == out.traces.shape[0]
    check_samples(out, paths["filled"])


def test_shot_gathers_live_only(shots):
    folder, source, _, _, paths = shots
    check_live_only(paths, source, folder)


def test_cdp_gathers_export_every_offset(shots, tmp_path):
    """The shots relabelled as CDP gathers (bytes 21 := FFID; offsets 37, negative):
    one trace per (cdp, offset), the keys at bytes 21 and 37."""
    _, _, full, gone, _ = shots
    source = full.subset(~gone, tmp_path / "cdp.sgy", patch={21: full.word(9)})
    store = ingest(source.path, tmp_path / "cdp.zarr", geometry="cdp_offset", progress=False)
    assert open_store(store)["trace_mask"].shape == (4, 120)
    filled_store = reconstruct(store, method="linear", out=tmp_path / "cdp_filled.zarr",
                               progress=False)
    out = Segy.read(export(filled_store, tmp_path / "cdp_out.sgy", progress=False))
    filled = check_common(out, source, [full.word(9), full.word(37)], [21, 37], ~gone,
                          interval_us=4000, delay_ms=0)
    assert np.array_equal(out.word(9)[filled], full.word(9)[filled])  # FFID interpolated
    for byte in (13, 17, 25, 73, 81):
        assert np.array_equal(out.word(byte)[filled], full.word(byte)[filled]), byte
    check_samples(out, filled_store)


# --------------------------------------------------------------------------- rules


def test_export_order_follows_the_source_sort():
    # a line recorded with falling CDP numbers: written falling, the filled cell in place
    src = np.array([4, 3, -1, 1, 0])
    assert export_order(src, np.ones(5, bool)).tolist() == [4, 3, 2, 1, 0]
    # a file sorted on nothing: its own order when nothing is filled, else grid order
    src = np.array([[2, 0], [1, 3]])
    assert export_order(src, src >= 0).tolist() == [1, 2, 0, 3]
    src = np.array([1, 0, 2, -1])
    assert export_order(src, np.ones(4, bool)).tolist() == [0, 1, 2, 3]
    assert export_order(src, src >= 0).tolist() == [1, 0, 2]
    assert source_order(src, src >= 0).tolist() == [1, 0, 2]
    assert export_order(None, src >= 0).tolist() == [0, 1, 2]


def test_filled_headers_fallbacks_and_replaced_live_traces():
    """Nearest live trace where a row has one, the header kept but marked where a source
    trace's samples were replaced, big- and little-endian alike."""
    known = np.array([[1, 1, 1, 1],
                      [0, 0, 0, 0],
                      [0, 0, 0, 1]], bool)
    original = known.copy()
    original[0, 2] = False  # a live trace the reconstruction replaced
    for endian in (">", "<"):
        dtype = trace_header_dtype(endian)
        rec = np.zeros(known.shape, dtype)
        il, xl = np.meshgrid([10, 11, 12], [5, 6, 7, 8], indexing="ij")
        rec["cdp_x"] = 1000 * il + 10 * xl
        rec["coordinate_scalar"] = -10
        rec["trace_seq_num_reel"] = np.arange(1, 13).reshape(3, 4)
        rec["trace_id_code"] = 1
        rec["delay_recording_time"] = 4
        rec[~known] = np.zeros((), dtype)
        raw = rec.view("V240").reshape(-1)
        cells = np.arange(12)
        synth = FilledTraceHeaders(cells[~known.ravel()], known, [il[:, 0], xl[0]],
                                   [189, 193], endian, n_samples=7, sample_interval_us=2000,
                                   delay_ms=-3, original=original)
        synth.scan(0, raw[:6])
        synth.scan(6, raw[6:])
        out = synth.block(cells, raw).view(dtype).reshape(known.shape)
        assert np.array_equal(out[known & original], rec[known & original])
        replaced = out[0, 2].copy()
        assert replaced["trace_id_code"] == INTERPOLATED_TRACE_ID
        replaced["trace_id_code"] = 1
        assert replaced.tobytes() == rec[0, 2].tobytes()
        filled = out[~known]
        assert np.all(filled["trace_id_code"] == INTERPOLATED_TRACE_ID)
        assert np.array_equal(filled["inline"], il[~known])
        assert np.array_equal(filled["crossline"], xl[~known])
        assert np.all(filled["samples_per_trace"] == 7)
        assert np.all(filled["sample_interval"] == 2000)
        assert np.all(filled["delay_recording_time"] == 4)  # the source's, not -3 ms
        assert np.all(filled["coordinate_scalar"] == -10)
        assert filled["trace_seq_num_reel"].tolist() == [13, 14, 15, 16, 17, 18, 19]
        assert np.all(filled["trace_seq_num_line"] == 0)  # unused by the source
        x, true = out["cdp_x"], 1000 * il + 10 * xl
        assert x[1, 3] == true[1, 3]  # enclosed along the inline axis
        # one live trace along the only axis with any: its value (the nearest)
        assert np.array_equal(x[1, :3], true[0, :3])
        assert x[2, 0] == true[0, 0]  # two inlines away beats three crosslines
        assert x[2, 1] == x[2, 2] == true[2, 3]  # a tie (two and two) goes to crossline


def test_filled_headers_need_the_scan_and_scale_a_varying_delay():
    known = np.array([True, False, True])
    synth = FilledTraceHeaders(np.array([1]), known, [np.arange(3)], [21], ">",
                               n_samples=3, sample_interval_us=4000, delay_ms=-30.0)
    with pytest.raises(RuntimeError):
        synth.block(np.array([1]), np.zeros(1, "V240"))
    rec = np.zeros(3, trace_header_dtype(">"))
    rec["delay_recording_time"] = [-300, 0, -290]  # delays differ: the time axis' first
    rec["times_scalar"] = -10  # sample, in the source's time unit (1/10 ms)
    synth.scan(0, rec.view("V240"))
    out = synth.block(np.array([1]), rec[1:2].view("V240")).view(rec.dtype)
    assert out["delay_recording_time"][0] == -300 and out["times_scalar"][0] == -10
    assert out["ensemble_num"][0] == 1


def test_filled_sequence_numbers_follow_the_output_order():
    known = np.array([True, False, False, False, True])
    rec = np.zeros(5, trace_header_dtype("<"))
    rec["trace_seq_num_line"] = [7, 0, 0, 0, 9]
    order = np.array([3, 1, 2])  # the output order of the filled cells (not flat order)
    synth = FilledTraceHeaders(order, known, [np.arange(10, 15)], [21], "<", n_samples=1,
                               sample_interval_us=1, delay_ms=0.0)
    synth.scan(0, rec.view("V240"))
    out = synth.block(order, rec[order].view("V240")).view(rec.dtype).ravel()
    assert out["trace_seq_num_line"].tolist() == [10, 11, 12]
    assert out["ensemble_num"].tolist() == [13, 11, 12]
    assert np.all(out["trace_seq_num_reel"] == 0)
