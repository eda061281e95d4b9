"""One entry for every reconstruction method, and an ``auto`` choice among them.

``auto`` (:func:`choose_method`) reads the sampling pattern of the ``trace_mask``
(:func:`describe_mask`: missing fraction, longest gap, regular decimation), then runs a
blind test: cross-validation on hidden live traces (Stone (1974), "Cross-validatory choice
and assessment of statistical predictions", *J. R. Stat. Soc. B* 36), and runs the winner
on the whole survey with its defaults.

- **Hidings in the survey's own pattern.** Random decimation (and gaps): isolated live
  traces, every 4th live trace of a line (of a grid, one in 5 on the lattice
  ``(i + 2 j) % 5``), never two side by side and never an end trace. Each hidden trace
  then falls into the holes around it just as an absent trace of the survey does (the
  gap it leaves has the survey's distribution of gap lengths), and the missing fraction
  rises by a quarter (a fifth) of the live one only. Random folds of 20 % (used before)
  join hidden traces into wider gaps and leave the survey sparser than it is; on the F3
  inlines at 50 % random removal they rank PWD first where linear interpolation is best.
  Regular decimation: whole live lines along the decimated dim, one in 3 (the end lines
  kept). A hidden line leaves a gap wider than the survey's (3 lines for every second
  one): no hiding can keep the survey's gaps there, which the choice below allows for.
- **Several hidings, averaged.** Up to 3 hidings (offsets of the lattice), scored one
  after the other; the SNR is pooled over all hidden traces of all hidings, the measure
  the result is judged by. From the second hiding on, a candidate more than
  ``3 / hidings`` dB, or more than 4 standard errors, behind the leader stops being run
  (a race, Maron & Moore (1994), "Hoeffding races"): it could not be chosen.
- **Where it scores.** The whole survey when it has at most 65 536 samples (every real
  benchmark panel): an energy-chosen window of 64 traces x 256 samples (used before) sits
  on the strongest reflections, where slope-following methods shine (on the F3 inlines it
  scored PWD 10-13 dB while the whole sections give 7-8 dB and favour linear
  interpolation). Larger surveys: tiles of 64 traces x 256 samples (a cube's: <= 256
  traces x 128 samples), drawn with probability proportional to their live energy and
  weighted by its inverse (Horvitz & Thompson (1952), *JASA* 47), so the pooled sums
  estimate the whole survey's rather than its strongest part's. The cost is bounded
  whatever the survey's size: at most 3 hidings x each candidate on <= 65 536 samples
  (6-25 s a benchmark panel on 2 busy cores, most of it MSSA; before: 3-9 s).
- **The choice.** The simplest candidate (linear, then PWD, POCS, MSSA: cheapest first)
  whose blind SNR is within two standard errors of the best (the one-standard-error rule
  of Breiman et al. (1984), *Classification and Regression Trees*, made stricter; the
  standard error of each deficit is a jackknife over the hidden traces, Efron & Stein
  (1981)). The hidden traces are not the absent ones, and a regular test has wider gaps
  than the survey, so a lead within the test's own noise is not trusted over the simplest
  method. On the 24-trace land CMP at every second trace the test ranked PWD or MSSA
  0.7-1 dB ahead of linear interpolation (standard errors 0.4-0.5 dB) on masks where
  linear was 0.7-2.5 dB ahead on the absent traces: with one standard error auto ended
  0.8 dB behind the best method there, with two within 0.1 dB. On the real benchmark
  (F3 inlines, F3 cube, Viking shots, land CMP; 50 % random and every second trace)
  auto is within 0.1 dB of the best single method in every case, and 0.3 dB above it on
  the F3 cube at every second trace, where it picks per mask.

``attrs["reconstruction"]["auto"]`` (JSON-safe) holds the mask pattern, the choice, the
ranking, each candidate's blind SNR, standard error and margin to the choice, the hidings
run, the windows and the seconds.
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

__all__ = ["AUTO_CANDIDATES", "METHODS", "choose_method", "describe_mask", "reconstruct"]


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

_BUDGET = 65536  # trace-samples a hiding scores: the whole survey when it fits
_TILE_SECTION = 64  # traces of a section's tile ...
_TILE_CUBE = 24  # ... traces per dim of a cube's tile ...
_TILE_CUBE_TRACES = 256  # ... and at most in all
_TILE_SAMPLES = {1: 256, 2: 128}  # samples of a tile (section / cube)
_LATTICE = {1: 4, 2: 5}  # a hiding takes one live trace in 4 (a line) / 5 (a grid)
_LINE_STEP = 3  # regular decimation: a hiding takes one live line in 3
_HIDINGS = 3  # hidings scored at most ...
_MIN_HIDINGS = 2  # ... and before a candidate can be dropped
_RACE_DB = 3.0  # dropped when more than _RACE_DB / hidings dB behind the leader, or
# more than twice as many standard errors as the choice allows
_ONE_SE = 2.0  # the choice: the simplest within this many standard errors of the leader
#: Simplest (cheapest to run) first: ``auto``'s order of preference.
_SIMPLICITY: tuple[str, ...] = ("linear", "nearest", "sinc", "pwd", "pocs", "mssa")


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
        dim); ``regular`` (the absent traces are whole lines along one dim, and either
        the live or the absent lines are at a fixed step, e.g. every second trace, the end
        traces kept) with ``regular_axis`` and ``regular_step`` (that step);
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
        # a fixed step between the live lines (keep 1 in n), or between the absent ones
        # (drop 1 in n, the end lines kept whatever their parity)
        for idx in (np.flatnonzero(line_live), np.flatnonzero(line_missing)):
            steps = np.diff(idx)
            if idx.size >= 3 and steps.min() == steps.max() and steps[0] >= 2:
                info.update(regular=True, regular_axis=a, regular_step=int(steps[0]))
                break
        if info["regular"]:
            break
    if info["regular"]:
        info["pattern"] = "regular"
    elif longest >= 4 and in_long >= 0.5 * missing.sum() / max(mask.ndim, 1):
        info["pattern"] = "gap"
    else:
        info["pattern"] = "random"
    return info


def _tile_shape(shape: tuple[int, ...]) -> list[int]:
    """Traces per trace dim and samples of a blind-test tile: 64 traces x 256 samples of
    a section; of a cube <= 24 traces per dim, <= 256 in all (a short dim lends its share
    to the others), x 128 samples."""
    ntr = len(shape) - 1
    if ntr == 1:
        widths = [min(shape[0], _TILE_SECTION)]
    else:
        widths = [min(n, _TILE_CUBE) for n in shape[:-1]]
        while int(np.prod(widths)) > _TILE_CUBE_TRACES:
            widths[int(np.argmax(widths))] -= 1
        for a in np.argsort(shape[:-1])[::-1]:  # grow a dim into what a short one left
            rest = int(np.prod(widths)) // widths[a]
            widths[a] = max(widths[a], min(shape[a], _TILE_CUBE_TRACES // rest))
    return [*widths, min(shape[-1], _TILE_SAMPLES[ntr])]


def _windows(data: np.ndarray, mask: np.ndarray) -> list[tuple[tuple[slice, ...], float]]:
    """Where the blind test scores, as ``(slices, weight)`` pairs.

    The whole survey when it has at most :data:`_BUDGET` samples. Otherwise tiles (see
    :func:`_tile_shape`) of a grid covering the survey, drawn with probability
    proportional to their live energy (systematic PPS sampling, as many as fit in the
    budget; a tile with ``p >= 1`` is taken for sure and the others share the rest of the
    budget), each weighted by ``1 / p`` (Horvitz & Thompson 1952) so the pooled sums
    estimate the whole survey's: the SNR that counts is pooled over samples, decided where
    the energy is, but a tile of low energy still stands for all the tiles like it.
    """
    shape = data.shape
    if data.size <= _BUDGET:
        return [(tuple(slice(0, n) for n in shape), 1.0)]
    widths = _tile_shape(shape)
    starts = [np.unique(np.linspace(0, n - w, -(-n // w)).round().astype(int))
              for n, w in zip(shape, widths)]
    tiles = [tuple(slice(int(s), int(s) + w) for s, w in zip(st, widths))
             for st in np.array(np.meshgrid(*starts, indexing="ij")).reshape(len(shape), -1).T]
    live = np.where(mask[..., None], data, 0.0)
    energy = np.array([float(np.sum(live[t] ** 2)) for t in tiles])
    n_pick = max(1, _BUDGET // int(np.prod(widths)))
    if len(tiles) <= n_pick:
        return [(t, 1.0) for t in tiles]
    out: list[tuple[tuple[slice, ...], float]] = []
    rest = np.arange(len(tiles))
    while n_pick > 0 and rest.size:  # a tile of p >= 1 is certain: weight 1
        e = energy[rest] if energy[rest].sum() > 0 else np.ones(rest.size)
        p = n_pick * e / e.sum()
        if not (p >= 1).any():
            points = (np.arange(n_pick) + 0.5) * e.sum() / n_pick  # systematic PPS
            picked = np.unique(np.searchsorted(np.cumsum(e), points))
            return out + [(tiles[rest[i]], float(1.0 / p[i])) for i in picked]
        out += [(tiles[i], 1.0) for i in rest[p >= 1]]
        n_pick -= int((p >= 1).sum())
        rest = rest[p < 1]
    return out


def _spread(k: int, count: int) -> list[int]:
    """``count`` of the offsets ``0 .. k-1``, spread out (``4, 2 -> [0, 2]``)."""
    count = min(count, k)
    return sorted({round(j * k / count) % k for j in range(count)})


def _hidings(mask: np.ndarray, info: dict[str, Any], count: int) -> list[np.ndarray]:
    """Live traces to hide, one set per hiding, in the survey's own pattern.

    Random decimation (and gaps): isolated live traces, every 4th live trace of a line
    (the ends kept) or of a grid one live trace in 5 on the lattice ``(i + 2 j) % 5``: no
    two hidden traces touch, so each falls into the holes around it as an absent trace of
    the survey does (the gap it leaves has the survey's gap lengths), and the missing
    fraction grows by a quarter (a fifth) of the live one only. Regular decimation: whole
    live lines along the decimated dim, one in 3 (the end lines kept). Hiding ``j`` takes
    offset ``j`` of the 4 (5, 3) lattice offsets, spread when fewer are scored.
    """
    out = []
    if info["regular"]:
        a = int(info["regular_axis"])
        other = tuple(b for b in range(mask.ndim) if b != a)
        lines = np.flatnonzero(mask.all(axis=other) if other else mask)[1:-1]
        for o in _spread(_LINE_STEP, count):
            sel: list[Any] = [slice(None)] * mask.ndim
            sel[a] = lines[o::_LINE_STEP]
            hide = np.zeros_like(mask)
            hide[tuple(sel)] = True
            out.append(hide & mask)
    elif mask.ndim == 1:
        inner = np.flatnonzero(mask)[1:-1]
        for o in _spread(_LATTICE[1], count):
            hide = np.zeros_like(mask)
            hide[inner[o::_LATTICE[1]]] = True
            out.append(hide)
    else:
        grid = np.indices(mask.shape)
        cls = (grid[0] + 2 * grid[1]) % _LATTICE[2]
        for o in _spread(_LATTICE[2], count):
            out.append(mask & (cls == o))
    return [h for h in out if h.any() and (mask & ~h).any()]


def _blind_scores(ds: xr.Dataset, candidates: tuple[str, ...], info: dict[str, Any],
                  hidings: int = _HIDINGS) -> dict[str, Any]:
    """Blind-test SNR (dB) of each candidate on hidden live traces (see the module doc).

    Hidings run one after the other, each on every window; from hiding ``_MIN_HIDINGS``
    on, a candidate more than ``_RACE_DB / hidings`` dB, or more than ``2 * _ONE_SE``
    standard errors, behind the leader is dropped (it could not be chosen).

    Returns
    -------
    dict
        ``scores`` (per candidate: ``snr_db`` pooled over the hidings it ran, ``se_db``
        the standard error of its deficit to the leader, ``hidings``, ``seconds``,
        ``dropped``, and ``_deficit`` for :func:`choose_method`), ``leader`` (best blind
        SNR), ``hidings`` (run), ``windows`` (trace and sample ranges and weight of each);
        empty when nothing can be hidden.
    """
    arrays = survey_arrays(ds)
    data = arrays.data
    if hasattr(data, "compute"):
        data = data.compute()
    data = np.asarray(data, dtype=np.float64)
    ntr = data.ndim - 1
    dims = arrays.dims
    wins = []
    for sl, weight in _windows(data, arrays.mask):
        m = arrays.mask[sl[:-1]]
        hides = _hidings(m, info, hidings)
        if hides:
            wins.append((sl, weight, data[sl], m, hides))
    if not wins:
        return {}
    n_hide = max(len(w[4]) for w in wins)
    # per hidden trace, weighted: squared error of each candidate, and energy
    errs: dict[str, dict[tuple[int, int], np.ndarray]] = {c: {} for c in candidates}
    sigs: dict[tuple[int, int], np.ndarray] = {}
    secs = dict.fromkeys(candidates, 0.0)
    runs = dict.fromkeys(candidates, 0)
    alive = list(candidates)
    for k in range(n_hide):
        for name in alive:
            t0 = time.perf_counter()
            for w, (_sl, weight, sub, m, hides) in enumerate(wins):
                if k >= len(hides):
                    continue
                hide = hides[k]
                test_mask = m & ~hide
                test = xr.Dataset(
                    {"amplitude": (dims, np.where(test_mask[..., None], sub, 0.0)
                                   .astype(np.float32)),
                     "trace_mask": (dims[:-1], test_mask)},
                    coords={dims[-1]: np.arange(sub.shape[-1]) * arrays.dt_ms})
                est = METHODS[name](test)["amplitude"].transpose(*dims).values
                truth = sub[hide]
                errs[name][k, w] = weight * np.sum((truth - est[hide]) ** 2, axis=-1)
                sigs[k, w] = weight * np.sum(truth**2, axis=-1)
            secs[name] += time.perf_counter() - t0
            runs[name] += 1
        if k + 1 >= _MIN_HIDINGS:
            snr = {c: _db(*_pooled(errs[c], sigs)) for c in alive}
            lead = max(alive, key=lambda c: (snr[c], -candidates.index(c)))
            gap = {c: _deficit(errs[c], errs[lead]) for c in alive}
            alive = [c for c in alive
                     if not gap[c][0] > min(_RACE_DB / (k + 1), 2 * _ONE_SE * gap[c][1])]
            if len(alive) == 1:  # the winner: no need to score it further
                break
    snr = {c: _db(*_pooled(errs[c], sigs)) for c in candidates}
    lead = max(alive, key=lambda c: (snr[c], -candidates.index(c)))
    scores = {}
    for c in candidates:
        deficit, se = _deficit(errs[c], errs[lead])
        scores[c] = {"snr_db": round(snr[c], 3), "se_db": round(se, 3),
                     "hidings": runs[c], "seconds": round(secs[c], 4),
                     "dropped": c not in alive, "_deficit": deficit}
    return {"scores": scores, "leader": lead, "hidings": max(runs.values()),
            "windows": [{"traces": [[s.start, s.stop] for s in sl[:ntr]],
                         "samples": [sl[-1].start, sl[-1].stop], "weight": round(w, 4)}
                        for sl, w, *_ in wins]}


def _pooled(err: dict[tuple[int, int], np.ndarray],
            sig: dict[tuple[int, int], np.ndarray]) -> tuple[float, float]:
    """Signal and error summed over the hidden traces a candidate was scored on."""
    return (float(sum(np.sum(sig[key]) for key in err)),
            float(sum(np.sum(e) for e in err.values())))


def _deficit(err: dict[tuple[int, int], np.ndarray],
             lead: dict[tuple[int, int], np.ndarray]) -> tuple[float, float]:
    """How far (dB) a candidate's pooled error is above the leader's on the traces both
    were scored on, ``10 log10(E / E_lead)``, and its jackknife standard error over the
    hidden traces (Efron & Stein 1981); +inf for fewer than 2 traces."""
    keys = [key for key in err if key in lead]
    if err is lead or not keys:
        return 0.0, 0.0 if err is lead else float("inf")
    e = np.concatenate([err[key] for key in keys])
    e0 = np.concatenate([lead[key] for key in keys])
    n = e.size
    if n < 2 or e0.sum() <= 0:
        return float(10 * np.log10(max(e.sum(), 1e-300) / max(e0.sum(), 1e-300))), float("inf")
    with np.errstate(divide="ignore", invalid="ignore"):
        loo = 10 * np.log10(np.maximum(e.sum() - e, 1e-300) / np.maximum(e0.sum() - e0, 1e-300))
    se = float(np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))
    return float(10 * np.log10(max(e.sum(), 1e-300) / e0.sum())), se


def _db(signal: float, error: float) -> float:
    """``10 log10(signal / error)``, +inf for no error, -inf for no signal."""
    if error <= 0:
        return float("inf")
    return float(10 * np.log10(signal / error)) if signal > 0 else float("-inf")


def choose_method(ds: xr.Dataset, candidates: tuple[str, ...] = AUTO_CANDIDATES,
                  seed: int | None = None, hidings: int = _HIDINGS) -> dict[str, Any]:
    """What ``auto`` would run on ``ds``, and why, without running it.

    Parameters
    ----------
    ds : xarray.Dataset
        Survey with ``amplitude`` and ``trace_mask``.
    candidates : tuple of str
        Methods to try, names of :data:`METHODS`.
    seed : int, optional
        Kept for compatibility: the hidings are a fixed lattice, nothing is drawn.
    hidings : int
        Hidings to score at most, 1 to 5 (a line has 4 lattice offsets, a regular
        decimation 3, a grid 5: more are not scored).

    Returns
    -------
    dict
        JSON-safe: ``chosen``; ``mask`` (:func:`describe_mask`); ``ranking`` (the
        candidates scored, best first); ``blind_test`` (per candidate ``snr_db``,
        ``margin_db`` behind the winner, ``hidings``, ``seconds``, ``dropped``);
        ``hidings``; ``windows``; ``seconds``. Without a test (a complete survey, too few
        live traces to hide) the first candidate (PWD when a candidate) is chosen and
        ``ranking`` is empty.

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for unknown candidates, a bad ``hidings`` or a survey with
        no live trace.
    """
    started = time.perf_counter()
    if isinstance(candidates, str):
        candidates = (candidates,)
    candidates = tuple(candidates)
    unknown = [c for c in candidates if c not in METHODS]
    if not candidates or unknown:
        raise PromethiumError.invalid(f"unknown auto candidates {unknown or candidates!r}",
                                      hint=f"choose among {list(METHODS)}")
    if isinstance(hidings, bool) or not isinstance(hidings, (int, np.integer)) \
            or not 1 <= hidings <= max(_LATTICE.values()):
        raise PromethiumError.invalid(f"hidings={hidings!r} is not a count of hidings",
                                      hint=f"an int from 1 to {max(_LATTICE.values())} "
                                      f"(default {_HIDINGS})")
    arrays = survey_arrays(ds)
    info = describe_mask(arrays.mask)
    blind = {} if info["pattern"] == "complete" else _blind_scores(ds, candidates, info,
                                                                   int(hidings))
    scores = blind.get("scores", {})
    if scores:
        # the simplest candidate within one standard error of the best (see module doc)
        simplest = sorted(candidates, key=lambda c: (
            _SIMPLICITY.index(c) if c in _SIMPLICITY else len(_SIMPLICITY), candidates.index(c)))
        choice = next(c for c in simplest if not scores[c]["dropped"]
                      and scores[c]["_deficit"] <= _ONE_SE * scores[c]["se_db"])
        for c in candidates:
            del scores[c]["_deficit"]
            scores[c]["margin_db"] = round(scores[choice]["snr_db"] - scores[c]["snr_db"], 3)
        ranking = sorted(scores, key=lambda c: (-scores[c]["snr_db"], candidates.index(c)))
    else:
        choice, ranking = ("pwd" if "pwd" in candidates else candidates[0]), []
    return json_safe({"chosen": choice, "mask": info, "ranking": ranking,
                      "leader": blind.get("leader"), "blind_test": scores,
                      "hidings": blind.get("hidings", 0),
                      "windows": blind.get("windows", []),
                      "seconds": round(time.perf_counter() - started, 6)})


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
        default :data:`AUTO_CANDIDATES`), ``hidings`` (at most, default 3) and ``seed``
        (accepted, unused: the hidings are a fixed lattice); see :func:`choose_method`.
        Other keywords go to the chosen method when its signature takes them (the others
        are listed in ``attrs["reconstruction"]["auto"]["ignored"]``).

    Returns
    -------
    xarray.Dataset
        The filled survey. With ``auto``, ``attrs["reconstruction"]["auto"]`` holds what
        :func:`choose_method` returns, plus ``ignored``, ``blind_seconds`` and ``seconds``
        (blind test and fill).

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
    info = choose_method(ds, params.pop("candidates", AUTO_CANDIDATES),
                         params.pop("seed", None), params.pop("hidings", _HIDINGS))
    choice = info["chosen"]
    accepted = _accepted(choice)
    kwargs = {k: v for k, v in params.items() if k in accepted}
    _check_params(choice, kwargs)
    out = METHODS[choice](ds, **kwargs)
    rec = dict(out.attrs.get("reconstruction", {}))
    rec["auto"] = {**info, "ignored": sorted(set(params) - set(kwargs)),
                   "seconds": round(time.perf_counter() - started, 6),
                   "blind_seconds": info["seconds"]}
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


