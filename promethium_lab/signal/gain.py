"""Time-variant gain (numpy only; used by the deep models): one curve ``g(t)`` per
survey, the same for every trace.

Raw field data have no gain: the amplitudes decay by orders of magnitude down the trace
(spherical divergence, absorption). The models normalise each window by its RMS
(:mod:`promethium_lab.ml.models.base`), so a window is scaled by its strongest part, and
the weak, late part of a strongly decaying window is ~0 to the network. The remedy is the
usual one of seismic processing: a gain that balances the amplitudes in time before the
network, removed after it. Here the gain is

1. the mean energy ``E(t)`` of a sample of the survey's **live** traces (absent traces
   never count), smoothed by a moving average over ``window`` samples;
2. its envelope ``e(t) = sqrt(E(t))`` made non-increasing in time (the largest envelope
   at ``t`` or later), so the gain only ever *compensates a decay*: it never boosts the
   quiet samples before the first arrivals, nor the gaps between sparse events of a
   stationary section;
3. ``g(t) = c / max(e(t), max(e) / max_ratio)``, with ``c`` chosen so that the gained
   sample keeps the energy of the raw one (amplitudes stay in the survey's units).

Because ``g`` depends on time only, lateral coherence (what the networks learn from) is
untouched, and removing it, ``x / g(t)``, restores live traces (inference puts the
recorded samples back on them exactly). The curve is computed **once** per survey,
cheaply (:func:`gain_curve` reads at most a few runs of traces of a lazy, Zarr-backed
survey), and then applied to every training patch and every inference block
(:func:`apply_gain`); pass the same curve (``gain=<array>``) to every block when a
survey is reconstructed block by block.

What it changes. The per-window RMS normalisation already balances a *slow* decay; the
gain matters when the amplitude falls a lot across one window. On a synthetic section
decaying by 74 dB over 256 samples (19 dB per 64-sample window), training with the gain
raises the SNR of the restored traces on the balanced section (decay divided out) by
~0.7-0.9 dB over three seeds, and a curve capped below the decay loses that benefit;
the SNR in raw amplitudes, dominated by the strongest early samples, drops instead,
since the loss no longer concentrates on them. On a synthetic section without decay
the curve is nearly flat and the shipped weights score the same with it. On the raw
Viking Graben shot gather (curve ratio ~6) it changes little either way
(docs/deep-learning.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.errors import PromethiumError

__all__ = [
    "GAIN_MODES",
    "apply_gain",
    "gain_curve",
    "gain_record",
    "live_grid",
    "read_samples",
    "remove_gain",
    "resolve_gain",
    "resolve_survey",
]

#: What the ``gain`` parameters take (besides an explicit curve): ``"auto"`` computes
#: :func:`gain_curve` from the survey, ``None``/``"none"`` applies no gain.
GAIN_MODES = ("auto", "none", None)

#: Traces read in full by :func:`gain_curve` when the survey is small (bytes).
_READ_ALL_BYTES = 32 * 2**20


def resolve_survey(source: xr.Dataset | str | os.PathLike) -> xr.Dataset:
    """A survey Dataset from a Dataset or the path of a Zarr store (opened lazily).

    Parameters
    ----------
    source : xarray.Dataset or path
        A survey with an ``amplitude`` variable that has a ``time`` dim, or a store path.

    Returns
    -------
    xarray.Dataset
        The survey with ``time`` the last dim of ``amplitude``.
    """
    if isinstance(source, xr.Dataset):
        ds = source
    elif isinstance(source, (str, os.PathLike)):
        from promethium_lab.io.store import open_store

        ds = open_store(source)
    else:
        raise PromethiumError.invalid(
            f"expected a survey Dataset or a store path, got {type(source).__name__}",
            hint="pass an xarray.Dataset with 'amplitude' or a Zarr store path")
    if "amplitude" not in ds:
        raise PromethiumError.invalid("the dataset has no 'amplitude' variable",
                                      hint="pass a survey Dataset (docs/data-model.md)")
    if ds["amplitude"].dims[-1] != "time":
        dims = [d for d in ds["amplitude"].dims if d != "time"]
        if "time" not in ds["amplitude"].dims:
            raise PromethiumError.invalid(
                f"amplitude has no 'time' dim (dims {list(ds['amplitude'].dims)})")
        ds = ds.assign(amplitude=ds["amplitude"].transpose(*dims, "time"))
    return ds


def live_grid(ds: xr.Dataset) -> np.ndarray:
    """The live-trace grid (``trace_mask`` in the amplitude's trace-dim order; all True
    without a mask)."""
    tdims = ds["amplitude"].dims[:-1]
    if "trace_mask" in ds:
        return np.asarray(ds["trace_mask"].transpose(*tdims).values, dtype=bool)
    return np.ones(ds["amplitude"].shape[:-1], dtype=bool)


def read_samples(data: Any, index: tuple[slice | int, ...]) -> np.ndarray:
    """Samples of ``data[index]`` as float32 numpy (dask computed; only touched chunks read)."""
    part = data[index]
    if hasattr(part, "compute"):
        part = part.compute()
    return np.asarray(part, dtype=np.float32)


def _sample_traces(ds: xr.Dataset, max_traces: int) -> np.ndarray:
    """``(k, nt)`` float64 samples of up to ``max_traces`` live traces, evenly spread.

    A small survey is read whole; a large one in at most ``groups`` reads of a run of
    consecutive traces along the last trace dim (a chunk or two each), so a Zarr-backed
    survey is never loaded."""
    amp = ds["amplitude"]
    # dask: its graph; lazily indexed (no dask): the DataArray, which reads only what is
    # indexed (its ``.data`` would load the whole variable)
    data = amp.data if amp.chunks is not None else amp
    shape = tuple(int(n) for n in amp.shape)
    nt = shape[-1]
    live = live_grid(ds)
    flat_live = np.flatnonzero(live)
    if flat_live.size == 0:
        return np.zeros((0, nt))
    n_traces = math.prod(shape[:-1])
    if n_traces * nt * 4 <= _READ_ALL_BYTES:
        block = read_samples(data, (slice(None),) * (len(shape) - 1)).reshape(n_traces, nt)
        rows = flat_live
        if rows.size > max_traces:
            rows = rows[np.unique(np.linspace(0, rows.size - 1, max_traces).round()
                                  .astype(int))]
        return block[rows].astype(np.float64)
    run = min(32, shape[-2], max(1, max_traces))
    groups = max(1, max_traces // run)
    anchors = flat_live[np.unique(np.linspace(0, flat_live.size - 1, groups).round()
                                  .astype(int))]
    parts = []
    for a in anchors:
        pos = np.unravel_index(int(a), shape[:-1])
        j0 = min(int(pos[-1]), max(0, shape[-2] - run))
        index = (*(int(p) for p in pos[:-1]), slice(j0, j0 + run))
        block = read_samples(data, index)
        keep = live[index]
        parts.append(block[keep].astype(np.float64))
    return np.concatenate(parts, axis=0)


def _moving_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average over ``width`` samples; near the ends, over the samples
    there are (no padding)."""
    n = values.size
    half = max(0, int(width) // 2)
    c = np.concatenate([[0.0], np.cumsum(values)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return (c[hi] - c[lo]) / np.maximum(hi - lo, 1)


def gain_curve(source: xr.Dataset | str | os.PathLike, *, window: int | None = None,
               max_ratio: float = 1e6, max_traces: int = 256) -> np.ndarray:
    """The time-variant gain ``g(t)`` of a survey (see the module text).

    Parameters
    ----------
    source : xarray.Dataset or path
        Survey (``amplitude`` numpy- or dask/Zarr-backed, ``trace_mask``) or a store path.
    window : int, optional
        Smoothing length of the energy, in samples; default ``max(8, n_samples // 8)``.
    max_ratio : float, default 1e6
        Largest ratio between the gain at two times (120 dB): only a numerical cap on the
        boost of quiet trace ends (on field data the noise floor stops the envelope's
        fall first). A lower cap leaves the late part of a strongly decaying record
        uncompensated, which undoes the gain's benefit there.
    max_traces : int, default 256
        Live traces read (evenly spread over the survey; all of a small survey's up to
        this many).

    Returns
    -------
    ndarray of float32, shape (n_samples,)
        Positive gain per sample; all ones when the live traces carry no energy.
    """
    if not max_ratio >= 1:
        raise PromethiumError.invalid(f"max_ratio must be >= 1, got {max_ratio}")
    if int(max_traces) < 1:
        raise PromethiumError.invalid(f"max_traces must be >= 1, got {max_traces}")
    ds = resolve_survey(source)
    nt = int(ds["amplitude"].shape[-1])
    width = max(8, nt // 8) if window is None else int(window)
    if width < 1:
        raise PromethiumError.invalid(f"window must be >= 1 sample, got {window}")
    traces = _sample_traces(ds, int(max_traces))
    traces = traces[np.isfinite(traces).all(axis=1)] if traces.size else traces
    if traces.shape[0] == 0:
        return np.ones(nt, dtype=np.float32)
    energy = np.mean(traces**2, axis=0)
    env = np.sqrt(_moving_mean(energy, width))
    env = np.maximum.accumulate(env[::-1])[::-1]  # non-increasing in time
    top = float(env.max())
    if not top > 0:
        return np.ones(nt, dtype=np.float32)
    g = 1.0 / np.maximum(env, top / float(max_ratio))
    c = math.sqrt(float(energy.sum()) / max(float((energy * g**2).sum()), 1e-300))
    return (g * c).astype(np.float32)


def resolve_gain(gain: Any, source: xr.Dataset | str | os.PathLike | None = None,
                 n_samples: int | None = None) -> np.ndarray | None:
    """The gain curve a ``gain`` parameter stands for.

    ``"auto"``: :func:`gain_curve` of ``source``; ``None`` or ``"none"``: None (no gain);
    a sequence or array of ``n_samples`` positive finite values: that curve (how a curve
    computed once is passed to every block of a large survey).
    """
    if gain is None or (isinstance(gain, str) and gain == "none"):
        return None
    if isinstance(gain, str):
        if gain != "auto":
            raise PromethiumError.invalid(f"unknown gain {gain!r}",
                         hint="'auto', None, or a curve of one value per time sample")
        if source is None:
            raise PromethiumError.invalid("gain='auto' needs the survey to compute the curve from")
        return gain_curve(source)
    try:
        curve = np.asarray(gain, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise PromethiumError.invalid(
            f"gain must be 'auto', None or a curve, got {type(gain).__name__}") \
            from exc
    if n_samples is not None and curve.size != int(n_samples):
        raise PromethiumError.invalid(
            f"the gain curve has {curve.size} values for {n_samples} time samples",
            hint="compute it on this survey: promethium_lab.signal.gain.gain_curve(ds)")
    if not (np.isfinite(curve).all() and (curve > 0).all()):
        raise PromethiumError.invalid("the gain curve must be positive and finite")
    return curve


def apply_gain(samples: np.ndarray, curve: np.ndarray | None,
               time: slice | Sequence[int] | None = None) -> np.ndarray:
    """``samples * g(t)`` (time last); ``time`` selects the part of the curve the samples
    cover (default all of it). No curve: the samples as they are."""
    if curve is None:
        return samples
    g = np.asarray(curve, dtype=np.float32)
    if time is not None:
        g = g[time]
    return (samples * g).astype(samples.dtype, copy=False)


def remove_gain(samples: np.ndarray, curve: np.ndarray | None,
                time: slice | Sequence[int] | None = None) -> np.ndarray:
    """Inverse of :func:`apply_gain`: ``samples / g(t)``."""
    if curve is None:
        return samples
    g = np.asarray(curve, dtype=np.float32)
    if time is not None:
        g = g[time]
    return (samples / g).astype(samples.dtype, copy=False)


def gain_record(gain: Any, curve: np.ndarray | None) -> dict[str, Any] | None:
    """JSON-safe description of a gain for metadata and result attrs: the mode
    (``"auto"`` or ``"curve"``), the curve's range and the curve itself."""
    if curve is None:
        return None
    mode = gain if isinstance(gain, str) else "curve"
    return {"mode": mode, "min": float(curve.min()), "max": float(curve.max()),
            "ratio": float(curve.max() / curve.min()),
            "curve": [float(f"{v:.6g}") for v in np.asarray(curve, dtype=np.float64)]}
