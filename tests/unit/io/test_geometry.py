"""Tests of promethium_lab.io.geometry on the real SEG-Y/SU files and on synthetic headers."""

from __future__ import annotations

import numpy as np
import pytest

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.geometry import Grid, infer_grid, read_header_word
from promethium_lab.io.segy_spec import decode_binary_header, decode_trace_headers, field_at_byte

F3 = "f3_int16_be.sgy"
F3_MISSING = "f3_missing_traces_ibm.sgy"
F3_2IL = "f3_2inlines_ibm.sgy"
VIKING = "viking_graben_4shots_ibm.segy"
LAND = "land_cmp700_be.su"


# --------------------------------------------------------------------------- helpers


def make_headers(n: int, words: dict[int, np.ndarray], endian: str = ">") -> np.ndarray:
    """Synthetic (n, 240) headers: ``words`` maps a 1-based byte to 4-byte values."""
    raw = np.zeros((n, 240), dtype=np.uint8)
    for byte, values in words.items():
        put(raw, byte, values, endian=endian)
    return raw


def put(raw: np.ndarray, byte: int, values, size: int = 4, endian: str = ">") -> None:
    """Write a signed word into every header, in place."""
    v = np.broadcast_to(np.asarray(values), (raw.shape[0],)).astype(f"{endian}i{size}")
    raw[:, byte - 1 : byte - 1 + size] = v.view(np.uint8).reshape(-1, size)


def word(raw: np.ndarray, byte: int, size: int = 4) -> np.ndarray:
    return read_header_word(raw, byte, size, ">")


def assert_consistent(grid: Grid, raw: np.ndarray, endian: str = ">") -> None:
    """Every live cell's file trace carries the labels of that cell; all traces placed."""
    assert grid.trace_index.dtype == np.int64
    assert grid.trace_index.shape == grid.shape
    live = grid.live_mask
    idx = grid.trace_index[live]
    assert np.array_equal(np.sort(idx), np.arange(raw.shape[0]))
    for axis, dim in enumerate(grid.dims):
        c = grid.coords[dim]
        assert c.dtype == np.int64
        assert np.all(np.diff(c) > 0)
        labels = np.broadcast_to(
            c.reshape([-1 if a == axis else 1 for a in range(len(grid.dims))]), grid.shape
        )[live]
        byte = grid.key_bytes[dim]
        try:
            size = int(field_at_byte(byte)[2][1])
        except KeyError:
            size = 4
        assert np.array_equal(read_header_word(raw, byte, size, endian)[idx], labels), dim


# --------------------------------------------------------------------------- read_header_word


def test_read_header_word_matches_segy_spec_decoder_both_endians(raw_headers):
    be = raw_headers("f3_ibm_be.sgy", ">")
    le = raw_headers("f3_ibm_le.sgy", "<")
    dec = decode_trace_headers(be, ">")
    for byte, size, name in [
        (189, 4, "inline"),
        (193, 4, "crossline"),
        (181, 4, "cdp_x"),
        (109, 2, "delay_recording_time"),
        (71, 2, "coordinate_scalar"),
    ]:
        got_be = read_header_word(be, byte, size, ">")
        got_le = read_header_word(le, byte, size, "<")
        assert got_be.dtype == np.int64
        assert np.array_equal(got_be, dec[name].astype(np.int64)), name
        assert np.array_equal(got_le, got_be), name
    assert read_header_word(be, 109, 2, ">")[0] == 4  # 4 ms recording delay per README


def test_read_header_word_signed_values():
    raw = make_headers(3, {37: np.array([-3237, 0, 2023])})
    put(raw, 115, np.array([-2, 5, 32767]), size=2)
    assert read_header_word(raw, 37, 4, ">").tolist() == [-3237, 0, 2023]
    assert read_header_word(raw, 115, 2, ">").tolist() == [-2, 5, 32767]


