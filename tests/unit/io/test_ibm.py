"""IBM System/360 float codec: exact reference, segyio's C codec, real files, speed."""

from __future__ import annotations

import os
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import segyio

from promethium_lab.io.ibm import ibm_to_ieee, ieee_to_ibm

DATA = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))
FLT_MAX = float(np.finfo(np.float32).max)
FLT_MIN = float(np.finfo(np.float32).tiny)  # smallest normal float32, 2**-126


# --- independent pure-Python references (integers and Fractions, one value at a time) ---


def ref_value(word: int) -> Fraction:
    """Exact value of an IBM word: (-1)**s * 0.f * 16**(e - 64)."""
    sign = -1 if word >> 31 else 1
    exp = (word >> 24) & 0x7F
    frac = word & 0xFFFFFF
    return sign * Fraction(frac, 1 << 24) * Fraction(16) ** (exp - 64)


def ref_decode(word: int) -> np.float32:
    """Round the exact value to float32 (float() of a <=24-bit value is exact in float64)."""
    value = ref_value(word)
    if value == 0:
        return np.float32(-0.0 if word >> 31 else 0.0)
    with np.errstate(over="ignore"):
        return np.float32(float(value))


def ref_encode(x: np.float32) -> int:
    """Round-to-nearest-even IBM word of a float32, with the module's special cases."""
    f = float(x)
    sign = 0x80000000 if np.signbit(x) else 0
    if np.isnan(f):
        return 0
    if np.isinf(f):
        return sign | 0x7FFFFFFF
    if f == 0:
        return sign
    v = abs(Fraction(f))
    exp = 64
    while v >= Fraction(16) ** (exp - 64):
        exp += 1
    while v < Fraction(16) ** (exp - 65):
        exp -= 1
    frac = round(v * (1 << 24) / Fraction(16) ** (exp - 64))  # round() on Fraction: ties to even
    if frac == 1 << 24:
        frac, exp = 1 << 20, exp + 1
    return sign | (exp << 24) | frac


def bits(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32).view(np.uint32)


def random_normalised_words(rng: np.random.Generator, n: int, exp_lo: int, exp_hi: int):
    sign = rng.integers(0, 2, n, dtype=np.uint32) << np.uint32(31)
    exp = rng.integers(exp_lo, exp_hi + 1, n, dtype=np.uint32) << np.uint32(24)
    lead = rng.integers(1, 16, n, dtype=np.uint32) << np.uint32(20)
    low = rng.integers(0, 1 << 20, n, dtype=np.uint32)
    return sign | exp | lead | low


def exact_value64(words: np.ndarray) -> np.ndarray:
    """Exact values as float64 (a 24-bit fraction times a power of two inside float64)."""
    w = words.astype(np.int64)
    sign = np.where(w >> 31, -1.0, 1.0)
    return sign * np.ldexp((w & 0xFFFFFF).astype(np.float64), 4 * ((w >> 24) & 0x7F) - 256 - 24)


# --- known values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (1.0, 0x41100000),
        (-1.0, 0xC1100000),
        (-118.625, 0xC276A000),  # the textbook example (IBM Principles of Operation / Wikipedia)
        (0.5, 0x40800000),
        (16.0, 0x42100000),
        (FLT_MAX, 0x60FFFFFF),
        (FLT_MIN, 0x21400000),
        (2.0**-149, 0x1B800000),  # smallest float32 subnormal, exact in IBM
        (0.0, 0x00000000),
        (-0.0, 0x80000000),
    ],
)
def test_known_values(value: float, word: int) -> None:
    assert int(ieee_to_ibm(np.array([value], np.float32))[0]) == word
    back = ibm_to_ieee(np.array([word], np.uint32))
    assert bits(back)[0] == bits(np.float32(value))


def test_special_values_documented_choices() -> None:
    x = np.array([np.inf, -np.inf, np.nan, -np.nan], np.float32)
    assert ieee_to_ibm(x).tolist() == [0x7FFFFFFF, 0xFFFFFFFF, 0, 0]
    words = np.array([0x7FFFFFFF, 0xFFFFFFFF, 0x00100000, 0x80000001, 0x41000000], np.uint32)
    out = ibm_to_ieee(words)
    assert out[0] == np.inf and out[1] == -np.inf  # beyond float32: round to infinity
    assert bits(out[2:]).tolist() == [0, 0x80000000, 0]  # underflow, keeps sign; dirty zero


