"""Training data for the deep models: patches drawn lazily from a survey, or synthesised.

Self-supervision (the user's own survey, no truth needed): a patch of live traces is cut
from the survey, some of its live traces are **hidden** (zeroed and masked out), and the
network learns to restore them from the rest — the hidden traces' recorded samples are
the target (the "mask live traces, learn to restore them" scheme of e.g. Wang et al.
(2019), *Geophysics* 84(1); cf. Noise2Self, Batson & Royer (2019), *ICML*). Absent traces
of the survey are never targets (``valid`` is 0 there).

Every item is a dict of float32 tensors, each ``(1, *patch)`` or broadcastable to it:

``x``       samples with hidden (and absent) traces zeroed, optionally with noise added;
``mask``    1 on traces the network may see, 0 on hidden/absent ones (time extent 1);
``target``  the recorded samples;
``valid``   1 on traces whose target is known (live in the survey; time extent 1).

With ``gain=`` a survey's patches are balanced in time by one curve ``g(t)`` for the whole
survey (:mod:`promethium_lab.signal.gain`; ``x``, ``target`` are then gained samples), the
same curve inference applies (:func:`promethium_lab.ml.reconstruct_deep`).

Items are drawn from ``numpy.random.default_rng([seed, epoch, index])``: the same seed,
epoch and index give the same patch on any worker, in any order. Augmentations (flips of
trace axes, polarity, amplitude scaling) keep ``x``, ``target`` and the masks aligned.
A zarr-backed (dask) survey is read one patch at a time: only the chunks under a patch
are read, so memory stays bounded whatever the survey's size.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch.utils.data import Dataset

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.signal.gain import live_grid as _live_grid
from promethium_lab.signal.gain import read_samples as _read
from promethium_lab.signal.gain import resolve_gain, resolve_survey
from promethium_lab.signal.synthetic import synthetic_cube, synthetic_section

__all__ = [
    "HIDE_PATTERNS",
    "SurveyPatches",
    "SyntheticPatches",
    "augment",
    "data_fingerprint",
    "hide_traces",
    "random_synthetic",
    "resolve_survey",
]

#: Ways of choosing the traces to hide; ``"mixed"`` picks one of the others per patch.
HIDE_PATTERNS = ("random", "regular", "gap", "mixed")


def hide_traces(live: np.ndarray, fraction: float, rng: np.random.Generator,
                pattern: str = "random") -> np.ndarray:
    """Choose live traces to hide.

    Parameters
    ----------
    live : ndarray of bool
        Live-trace grid of the patch (any number of trace axes).
    fraction : float
        Fraction of the live traces to hide, ``0 < fraction < 1``.
    rng : numpy.random.Generator
    pattern : {"random", "regular", "gap", "mixed"}
        ``"random"``: uniformly without replacement; ``"regular"``: every
        ``round(1 / fraction)``-th **live** line along a random trace axis, from a random
        first one (with ``fraction > 0.5``: all but every ``round(1 / (1 - fraction))``-th
        live line), so that on a regularly decimated survey, whose live traces are every
        ``k``-th position already, the hidden ones are every other live trace (the
        survey's own decimation, once more) rather than absent positions or all of them
        (the aliased case); a line is a position along the axis (a whole line of a cube
        patch) with at least one live trace; ``"gap"``: one run of consecutive positions
        along a random trace axis; ``"mixed"``: one of the three at random.

    Returns
    -------
    ndarray of bool
        Hidden traces (a subset of ``live``). At least one live trace is hidden and one is
        kept whenever the patch has two or more live traces.
    """
    if pattern not in HIDE_PATTERNS:
        raise PromethiumError.invalid(
            f"unknown hide pattern {pattern!r}", hint=f"one of {HIDE_PATTERNS}")
    if not 0 < fraction < 1:
        raise PromethiumError.invalid(
            f"hide fraction must be strictly between 0 and 1, got {fraction}")
    live = np.asarray(live, dtype=bool)
    n_live = int(live.sum())
    hidden = np.zeros(live.shape, dtype=bool)
    if n_live < 2:
        return hidden
    if pattern == "mixed":
        pattern = ("random", "regular", "gap")[int(rng.integers(3))]
    axes = [a for a in range(live.ndim) if live.shape[a] > 1] or [0]
    axis = axes[int(rng.integers(len(axes)))]
    n = live.shape[axis]
    shape = [1] * live.ndim
    shape[axis] = n
    if pattern == "random":
        k = min(max(1, round(fraction * n_live)), n_live - 1)
        hidden.flat[rng.choice(np.flatnonzero(live), size=k, replace=False)] = True
    elif pattern == "regular":
        # positions along the axis that hold a live trace (a live line of a cube patch)
        other = tuple(a for a in range(live.ndim) if a != axis)
        lines = np.flatnonzero(live.any(axis=other) if other else live)
        if fraction <= 0.5:  # hide every step-th live line
            step = max(2, round(1.0 / fraction))
            chosen = (np.arange(lines.size) - int(rng.integers(step))) % step == 0
        else:  # keep every step-th live line, hide the others
            step = max(2, round(1.0 / (1.0 - fraction)))
            chosen = (np.arange(lines.size) - int(rng.integers(step))) % step != 0
        pos = np.zeros(n, dtype=bool)
        pos[lines[chosen]] = True
        hidden = np.broadcast_to(pos.reshape(shape), live.shape) & live
    else:
        width = min(max(1, round(fraction * n)), max(1, n - 1))
        start = int(rng.integers(0, n - width + 1))
        pos = np.zeros(n, dtype=bool)
        pos[start:start + width] = True
        hidden = np.broadcast_to(pos.reshape(shape), live.shape) & live
    hidden = np.array(hidden, dtype=bool)
    if hidden.sum() == 0:  # e.g. the run fell on absent traces
        hidden.flat[rng.choice(np.flatnonzero(live))] = True
    if (live & ~hidden).sum() == 0:
        hidden.flat[rng.choice(np.flatnonzero(hidden))] = False
    return hidden


def augment(target: np.ndarray, valid: np.ndarray, rng: np.random.Generator, *,
            flips: bool = True, flip_time: bool = False, polarity: bool = True,
            scale: tuple[float, float] | None = (0.5, 2.0)) -> tuple[np.ndarray, np.ndarray]:
    """Random flips of the trace axes (and optionally time), polarity reversal and
    amplitude scaling (log-uniform in ``scale``) of a patch and its trace grid.

    ``target`` is ``(*trace axes, time)``, ``valid`` the matching ``(*trace axes)`` grid.
    Flipping a trace axis mirrors the acquisition (a physical survey); flipping time is
    not physical for causal wavelets, so it is off by default.
    """
    if flips:
        for ax in range(valid.ndim):
            if rng.random() < 0.5:
                target = np.flip(target, axis=ax)
                valid = np.flip(valid, axis=ax)
    if flip_time and rng.random() < 0.5:
        target = np.flip(target, axis=-1)
    gain = 1.0
    if polarity and rng.random() < 0.5:
        gain = -gain
    if scale is not None:
        lo, hi = scale
        gain *= float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return np.ascontiguousarray(target * np.float32(gain)), np.ascontiguousarray(valid)


def _make_item(target: np.ndarray, valid: np.ndarray, rng: np.random.Generator, *,
               hide_fraction: tuple[float, float], hide_pattern: str, noise: float,
               aug: dict[str, Any] | None) -> dict[str, torch.Tensor]:
    if aug is not None:
        target, valid = augment(target, valid, rng, **aug)
    frac = float(rng.uniform(*hide_fraction)) if hide_fraction[1] > hide_fraction[0] \
        else float(hide_fraction[0])
    hidden = hide_traces(valid, frac, rng, hide_pattern)
    seen = valid & ~hidden
    x = target * seen[..., None]
    if noise > 0:
        live = target[valid]
        rms = float(np.sqrt(np.mean(live**2))) if live.size else 0.0
        x = x + (noise * (rms or 1.0) * rng.standard_normal(x.shape)).astype(np.float32) \
            * seen[..., None]
    return {
        "x": torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None],
        "mask": torch.from_numpy(seen.astype(np.float32)[..., None])[None],
        "target": torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))[None],
        "valid": torch.from_numpy(valid.astype(np.float32)[..., None])[None],
    }


def _fraction_range(hide_fraction: float | Sequence[float]) -> tuple[float, float]:
    if isinstance(hide_fraction, (int, float)):
        lo = hi = float(hide_fraction)
    else:
        lo, hi = (float(v) for v in hide_fraction)
    if not 0 < lo <= hi < 1:
        raise PromethiumError.invalid(
            f"hide_fraction must be in (0, 1) (or a (low, high) range), got "
            f"{hide_fraction!r}", hint="e.g. 0.3 or (0.2, 0.5)")
    return lo, hi


class _PatchDataset(Dataset):
    """Shared parameters of the patch datasets."""

    def __init__(self, patch: Sequence[int], n_patches: int, *, hide_fraction: Any,
                 hide_pattern: str, augment: bool | dict[str, Any], noise: float,
                 seed: int) -> None:
        self.patch = tuple(int(p) for p in patch)
        if len(self.patch) not in (2, 3) or min(self.patch) < 1:
            raise PromethiumError.invalid(
                f"patch must be 2 or 3 positive sizes (traces..., time), got {patch!r}")
        if int(n_patches) < 1:
            raise PromethiumError.invalid(f"n_patches must be >= 1, got {n_patches}")
        if hide_pattern not in HIDE_PATTERNS:
            raise PromethiumError.invalid(
                f"unknown hide pattern {hide_pattern!r}", hint=f"one of {HIDE_PATTERNS}")
        if not noise >= 0:
            raise PromethiumError.invalid(f"noise must be >= 0, got {noise}")
        self.n_patches = int(n_patches)
        self.hide_fraction = _fraction_range(hide_fraction)
        self.hide_pattern = hide_pattern
        self.augment = augment if isinstance(augment, dict) else ({} if augment else None)
        self.noise = float(noise)
        self.seed = int(seed)
        self.epoch = 0

    @property
    def spatial_dims(self) -> int:
        """2 or 3, from the patch."""
        return len(self.patch)

    def set_epoch(self, epoch: int) -> None:
        """Draw the next epoch's patches (called by the trainer at each epoch start)."""
        self.epoch = int(epoch)

    def rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index`` in the current epoch."""
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def __len__(self) -> int:
        return self.n_patches

    def _item(self, target: np.ndarray, valid: np.ndarray,
              rng: np.random.Generator) -> dict[str, torch.Tensor]:
        return _make_item(target, valid, rng, hide_fraction=self.hide_fraction,
                          hide_pattern=self.hide_pattern, noise=self.noise, aug=self.augment)


class SurveyPatches(_PatchDataset):
    """Patches drawn lazily from a survey, live traces hidden for self-supervision.

    Parameters
    ----------
    source : xarray.Dataset or path
        Survey (``amplitude`` numpy- or dask-backed) or a Zarr store path.
    patch : sequence of int
        ``(traces, time)`` for 2-D models, ``(inline, crossline, time)`` for 3-D ones
        (3-D needs two trace dims). A 2-D patch on a survey with several trace dims runs
        along one of them (``line_dim``, default a random one per patch), at a random
        position of the others.
    n_patches : int, default 256
        Items per epoch.
    hide_fraction : float or (float, float), default (0.2, 0.5)
        Fraction of a patch's live traces to hide (drawn uniformly in the range).
    hide_pattern : {"random", "regular", "gap", "mixed"}, default "mixed"
        See :func:`hide_traces`.
    augment : bool or dict, default True
        Apply :func:`augment` (a dict gives its keywords).
    noise : float, default 0
        Gaussian noise added to the visible input, relative to the patch RMS.
    min_live : float, default 0.5
        Fraction of live traces a patch should have (up to 8 tries, else the best).
    line_dim : str, optional
        Trace dim of 2-D patches on multi-trace-dim surveys.
    gain : "auto", None or array, default None
        Time-variant gain applied to every patch (:mod:`promethium_lab.signal.gain`):
        ``"auto"`` computes the survey's curve (:func:`~promethium_lab.signal.gain.gain_curve`,
        once, from a sample of live traces), an array of one value per time sample is used
        as it is (pass the same curve to the training and validation datasets, and to
        inference), None leaves the samples raw. The curve is ``self.gain_curve``.
    seed : int, default 0
    """

    def __init__(self, source: xr.Dataset | str | os.PathLike, patch: Sequence[int] = (32, 64),
                 n_patches: int = 256, *, hide_fraction: float | Sequence[float] = (0.2, 0.5),
                 hide_pattern: str = "mixed", augment: bool | dict[str, Any] = True,
                 noise: float = 0.0, min_live: float = 0.5, line_dim: str | None = None,
                 gain: Any = None, seed: int = 0) -> None:
        super().__init__(patch, n_patches, hide_fraction=hide_fraction,
                         hide_pattern=hide_pattern, augment=augment, noise=noise, seed=seed)
        ds = resolve_survey(source)
        amp = ds["amplitude"]
        self.dims = tuple(str(d) for d in amp.dims)
        self.trace_dims = self.dims[:-1]
        self.shape = tuple(int(n) for n in amp.shape)
        self.data = amp.data
        self.live = _live_grid(ds)
        if not self.live.any():
            raise PromethiumError(ErrorCode.BAD_DATA, "the survey has no live trace to learn from",
                                  hint="check its trace_mask")
        if self.spatial_dims - 1 > len(self.trace_dims):
            raise PromethiumError.invalid(
                f"a {self.spatial_dims}-D patch needs {self.spatial_dims - 1} trace dims;"
                f" the survey has {list(self.trace_dims)}",
                hint="use a 2-D model/patch for 2-D sections")
        if line_dim is not None and line_dim not in self.trace_dims:
            raise PromethiumError.invalid(f"line_dim {line_dim!r} is not a trace dim",
                                          hint=f"one of {list(self.trace_dims)}")
        self.line_dim = line_dim
        self.min_live = float(min_live)
        self.gain_curve = resolve_gain(gain, ds, self.shape[-1])

    def window(self, index: int) -> tuple[tuple[slice | int, ...], np.random.Generator]:
        """Where item ``index`` of the current epoch is cut: an index into
        ``amplitude`` (trace dims..., time) whose slices run along the patch axes, and the
        generator, advanced past the draw, that the item continues with."""
        rng = self.rng(index)
        nd_trace = len(self.trace_dims)
        if self.spatial_dims == 2:
            if self.line_dim is not None:
                axes = [self.trace_dims.index(self.line_dim)]
            else:
                axes = [a for a in range(nd_trace) if self.shape[a] > 1] or [0]
                axes = [axes[int(rng.integers(len(axes)))]]
        else:
            axes = [nd_trace - 2, nd_trace - 1]
        best: tuple[float, tuple[slice | int, ...]] | None = None
        for _ in range(8):
            index_: list[slice | int] = []
            p_iter = iter(self.patch[:-1])
            for a in range(nd_trace):
                n = self.shape[a]
                if a in axes:
                    p = next(p_iter)
                    start = int(rng.integers(0, n - p + 1)) if n > p else 0
                    index_.append(slice(start, min(start + p, n)))
                else:
                    index_.append(int(rng.integers(0, n)))
            nt, pt = self.shape[-1], self.patch[-1]
            t0 = int(rng.integers(0, nt - pt + 1)) if nt > pt else 0
            index_.append(slice(t0, min(t0 + pt, nt)))
            frac = float(self.live[tuple(index_[:-1])].mean())
            if best is None or frac > best[0]:
                best = (frac, tuple(index_))
            if frac >= self.min_live:
                break
        assert best is not None
        return best[1], rng

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        where, rng = self.window(index)
        samples = _read(self.data, where)
        valid = self.live[where[:-1]].copy()
        samples = np.where(valid[..., None], samples, np.float32(0))
        if self.gain_curve is not None:
            samples = samples * self.gain_curve[where[-1]]
        if not np.isfinite(samples).all():
            raise PromethiumError(ErrorCode.BAD_DATA,
                                  f"the survey has NaN or infinite samples in {where}",
                                  hint="clean or mute them (e.g. set those traces absent "
                                       "in trace_mask) before training")
        # pad to the patch (absent, invalid traces; zero samples)
        pad = [(0, p - n) for p, n in zip(self.patch, samples.shape)]
        if any(b for _, b in pad):
            samples = np.pad(samples, pad)
            valid = np.pad(valid, pad[:-1])
        return self._item(samples, valid, rng)


def _random_section_events(rng: np.random.Generator, n_traces: int, n_samples: int,
                           dt_ms: float, dx: float, max_slope: float) -> list[dict[str, Any]]:
    t_max = n_samples * dt_ms
    events: list[dict[str, Any]] = []
    for _ in range(int(rng.integers(3, 9))):
        amp = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 1.0))
        t0 = float(rng.uniform(-0.2, 1.0) * t_max)
        if rng.random() < 0.5:
            slope = float(rng.uniform(-max_slope, max_slope)) * dt_ms / dx  # ms per m
            events.append({"kind": "linear", "t0_ms": t0, "slope_ms_per_m": slope,
                           "amplitude": amp})
        else:
            v = float(rng.uniform(1500.0, 5000.0))
            x0 = float(rng.uniform(-0.5, 1.5) * n_traces * dx)
            events.append({"kind": "hyperbolic", "t0_ms": max(t0, dt_ms), "velocity": v,
                           "x0": x0, "amplitude": amp})
    return events


def random_synthetic(seed: int | np.random.Generator, shape: Sequence[int], *,
                     dt_ms: float | None = None, noise: float = 0.0,
                     max_slope: float = 2.0) -> xr.Dataset:
    """A random synthetic survey of Ricker events (built with
    :func:`promethium_lab.signal.synthetic.synthetic_section` / ``synthetic_cube``).

    Parameters
    ----------
    seed : int or numpy.random.Generator
    shape : sequence of int
        ``(traces, time)`` for a section (3–8 random linear and hyperbolic events) or
        ``(inline, crossline, time)`` for a cube (3–8 random dipping planes).
    dt_ms : float, optional
        Sample interval; default 2 or 4 ms at random.
    noise : float, default 0
        Gaussian noise relative to the RMS of the events.
    max_slope : float, default 2
        Largest dip of linear events and planes, in samples per trace.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    shape = tuple(int(s) for s in shape)
    dt = float(dt_ms) if dt_ms is not None else float(rng.choice([2.0, 4.0]))
    hz = min(float(rng.uniform(12.0, 40.0)), 0.3 * 1000.0 / dt)  # below ~0.6 × Nyquist
    if len(shape) == 2:
        dx = 12.5
        events = _random_section_events(rng, shape[0], shape[1], dt, dx, max_slope)
        return synthetic_section(shape[0], shape[1], dt, events=events,
                                 seed=int(rng.integers(2**31)), dx=dx, wavelet_hz=hz,
                                 noise=noise)
    if len(shape) == 3:
        t_max = shape[2] * dt
        events = [{"t0_ms": float(rng.uniform(-0.2, 1.0) * t_max),
                   "dip_inline_ms": float(rng.uniform(-max_slope, max_slope) * dt),
                   "dip_crossline_ms": float(rng.uniform(-max_slope, max_slope) * dt),
                   "amplitude": float(rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 1.0))}
                  for _ in range(int(rng.integers(3, 9)))]
        return synthetic_cube(shape[0], shape[1], shape[2], dt, events=events,
                              seed=int(rng.integers(2**31)), wavelet_hz=hz, noise=noise)
    raise PromethiumError.invalid(f"shape must have 2 or 3 sizes, got {shape}")