@pytest.mark.parametrize("byte", [0, -1, 238, 240, 300, True, 2.0])
def test_read_header_word_rejects_bad_byte(byte):
    with pytest.raises(PromethiumError) as e:
        read_header_word(np.zeros((2, 240), np.uint8), byte, 4, ">")
    assert e.value.code is ErrorCode.INVALID_PARAMETER


def test_read_header_word_rejects_bad_size_endian_and_shape():
    raw = np.zeros((2, 240), np.uint8)
    for kwargs in ({"size": 3, "endian": ">"}, {"size": 4, "endian": "big"}):
        with pytest.raises(PromethiumError) as e:
            read_header_word(raw, 1, **kwargs)
        assert e.value.code is ErrorCode.INVALID_PARAMETER
    with pytest.raises(PromethiumError) as e:
        read_header_word(np.zeros((2, 200), np.uint8), 1, 4, ">")
    assert e.value.code is ErrorCode.INVALID_PARAMETER


# --------------------------------------------------------------------------- real files


def test_f3_int16_full_cube(raw_headers):
    raw = raw_headers(F3, ">")
    g = infer_grid(raw, ">")
    assert g.geometry == "poststack3d"
    assert g.dims == ("inline", "crossline")
    assert g.template == "PostStack3DTime"
    assert g.key_bytes == {"inline": 189, "crossline": 193}
    assert g.shape == (23, 18)
    assert np.array_equal(g.coords["inline"], np.arange(111, 134))
    assert np.array_equal(g.coords["crossline"], np.arange(875, 893))
    assert g.n_live == 414 and g.live_mask.all()
    # The file is inline-sorted, so file order is row-major grid order.
    assert np.array_equal(g.trace_index, np.arange(414).reshape(23, 18))
    assert_consistent(g, raw)


def test_f3_little_endian_gives_same_grid_as_big_endian(raw_headers):
    g_le = infer_grid(raw_headers("f3_ibm_le.sgy", "<"), "<")
    g_be = infer_grid(raw_headers("f3_ibm_be.sgy", ">"), ">")
    assert g_le.geometry == g_be.geometry == "poststack3d"
    assert g_le.shape == g_be.shape == (23, 18)
    assert np.array_equal(g_le.trace_index, g_be.trace_index)


def test_f3_missing_traces_is_an_irregular_cube_on_the_full_grid(raw_headers):
    raw = raw_headers(F3_MISSING, ">")
    assert raw.shape[0] == 239
    g = infer_grid(raw, ">")
    assert g.geometry == "poststack3d"
    assert g.shape == (23, 18)
    assert np.array_equal(g.coords["inline"], np.arange(111, 134))
    assert np.array_equal(g.coords["crossline"], np.arange(875, 893))
    assert g.n_live == 239
    assert np.count_nonzero(~g.live_mask) == 175
    assert_consistent(g, raw)
    # A few traces looked up by hand: the first, the last and one in the middle.
    il, xl = word(raw, 189), word(raw, 193)
    for t in (0, 120, 238):
        i = int(np.searchsorted(g.coords["inline"], il[t]))
        j = int(np.searchsorted(g.coords["crossline"], xl[t]))
        assert g.trace_index[i, j] == t
    # Exactly the (il, xl) pairs of the file are live.
    pairs = set(zip(il.tolist(), xl.tolist()))
    ii, jj = np.nonzero(g.live_mask)
    assert set(zip(g.coords["inline"][ii].tolist(), g.coords["crossline"][jj].tolist())) == pairs


def test_f3_two_inlines_is_poststack3d(raw_headers):
    raw = raw_headers(F3_2IL, ">")
    g = infer_grid(raw, ">")
    assert g.geometry == "poststack3d"
    assert g.shape == (2, 100)
    assert g.coords["inline"].tolist() == [105, 106]
    assert np.array_equal(g.coords["crossline"], np.arange(300, 400))
    assert g.n_live == 200
    assert_consistent(g, raw)