def test_rounding_ties_to_even() -> None:
    assert int(ieee_to_ibm(np.float32(0.1))) == 0x4019999A  # truncation gives 0x40199999
    one = 1.0
    ulp = 2.0**-20  # IBM ulp for values in [1, 16): hex digit 1 leaves 21 significant bits
    x = np.array(
        [one + ulp / 2, one + 3 * ulp / 2, one + ulp / 4, one + 3 * ulp / 4, -(one + 3 * ulp / 2)],
        np.float32,
    )
    assert ieee_to_ibm(x).tolist() == [
        0x41100000,  # tie, down to even
        0x41100002,  # tie, up to even
        0x41100000,  # below half
        0x41100001,  # above half
        0xC1100002,
    ]


# --- against the exact reference ----------------------------------------------------------


def test_decode_matches_reference_on_random_bit_patterns() -> None:
    rng = np.random.default_rng(11)
    words = rng.integers(0, 2**32, 20_000, dtype=np.uint32)  # any pattern: unnormalised too
    words[:8] = [0, 0x80000000, 0x7FFFFFFF, 0xFFFFFFFF, 0x00000001, 0x60FFFFFF, 0x61100000, 1 << 24]
    got = bits(ibm_to_ieee(words))
    want = bits(np.array([ref_decode(int(w)) for w in words], np.float32))
    np.testing.assert_array_equal(got, want)


def test_encode_matches_reference_on_random_bit_patterns() -> None:
    rng = np.random.default_rng(12)
    pats = rng.integers(0, 2**32, 20_000, dtype=np.uint32)
    # make sure the rare classes are there: subnormals, zeros, inf, NaN, extremes
    pats[:6] = [0x00000001, 0x807FFFFF, 0x00000000, 0x7F800000, 0xFF800001, 0x7F7FFFFF]
    pats[6:2000] &= np.uint32(0x807FFFFF)  # subnormals and zeros
    x = pats.view(np.float32)
    got = ieee_to_ibm(x)
    want = np.array([ref_encode(v) for v in x], np.uint32)
    np.testing.assert_array_equal(got, want)


def test_roundtrip_is_bit_identical_for_normalised_words() -> None:
    """Property: IBM -> IEEE -> IBM is the identity wherever float32 holds the value."""
    rng = np.random.default_rng(13)
    words = random_normalised_words(rng, 2_000_000, 0, 127)
    exact = exact_value64(words)
    decoded = ibm_to_ieee(words)
    with np.errstate(over="ignore"):
        representable = decoded.astype(np.float64) == exact
    in_normal_range = (np.abs(exact) >= FLT_MIN) & (np.abs(exact) <= FLT_MAX)
    assert np.all(representable[in_normal_range])  # decoding is exact in float32's range
    assert in_normal_range.sum() > 900_000
    np.testing.assert_array_equal(ieee_to_ibm(decoded)[representable], words[representable])
    # and exhaustively over the fraction for one exponent of each sign
    frac = np.arange(0x100000, 0x1000000, dtype=np.uint32)
    for top in (0x41, 0xC1, 0x22, 0xDF):
        w = (np.uint32(top) << np.uint32(24)) | frac
        np.testing.assert_array_equal(ieee_to_ibm(ibm_to_ieee(w)), w)


def test_encode_is_nearest_on_many_random_floats() -> None:
    """Vectorised check over 2M normal floats: |error| <= half an IBM ulp, ties to even."""
    rng = np.random.default_rng(14)
    pats = rng.integers(0x00800000, 0x7F800000, 2_000_000, dtype=np.uint32)
    pats |= rng.integers(0, 2, pats.size, dtype=np.uint32) << np.uint32(31)
    x = pats.view(np.float32)
    words = ieee_to_ibm(x)
    frac = (words & 0xFFFFFF).astype(np.int64)
    assert np.all(frac >= 0x100000)  # normalised
    assert np.all((words >> 31) == (pats >> 31))
    ulp = np.ldexp(1.0, 4 * ((words.astype(np.int64) >> 24) & 0x7F) - 256 - 24)
    err = np.abs(exact_value64(words) - x.astype(np.float64))
    assert np.all(err <= ulp / 2)
    ties = err == ulp / 2
    assert np.all(frac[ties] % 2 == 0)