class SyntheticPatches(_PatchDataset):
    """Patches of freshly generated synthetic data (:func:`random_synthetic`), traces hidden
    as in :class:`SurveyPatches`; every trace is valid.

    Parameters
    ----------
    patch : sequence of int
        ``(traces, time)`` or ``(inline, crossline, time)``.
    n_patches : int, default 256
    hide_fraction, hide_pattern, augment, noise, seed
        As :class:`SurveyPatches`.
    signal_noise : float, default 0
        Noise that is part of the *target* too (realistic incoherent noise), relative RMS.
    max_slope : float, default 2
        Steepest event, samples per trace.
    """

    def __init__(self, patch: Sequence[int] = (32, 64), n_patches: int = 256, *,
                 hide_fraction: float | Sequence[float] = (0.2, 0.5),
                 hide_pattern: str = "mixed", augment: bool | dict[str, Any] = True,
                 noise: float = 0.0, signal_noise: float = 0.0, max_slope: float = 2.0,
                 seed: int = 0) -> None:
        super().__init__(patch, n_patches, hide_fraction=hide_fraction,
                         hide_pattern=hide_pattern, augment=augment, noise=noise, seed=seed)
        self.signal_noise = float(signal_noise)
        self.max_slope = float(max_slope)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        rng = self.rng(index)
        ds = random_synthetic(rng, self.patch, noise=self.signal_noise,
                              max_slope=self.max_slope)
        target = np.asarray(ds["amplitude"].values, dtype=np.float32)
        valid = np.ones(target.shape[:-1], dtype=bool)
        return self._item(target, valid, rng)


