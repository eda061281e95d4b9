"""Helpers of the viz unit tests (not a test module): small surveys with known answers."""

from __future__ import annotations

import numpy as np
import xarray as xr


def survey_2d(n_traces: int, n_samples: int, *, seed: int = 0, dead: tuple[int, ...] = (),
              fill: float | None = None, dt_ms: float = 2.0) -> xr.Dataset:
    """A ``(trace, time)`` survey of Gaussian noise (or a constant), some traces absent."""
    rng = np.random.default_rng(seed)
    amp = (rng.standard_normal((n_traces, n_samples)) if fill is None
           else np.full((n_traces, n_samples), fill)).astype("f4")
    live = np.ones(n_traces, bool)
    live[list(dead)] = False
    amp[~live] = 0.0
    return xr.Dataset(
        {"amplitude": (("trace", "time"), amp), "trace_mask": (("trace",), live),
         "offset": (("trace",), np.arange(n_traces) * 12.5, {"units": "m"})},
        coords={"trace": np.arange(n_traces),
                "time": ("time", np.arange(n_samples) * dt_ms, {"units": "ms"})},
        attrs={"source_path": "noise.sgy", "sample_interval_us": dt_ms * 1000})


def masked(ds: xr.Dataset) -> np.ndarray:
    """Amplitude with absent traces as NaN (what the views and the overview show)."""
    a = np.array(ds["amplitude"].values, dtype=np.float32)
    a[~np.asarray(ds["trace_mask"].values)] = np.nan
    return a