def test_viking_graben_shot_gathers(raw_headers, data_dir):
    raw = raw_headers(VIKING, ">")
    binary = decode_binary_header((data_dir / VIKING).read_bytes()[3200:3600], ">")
    for bh in (None, binary):
        g = infer_grid(raw, ">", binary_header=bh)
        assert g.geometry == "shot"
        assert g.dims == ("shot_point", "channel")
        assert g.template == "StreamerShotGathers2D"
        assert g.key_bytes == {"shot_point": 9, "channel": 13}
        assert g.shape == (4, 120)
        assert g.coords["shot_point"].tolist() == [3, 4, 5, 6]
        assert np.array_equal(g.coords["channel"], np.arange(1, 121))
        assert np.array_equal(g.trace_index, np.arange(480).reshape(4, 120))
        assert_consistent(g, raw)


def test_viking_fallback_3d_pair_is_skipped_for_prestack_but_user_bytes_win(raw_headers):
    # (FFID 9, CDP 21) is unique and well filled on these shot gathers; auto must not
    # call it a cube because the offsets vary, but the user's explicit bytes are obeyed.
    raw = raw_headers(VIKING, ">")
    g = infer_grid(raw, ">", inline_byte=9, crossline_byte=21)
    assert g.geometry == "poststack3d"
    assert g.shape == (4, 126)
    assert g.key_bytes == {"inline": 9, "crossline": 21}
    assert_consistent(g, raw)


def test_viking_forced_cdp_offset_has_negative_regular_offsets(raw_headers):
    raw = raw_headers(VIKING, ">")
    g = infer_grid(raw, ">", geometry="cdp_offset")
    assert g.dims == ("cdp", "offset")
    assert g.template == "CdpOffsetGathers2DTime"
    assert np.array_equal(g.coords["cdp"], np.arange(1, 127))
    assert np.array_equal(g.coords["offset"], np.arange(-3237, -261, 25))
    assert g.shape == (126, 120)
    assert g.n_live == 480
    assert_consistent(g, raw)


def test_land_cmp700_is_one_cdp_gather_with_its_own_offsets(raw_headers):
    """Decision: land_cmp700_be.su is a ``cdp_offset`` grid of 1 CDP x 24 offsets.

    All traces share CDP 700 (byte 21) while every trace has its own FFID (byte 9), so
    it is not a shot gather (FFID would not group traces, and the constant byte 17 would
    mix 24 field records in one "shot"). Its split-spread offsets -2057..+2023 are only
    nearly regular (differences 34, 68, 169, 170, 171, 339, 849...: GCD 1), so a regular
    axis would have 4081 cells for 24 traces; the axis is the 24 offsets themselves, all
    live, the near-offset gap (-186 → 153) is simply the step between two labels.
    """
    raw = raw_headers(LAND, ">", su=True)
    g = infer_grid(raw, ">")
    assert g.geometry == "cdp_offset"
    assert g.template == "CdpOffsetGathers2DTime"
    assert g.key_bytes == {"cdp": 21, "offset": 37}
    assert g.coords["cdp"].tolist() == [700]
    offsets = word(raw, 37)
    assert np.array_equal(g.coords["offset"], np.sort(offsets))
    assert g.coords["offset"][0] == -2057 and g.coords["offset"][-1] == 2023
    assert g.shape == (1, 24)
    assert g.live_mask.all()
    assert_consistent(g, raw)


@pytest.mark.parametrize(
    ("name", "endian", "su"),
    [("kit_1trace_le.su", "<", True), ("liag_1trace_ibm_le.sgy", "<", False)],
)
def test_single_trace_files_are_irregular(name, endian, su, raw_headers):
    raw = raw_headers(name, endian, su=su)
    g = infer_grid(raw, endian)
    assert g.geometry == "irregular"
    assert g.dims == ("trace",)
    assert g.template is None and g.key_bytes == {}
    assert g.coords["trace"].tolist() == [0]
    assert g.trace_index.tolist() == [0]


# --------------------------------------------------------------------------- holes


