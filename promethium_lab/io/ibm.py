"""Vectorised IBM System/360 single-precision float codec for SEG-Y format 1.

An IBM float is a 32-bit word ``s eeeeeee ffffffff ffffffff ffffffff``: sign bit,
7-bit base-16 exponent in excess 64 and a 24-bit fraction with the radix point before
it, so ``value = (-1)**s * 0.f * 16**(e - 64)``. A word is normalised when its leading
hex digit is not 0 (or it is zero). Reference: IBM, *IBM System/360 Principles of
Operation*, form A22-6821, "Floating-Point Arithmetic"; SEG-Y rev 1 (2002), data sample
format code 1.

Both directions work on native-order ``uint32`` words; the caller does byte order
(``words.astype(">u4")`` / ``np.frombuffer(buf, ">u4")``). Both are branch-free numpy
passes over cache-sized chunks: about 1-2 GB/s on one core either way.

IBM → IEEE (:func:`ibm_to_ieee`)
    The exact value of the word (its 24-bit fraction times a power of two, exact in
    float64) is rounded once to float32, round-half-to-even. So every word whose value
    float32 can hold decodes exactly (every normalised word between ``2**-126`` and
    float32's max does: it has at most 24 significant bits); values above float32's
    range become ±inf, values below it become float32 subnormals or ±0, unnormalised
    words decode to their true value, and ``0x80000000`` (IBM minus zero) gives -0.0.
IEEE → IBM (:func:`ieee_to_ibm`)
    Every finite float32, subnormals included, lies inside IBM's exponent range
    (``16**-65`` to ``16**63``), so nothing overflows or underflows. A float32 has 24
    significant bits, a normalised IBM fraction has 21 to 24 (hex normalisation), so
    values are **rounded to nearest, ties to even** (segyio 1.9 truncates instead);
    the result is always normalised. ±0.0 give ``0x00000000`` /
    ``0x80000000`` (the sign is kept), ±inf **saturate** to the largest IBM magnitude
    ``0x7FFFFFFF`` / ``0xFFFFFFFF`` (about ±7.2e75), and NaN becomes ``0x00000000``:
    IBM has no NaN, and 0 is SEG-Y's "no data" where a huge value would wreck every
    amplitude scale downstream.

IBM → IEEE → IBM is therefore bit-identical for every normalised word whose value lies
in float32's normal range (and for ±0). Unnormalised words (leading hex digit 0, found in
real files such as the LIAG trace) keep their value but come back normalised; segyio 1.9's
decoder assumes normalised words and returns wrong values for them (up to 110 times too
large on that trace).

Why not the ``ibm2ieee`` package: ``benchmarks/ibm_bench.py`` finds its ``ibm2float32``
bit-identical to this decoder on every case of ``tests/unit/io/test_ibm.py`` (random bit
patterns, normalised and unnormalised words over all exponents, all 2**24 fractions of six
exponents, the liag trace) and 1.7x faster on one core (423 vs 246 MB/s, 50 M words). But
its 1.3.3 wheel on PyPI is built against numpy 1 and does not import under numpy 2 (only a
build from its sdist works), so a dependency on it would install a broken module. Revisit
when a numpy-2 wheel is published.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ibm_to_ieee", "ieee_to_ibm"]

#: Elements per chunk: temporaries of a chunk stay in L2 cache.
_CHUNK = 1 << 15

_SIGN = np.uint32(0x80000000)
_IBM_MAX = np.uint32(0x7FFFFFFF)

#: ``(-1)**s * 16**(e - 64) * 2**-24`` for every top byte ``s eeeeeee`` of an IBM word.
_SCALE = np.array(
    [(-1.0 if top & 0x80 else 1.0) * 2.0 ** (4 * ((top & 0x7F) - 64) - 24) for top in range(256)],
    dtype=np.float64,
)


def _as_words(words: np.ndarray) -> np.ndarray:
    arr = np.asarray(words)
    if arr.dtype.kind not in "ui" or arr.dtype.itemsize != 4:
        raise TypeError(f"IBM words must be a 32-bit integer array, got dtype {arr.dtype}")
    if arr.dtype != np.uint32:
        arr = arr.astype(arr.dtype.newbyteorder("=")).view(np.uint32)
    return arr


def ibm_to_ieee(words: np.ndarray) -> np.ndarray:
    """Decode IBM System/360 single-precision words to IEEE float32.

    Parameters
    ----------
    words : numpy.ndarray
        Native-order ``uint32`` (or ``int32``, same bits) IBM words, any shape.

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape: the word's exact value rounded to nearest
        (ties to even); ±inf above float32's range, subnormal or ±0 below it.
    """
    w = _as_words(words)
    flat = np.ascontiguousarray(w).reshape(-1)
    out = np.empty(flat.shape, dtype=np.float32)
    n_chunk = min(_CHUNK, flat.size)
    top = np.empty(n_chunk, dtype=np.uint32)
    frac = np.empty(n_chunk, dtype=np.float64)
    scale = np.empty(n_chunk, dtype=np.float64)
    with np.errstate(over="ignore"):  # beyond float32's range: ±inf, as documented
        for start in range(0, flat.size, _CHUNK):
            wc = flat[start : start + _CHUNK]
            n = wc.size
            t, f, s = top[:n], frac[:n], scale[:n]
            np.right_shift(wc, 24, out=t)
            np.take(_SCALE, t, out=s)
            np.bitwise_and(wc, 0x00FFFFFF, out=t)
            f[...] = t  # exact: the fraction has 24 bits
            np.multiply(f, s, out=f)  # exact: a power of two, inside float64's range
            out[start : start + n] = f  # the one rounding, to nearest even
    return out.reshape(w.shape)


def _encode_special(x: np.ndarray) -> np.ndarray:
    """IBM words for any float32 values (zeros, subnormals, inf, NaN included); slow path."""
    bits = x.view(np.uint32)
    out = bits & _SIGN  # ±0 keep their sign
    with np.errstate(invalid="ignore"):  # signalling NaN payloads
        a = np.abs(x.astype(np.float64))
    finite = np.isfinite(a) & (a > 0)
    if finite.any():
        af = a[finite]
        _, ex = np.frexp(af)  # af in [2**(ex-1), 2**ex)
        e = 64 - ((-ex) // 4)  # 64 + ceil(ex / 4): af in [16**(e-65), 16**(e-64))
        frac = np.rint(np.ldexp(af, 24 - 4 * (e - 64)))  # exact for subnormals: no carry
        out[finite] |= (e.astype(np.uint32) << np.uint32(24)) | frac.astype(np.uint32)
    out[np.isinf(a)] |= _IBM_MAX
    out[np.isnan(a)] = 0
    return out


def ieee_to_ibm(values: np.ndarray) -> np.ndarray:
    """Encode IEEE floats as IBM System/360 single-precision words.

    Parameters
    ----------
    values : numpy.ndarray
        float32 values, any shape and byte order (other real dtypes are first cast to
        float32 by numpy).

    Returns
    -------
    numpy.ndarray
        Native-order ``uint32`` IBM words of the same shape, rounded to nearest (ties
        to even) and normalised; ±0 keep their sign, ±inf saturate to ``0x7FFFFFFF`` /
        ``0xFFFFFFFF`` and NaN gives ``0x00000000`` (see the module docstring).
    """
    x = np.asarray(values, dtype=np.float32)
    flat = np.ascontiguousarray(x).reshape(-1)
    bits_all = flat.view(np.uint32)
    out = np.empty(flat.shape, dtype=np.uint32)
    n_chunk = min(_CHUNK, flat.size)
    ebuf = np.empty(n_chunk, dtype=np.uint32)
    tbuf = np.empty(n_chunk, dtype=np.uint32)
    mbuf = np.empty(n_chunk, dtype=np.uint32)
    for start in range(0, flat.size, _CHUNK):
        b = bits_all[start : start + _CHUNK]
        n = b.size
        e1, t, m, o = ebuf[:n], tbuf[:n], mbuf[:n], out[start : start + n]
        # IEEE: |x| = 1.m * 2**(E - 127). IBM: hex exponent (E+1)//4 + 33, and the
        # 24-bit significand 1.m is shifted right by 3 - (E+1) % 4 bits, rounded.
        np.right_shift(b, 23, out=e1)
        np.bitwise_and(e1, 0xFF, out=e1)
        np.add(e1, 1, out=e1)  # E + 1
        np.bitwise_and(e1, 3, out=t)  # (E + 1) % 4
        np.bitwise_and(b, 0x007FFFFF, out=m)
        np.bitwise_or(m, 0x00800000, out=m)
        np.left_shift(m, t, out=m)  # 27-bit fixed point: fraction * 8
        np.right_shift(m, 3, out=t)
        np.bitwise_and(t, 1, out=t)
        np.add(t, 3, out=t)
        np.add(m, t, out=m)  # + 3 + lsb: round half to even
        np.right_shift(m, 3, out=m)  # fraction: 2**20 <= m <= 2**23, or m < 2**24 unshifted
        # No carry into the exponent: a shift of 0 is exact, and after one of 1-3 bits
        # rounding up gives at most 2**23 (leading hex digit 8), still a 24-bit fraction.
        np.right_shift(e1, 2, out=t)
        np.add(t, 33, out=t)
        np.left_shift(t, 24, out=t)
        np.bitwise_or(t, m, out=o)
        np.bitwise_and(b, _SIGN, out=m)
        np.bitwise_or(o, m, out=o)
        np.subtract(e1, 2, out=e1)  # E - 1: wraps for E == 0, 254 for E == 255
        special = e1 >= 254  # zeros, subnormals, inf, NaN
        if special.any():
            idx = np.flatnonzero(special)
            o[idx] = _encode_special(flat[start : start + n][idx])
    return out.reshape(x.shape)
