#!/usr/bin/env python
"""IBM → IEEE decoding: promethium_lab's numpy codec vs the ``ibm2ieee`` C ufunc.

Measures single-core throughput (MB/s of 4-byte words, best of ``--repeat``) of

* ``ours``: :func:`promethium_lab.io.ibm.ibm_to_ieee`;
* ``ibm2ieee``: ``ibm2ieee.ibm2float32`` (Mark Dickinson's correctly rounded ufunc),

on ``--words`` (default 50 M) words, both from native-order ``uint32`` and from the
big-endian ``>u4`` view a SEG-Y reader holds, and prints the ratios. Then checks that
``ibm2ieee`` gives the same float32 bits as ours on every case of
``tests/unit/io/test_ibm.py``: random bit patterns (unnormalised words, overflow,
underflow, ±0), normalised words over all exponents, exhaustive fractions for four
exponents, the known values and the liag trace's words (178 unnormalised). Ours is the
exact reference there (it is tested against integer/Fraction arithmetic).

Run: ``python benchmarks/ibm_bench.py [--words 50000000] [--repeat 3]``. Nothing is
asserted on timings.
"""

from __future__ import annotations

import argparse
import os
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from promethium_lab.io.ibm import ibm_to_ieee

DATA = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))


def _words(n: int, seed: int = 1) -> np.ndarray:
    """Words of realistic seismic amplitudes: IBM encodings of N(0, 1000) samples, 20 % zero."""
    from promethium_lab.io.ibm import ieee_to_ibm

    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 1000).astype(np.float32)
    x[rng.random(n) < 0.2] = 0
    return ieee_to_ibm(x)


def _best(fn, arg, repeat: int) -> float:
    fn(arg[:1000])
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t0)
    return best


def _bits(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32).view(np.uint32)


def _exactness_cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    rand = rng.integers(0, 2**32, 2_000_000, dtype=np.uint32)  # any pattern
    rand[:8] = [0, 0x80000000, 0x7FFFFFFF, 0xFFFFFFFF, 1, 0x60FFFFFF, 0x61100000, 1 << 24]
    sign = rng.integers(0, 2, 2_000_000, dtype=np.uint32) << np.uint32(31)
    exp = rng.integers(0, 128, 2_000_000, dtype=np.uint32) << np.uint32(24)
    lead = rng.integers(1, 16, 2_000_000, dtype=np.uint32) << np.uint32(20)
    normalised = sign | exp | lead | rng.integers(0, 1 << 20, 2_000_000, dtype=np.uint32)
    unnorm = sign | exp | rng.integers(1, 1 << 20, 2_000_000, dtype=np.uint32)
    frac = np.arange(0, 0x1000000, dtype=np.uint32)
    exhaustive = np.concatenate(
        [(np.uint32(top) << np.uint32(24)) | frac for top in (0x41, 0xC1, 0x22, 0xDF, 0x20, 0x60)]
    )
    known = np.array(
        [0x41100000, 0xC1100000, 0xC276A000, 0x40800000, 0x42100000, 0x60FFFFFF, 0x21400000,
         0x1B800000, 0, 0x80000000, 0x7FFFFFFF, 0xFFFFFFFF, 0x00100000, 0x80000001,
         0x41000000],
        np.uint32,
    )
    cases = {
        "random bit patterns (2 M)": rand,
        "normalised, all exponents (2 M)": normalised,
        "unnormalised, all exponents (2 M)": unnorm,
        "all fractions of 6 exponents (100 M)": exhaustive,
        "known values and specials": known,
    }
    liag = DATA / "liag_1trace_ibm_le.sgy"
    if liag.is_file():
        raw = liag.read_bytes()
        cases["liag trace (2001, 178 unnormalised)"] = np.frombuffer(
            raw, dtype="<u4", offset=3600 + 240
        ).astype(np.uint32)
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=50_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    try:
        import ibm2ieee
    except ImportError as err:
        raise SystemExit(f"ibm_bench needs ibm2ieee built for this numpy ({err}); install it "
                         "with: pip install --no-binary ibm2ieee ibm2ieee") from None

    print(f"ibm2ieee {version('ibm2ieee')}, numpy {np.__version__}, "
          f"{args.words / 1e6:.0f} M words ({args.words * 4 / 1e6:.0f} MB), best of "
          f"{args.repeat}, one core")
    native = _words(args.words)
    big = native.astype(">u4")
    rows = []
    for label, arr in (("native uint32", native), ("big-endian >u4", big)):
        t_ours = _best(ibm_to_ieee, arr, args.repeat)
        t_lib = _best(ibm2ieee.ibm2float32, arr, args.repeat)
        mb = arr.nbytes / 1e6
        rows.append((label, mb / t_ours, mb / t_lib))
    print(f"{'input':<16} {'ours MB/s':>10} {'ibm2ieee MB/s':>14} {'ibm2ieee/ours':>14}")
    for label, ours, lib in rows:
        print(f"{label:<16} {ours:>10.0f} {lib:>14.0f} {lib / ours:>13.2f}x")

    print("exactness (float32 bits equal to ours, the exact reference):")
    all_equal = True
    for name, words in _exactness_cases().items():
        with np.errstate(over="ignore"):
            lib = _bits(ibm2ieee.ibm2float32(words))
        ours = _bits(ibm_to_ieee(words))
        diff = int(np.count_nonzero(lib != ours))
        all_equal &= diff == 0
        print(f"  {name:<40} {words.size:>11,d} words  {diff} differ")
    print("ibm2ieee is bit-identical on every case" if all_equal else "ibm2ieee DIFFERS")


if __name__ == "__main__":
    main()