def test_f3_random_traces_dropped_gives_same_grid_with_exactly_those_masked(raw_headers):
    full = raw_headers(F3, ">")
    rng = np.random.default_rng(42)
    dropped = np.sort(rng.choice(414, size=150, replace=False))
    keep = np.setdiff1d(np.arange(414), dropped)
    raw = full[keep]
    g = infer_grid(raw, ">")
    assert g.geometry == "poststack3d"
    assert g.shape == (23, 18)
    assert g.n_live == 264
    expected_live = np.ones(414, dtype=bool)
    expected_live[dropped] = False
    assert np.array_equal(g.live_mask.ravel(), expected_live)
    # Live cells point at the kept trace that was at that grid position.
    assert np.array_equal(g.trace_index.ravel()[expected_live], np.arange(keep.size))
    assert_consistent(g, raw)


def test_f3_shuffled_file_order_maps_back_to_file_traces(raw_headers):
    full = raw_headers(F3, ">")
    perm = np.random.default_rng(7).permutation(414)
    g = infer_grid(full[perm], ">")
    assert g.shape == (23, 18)
    # Cell k of the sorted cube was file trace k of the original; now it is at perm^-1[k].
    assert np.array_equal(perm[g.trace_index.ravel()], np.arange(414))


def test_f3_inline_crossline_in_fallback_bytes_9_21(raw_headers):
    raw = raw_headers(F3, ">").copy()
    raw[:, 188:196] = 0  # wipe inline/crossline at 189/193; FFID (9) and CDP (21) remain
    g = infer_grid(raw, ">")
    assert g.geometry == "poststack3d"
    assert g.key_bytes == {"inline": 9, "crossline": 21}
    assert g.shape == (23, 18)
    assert np.array_equal(g.trace_index, np.arange(414).reshape(23, 18))


def test_2d_line_with_skipped_cdps():
    cdps = np.arange(100, 201, 2)
    cdps = cdps[(cdps < 130) | (cdps > 140)]  # 130..140 missing: 6 labels
    raw = make_headers(cdps.size, {21: cdps, 5: np.arange(1, cdps.size + 1)})
    g = infer_grid(raw, ">")
    assert g.geometry == "poststack2d"
    assert g.dims == ("cdp",)
    assert g.template == "PostStack2DTime"
    assert g.key_bytes == {"cdp": 21}
    assert np.array_equal(g.coords["cdp"], np.arange(100, 201, 2))
    missing = (g.coords["cdp"] >= 130) & (g.coords["cdp"] <= 140)
    assert np.array_equal(~g.live_mask, missing)
    assert g.n_live == 45
    assert np.array_equal(g.trace_index[g.live_mask], np.arange(45))
    assert_consistent(g, raw)


def test_2d_line_word_size_comes_from_the_standard_field():
    # CDP in byte 179 (a 2-byte field); bytes 181-182 hold junk that a 4-byte read would see.
    cdps = np.arange(10, 60)
    raw = make_headers(cdps.size, {181: np.full(cdps.size, 0x7F000000)})
    put(raw, 179, cdps, size=2)
    g = infer_grid(raw, ">", cdp_byte=179)
    assert g.geometry == "poststack2d"
    assert np.array_equal(g.coords["cdp"], cdps)
    # A non-standard byte is read as a 4-byte word.
    raw2 = make_headers(cdps.size, {233: cdps * 3})
    g2 = infer_grid(raw2, ">", cdp_byte=233)
    assert np.array_equal(g2.coords["cdp"], cdps * 3)
    assert g2.key_bytes == {"cdp": 233}


def test_cdp_gathers_with_offsets_skipping_stations():
    cdp, off = np.meshgrid(np.arange(500, 505), np.arange(100, 1001, 100), indexing="ij")
    live = np.ones(cdp.shape, dtype=bool)
    live[1, [3, 4]] = False  # offsets 400, 500 missing on CDP 501
    live[3, 0] = False  # near offset missing on CDP 503
    live[:, 7] = False  # offset 800 never recorded
    raw = make_headers(int(live.sum()), {21: cdp[live], 37: off[live]})
    g = infer_grid(raw, ">", binary_header={"trace_sorting_code": 2})
    assert g.geometry == "cdp_offset"
    assert np.array_equal(g.coords["cdp"], np.arange(500, 505))
    assert np.array_equal(g.coords["offset"], np.arange(100, 1001, 100))
    assert np.array_equal(g.live_mask, live)
    assert_consistent(g, raw)