def data_fingerprint(source: xr.Dataset | str | os.PathLike, max_mb: float = 64.0) -> str:
    """``sha256:<hex>`` identity of a survey's samples, for training metadata.

    Hashes the dims, shape and dtype, the trace mask, and the amplitude bytes: all of them
    up to ``max_mb``, else an evenly spaced subset of positions along the first trace dim
    (read block by block, so a large lazy survey is never loaded whole).
    """
    ds = resolve_survey(source)
    amp = ds["amplitude"]
    h = hashlib.sha256()
    h.update(json.dumps({"dims": list(map(str, amp.dims)), "shape": list(amp.shape),
                         "dtype": str(amp.dtype)}).encode())
    h.update(np.ascontiguousarray(_live_grid(ds)).tobytes())
    n0 = amp.shape[0]
    per = max(1, math.prod(amp.shape[1:]) * 4)
    take = max(1, min(n0, int(max_mb * 2**20 // per)))
    idx = np.unique(np.linspace(0, n0 - 1, take).round().astype(int))
    step = max(1, int(16 * 2**20 // per))
    for i in range(0, len(idx), step):
        block = _read(amp.data, (idx[i:i + step],))
        h.update(np.ascontiguousarray(block).tobytes())
    return "sha256:" + h.hexdigest()
