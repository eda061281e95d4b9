"""One entry for every reconstruction method, and an ``auto`` choice among them.

``auto`` first reads the sampling pattern of the ``trace_mask`` (missing fraction, longest
gap, regular decimation), then runs a cheap blind test (cross-validation on held-out live
traces, Stone (1974), "Cross-validatory choice and assessment of statistical
predictions", *J. R. Stat. Soc. B* 36) on a sub-window of the survey:

- the window (≤ 64 traces × 256 samples of a section, ≤ 24 traces per dim and ≤ 256 in
  all × 128 samples of a cube; the samples of most energy) sits where the live traces
  carry the most energy. The quality that counts, the SNR over the filled traces, is
  pooled over samples, so it is decided where the energy is: on the Viking Graben shots
  the near offsets (the last 30 of 120 channels) hold 92 % of it, and the centred
  window used before (1 % of it) ranked PWD last when it was first on the whole gathers;
- the live traces of the window are split into 5 random folds, each hidden once
  (k-fold cross-validation: every live trace is scored, not 2 × 20 % of them); the score
  is the SNR pooled over all hidden traces, the measure the result is judged by (a
  per-trace median was tried: it ranks PWD first on synthetic sections where a few
  failed traces cost it 5 to 12 dB);
- candidates race (successive elimination, Maron & Moore (1994), "Hoeffding races"):
  from the second fold on, one more than ``6 / folds`` dB behind the leader stops being
  run, so a clear case costs 2 folds and only close contenders run all 5.

(Held-out gaps mimicking a gap pattern, or live traces next to the absent ones, were tried
and dropped: they rank the methods by where the gaps fall, not by how well a method
models the data.) Regular decimation (every n-th line missing) goes to PWD without a
test: it is the one method whose slope estimation sees through the aliasing (a blind test
would have to decimate further and alias everything). The winner then runs on the whole
survey with its defaults.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from promethium_lab.core.errors import PromethiumError
from promethium_lab.core.serialize import json_safe
from promethium_lab.signal.reconstruct.interp import linear, nearest, sinc
from promethium_lab.signal.reconstruct.mssa import mssa
from promethium_lab.signal.reconstruct.pocs import pocs
from promethium_lab.signal.reconstruct.pwd import pwd
from promethium_lab.signal.reconstruct.windows import survey_arrays

__all__ = ["AUTO_CANDIDATES", "METHODS", "describe_mask", "reconstruct"]


def _mssa_default(ds: xr.Dataset, rank: int | None = None, **params: Any) -> xr.Dataset:
    """MSSA with a default rank when none is given: 6 for sections, 4 for cubes."""
    if rank is None:
        rank = 6 if ds["trace_mask"].ndim == 1 else 4
    return mssa(ds, rank, **params)


#: Method name -> function ``f(ds, **params) -> Dataset``.
METHODS: dict[str, Callable[..., xr.Dataset]] = {
    "pwd": pwd,
    "mssa": _mssa_default,
    "pocs": pocs,
    "linear": linear,
    "nearest": nearest,
    "sinc": sinc,
}

#: Methods ``auto`` tries, in order of preference on ties.
AUTO_CANDIDATES: tuple[str, ...] = ("pwd", "mssa", "pocs", "linear")

_WINDOW_SECTION = 64  # traces of a section's blind-test window
_WINDOW_CUBE = 24  # traces per dim of a cube's window ...
_WINDOW_CUBE_TRACES = 256  # ... and in all (16 x 16 for a large cube)
_WINDOW_SAMPLES = {1: 256, 2: 128}  # samples of a section's / a cube's window
_FOLDS = 5  # every live trace of the window is hidden in one of them
_MIN_FOLDS = 2  # before any candidate is dropped
_RACE_DB = 6.0  # dropped when more than _RACE_DB / folds dB behind the leader


def _runs(line: np.ndarray) -> list[int]:
    """Lengths of the runs of False in a boolean line."""
    out, n = [], 0
    for v in line:
        if v:
            if n:
                out.append(n)
            n = 0
        else:
            n += 1
    if n:
        out.append(n)
    return out


def describe_mask(mask: np.ndarray) -> dict[str, Any]:
    """The sampling pattern of a live-trace mask.

    Returns
    -------
    dict
        ``missing_fraction``; ``max_gap`` (longest run of absent traces along any trace
        dim); ``regular`` (the absent traces are whole lines at a fixed step along one
        dim, e.g. every second trace) with ``regular_axis`` and ``regular_step``;
        ``pattern``: ``"complete"``, ``"regular"``, ``"gap"`` (a run of 4 or more absent
        traces holds most of them) or ``"random"``.
    """
    mask = np.asarray(mask, dtype=bool)
    missing = ~mask
    info: dict[str, Any] = {"missing_fraction": float(missing.mean()), "max_gap": 0,
                            "regular": False, "regular_axis": None, "regular_step": None}
    if not missing.any():
        info["pattern"] = "complete"
        return info
    longest, in_long = 0, 0
    for a in range(mask.ndim):
        lines = np.moveaxis(mask, a, -1).reshape(-1, mask.shape[a])
        for line in lines:
            runs = _runs(line)
            if runs:
                longest = max(longest, max(runs))
                in_long = max(in_long, sum(r for r in runs if r >= 4))
    info["max_gap"] = int(longest)
    for a in range(mask.ndim):
        other = tuple(b for b in range(mask.ndim) if b != a)
        line_missing = missing.all(axis=other) if other else missing
        line_live = mask.all(axis=other) if other else mask
        if not (line_missing | line_live).all() or not line_missing.any():
            continue
        idx = np.flatnonzero(line_live)
        if idx.size >= 3:
            steps = np.diff(idx)
            if steps.min() == steps.max() and steps[0] >= 2:
                info.update(regular=True, regular_axis=a, regular_step=int(steps[0]))
                break
    if info["regular"]:
        info["pattern"] = "regular"
    elif longest >= 4 and in_long >= 0.5 * missing.sum() / max(mask.ndim, 1):
        info["pattern"] = "gap"
    else:
        info["pattern"] = "random"
    return info


def _best_box(values: np.ndarray, widths: list[int]) -> tuple[int, ...]:
    """Start of the box of ``widths`` with the largest sum of ``values`` (first on ties)."""
    sums = np.asarray(values, dtype=np.float64)
    for ax, w in enumerate(widths):
        n = sums.shape[ax]
        c = np.concatenate([np.zeros_like(np.take(sums, [0], axis=ax)),
                            np.cumsum(sums, axis=ax)], axis=ax)
        sums = (np.take(c, np.arange(w, n + 1), axis=ax)
                - np.take(c, np.arange(0, n + 1 - w), axis=ax))
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(sums)), sums.shape))


def _subwindow(data: np.ndarray, mask: np.ndarray) -> tuple[slice, ...]:
    """The part of the survey the blind test runs on: ≤ 64 traces of a section (≤ 24 per
    dim and ≤ 256 in all of a cube) where the live traces carry the most energy, and the
    ≤ 256 samples (≤ 128 for a cube) of most energy in them."""
    shape = data.shape
    ntr = data.ndim - 1
    if ntr == 1:
        widths = [min(shape[0], _WINDOW_SECTION)]
    else:
        widths = [min(n, _WINDOW_CUBE) for n in shape[:-1]]
        while int(np.prod(widths)) > _WINDOW_CUBE_TRACES:
            widths[int(np.argmax(widths))] -= 1
    trace_energy = np.where(mask, np.sum(data**2, axis=-1), 0.0)
    starts = _best_box(trace_energy, widths)
    sl = [slice(s, s + w) for s, w in zip(starts, widths)]
    energy = np.sum(data[tuple(sl)] ** 2, axis=tuple(range(ntr)))
    wt = min(shape[-1], _WINDOW_SAMPLES[ntr])
    (t0,) = _best_box(energy, [wt])
    sl.append(slice(t0, t0 + wt))
    return tuple(sl)


def _holdout(mask: np.ndarray, info: dict[str, Any], rng: np.random.Generator,
             n_folds: int) -> list[np.ndarray]:
    """Sets of live traces to hide for the blind test, in the pattern of the absent ones.

    Regular decimation: every other live line along the decimated dim (one fold).
    Otherwise (random traces or gaps): the live traces split into ``n_folds`` random
    folds, each hidden once (k-fold). Random folds sample the whole window, so they
    measure how well a method models this wavefield; held-out gaps were tried and rank the
    methods by where the gaps happen to fall rather than by the data.
    """
    if info["regular"]:
        a = int(info["regular_axis"])
        other = tuple(b for b in range(mask.ndim) if b != a)
        line_live = mask.all(axis=other) if other else mask
        sel = [slice(None)] * mask.ndim
        sel[a] = np.flatnonzero(line_live)[1::2]
        hide = np.zeros_like(mask)
        hide[tuple(sel)] = True
        return [hide & mask]
    folds = []
    live = rng.permutation(np.flatnonzero(mask))
    for chosen in np.array_split(live, min(n_folds, live.size)):
        if chosen.size == 0 or chosen.size >= live.size:
            continue
        hide = np.zeros_like(mask)
        hide.flat[chosen] = True
        folds.append(hide)
    return folds


def _blind_scores(ds: xr.Dataset, candidates: tuple[str, ...], info: dict[str, Any],
                  seed: int, n_folds: int = _FOLDS) -> dict[str, dict[str, Any]]:
    """Blind-test SNR (dB) of each candidate on held-out live traces of a sub-window.

    Folds run one after the other; from fold ``_MIN_FOLDS`` on, a candidate more than
    ``_RACE_DB / folds`` dB behind the leader is dropped (its score is over the folds it
    ran, ``"folds"``; ``"dropped": True``).
    """
    arrays = survey_arrays(ds)
    data = arrays.data
    if hasattr(data, "compute"):
        data = data.compute()
    data = np.asarray(data, dtype=np.float64)
    sl = _subwindow(data, arrays.mask)
    sub = data[sl]
    mask = arrays.mask[sl[:-1]]
    folds = [h for h in _holdout(mask, info, np.random.default_rng(seed), n_folds)
             if h.any() and (mask & ~h).any()]
    if not folds:
        return {}
    dims = arrays.dims
    err = dict.fromkeys(candidates, 0.0)
    sig = dict.fromkeys(candidates, 0.0)
    secs = dict.fromkeys(candidates, 0.0)
    runs = dict.fromkeys(candidates, 0)
    snr: dict[str, float] = {}
    alive = list(candidates)
    for k, hide in enumerate(folds, start=1):
        test_mask = mask & ~hide
        test = xr.Dataset(
            {"amplitude": (dims, np.where(test_mask[..., None], sub, 0.0).astype(np.float32)),
             "trace_mask": (dims[:-1], test_mask)},
            coords={dims[-1]: np.arange(sub.shape[-1]) * arrays.dt_ms},
        )
        truth = sub[hide]
        for name in alive:
            t0 = time.perf_counter()
            out = METHODS[name](test)
            est = np.asarray(out["amplitude"].transpose(*dims).values, dtype=np.float64)
            err[name] += float(np.sum((truth - est[hide]) ** 2))
            sig[name] += float(np.sum(truth**2))
            secs[name] += time.perf_counter() - t0
            runs[name] += 1
            if err[name] == 0:
                snr[name] = float("inf")
            else:
                snr[name] = float(10 * np.log10(sig[name] / err[name])) if sig[name] > 0 \
                    else float("-inf")
        if k >= _MIN_FOLDS:
            lead = max(snr[c] for c in alive)
            alive = [c for c in alive if not snr[c] < lead - _RACE_DB / k]
            if len(alive) == 1:  # the winner: no need to score it further
                break
    return {name: {"snr_db": round(snr[name], 3), "seconds": round(secs[name], 4),
                   "folds": runs[name], "dropped": name not in alive}
            for name in candidates}


def reconstruct(ds: xr.Dataset, method: str = "auto", **params: Any) -> xr.Dataset:
    """Reconstruct a survey's absent traces with ``method``, or let ``auto`` choose.

    Parameters
    ----------
    ds : xarray.Dataset
        Survey with ``amplitude`` (trace dims..., time) and ``trace_mask`` (True = live).
    method : str, default "auto"
        ``"auto"``, or one of :data:`METHODS`: ``"pwd"`` (plane-wave destruction, Fomel
        2002), ``"mssa"`` (rank reduction, Oropeza & Sacchi 2011; ``rank`` defaults to
        6 for sections and 4 for cubes), ``"pocs"`` (Abma & Kabir 2006), ``"linear"``,
        ``"nearest"``, ``"sinc"``.
    **params
        Passed to the method. For ``"auto"``: ``candidates`` (method names to try,
        default :data:`AUTO_CANDIDATES`) and ``seed`` (of the held-out traces); other
        keywords go to the chosen method when its signature takes them (the others are
        listed in ``attrs["reconstruction"]["auto"]["ignored"]``).

    Returns
    -------
    xarray.Dataset
        The filled survey. With ``auto``, ``attrs["reconstruction"]["auto"]`` holds the
        mask pattern, the blind-test scores and the choice.

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for an unknown method, bad parameters or a ``trace_mask``
        with no live trace.
    """
    if not isinstance(method, str) or (method != "auto" and method not in METHODS):
        raise PromethiumError.invalid(f"unknown reconstruction method {method!r}",
                                      hint=f"one of {['auto', *METHODS]}")
    if method != "auto":
        _check_params(method, params)
        return METHODS[method](ds, **params)
    started = time.perf_counter()
    candidates = tuple(params.pop("candidates", AUTO_CANDIDATES))
    seed = params.pop("seed", 0)
    unknown = [c for c in candidates if c not in METHODS]
    if not candidates or unknown:
        raise PromethiumError.invalid(f"unknown auto candidates {unknown or candidates!r}",
                                      hint=f"choose among {list(METHODS)}")
    arrays = survey_arrays(ds)
    info = describe_mask(arrays.mask)
    if info["pattern"] == "complete":
        choice, scores = candidates[0], {}
    elif info["regular"] and "pwd" in candidates:
        # only PWD's time-dilated slopes see through the aliasing of regular decimation;
        # a blind test would have to decimate further and alias everything
        choice, scores = "pwd", {}
    else:
        scores = _blind_scores(ds, candidates, info, int(seed))
        kept = [c for c in candidates if scores and not scores[c]["dropped"]]
        if kept:
            choice = max(kept, key=lambda c: (scores[c]["snr_db"], -candidates.index(c)))
        else:
            choice = "pwd" if "pwd" in candidates else candidates[0]
    accepted = _accepted(choice)
    kwargs = {k: v for k, v in params.items() if k in accepted}
    _check_params(choice, kwargs)
    out = METHODS[choice](ds, **kwargs)
    rec = dict(out.attrs.get("reconstruction", {}))
    rec["auto"] = {"chosen": choice, "mask": json_safe(info), "blind_test": scores,
                   "ignored": sorted(set(params) - set(kwargs)),
                   "seconds": round(time.perf_counter() - started, 6)}
    rec["method"] = f"auto:{choice}"
    rec["seconds"] = rec["auto"]["seconds"]
    out.attrs = {**out.attrs, "reconstruction": rec}
    return out


def _accepted(method: str) -> set[str]:
    """Keyword parameters ``method`` takes."""
    fn = mssa if method == "mssa" else METHODS[method]
    return {p.name for p in list(inspect.signature(fn).parameters.values())[1:]
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _check_params(method: str, params: Mapping[str, Any]) -> None:
    """``INVALID_PARAMETER`` when ``params`` do not fit the signature of ``method``."""
    fn, args = METHODS[method], dict(params)
    if method == "mssa":  # the rank is optional here, required by mssa()
        fn = mssa
        args.setdefault("rank", 1)
    try:
        inspect.signature(fn).bind(None, **args)
    except TypeError as exc:
        raise PromethiumError.invalid(f"bad parameters for method {method!r}: {exc}",
                                      hint=f"see help(promethium_lab.signal.reconstruct.{method})"
                                      ) from exc


