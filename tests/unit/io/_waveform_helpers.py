"""Helpers shared by the waveform reader tests (not a test module)."""

from __future__ import annotations

import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

from promethium_lab.core.errors import ErrorCode, PromethiumError


def obspy_read(source: str | Path) -> obspy.Stream:
    """ObsPy's reading of a file, its warnings silenced (the reference to compare with)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return obspy.read(str(source) if isinstance(source, Path) else source)


def runs(mask: np.ndarray) -> list[tuple[bool, int]]:
    """Run-length encoding of a 1-D bool array: [(value, length), ...]."""
    edges = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [mask.size]])
    return [(bool(mask[a]), int(b - a)) for a, b in pairwise(bounds)]


def expected_index(tr: obspy.Trace, ref_ns: int) -> int:
    """Nearest sample of the common axis (ties to the later sample)."""
    return int(np.floor((tr.stats.starttime.ns - ref_ns) * tr.stats.sampling_rate / 1e9 + 0.5))


def row_of(ds: xr.Dataset, seed_id: str) -> int:
    """Row of the trace whose SEED id is ``seed_id``."""
    ids = [".".join(v) for v in zip(ds.network.values, ds.station.values,
                                    ds.location.values, ds.channel.values)]
    return ids.index(seed_id)


def expect_error(code: ErrorCode, func, *args, **kwargs) -> PromethiumError:
    """The typed error ``func(*args, **kwargs)`` raises: of ``code``, with a hint."""
    with pytest.raises(PromethiumError) as info:
        func(*args, **kwargs)
    assert info.value.code is code, str(info.value)
    assert info.value.hint, "every error carries a hint"
    return info.value