def test_shot_gathers_with_dead_channels_masked():
    shot, chan = np.meshgrid(np.arange(1, 7), np.arange(1, 49), indexing="ij")
    live = np.ones(shot.shape, dtype=bool)
    live[2, 10:14] = False
    live[5, 47] = False
    n = int(live.sum())
    raw = make_headers(n, {9: shot[live], 13: chan[live], 37: -25 * chan[live]})
    put(raw, 21, 2 * shot[live] + chan[live])
    g = infer_grid(raw, ">", binary_header={"trace_sorting_code": 1})
    assert g.geometry == "shot"
    assert g.shape == (6, 48)
    assert np.array_equal(g.live_mask, live)
    assert_consistent(g, raw)


def test_shot_key_falls_back_to_energy_source_point():
    # FFID (byte 9) is constant 0, the shot numbers are in byte 17.
    shot, chan = np.meshgrid(np.arange(101, 105), np.arange(1, 31), indexing="ij")
    raw = make_headers(shot.size, {17: shot.ravel(), 13: chan.ravel(), 37: 50 * chan.ravel()})
    g = infer_grid(raw, ">")
    assert g.geometry == "shot"
    assert g.key_bytes == {"shot_point": 17, "channel": 13}
    assert g.shape == (4, 30)


@pytest.mark.parametrize(
    ("code", "expected"), [(None, "shot"), (1, "shot"), (2, "cdp_offset"), (4, "shot")]
)
def test_sorting_code_breaks_shot_vs_cdp_tie(code, expected):
    # 10 shots x 10 channels: shot grid full, CDP/offset grid 19 x 10 about half full.
    shot, chan = np.meshgrid(np.arange(10), np.arange(1, 11), indexing="ij")
    raw = make_headers(
        shot.size,
        {9: shot.ravel(), 13: chan.ravel(), 21: (shot + chan).ravel(), 37: 10 * chan.ravel()},
    )
    bh = None if code is None else {"trace_sorting_code": code}
    g = infer_grid(raw, ">", binary_header=bh)
    assert g.geometry == expected
    assert_consistent(g, raw)


def test_split_spread_gap_on_the_station_lattice_is_masked():
    offsets = np.r_[np.arange(-1000, -99, 50), np.arange(100, 1001, 50)]
    raw = make_headers(offsets.size, {21: np.full(offsets.size, 7), 37: offsets})
    g = infer_grid(raw, ">")
    assert g.geometry == "cdp_offset"
    assert np.array_equal(g.coords["offset"], np.arange(-1000, 1001, 50))
    gap = np.abs(g.coords["offset"]) < 100
    assert np.array_equal(~g.live_mask[0], gap)  # -50, 0, 50 are absent cells
    assert g.n_live == offsets.size


def test_split_spread_off_lattice_gap_falls_back_to_labels():
    # -3237..-262 and 262..3237 step 25: the two sides are not on one 25 m lattice.
    offsets = np.r_[np.arange(-3237, -261, 25), np.arange(262, 3238, 25)]
    raw = make_headers(offsets.size, {21: np.full(offsets.size, 1), 37: offsets})
    g = infer_grid(raw, ">")
    assert g.geometry == "cdp_offset"
    assert np.array_equal(g.coords["offset"], offsets)
    assert g.live_mask.all()


def test_one_odd_label_falls_back_to_unique_labels():
    il, xl = np.meshgrid(np.r_[np.arange(1000, 2001, 10), 1003], np.arange(1, 6), indexing="ij")
    raw = make_headers(il.size, {189: il.ravel(), 193: xl.ravel()})
    g = infer_grid(raw, ">")
    assert g.geometry == "poststack3d"
    assert np.array_equal(g.coords["inline"], np.sort(np.r_[np.arange(1000, 2001, 10), 1003]))
    assert g.shape == (102, 5)
    assert g.live_mask.all()