def test_shapes_dtypes_and_byte_orders() -> None:
    x = np.arange(-6, 6, dtype=np.float32).reshape(3, 4) * np.float32(0.375)
    w = ieee_to_ibm(x)
    assert w.shape == (3, 4) and w.dtype == np.uint32
    np.testing.assert_array_equal(ieee_to_ibm(x.astype(">f4")), w)
    np.testing.assert_array_equal(ieee_to_ibm(x[:, ::2]), w[:, ::2])
    np.testing.assert_array_equal(ibm_to_ieee(w.astype(">u4")), x)
    np.testing.assert_array_equal(ibm_to_ieee(w.view(np.int32)), x)
    assert ibm_to_ieee(np.zeros(0, np.uint32)).shape == (0,)
    assert ieee_to_ibm(np.float32(1.0)).shape == ()
    big = np.linspace(-1e4, 1e4, 100_003, dtype=np.float32)  # several chunks, ragged tail
    big_words = ieee_to_ibm(big)
    np.testing.assert_array_equal(big_words, [ref_encode(v) for v in big])
    np.testing.assert_array_equal(ibm_to_ieee(big_words), [ref_decode(int(w)) for w in big_words])
    with pytest.raises(TypeError):
        ibm_to_ieee(np.zeros(3, np.float32))


# --- against segyio's C codec -------------------------------------------------------------


def _segyio_ibm_file(path: Path, values: np.ndarray) -> np.ndarray:
    """Write ``values`` with segyio as format 1 (big-endian); return the file's sample words."""
    data = values.reshape(-1, 100).copy()  # segyio converts the array it is given in place
    spec = segyio.spec()
    spec.format = 1
    spec.samples = list(range(data.shape[1]))
    spec.tracecount = data.shape[0]
    with segyio.create(str(path), spec) as f:
        f.trace = data
    raw = np.fromfile(path, dtype=np.uint8)[3600:].reshape(data.shape[0], -1)
    return raw[:, 240:].copy().view(">u4").astype(np.uint32).reshape(-1)


def _segyio_decode(path: Path) -> np.ndarray:
    with segyio.open(str(path), ignore_geometry=True) as f:
        return f.trace.raw[:].reshape(-1)


