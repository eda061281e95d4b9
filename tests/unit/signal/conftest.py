"""Fixtures of the signal unit tests: synthetic surveys whose right answer is known.

The builders live in :mod:`promethium_lab.signal.synthetic` so notebooks and benchmarks
can make the same data.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import xarray as xr

from promethium_lab.signal.synthetic import make_survey, synthetic_cube, synthetic_section


def _sinusoids(freqs_amps: dict[float, float], n_traces: int = 4, n_samples: int = 1000,
               dt_ms: float = 2.0) -> xr.Dataset:
    """A survey of identical traces ``Σ a sin(2π f t)`` (1000 samples at 2 ms: 0.5 Hz bins)."""
    t = np.arange(n_samples) * dt_ms / 1000.0
    trace = sum(a * np.sin(2 * np.pi * f * t) for f, a in freqs_amps.items())
    return make_survey(np.tile(trace, (n_traces, 1)), dt_ms)


@pytest.fixture()
def sinusoids() -> Callable[..., xr.Dataset]:
    """``sinusoids({freq_hz: amplitude}, n_traces=4, n_samples=1000, dt_ms=2.0)``."""
    return _sinusoids


@pytest.fixture()
def section() -> xr.Dataset:
    """64 traces × 256 samples at 4 ms: two linear and two hyperbolic Ricker events."""
    return synthetic_section(64, 256, 4.0, seed=0)


@pytest.fixture()
def cube() -> xr.Dataset:
    """16 inlines × 24 crosslines × 128 samples at 4 ms: three planar Ricker events."""
    return synthetic_cube(16, 24, 128, 4.0, seed=0)


@pytest.fixture()
def holey_section(section: xr.Dataset) -> xr.Dataset:
    """``section`` with traces 5, 6 and 40 absent (mask False, amplitude 0)."""
    mask = np.ones(section.sizes["trace"], dtype=bool)
    mask[[5, 6, 40]] = False
    out = section.copy()
    out["trace_mask"] = ("trace", mask)
    out["amplitude"] = section["amplitude"].where(out["trace_mask"], np.float32(0))
    return out