def test_short_2d_line_with_sequence_number_is_not_a_diagonal_cube():
    # Bytes 5 (trace sequence) and 21 (CDP) are both unique per trace: a 15 x 15 diagonal
    # would be 6.7 % full, but it is a 2-D line.
    n = 15
    raw = make_headers(n, {5: np.arange(1, n + 1), 21: np.arange(201, 201 + n)})
    g = infer_grid(raw, ">")
    assert g.geometry == "poststack2d"
    assert np.array_equal(g.coords["cdp"], np.arange(201, 216))


def test_sparse_cube_is_irregular_in_auto_but_accepted_when_forced():
    rng = np.random.default_rng(3)
    cells = rng.choice(40 * 40, size=60, replace=False)
    il, xl = 1 + cells // 40, 1 + cells % 40
    il[:2], xl[:2] = [1, 40], [1, 40]  # span the full 40 x 40 extent
    raw = make_headers(60, {189: il, 193: xl})
    assert infer_grid(raw, ">").geometry == "irregular"  # 60 / 1600 < 5 % full
    g = infer_grid(raw, ">", geometry="poststack3d")
    assert g.shape == (40, 40)
    assert g.n_live == 60
    assert_consistent(g, raw)


def test_single_shot_gather_with_unique_cdps_is_a_shot_not_a_line():
    chan = np.arange(1, 49)
    raw = make_headers(48, {9: np.full(48, 5), 13: chan, 21: 100 + chan, 37: 25 * chan})
    g = infer_grid(raw, ">")
    assert g.geometry == "shot"
    assert g.shape == (1, 48)


def test_stacked_line_with_trace_numbers_in_channel_byte_is_a_line():
    chan = np.arange(1, 49)
    raw = make_headers(48, {9: np.full(48, 5), 13: chan, 21: 100 + chan})  # offsets all 0
    g = infer_grid(raw, ">")
    assert g.geometry == "poststack2d"
    assert np.array_equal(g.coords["cdp"], 100 + chan)


def test_duplicate_pairs_in_auto_give_irregular(raw_headers):
    raw = raw_headers(F3, ">")
    raw = np.concatenate([raw, raw[:5]])
    raw[:, 8:12] = 0  # no FFID/CDP fallback pair either
    raw[:, 20:24] = 0
    g = infer_grid(raw, ">")
    assert g.geometry == "irregular"
    assert np.array_equal(g.trace_index, np.arange(419))
    assert np.array_equal(g.coords["trace"], np.arange(419))


def test_empty_header_array_is_irregular():
    g = infer_grid(np.zeros((0, 240), np.uint8))
    assert g.geometry == "irregular" and g.shape == (0,) and g.n_live == 0


# --------------------------------------------------------------------------- forced geometry


def test_forced_geometry_that_fits(raw_headers):
    raw = raw_headers(F3, ">")
    g = infer_grid(raw, ">", geometry="poststack3d")
    assert g.shape == (23, 18)
    g = infer_grid(raw, ">", geometry="irregular")
    assert g.geometry == "irregular" and g.shape == (414,)
    g = infer_grid(raw, ">", geometry="poststack3d", inline_byte=9, crossline_byte=21)
    assert g.key_bytes == {"inline": 9, "crossline": 21}
    assert np.array_equal(g.trace_index, np.arange(414).reshape(23, 18))


def test_forced_poststack3d_on_shot_gathers_names_bytes_and_duplicates(raw_headers):
    raw = raw_headers(VIKING, ">")
    with pytest.raises(PromethiumError) as e:
        infer_grid(raw, ">", geometry="poststack3d")
    err = e.value
    assert err.code is ErrorCode.INCONSISTENT_GEOMETRY
    assert "189" in err.message and "193" in err.message
    assert "479 of 480" in err.message
    assert "constant" in err.message
    assert "inline_byte=" in err.hint and "geometry='irregular'" in err.hint