def test_against_segyio_encoder_and_decoder(tmp_path: Path) -> None:
    rng = np.random.default_rng(15)
    liag = _liag_words()
    pieces = [
        rng.standard_normal(40_000) * 10.0 ** rng.integers(-30, 30, 40_000),
        rng.uniform(-3e4, 3e4, 20_000),  # F3-like amplitudes
        ibm_to_ieee(liag),  # the liag file's ~2e-9 amplitudes
        rng.standard_normal(20_000) * 2e-9,
        np.array([FLT_MAX, -FLT_MAX, FLT_MIN * 16, 1.0, -118.625]),
    ]
    x = np.concatenate(pieces).astype(np.float32)
    x = x[: x.size // 100 * 100]
    seg_words = _segyio_ibm_file(tmp_path / "ibm.sgy", x)
    mine = ieee_to_ibm(x)

    # decoding: both decoders agree on every word segyio wrote
    np.testing.assert_array_equal(
        bits(ibm_to_ieee(seg_words)), bits(_segyio_decode(tmp_path / "ibm.sgy"))
    )

    # encoding: segyio truncates, we round; equal wherever the value is IBM-exact, else
    # we are segyio's word + 1 exactly when the dropped part is over half an ulp (or a tie
    # to an odd fraction), and never farther from x.
    xs = x.astype(np.float64)
    seg_val = exact_value64(seg_words)
    assert np.all(np.abs(seg_val) <= np.abs(xs))  # truncation toward zero
    ulp = np.ldexp(1.0, 4 * ((seg_words.astype(np.int64) >> 24) & 0x7F) - 256 - 24)
    dropped = np.abs(xs) - np.abs(seg_val)
    odd = (seg_words & 1) == 1
    round_up = (dropped > ulp / 2) | ((dropped == ulp / 2) & odd)
    np.testing.assert_array_equal(mine[~round_up], seg_words[~round_up])
    np.testing.assert_array_equal(mine[round_up], seg_words[round_up] + 1)
    assert 0.1 < round_up.mean() < 0.6  # the comparison did exercise rounding
    exact_input = dropped == 0
    assert exact_input.sum() > 1000
    assert np.array_equal(mine[exact_input], seg_words[exact_input])
    assert np.all(np.abs(exact_value64(mine) - xs) <= np.abs(seg_val - xs))


def test_against_segyio_decoder_on_random_normalised_words(tmp_path: Path) -> None:
    """Random words patched into a segyio-written file, decoded by segyio and by us."""
    rng = np.random.default_rng(16)
    words = random_normalised_words(rng, 200_000, 34, 96)  # float32's normal range
    words = words[: words.size // 100 * 100]
    path = tmp_path / "w.sgy"
    _segyio_ibm_file(path, np.zeros(words.size, np.float32))
    raw = np.fromfile(path, dtype=np.uint8)
    body = raw[3600:].reshape(-1, 240 + 400)
    body[:, 240:] = words.astype(">u4").view(np.uint8).reshape(body.shape[0], -1)
    raw.tofile(path)
    np.testing.assert_array_equal(bits(ibm_to_ieee(words)), bits(_segyio_decode(path)))


def _liag_words() -> np.ndarray:
    raw = (DATA / "liag_1trace_ibm_le.sgy").read_bytes()
    return np.frombuffer(raw, dtype="<u4", offset=3600 + 240).astype(np.uint32)


def test_liag_small_amplitudes_and_unnormalised_words() -> None:
    """The liag trace has ~2e-9 amplitudes and 178 unnormalised words (leading hex digit 0).

    Unnormalised words decode to their exact value (segyio assumes normalised input and
    is off by up to 110x on them); they re-encode to the normalised word of that value.
    """
    words = _liag_words()
    assert words.size == 2001
    decoded = ibm_to_ieee(words)
    want = np.array([ref_decode(int(w)) for w in words], np.float32)
    np.testing.assert_array_equal(decoded, want)
    assert np.all(decoded.astype(np.float64) == exact_value64(words))  # all exact
    assert 1e-10 < np.abs(decoded).max() < 1e-7

    unnormalised = ((words & 0x00F00000) == 0) & ((words & 0x00FFFFFF) != 0)
    assert unnormalised.sum() == 178
    reencoded = ieee_to_ibm(decoded)
    np.testing.assert_array_equal(reencoded[~unnormalised], words[~unnormalised])
    for w, r in zip(words[unnormalised], reencoded[unnormalised]):
        assert ref_value(int(r)) == ref_value(int(w))
        assert int(r) & 0x00F00000  # normalised

    with segyio.open(
        str(DATA / "liag_1trace_ibm_le.sgy"), ignore_geometry=True, endian="little"
    ) as f:
        seg = f.trace.raw[:][0]
    np.testing.assert_array_equal(seg[~unnormalised], decoded[~unnormalised])


# --- speed (printed, not asserted) --------------------------------------------------------


def test_codec_speed(capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(17)
    n = 1 << 24  # 64 MB of samples
    x = (rng.standard_normal(n) * 1000).astype(np.float32)
    x[rng.random(n) < 0.2] = 0  # muted / dead samples take the special path
    ieee_to_ibm(x[:1000])
    t0 = time.perf_counter()
    words = ieee_to_ibm(x)
    t_enc = time.perf_counter() - t0
    t0 = time.perf_counter()
    back = ibm_to_ieee(words)
    t_dec = time.perf_counter() - t0
    assert np.all(np.abs(back - x) <= np.abs(x) * 2.0**-20)
    with capsys.disabled():
        mb = x.nbytes / 1e6
        print(
            f"\n[ibm codec] {mb:.0f} MB, one core: ieee_to_ibm {mb / t_enc:.0f} MB/s, "
            f"ibm_to_ieee {mb / t_dec:.0f} MB/s"
        )
