"""``method="deep"``: the best classical fill, corrected by a small network trained on the survey.

The recommended deep reconstruction (issue 16). Two stages:

1. **Classical fill.** :func:`promethium_lab.signal.reconstruct.reconstruct` with
   ``method="auto"`` (or a named classical method) fills the absent traces.
2. **Learned residual.** A small fully convolutional network (:class:`ResidualNet`, ~10 k
   parameters) predicts the remaining error of that fill on the filled traces. It is
   trained on the survey itself: live traces are hidden the way the survey's own traces
   are missing (:func:`~promethium_lab.signal.reconstruct.describe_mask`), the classical
   method is run again with them hidden, and the network learns (classical fill of the
   hidden traces) -> (their true samples). Its body starts from weights pretrained on
   realistic synthetic sections (:data:`PRETRAINED`, trained by
   :mod:`promethium_lab.ml.pretrain_residual`), its last layer at zero, so training starts
   exactly at the classical result (a residual correction, as in the residual learning of
   He et al., 2016, and DnCNN, Zhang et al., 2017).

Random decimation hides random folds of the live traces. Regular decimation (every
``d``-th line live) can only hide live lines, i.e. pose the problem at ``d`` times the
survey's spacing, where the dips are ``d`` times steeper in samples per live step (trained
that way, ``regular="sparse"``, the correction validated on the Viking shots and cost
8.5 dB at their own spacing). By default (``regular="compress"``) the pairs are instead
built after Spitz's (1991) scale argument for f-x interpolation: data ``d`` times sparser
at frequency ``f`` have the trace-to-trace phase shifts of the survey's at ``f / d``. The
live lines are taken side by side, decimated again the survey's way and compressed in
time by ``d`` (anti-alias low-pass, every ``d``-th sample), then their spectrum is shaped
back to the survey's band (:func:`_compressed_pairs`): dips and band in samples are then
those of the survey's problem. These pairs are used only when they pose that problem as
hard as the survey poses it: the classical method must predict their live lines (a
round trip, :func:`_round_trip_snr`) within :data:`PROXY_GAP_DB` of how it predicts the
survey's own; otherwise the classical result is returned.

The correction is validated on live traces that were never targets (hidden in a fold of
their own; for regular decimation the lines the training phase keeps) and **kept only
when it gains at least** ``threshold_db`` (0.3 dB) there, at its best checkpoint and at
the end of training, and gains on both random halves of those traces; otherwise the
classical result is returned unchanged. ``attrs["deep"]`` says which: ``{"classical",
"kept", "val_gain_db", "steps", "seconds", "reason", ...}``. Live traces always come back
exactly as they were.

Samples are balanced in time by the survey's gain curve
(:func:`promethium_lab.signal.gain.gain_curve`) and divided by the RMS of the live traces
before the network; the correction is scaled back after it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn

from promethium_lab.core.context import TaskContext, ensure_context
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.serialize import json_safe
from promethium_lab.ml.registry import file_sha256

__all__ = [
    "GAIN_THRESHOLD_DB",
    "PRETRAINED",
    "PROXY_GAP_DB",
    "REGULAR_MODES",
    "ResidualNet",
    "apply_residual",
    "load_pretrained",
    "reconstruct_residual",
]

#: Smallest validation gain (dB) for which the correction is kept.
GAIN_THRESHOLD_DB = 0.3
#: The shipped pretrained residual network (registry layout: weights, config, metadata).
PRETRAINED = Path(__file__).resolve().parent / "weights" / "deep-residual" / "v001"
_EPS = 1e-12


class ResidualNet(nn.Module):
    """Small dilated CNN predicting the error of a classical fill on its filled traces.

    Input ``(N, 2, traces, time)``: channel 0 the classical fill (gained, normalised),
    channel 1 an indicator of the filled traces (1) against the live ones (0). Output
    ``(N, 1, traces, time)``: the correction to add on the filled traces. The last layer
    (:attr:`head`) starts at zero, so an untrained net returns a zero correction.

    Parameters
    ----------
    width : int
        Channels of the hidden layers.
    dilations : sequence of (int, int)
        (trace, time) dilation of each hidden 3 × 3 layer after the first.
    """

    architecture = "residual"

    def __init__(self, width: int = 16,
                 dilations: Sequence[Sequence[int]] = ((1, 1), (1, 2), (2, 4), (2, 8))) -> None:
        super().__init__()
        self.width = int(width)
        self.dilations = [tuple(int(v) for v in d) for d in dilations]
        layers: list[nn.Module] = [nn.Conv2d(2, self.width, 3, padding=1), nn.GELU()]
        for d in self.dilations:
            layers += [nn.Conv2d(self.width, self.width, 3, padding=d, dilation=d), nn.GELU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(self.width, 1, 3, padding=1)
        self.zero_head()

    def zero_head(self) -> None:
        """Set the last layer to zero: the net then predicts no correction."""
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def config(self) -> dict[str, Any]:
        """Constructor keywords."""
        return {"width": self.width, "dilations": [list(d) for d in self.dilations]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Correction ``(N, 1, traces, time)``, zero on the live traces (``x[:, 1] == 0``)."""
        return self.head(self.body(x)) * x[:, 1:2]

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def load_pretrained(path: str | Path | None = None) -> ResidualNet:
    """The shipped pretrained :class:`ResidualNet` (checksum verified), head as trained.

    Raises
    ------
    PromethiumError
        ``MODEL_MISMATCH`` when the files are missing, damaged or do not fit.
    """
    vdir = Path(path) if path is not None else PRETRAINED
    try:
        cfg = json.loads((vdir / "config.json").read_text())
        meta = json.loads((vdir / "metadata.json").read_text())
        expected = meta.get("weights_sha256")
        if expected and file_sha256(vdir / "weights.pt") != expected:
            raise ValueError("the weights do not match the checksum in metadata.json")
        net = ResidualNet(**cfg.get("config", {}))
        state = torch.load(vdir / "weights.pt", map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise PromethiumError(ErrorCode.MODEL_MISMATCH,
                              f"the pretrained residual network in {vdir} cannot be loaded: "
                              f"{exc}", hint="reinstall the package, or pass weights=None to "
                                             "train from scratch") from exc
    return net


# ----------------------------------------------------------------------------- arrays
def _sections(arr: np.ndarray, axis: int, samples: bool = True) -> np.ndarray:
    """Samples ``(*trace dims, time)`` -> ``(sections, traces, time)``, or a trace mask
    ``(*trace dims)`` -> ``(sections, traces)``, the traces running along trace ``axis``."""
    last = arr.ndim - 2 if samples else arr.ndim - 1
    moved = np.moveaxis(arr, axis, last)
    return moved.reshape(-1, *moved.shape[last:])


def _unsections(sec: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Inverse of :func:`_sections` for samples of ``shape`` (trace dims + time)."""
    order = [i for i in range(len(shape) - 1) if i != axis] + [axis]
    moved = sec.reshape([shape[i] for i in order] + [shape[-1]])
    return np.moveaxis(moved, len(shape) - 2, axis)


def _snr(truth: np.ndarray, est: np.ndarray) -> float:
    err = float(np.sum((truth - est) ** 2))
    sig = float(np.sum(truth**2))
    return 10 * math.log10(max(sig, _EPS) / max(err, _EPS))


def apply_residual(net: ResidualNet, fill: np.ndarray, filled: np.ndarray,
                   device: torch.device | str = "cpu", amp: bool = False,
                   max_batch: int = 4, tta: bool = True) -> np.ndarray:
    """Correction of the network for normalised sections ``fill`` (sections, traces, time)
    whose ``filled`` traces (sections, traces) hold the classical fill.

    With ``tta`` the correction is the mean over the four symmetries of the problem
    (trace order mirrored, polarity flipped; test-time augmentation, as the training
    crops are augmented); a zero head still gives exactly zero.
    """
    from promethium_lab.ml.device import autocast

    dev = torch.device(device)
    out = np.zeros(fill.shape, dtype=np.float32)
    variants = [(m, p) for m in (False, True) for p in (1.0, -1.0)] if tta else [(False, 1.0)]
    net.eval()
    with torch.no_grad():
        for i in range(0, fill.shape[0], max_batch):
            x = _inputs(fill[i:i + max_batch], filled[i:i + max_batch]).to(dev)
            acc = torch.zeros_like(x[:, 0], dtype=torch.float32)
            for mirror, sign in variants:
                xi = x.flip(2) if mirror else x
                xi = torch.cat([xi[:, :1] * sign, xi[:, 1:]], dim=1)
                with autocast(dev, amp):
                    r = net(xi)[:, 0].float() * sign
                acc += r.flip(1) if mirror else r
            out[i:i + max_batch] = (acc / len(variants)).cpu().numpy()
    return out


def _inputs(fill: np.ndarray, filled: np.ndarray) -> torch.Tensor:
    ind = np.broadcast_to(filled[..., None].astype(np.float32), fill.shape)
    return torch.from_numpy(np.stack([fill.astype(np.float32), ind], axis=1).copy())


# ----------------------------------------------------------------------------- hiding
def _target_sets(mask: np.ndarray, info: dict[str, Any], rng: np.random.Generator,
                 folds: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Live traces to hide: the training target sets and the validation set, in the
    survey's own missing pattern. Regular decimation: every other live line (targets the
    odd ones, validation the even inner ones); otherwise ``folds`` random folds of the
    live traces (the last one for validation)."""
    if info.get("regular"):
        a = int(info["regular_axis"])
        other = tuple(b for b in range(mask.ndim) if b != a)
        line_live = mask.all(axis=other) if other else mask
        idx = np.flatnonzero(line_live)
        sets = []
        for pick in (idx[1::2], idx[2:-1:2] if idx.size > 4 else idx[0::2]):
            sel: list[Any] = [slice(None)] * mask.ndim
            sel[a] = pick
            hide = np.zeros_like(mask)
            hide[tuple(sel)] = True
            sets.append(hide & mask)
        return [sets[0]], sets[1]
    live = rng.permutation(np.flatnonzero(mask))
    parts = []
    for chosen in np.array_split(live, folds):
        hide = np.zeros_like(mask)
        hide.flat[chosen] = True
        parts.append(hide)
    return parts[:-1], parts[-1]


# ----------------------------------------------------------------------------- regular
#: ``regular=`` choices: how ``deep`` trains on a regularly decimated survey.
REGULAR_MODES = ("compress", "sparse", "off")
_MIN_LATTICE = 9  # live lines on the lattice, at least
_MIN_COMPRESSED = 32  # samples left after the time compression, at least
#: Regular decimation: the time-compressed pairs are used only when the classical method
#: predicts their live lines (round trip, :func:`_round_trip_snr`) at most this many dB
#: worse than the survey's own live lines.
PROXY_GAP_DB = 4.0


def _regular_mode(regular: Any) -> str:
    """``regular=`` as one of :data:`REGULAR_MODES` (True: ``"sparse"``, False: ``"off"``)."""
    if regular is True:
        return "sparse"
    if regular is False:
        return "off"
    if isinstance(regular, str) and regular.lower() in REGULAR_MODES:
        return regular.lower()
    raise PromethiumError.invalid(f"regular must be one of {list(REGULAR_MODES)} (or a bool), "
                                  f"got {regular!r}", hint="regular='compress' (default)")


def _regular_lattice(mask: np.ndarray, axis: int) -> tuple[np.ndarray, int] | None:
    """The live lines along ``axis`` on one lattice of step ``d`` >= 2 (the longest run of
    live lines ``d`` apart, all lines between them absent) and ``d``; None when there is
    no such run of at least :data:`_MIN_LATTICE` lines (e.g. every third line missing)."""
    other = tuple(b for b in range(mask.ndim) if b != axis)
    line_live = mask.all(axis=other) if other else mask
    idx = np.flatnonzero(line_live)
    if idx.size < _MIN_LATTICE:
        return None
    steps = np.diff(idx)
    d = int(np.bincount(steps).argmax())
    if d < 2:
        return None
    best, start = (0, 0), None
    for i, st in enumerate([*steps.tolist(), -1]):
        if st == d and start is None:
            start = i
        elif st != d and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    lattice = idx[best[0]:best[1] + 1]
    return (lattice, d) if lattice.size >= _MIN_LATTICE else None


def _time_compress(x: np.ndarray, factor: int, offset: int = 0) -> np.ndarray:
    """Samples ``(..., time)`` compressed in time by ``factor``: anti-alias low-pass to
    ``1/factor`` of the Nyquist frequency (zero-phase polyphase FIR,
    :func:`scipy.signal.resample_poly`), then every ``factor``-th sample from ``offset``.
    Output sample ``k`` stands at input sample ``offset + k * factor``."""
    from scipy.signal import resample_poly

    x = np.asarray(x, dtype=np.float32)[..., int(offset):]
    if factor == 1:
        return x.copy()
    return resample_poly(x, 1, int(factor), axis=-1).astype(np.float32)


def _match_spectrum(x: np.ndarray, ref: np.ndarray, max_gain: float = 10.0) -> np.ndarray:
    """``x`` (..., time) filtered (zero phase) so that its mean amplitude spectrum, in
    cycles per sample, is that of ``ref`` (..., time'): time compression moves a band
    ``f`` to ``factor * f`` cycles per sample, this brings it back to the survey's band.
    Both spectra are smoothed over 1/20 of the band; the gain is at most ``max_gain``
    times its median, and where ``x`` has next to no energy (< 1e-3 of its peak) it is
    not raised above that."""
    def spectrum(a: np.ndarray) -> np.ndarray:
        p = np.mean(np.abs(np.fft.rfft(a.reshape(-1, a.shape[-1]), axis=-1)) ** 2, axis=0)
        k = max(1, p.size // 20)
        return np.convolve(p, np.ones(k) / k, mode="same")

    n = x.shape[-1]
    f = np.fft.rfftfreq(n)
    px = spectrum(x)
    pr = np.interp(f, np.fft.rfftfreq(ref.shape[-1]), spectrum(ref))
    px, pr = px / px.sum(), pr / pr.sum()
    h = np.sqrt(pr / np.maximum(px, 1e-3 * px.max()))
    h = np.minimum(h, max_gain * float(np.median(h[pr > 1e-3 * pr.max()])))
    return np.fft.irfft(np.fft.rfft(x, axis=-1) * h, n=n, axis=-1).astype(np.float32)


def _lattice_phases(n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On ``n`` lines one lattice step apart, decimated again as the survey is (keep one
    line in ``d``, the end lines kept): the live lines of the training phase (lines
    ``0, d, 2d, ...``), those of the validation phase (``1, 1 + d, ...``) and the lines
    validation scores (``0, d, 2d, ...`` but the end lines: never a training target)."""
    k = np.arange(n)
    train_live = (k % d == 0) | (k == n - 1)
    val_live = (k % d == 1) | (k == 0) | (k == n - 1)
    scored = ~val_live & (k % d == 0)
    return train_live, val_live, scored


def _compressed_pairs(ds: xr.Dataset, data: np.ndarray, lines: np.ndarray, d: int,
                      axis: int, norm: np.ndarray, rerun_on: Any,
                      shape_spectrum: bool = True) -> dict[str, Any]:
    """Training and validation pairs that look like the problem of a survey whose live
    ``lines`` (along ``axis``, fully live) are ``d`` lines apart, all between them absent;
    Spitz (1991)'s scale argument for f-x interpolation: data ``d`` times sparser at
    frequency ``f`` have the trace-to-trace phase shifts of the survey's sampling at
    ``f / d``.

    The ``lines`` are taken side by side (``d`` times the survey's trace spacing, as one
    step), decimated again the survey's way (keep one in ``d``, :func:`_lattice_phases`)
    and compressed in time by ``d`` (:func:`_time_compress`, every time offset): a dip of
    ``p`` samples per survey trace is then ``p`` samples per step again. Compression also
    moves the band up ``d`` times in cycles per sample, where PWD fails (on F3 its fill of
    the pairs fell from ~9 to ~0.5 dB): with ``shape_spectrum`` the pairs are filtered back
    to the survey's mean spectrum (:func:`_match_spectrum`). The classical method
    (``rerun_on(survey, samples, live)``) then fills the hidden lines as it fills the
    survey's; the round-trip SNR of its fill (:func:`_round_trip_snr`, the inner lines of
    the training phase) is ``counts["proxy_round_trip_snr_db"]``. Training targets are
    the lines hidden by the training phase; validation scores lines that phase keeps.
    Samples in network units: ``norm`` compressed, each copy divided by the RMS of its
    samples.

    Returns
    -------
    dict
        ``x, filled, targets, truth`` (training) and ``val_x, val_filled, val_scored,
        val_truth`` (``val_truth`` the scored samples only), in sections along ``axis``;
        ``counts``: ``factor``, ``lines``, ``compressed_samples``, ``target_traces``,
        ``val_traces``.
    """
    dims = ds["amplitude"].dims
    nt = data.shape[-1]
    compact = np.take(data, lines, axis=axis)
    n = lines.size
    train_live, val_live, scored = _lattice_phases(n, d)
    shape = compact.shape[:-1]

    def along(line: np.ndarray) -> np.ndarray:
        sel: list[Any] = [None] * len(shape)
        sel[axis] = slice(None)
        return np.broadcast_to(line[tuple(sel)], shape).copy()

    nc = min(-(-(nt - o) // d) for o in range(d))
    inner = train_live.copy()
    inner[[0, -1]] = False
    round_trip: list[float] = []
    out: dict[str, list[np.ndarray]] = {k: [] for k in (
        "x", "filled", "targets", "truth", "val_x", "val_filled", "val_scored", "val_truth")}
    for o in range(d):
        comp = _time_compress(compact, d, o)[..., :nc]
        if shape_spectrum:
            comp = _match_spectrum(comp, compact)
        nrm = norm[o::d][:nc]
        nrm = nrm / (float(np.sqrt(np.mean((comp * nrm) ** 2))) or 1.0)
        sub = ds.isel({dims[axis]: lines, dims[-1]: slice(o, o + d * (nc - 1) + 1, d)})
        truth = _sections(comp * nrm, axis)
        for live, targets, pre in ((train_live, ~train_live, ""), (val_live, scored, "val_")):
            live_m = along(live)
            filled = rerun_on(sub, comp, live_m)
            if not pre:
                round_trip.append(_round_trip_snr(sub, filled, comp, along(inner), nrm,
                                                  rerun_on))
            out[pre + "x"].append(_sections(filled * nrm, axis))
            out[pre + "filled"].append(_sections(~live_m, axis, False))
            out[pre + ("targets" if not pre else "scored")].append(
                _sections(along(targets), axis, False))
            out[pre + "truth"].append(truth)
    cat: dict[str, Any] = {k: np.concatenate(v) for k, v in out.items()}
    cat["val_truth"] = cat["val_truth"][cat["val_scored"]]
    per_line = int(np.prod(shape)) // n
    cat["counts"] = {"factor": int(d), "lines": int(n), "compressed_samples": int(nc),
                     "target_traces": int((~train_live).sum()) * per_line,
                     "val_traces": int(scored.sum()) * per_line,
                     "proxy_round_trip_snr_db": round(float(np.mean(round_trip)), 3)}
    return cat


def _round_trip_snr(survey: xr.Dataset, filled: np.ndarray, truth: np.ndarray,
                    hide: np.ndarray, norm: np.ndarray, rerun_on: Any) -> float:
    """SNR (dB, samples times ``norm``) of the live traces ``hide`` of a filled survey
    ``filled`` when they are hidden and filled back by the classical method from all the
    others, filled ones included: how well the classical method's fill predicts the live
    traces, a statistic of the survey's own sampling that needs no unknown sample."""
    back = rerun_on(survey, filled, ~hide)
    return _snr((truth * norm)[hide], (back * norm)[hide])


# ----------------------------------------------------------------------------- main
_CLASSICAL_KEYS = ("candidates", "seed", "rank", "window", "overlap")


def _check(steps: Any, threshold_db: Any, batch_size: Any, patch: Any, lr: Any,
           folds: Any, classical: Any, weights: Any) -> tuple[int, int]:
    from promethium_lab.signal.reconstruct import METHODS

    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
        raise PromethiumError.invalid(f"steps must be an integer >= 0, got {steps!r}",
                                      hint="e.g. steps=300 (0: the classical result)")
    if not isinstance(threshold_db, (int, float)) or not math.isfinite(threshold_db):
        raise PromethiumError.invalid(f"threshold_db must be a finite number, got "
                                      f"{threshold_db!r}", hint=f"default {GAIN_THRESHOLD_DB}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise PromethiumError.invalid(f"batch_size must be an integer >= 1, got {batch_size!r}")
    try:
        pt, ps = (int(v) for v in patch)
    except (TypeError, ValueError) as exc:
        raise PromethiumError.invalid(f"patch must be (traces, samples), got {patch!r}",
                                      hint="e.g. patch=(48, 128)") from exc
    if pt < 4 or ps < 16:
        raise PromethiumError.invalid(f"patch {patch!r} is too small",
                                      hint="at least 4 traces x 16 samples, e.g. (48, 128)")
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise PromethiumError.invalid(f"lr must be > 0, got {lr!r}", hint="e.g. lr=1e-3")
    if not isinstance(folds, (int, np.integer)) or folds < 2:
        raise PromethiumError.invalid(f"folds must be an integer >= 2, got {folds!r}")
    if not isinstance(classical, str) or (classical != "auto" and classical not in METHODS):
        raise PromethiumError.invalid(f"unknown classical method {classical!r}",
                                      hint=f"one of {['auto', *METHODS]}")
    if weights is not None and weights != "pretrained" and not Path(weights).is_dir():
        raise PromethiumError.invalid(f"weights={weights!r} is neither 'pretrained', None nor "
                                      "a directory", hint="use weights='pretrained' (shipped) "
                                                          "or None (from scratch)")
    return pt, ps


def reconstruct_residual(
    ds: xr.Dataset,
    *,
    classical: str = "auto",
    steps: int = 300,
    seed: int = 0,
    weights: str | Path | None = "pretrained",
    threshold_db: float = GAIN_THRESHOLD_DB,
    batch_size: int = 8,
    patch: Sequence[int] = (48, 128),
    lr: float = 1e-3,
    folds: int = 4,
    regular: bool | str = "compress",
    device: str = "auto",
    context: TaskContext | None = None,
    progress: bool | None = None,
    **classical_params: Any,
) -> xr.Dataset:
    """Fill a survey's absent traces: classical fill + a gated residual network.

    Parameters
    ----------
    ds : xarray.Dataset
        Survey (``amplitude`` over trace dims + time, ``trace_mask`` True = live), in memory.
    classical : str, default "auto"
        The classical method of the first stage (``"auto"`` chooses as
        :func:`~promethium_lab.signal.reconstruct.reconstruct` does).
    steps : int, default 300
        Optimizer steps on the survey (0: the classical result, ``kept`` False).
    seed : int, default 0
        Seed of the hidden traces, the crops and the network.
    weights : "pretrained", None or path, default "pretrained"
        Start of the network's body: the shipped pretrained weights, a fresh random
        initialisation, or a directory with ``weights.pt``/``config.json``/``metadata.json``.
        The last layer always starts at zero.
    threshold_db : float, default 0.3
        Validation gain needed to keep the correction.
    batch_size, patch, lr
        Training batches of ``patch`` = (traces, samples) crops, Adam learning rate.
    folds : int, default 4
        Random decimation: the live traces are split into this many folds, all but one
        hidden in turn as targets, the last one for validation.
    regular : {"compress", "sparse", "off"} or bool, default "compress"
        Regular decimation (every ``d``-th line live). ``"compress"``: train and validate
        on the live lines side by side, decimated again the survey's way and compressed in
        time by ``d`` with the survey's band (Spitz's scale argument, see the module), if
        the classical method finds these pairs about as hard as the survey (round trip
        within :data:`PROXY_GAP_DB`); else, or when the live lines are not on one lattice
        of >= 9 lines with >= 32 samples after compression, the classical result.
        ``"sparse"`` (or True): train and validate on every other live line hidden, at
        ``d`` times the survey's spacing, which does not vouch for the survey's own (on the
        Viking shots it validated and cost 8.5 dB against PWD). ``"off"`` (or False): the
        classical result.
    device : str, default "auto"
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (mixed precision and pinned memory on a GPU).
    context : TaskContext, optional
        Progress and cancel hooks.
    progress : bool, optional
        Show a tqdm bar (None: the config's choice).
    **classical_params
        Passed to the classical method (``candidates``, ``seed`` for ``auto``; ``rank``,
        ``window``, ...).

    Returns
    -------
    xarray.Dataset
        The filled survey (as the classical methods return it) with
        ``attrs["deep"] = {"classical", "kept", "val_gain_db", "val_snr_db",
        "classical_val_snr_db", "threshold_db", "steps", "seconds", "weights", "reason"}``
        and ``attrs["reconstruction"]["method"] == "deep"``.

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for bad parameters or a survey without live traces;
        ``MODEL_MISMATCH`` for damaged shipped weights; ``CANCELED``.
    """
    from promethium_lab.ml.device import resolve_device
    from promethium_lab.signal.gain import gain_curve
    from promethium_lab.signal.reconstruct import describe_mask
    from promethium_lab.signal.reconstruct import reconstruct as classical_reconstruct

    started = time.perf_counter()
    pt, ps = _check(steps, threshold_db, batch_size, patch, lr, folds, classical, weights)
    regular_mode = _regular_mode(regular)
    if "amplitude" not in ds or "trace_mask" not in ds:
        raise PromethiumError.invalid("the survey needs 'amplitude' and 'trace_mask'",
                                      hint="open it with promethium_lab.io or make_survey")
    ctx = ensure_context(context)
    dev = resolve_device(device)
    use_amp = dev.type == "cuda"  # mixed precision and pinned memory only on a GPU
    amp = ds["amplitude"]
    dims = amp.dims
    data = np.asarray(amp.values, dtype=np.float32)
    mask = np.asarray(ds["trace_mask"].transpose(*dims[:-1]).values, dtype=bool)
    if not mask.any():
        raise PromethiumError.invalid("the survey has no live traces",
                                      hint="there is nothing to reconstruct from")

    ctx.progress(0.0, "deep: classical fill")
    base = classical_reconstruct(ds, method=classical, **classical_params)
    rec = dict(base.attrs.get("reconstruction", {}))
    chosen = str((rec.get("auto") or {}).get("chosen", classical)) if classical == "auto" \
        else classical
    fill = np.asarray(base["amplitude"].transpose(*dims).values, dtype=np.float32)
    info = describe_mask(mask)
    record: dict[str, Any] = {"classical": chosen, "kept": False, "val_gain_db": None,
                              "threshold_db": float(threshold_db), "steps": 0,
                              "seed": int(seed), "pattern": info["pattern"],
                              "weights": None if weights is None else str(
                                  "pretrained" if weights == "pretrained" else weights)}

    def finish(out: np.ndarray, reason: str) -> xr.Dataset:
        record["reason"] = reason
        record["seconds"] = round(time.perf_counter() - started, 3)
        result = base.copy()
        result["amplitude"] = (dims, out.astype(np.float32))
        result["amplitude"].attrs = dict(base["amplitude"].attrs)
        rec_out = {**rec, "method": "deep", "classical": chosen,
                   "seconds": record["seconds"]}
        result.attrs = {**base.attrs, "reconstruction": json_safe(rec_out),
                        "deep": json_safe(record)}
        ctx.progress(1.0, "deep: done")
        return result

    if mask.all():
        return finish(fill, "no absent traces")
    n_live = int(mask.sum())
    if n_live < 3 * folds:
        return finish(fill, f"too few live traces ({n_live}) to train and validate")
    if steps == 0:
        return finish(fill, "steps=0: the classical result")
    mode = regular_mode if info.get("regular") else "random"
    if mode == "off":
        return finish(fill, "regular decimation with regular='off': the classical result")

    # --- the survey's own pattern: hide live traces, re-run the classical method
    rerun_params = {} if classical == "auto" else dict(classical_params)
    curve = gain_curve(ds).astype(np.float32)
    gained = data * curve
    scale = float(np.sqrt(np.mean(gained[mask] ** 2))) or 1.0
    norm = curve / scale  # samples -> network units
    section_axis = int(info["regular_axis"]) if info.get("regular") else mask.ndim - 1

    from promethium_lab.ml.device import autocast

    def rerun_on(survey: xr.Dataset, samples: np.ndarray, live: np.ndarray) -> np.ndarray:
        ctx.check("deep reconstruction")
        test = survey[["amplitude", "trace_mask"]].copy()
        test["trace_mask"] = (dims[:-1], live)
        test["amplitude"] = (dims, np.where(live[..., None], samples, 0).astype(np.float32))
        out = classical_reconstruct(test, method=chosen, **rerun_params)
        return np.asarray(out["amplitude"].transpose(*dims).values, dtype=np.float32)

    def fit(pairs: dict[str, Any], desc: str,
            rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Train a fresh correction on ``pairs``; the best checkpoint on its validation."""
        val_x, val_f, val_w = pairs["val_x"], pairs["val_filled"], pairs["val_scored"]
        val_truth = pairs["val_truth"]
        val_base = _snr(val_truth, val_x[val_w])
        # two random halves of the validation traces: a kept correction must gain on both
        order = np.random.default_rng(int(seed) + 1).permutation(len(val_truth))
        halves = [np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2:])]
        half_base = [_snr(val_truth[h], val_x[val_w][h]) for h in halves]
        x_all, f_all = pairs["x"], pairs["filled"]
        w_all, t_all = pairs["targets"], pairs["truth"]
        rng = np.random.default_rng(seed) if rng is None else rng
        # the network: pretrained body, zero head
        torch.manual_seed(int(seed))
        if weights is None:
            net = ResidualNet()
        else:
            net = load_pretrained(None if weights == "pretrained" else Path(weights))
        net.zero_head()
        net.to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=float(lr))
        scaler = torch.amp.GradScaler("cuda") if use_amp else None

        def val_gain() -> tuple[float, float, list[float]]:
            corr = apply_residual(net, val_x, val_f, dev, use_amp)
            est = (val_x + corr)[val_w]
            snr = _snr(val_truth, est)
            half = [_snr(val_truth[h], est[h]) - b for h, b in zip(halves, half_base)]
            net.train()
            return snr - val_base, snr, half

        _, ntr, nt = x_all.shape
        cw, ct = min(pt, ntr), min(ps, nt)
        targets = np.argwhere(w_all)  # (section, trace) of every target trace
        val_every = max(25, int(steps) // 6)
        best_gain, best_snr, best_halves = 0.0, val_base, [0.0, 0.0]
        best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        history = []
        net.train()
        with ctx.progress_bar(int(steps), desc=desc, unit="step", show=progress) as bar:
            for step in range(1, int(steps) + 1):
                ctx.check("deep reconstruction")
                xb = np.empty((batch_size, cw, ct), np.float32)
                fb = np.empty((batch_size, cw), bool)
                tb = np.empty((batch_size, cw, ct), np.float32)
                wb = np.empty((batch_size, cw), np.float32)
                for b in range(batch_size):
                    s, tr = targets[rng.integers(len(targets))]
                    t0 = int(np.clip(tr - rng.integers(cw), 0, ntr - cw))
                    s0 = int(rng.integers(nt - ct + 1))
                    sign = 1.0 if rng.random() < 0.5 else -1.0
                    sl = (s, slice(t0, t0 + cw))
                    xb[b] = sign * x_all[sl][:, s0:s0 + ct]
                    tb[b] = sign * t_all[sl][:, s0:s0 + ct]
                    fb[b] = f_all[sl]
                    wb[b] = w_all[sl]
                    if rng.random() < 0.5:  # mirror the trace order
                        xb[b], tb[b] = xb[b, ::-1].copy(), tb[b, ::-1].copy()
                        fb[b], wb[b] = fb[b, ::-1].copy(), wb[b, ::-1].copy()
                x = _inputs(xb, fb)
                t = torch.from_numpy(tb)
                w = torch.from_numpy(np.broadcast_to(wb[..., None], tb.shape).copy())
                if use_amp:
                    x, t, w = x.pin_memory(), t.pin_memory(), w.pin_memory()
                x, t, w = (v.to(dev, non_blocking=True) for v in (x, t, w))
                with autocast(dev, use_amp):
                    r = net(x)[:, 0].float()
                est = x[:, 0] + r
                loss = (w * (est - t) ** 2).sum() / (w * t**2).sum().clamp_min(_EPS)
                opt.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()
                    opt.step()
                bar.update()
                if step % val_every == 0 or step == steps:
                    gain, snr, half = val_gain()
                    history.append({"step": step, "loss": round(float(loss.detach()), 5),
                                    "val_gain_db": round(gain, 3)})
                    if gain > best_gain:
                        best_gain, best_snr, best_halves = gain, snr, half
                        best_state = {k: v.detach().clone()
                                      for k, v in net.state_dict().items()}
        net.load_state_dict(best_state)
        return {"net": net, "gain": best_gain, "snr": best_snr, "halves": best_halves,
                "base": val_base, "history": history,
                "last": history[-1]["val_gain_db"] if history else 0.0}

    def gate(res: dict[str, Any], what: str) -> str | None:
        """Why the correction ``res`` is refused (None: it passes)."""
        best, last, halves = res["gain"], res["last"], res["halves"]
        if best < threshold_db:
            return (f"{what} gain {best:.2f} dB < {threshold_db} dB: the classical result "
                    "is kept")
        if last < threshold_db:  # a lucky checkpoint is no evidence: the end must gain too
            return (f"{what} gain {best:.2f} dB at best but {last:.2f} dB at the end of "
                    f"training (< {threshold_db} dB): the classical result is kept")
        if min(halves) <= 0 and threshold_db >= 0:
            return (f"{what} gain {best:.2f} dB, but not on both halves of the validation "
                    f"traces ({halves[0]:+.2f}, {halves[1]:+.2f} dB): the classical result "
                    "is kept")
        return None

    if mode == "compress":
        a = int(info["regular_axis"])
        found = _regular_lattice(mask, a)
        if found is None or data.shape[-1] // found[1] < _MIN_COMPRESSED:
            return finish(fill, "regular decimation, but the live lines are not on one "
                                f"lattice of >= {_MIN_LATTICE} lines, or too few samples to "
                                "compress time: the classical result")
        lattice, d = found
        ctx.progress(0.05, "deep: time-compressed pairs")
        pairs = _compressed_pairs(ds, data, lattice, d, a, norm, rerun_on)
        # the pairs must pose the survey's problem: the classical method must predict
        # their live lines about as well as it predicts the survey's own
        hide = np.zeros(mask.shape, dtype=bool)
        sel: list[Any] = [slice(None)] * mask.ndim
        sel[a] = lattice[1:-1]
        hide[tuple(sel)] = True
        own = _round_trip_snr(ds, fill, data, hide, norm, rerun_on)
        proxy = pairs["counts"]["proxy_round_trip_snr_db"]
        record.update(regular_training="time-compressed", round_trip_snr_db=round(own, 3),
                      **pairs["counts"])
        if own - proxy > PROXY_GAP_DB:
            return finish(fill, f"regular decimation: the time-compressed pairs do not pose "
                                f"the survey's problem (the classical method predicts the "
                                f"survey's live lines at {own:.1f} dB, the pairs' at "
                                f"{proxy:.1f} dB, more than {PROXY_GAP_DB} dB apart): the "
                                "classical result")
    rng = np.random.default_rng(seed)
    if mode != "compress":
        train_hides, val_hide = _target_sets(mask, info, rng, int(folds))
        if not val_hide.any() or not any(h.any() for h in train_hides):
            return finish(fill, "no live traces to hide in the survey's pattern")
        hides = [*train_hides, val_hide]
        fills = []
        for k, hide in enumerate(hides):
            ctx.progress(0.05 + 0.25 * k / len(hides), "deep: classical fills of hidden traces")
            fills.append(rerun_on(ds, data, mask & ~hide))
        truth_n = _sections(data * norm, section_axis)
        pairs = {"x": np.concatenate([_sections(f * norm, section_axis) for f in fills[:-1]]),
                 "filled": np.concatenate([_sections(~(mask & ~h), section_axis, False)
                                           for h in train_hides]),
                 "targets": np.concatenate([_sections(h, section_axis, False)
                                            for h in train_hides]),
                 "truth": np.concatenate([truth_n] * len(train_hides)),
                 "val_x": _sections(fills[-1] * norm, section_axis),
                 "val_filled": _sections(~(mask & ~val_hide), section_axis, False),
                 "val_scored": _sections(val_hide, section_axis, False),
                 "counts": {"val_traces": int(val_hide.sum()),
                            "target_traces": int(sum(int(h.sum()) for h in train_hides))}}
        pairs["val_truth"] = truth_n[pairs["val_scored"]]
        if info.get("regular"):
            record["regular_training"] = "twice sparser"

    ctx.progress(0.3, "deep: training")
    res = fit(pairs, "deep: training", rng)
    record.update(steps=int(steps), val_gain_db=round(res["gain"], 3),
                  val_snr_db=round(res["snr"], 3), classical_val_snr_db=round(res["base"], 3),
                  val_gain_halves_db=[round(g, 3) for g in res["halves"]],
                  history=res["history"], **pairs["counts"])
    refused = gate(res, "validation")
    if refused:
        return finish(fill, refused)
    record["kept"] = True
    ctx.progress(0.95, "deep: applying the correction")
    net = res["net"]
    corr = apply_residual(net, _sections(fill * norm, section_axis),
                          _sections(~mask, section_axis, False), dev, use_amp)
    corr = _unsections(corr, data.shape, section_axis) / norm
    out = np.where(mask[..., None], data, fill + corr)
    return finish(out, f"validation gain {res['gain']:.2f} dB >= {threshold_db} dB")