def test_forced_poststack3d_duplicate_count(raw_headers):
    raw = raw_headers(F3, ">")
    with pytest.raises(PromethiumError) as e:
        infer_grid(raw, ">", geometry="poststack3d", inline_byte=9, crossline_byte=189)
    assert e.value.code is ErrorCode.INCONSISTENT_GEOMETRY
    assert "391 of 414" in e.value.message  # 23 distinct inlines survive
    assert "byte 9" in e.value.message and "byte 189" in e.value.message


@pytest.mark.parametrize(
    ("geometry", "hint"),
    [("poststack2d", "cdp_byte="), ("shot", "shot_byte="), ("cdp_offset", "offset_byte=")],
)
def test_forced_other_geometries_on_a_cube_fail(geometry, hint, raw_headers):
    raw = raw_headers(F3, ">")
    with pytest.raises(PromethiumError) as e:
        infer_grid(raw, ">", geometry=geometry)
    assert e.value.code is ErrorCode.INCONSISTENT_GEOMETRY
    assert hint in e.value.hint


def test_forced_grid_absurdly_larger_than_trace_count():
    n = 2000
    raw = make_headers(n, {189: np.arange(n), 193: np.arange(n)})  # a diagonal
    assert infer_grid(raw, ">").geometry == "irregular"
    with pytest.raises(PromethiumError) as e:
        infer_grid(raw, ">", geometry="poststack3d")
    assert e.value.code is ErrorCode.INCONSISTENT_GEOMETRY
    assert "4000000 cells" in e.value.message


def test_unknown_geometry_and_bad_parameters(raw_headers):
    raw = raw_headers(F3, ">")
    with pytest.raises(PromethiumError) as e:
        infer_grid(raw, ">", geometry="3d")
    assert e.value.code is ErrorCode.INVALID_PARAMETER
    for kwargs in ({"inline_byte": 0}, {"crossline_byte": 238}, {"offset_byte": 241}):
        with pytest.raises(PromethiumError) as e:
            infer_grid(raw, ">", **kwargs)
        assert e.value.code is ErrorCode.INVALID_PARAMETER
        assert next(iter(kwargs)) in e.value.message
    with pytest.raises(PromethiumError) as e:
        infer_grid(raw, "little")
    assert e.value.code is ErrorCode.INVALID_PARAMETER
    with pytest.raises(PromethiumError) as e:
        infer_grid(raw[:, :200])
    assert e.value.code is ErrorCode.INVALID_PARAMETER


# --------------------------------------------------------------------------- scale


@pytest.mark.slow
def test_one_million_traces_with_holes():
    """A survey-sized header set (1M cells, 1 % absent) gets the right grid and mask.

    Speed is measured in benchmarks/, not asserted here.
    """
    il, xl = np.meshgrid(np.arange(1000, 3000, 2), np.arange(1, 1001), indexing="ij")
    keep = np.random.default_rng(0).random(il.size) > 0.01
    raw = make_headers(int(keep.sum()), {189: il.ravel()[keep], 193: xl.ravel()[keep]})
    g = infer_grid(raw, ">")
    assert g.shape == (1000, 1000)
    assert np.array_equal(g.live_mask.ravel(), keep)


@pytest.mark.parametrize("geometry", ["poststack3d", "poststack2d", "shot", "cdp_offset"])
def test_forced_grid_takes_dims_template_and_default_bytes_from_its_template(geometry):
    from promethium_lab.io.templates import TEMPLATES

    t = TEMPLATES[geometry]
    n_keys = len(t.dims)
    labels = np.arange(12)
    per_key = [labels + 1] if n_keys == 1 else [labels // 3 + 1, labels % 3 + 1]
    raw = make_headers(12, dict(zip(t.key_bytes.values(), per_key)))
    grid = infer_grid(raw, geometry=geometry)
    assert grid.dims == t.dims and grid.template == t.mdio_name
    assert grid.key_bytes == t.key_bytes and len(grid.shape) == n_keys
    assert grid.n_live == 12
