"""Helpers and fixtures for the io unit tests: raw trace headers of the real data files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import segyio

__all__ = ["DATA_DIR", "read_raw_headers"]

#: The developer set of real SEG-Y/SU files (see its README.md).
DATA_DIR = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))

# Bytes per sample of the SEG-Y data sample format codes.
_SAMPLE_SIZE = {1: 4, 2: 4, 3: 2, 5: 4, 6: 8, 8: 1, 9: 8, 10: 4, 11: 2, 12: 8, 16: 1}


def read_raw_headers(path: str | Path, endian: str = ">", su: bool = False) -> np.ndarray:
    """All 240-byte trace headers of a SEG-Y (or SU) file as an ``(N, 240)`` uint8 array.

    segyio supplies the sample count and format (from the binary header), so nonsense
    in the trace-header sample count (``f3_int16_be.sgy`` has 462 there) does not matter.
    """
    path = Path(path)
    seg_endian = "big" if endian == ">" else "little"
    if su:
        with segyio.su.open(str(path), endian=seg_endian, ignore_geometry=True) as f:
            ns, sample_size, start = len(f.samples), 4, 0
    else:
        with segyio.open(str(path), ignore_geometry=True, endian=seg_endian) as f:
            ns, start = len(f.samples), 3600 + 3200 * int(f.ext_headers)
            sample_size = _SAMPLE_SIZE[int(f.format)]
    data = np.fromfile(path, dtype=np.uint8)[start:]
    trace_len = 240 + ns * sample_size
    assert data.size % trace_len == 0, f"{path.name}: not a whole number of traces"
    return data.reshape(-1, trace_len)[:, :240].copy()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real-data directory; its absence fails the tests that need it (never a skip)."""
    if not (DATA_DIR / "README.md").is_file():
        pytest.fail(f"real test data not found in {DATA_DIR}; set PROMETHIUM_TEST_DATA")
    return DATA_DIR


@pytest.fixture(scope="session")
def raw_headers(data_dir: Path) -> Callable[..., np.ndarray]:
    """``raw_headers(name, endian=">", su=False)``: :func:`read_raw_headers` of a data file."""

    def read(name: str, endian: str = ">", su: bool = False) -> np.ndarray:
        return read_raw_headers(data_dir / name, endian, su)

    return read
