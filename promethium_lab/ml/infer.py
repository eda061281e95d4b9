"""Sliding-window inference over sections and cubes: cosine blending, batched, lazy.

Two levels, after MONAI's ``monai.inferers.sliding_window_inference`` (Cardoso et al.
(2022), "MONAI: an open-source framework for deep learning in healthcare",
arXiv:2211.02701):

:func:`sliding_window_inference`
    On an in-memory tensor ``(N, C, *spatial)``: pad → scan interval → dense window grid →
    importance (blending) map → batched windows on ``sw_device`` → weighted accumulation
    on ``device`` → normalisation by the summed weights → crop. The same algorithm as
    MONAI's (identical window grid and, with ``blend="gaussian"``, identical weights and
    order of summation), plus a cancel check and a progress callback between batches.
    Per batch there is no Python loop over windows (one gather from a strided view into a
    reused batch buffer, one ``index_add_`` into the output on CPU), and on CPU the
    batches go channels-last to predictors that accept it (:func:`model_predictor`'s):
    oneDNN convolutions run markedly faster in that layout, and the outputs differ from
    contiguous batches' by float rounding only.

:func:`infer_survey`
    On a survey whose samples may live in a Zarr store larger than memory: the survey's
    trace dims are processed in blocks; each block reads only the region covered by the
    windows of the **global** grid that touch it, runs them, and keeps its own part, so
    the result equals one pass over the whole survey while memory stays bounded (about
    ``5 × block_mb``). The blocks are cut, run and assembled by the block engine
    (:mod:`promethium_lab.io.blocks`; :func:`block_inferer` is the "process this block",
    :func:`infer_blocks` the run). Output goes to memory or, with ``out=``, to an atomic
    Zarr store through :func:`promethium_lab.io.store.write_store` (``read_block=``),
    resumable after an interruption. Mode ``"missing"`` replaces only absent traces (windows
    without one are skipped), mode ``"denoise"`` replaces every sample.

Blending. ``"cosine"`` (default) weights each window by the Hann window
``w(n) = sin²(π (n + ½) / L)`` along every axis longer than 1 (Harris (1978), "On the use
of windows for harmonic analysis with the discrete Fourier transform", *Proc. IEEE*
66(1)); its half-sample shift keeps every weight positive, and at 50 % overlap the
shifted windows sum to a constant (constant overlap-add), so the blend is a partition of
unity before normalisation. ``"gaussian"`` is MONAI's importance map
``exp(-x² / 2σ²)``, ``σ = sigma_scale · L``, clamped below at ``max(min, 1e-3)``;
``"constant"`` averages.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import xarray as xr

from promethium_lab.core.context import TaskContext, ensure_context
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.core.serialize import json_safe
from promethium_lab.io.blocks import (
    budget_step,
    filled_survey,
    middle_section,
    run_blocks,
    tile,
)
from promethium_lab.ml.device import autocast, resolve_device
from promethium_lab.ml.models.base import ReconstructionModel
from promethium_lab.signal.reconstruct.windows import read_block

__all__ = [
    "BLEND_MODES",
    "CHANNELS_LAST_OK",
    "MODES",
    "SlidingWindowInferer",
    "blend_window",
    "block_inferer",
    "dense_windows",
    "infer_blocks",
    "infer_survey",
    "inference_record",
    "scan_starts",
    "sliding_window_inference",
]

#: Blending windows.
BLEND_MODES = ("cosine", "gaussian", "constant")
#: What a survey inference replaces.
MODES = ("missing", "denoise")

Predictor = Callable[[torch.Tensor], torch.Tensor]
Window = tuple[int, tuple[slice, ...]]  # (batch item, spatial slices)


# --------------------------------------------------------------------------------------
# the tensor-level engine
# --------------------------------------------------------------------------------------


def blend_window(roi_size: Sequence[int], blend: str = "cosine", sigma_scale: float = 0.125,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The importance map of one window, shape ``roi_size`` (see the module docstring).

    Parameters
    ----------
    roi_size : sequence of int
    blend : {"cosine", "gaussian", "constant"}
    sigma_scale : float
        Gaussian only: ``σ = sigma_scale · L`` per axis (MONAI's default 0.125).
    """
    if blend not in BLEND_MODES:
        raise PromethiumError.invalid(f"unknown blend {blend!r}", hint=f"one of {BLEND_MODES}")
    roi = [int(r) for r in roi_size]
    if blend == "constant":
        return torch.ones(roi, device=device, dtype=dtype)
    w = torch.ones((), dtype=torch.float32)
    for i, n in enumerate(roi):
        if blend == "cosine":
            k = torch.arange(n, dtype=torch.float64)
            x = (torch.sin(math.pi * (k + 0.5) / n) ** 2).float() if n > 1 else torch.ones(1)
        else:  # MONAI's compute_importance_map(mode="gaussian")
            sigma = n * float(sigma_scale)
            x = torch.arange(-(n - 1) / 2.0, (n - 1) / 2.0 + 1, dtype=torch.float)
            x = torch.exp(x**2 / (-2 * sigma**2))
        w = w.unsqueeze(-1) * x[(None,) * i] if i > 0 else x
    if blend == "gaussian":
        w = torch.clamp(w, min=max(float(w.min()), 1e-3))
    return w.to(device=device, dtype=dtype)


def scan_starts(size: int, roi: int, overlap: float) -> list[int]:
    """Window starts along one axis of length ``size >= roi`` (MONAI's grid).

    The step is ``int(roi · (1 - overlap))`` (at least 1, ``roi`` when the window spans the
    axis); the last window is moved back to end at the border.
    """
    if roi >= size:
        return [0]
    step = max(int(roi * (1 - overlap)), 1)
    starts: list[int] = []
    pos = 0
    while True:
        starts.append(min(pos, size - roi))
        if pos + roi >= size:
            break
        pos += step
    return starts


def dense_windows(image_size: Sequence[int], roi_size: Sequence[int],
                  overlap: Sequence[float] | float) -> list[tuple[slice, ...]]:
    """Every window of the grid over ``image_size`` (C order, like MONAI's
    ``dense_patch_slices``)."""
    nd = len(image_size)
    ov = [float(overlap)] * nd if isinstance(overlap, (int, float)) else list(overlap)
    starts = [scan_starts(int(n), int(r), o) for n, r, o in zip(image_size, roi_size, ov)]
    grid = np.stack([g.ravel() for g in np.meshgrid(*starts, indexing="ij")], axis=-1)
    return [tuple(slice(int(s), int(s) + int(r)) for s, r in zip(row, roi_size)) for row in grid]


def _check_overlap(overlap: Sequence[float] | float, nd: int) -> list[float]:
    ov = [overlap] * nd if isinstance(overlap, (int, float)) else list(overlap)
    if len(ov) != nd or any(not 0 <= float(o) < 1 for o in ov):
        raise PromethiumError.invalid(
            f"overlap must be in [0, 1) (one value or one per axis), got {overlap!r}",
                     hint="e.g. 0.5 (half a window)")
    return [float(o) for o in ov]


#: Attribute a predictor sets to True when it takes window batches in any memory format
#: (its result does not depend on the strides of its input): :func:`model_predictor`'s.
CHANNELS_LAST_OK = "accepts_channels_last"


def _window_format(predictor: Predictor, sw_device: torch.device,
                   ndim: int) -> torch.memory_format:
    """Memory format of the window batches handed to ``predictor``.

    Channels-last (``NHWC`` / ``NDHWC``) on CPU for a predictor that declares it accepts
    any layout (:data:`CHANNELS_LAST_OK`): oneDNN runs convolutions on channels-last input
    without reordering it to and from its blocked layout at every layer (and max-pooling
    is much faster in it), and the layout propagates through the network, so the shipped
    models' forward passes run ~1.3-1.4× faster on one thread. The results differ from a
    contiguous batch's by float rounding only (~1e-6 relative). Contiguous otherwise: for
    any other predictor, and on CUDA, as before.
    """
    if sw_device.type != "cpu" or not getattr(predictor, CHANNELS_LAST_OK, False):
        return torch.contiguous_format
    return {4: torch.channels_last, 5: torch.channels_last_3d}.get(ndim, torch.contiguous_format)


class _Scatter:
    """Adds window-shaped values into a contiguous CPU tensor ``(N, C, *spatial)`` with
    one ``index_add_`` per batch: flat indices ``base[window] + pattern``. On CPU,
    ``index_add_`` into a 1-D tensor runs through the indices in order, so the sums are
    bitwise those of adding the windows one by one in the same order (MONAI's)."""

    def __init__(self, target: torch.Tensor, windows: Sequence[Window],
                 roi: Sequence[int]) -> None:
        assert target.is_contiguous() and target.device.type == "cpu"
        self.flat = target.view(-1)
        dtype = torch.int32 if target.numel() < 2**31 else torch.int64
        st = target.stride()
        self.base = torch.tensor([n * st[0] + sum(sl.start * s for sl, s in zip(sls, st[2:]))
                                  for n, sls in windows], dtype=dtype)
        pattern = torch.arange(target.shape[1], dtype=dtype) * st[1]
        for r, s in zip(roi, st[2:]):
            pattern = pattern[..., None] + torch.arange(r, dtype=dtype) * s
        self.pattern = pattern.reshape(1, -1)

    def add(self, b0: int, values: torch.Tensor) -> None:
        """Add ``values`` ``(k, C, *roi)`` at the windows ``b0 .. b0 + k``."""
        k = values.shape[0]
        idx = (self.base[b0:b0 + k, None] + self.pattern).view(-1)
        self.flat.index_add_(0, idx, values.reshape(-1))


def _accumulate(inputs: torch.Tensor, windows: Sequence[Window], predictor: Predictor,
                weight: torch.Tensor, sw_batch_size: int, *, device: torch.device,
                sw_device: torch.device, amp: bool = False,
                on_batch: Callable[[int, int], None] | None = None,
                should_stop: Callable[[], bool] | None = None,
                per_item_norm: bool = False,
                ) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Weighted sums of the predictions over ``windows`` and the sums of the weights.

    Per batch, with no Python loop over its windows: the windows are gathered by one
    advanced index into a strided (``unfold``) view of ``inputs`` and copied into a batch
    buffer allocated once in the predictor's memory format (:func:`_window_format`; for
    CUDA from CPU, a fresh pinned buffer of the caching host allocator, so that an
    asynchronous copy still in flight is never overwritten); the predictor's output times
    the blending window goes into a second reused buffer, and is added into the output by
    one ``index_add_`` (:class:`_Scatter`) when it is summed on CPU, window by window
    otherwise (CUDA's ``index_add_`` is not deterministic). The weight sums are built the
    same way. Expects grad mode off (callers run it under ``torch.inference_mode``).
    """
    spatial = tuple(inputs.shape[2:])
    roi = tuple(int(r) for r in weight.shape)
    n_items = inputs.shape[0]
    total = len(windows)
    norm = torch.zeros((n_items if per_item_norm else 1, 1, *spatial), dtype=torch.float32,
                       device=device)
    out: torch.Tensor | None = None
    w_dev = weight.to(device)
    bs = max(1, min(sw_batch_size, total))
    on_cpu = device.type == "cpu"
    norm_windows = list(windows) if per_item_norm else \
        [(0, sl) for _, sl in windows[: total // n_items if n_items > 1 else total]]
    if on_cpu:
        scatter_norm = _Scatter(norm, norm_windows, roi)
        ones = w_dev.expand(bs, 1, *roi)
        for b0 in range(0, len(norm_windows), bs):
            scatter_norm.add(b0, ones[: min(bs, len(norm_windows) - b0)])
    else:
        for n, sl in norm_windows:
            norm[(n, slice(None), *sl)] += w_dev
    scatter: _Scatter | None = None
    # every window position of ``inputs``, as a view: (N, C, *positions, *roi)
    view = inputs
    for d, r in enumerate(roi):
        view = view.unfold(2 + d, r, 1)
    starts = torch.tensor([[n, *(sl.start for sl in sls)] for n, sls in windows],
                          dtype=torch.long).reshape(total, 1 + len(roi)).T.to(inputs.device)
    pin = sw_device.type == "cuda" and inputs.device.type == "cpu"
    shape = (bs, inputs.shape[1], *roi)
    fmt = _window_format(predictor, sw_device, len(shape))
    buf = None if pin else torch.empty(shape, dtype=inputs.dtype, device=inputs.device,
                                       memory_format=fmt)
    wbuf: torch.Tensor | None = None
    for b0 in range(0, total, bs):
        if should_stop is not None and should_stop():
            raise PromethiumError.canceled("sliding-window inference")
        k = min(bs, total - b0)
        n_idx, *s_idx = starts[:, b0:b0 + k]
        if pin:  # fresh from the caching host allocator: safe with non_blocking copies
            win = torch.empty(shape, dtype=inputs.dtype, pin_memory=True)[:k]
        else:
            assert buf is not None
            win = buf[:k]
        win.copy_(view[(n_idx, slice(None), *s_idx)])
        win = win.to(sw_device, non_blocking=pin)
        with autocast(sw_device, amp):
            pred = predictor(win)
        pred = pred.float()
        if wbuf is None or wbuf.shape[1:] != pred.shape[1:] or wbuf.device != pred.device:
            wbuf = torch.empty((bs, *pred.shape[1:]), dtype=torch.float32, device=pred.device)
        pred = torch.mul(pred, weight, out=wbuf[:k]).to(device)
        if out is None:
            out = torch.zeros((n_items, pred.shape[1], *spatial), dtype=torch.float32,
                              device=device)
            if on_cpu:
                scatter = _Scatter(out, windows, roi)
        if scatter is not None:
            scatter.add(b0, pred)
        else:
            for (n, sl), p in zip(windows[b0:b0 + k], pred):
                out[(n, slice(None), *sl)] += p
        if on_batch is not None:
            on_batch(b0 + k, total)
    return out, norm


def sliding_window_inference(
    inputs: torch.Tensor,
    roi_size: Sequence[int],
    sw_batch_size: int,
    predictor: Predictor,
    overlap: Sequence[float] | float = 0.5,
    blend: str = "cosine",
    sigma_scale: float = 0.125,
    cval: float = 0.0,
    sw_device: torch.device | str | None = None,
    device: torch.device | str | None = None,
    amp: bool = False,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> torch.Tensor:
    """Blend a predictor's outputs over overlapping windows of a tensor.

    Parameters
    ----------
    inputs : torch.Tensor
        ``(N, C, *spatial)``.
    roi_size : sequence of int
        Window per spatial dim (a non-positive entry means the whole dim).
    sw_batch_size : int
        Windows per predictor call (windows of all ``N`` items are batched together).
    predictor : callable
        ``(B, C, *roi) -> (B, C_out, *roi)``. Gets contiguous batches, or channels-last
        ones on CPU when it has the attribute ``accepts_channels_last = True``
        (:data:`CHANNELS_LAST_OK`; :func:`model_predictor`'s predictors of the shipped
        models do). Its output is not modified.
    overlap : float or sequence of float, default 0.5
        Fraction of a window shared with its neighbour, in ``[0, 1)``.
    blend : {"cosine", "gaussian", "constant"}, default "cosine"
        Importance map (:func:`blend_window`).
    sigma_scale : float, default 0.125
        Gaussian blending only.
    cval : float, default 0
        Padding value where ``inputs`` is smaller than the window.
    sw_device, device : torch.device or str, optional
        Where windows run (default: ``inputs``' device) and where the output is summed
        (default: ``inputs``' device).
    amp : bool, default False
        Mixed precision (CUDA only).
    progress : callable, optional
        ``progress(fraction, message)`` after every batch.
    should_stop : callable, optional
        Checked before every batch; True raises ``PromethiumError(CANCELED)``.

    Returns
    -------
    torch.Tensor
        ``(N, C_out, *spatial)`` float32 on ``device``.
    """
    nd = inputs.ndim - 2
    if nd < 1:
        raise PromethiumError.invalid(
            f"inputs must be (N, C, *spatial), got shape {tuple(inputs.shape)}")
    if len(roi_size) != nd:
        raise PromethiumError.invalid(
            f"roi_size {tuple(roi_size)} has {len(roi_size)} sizes for {nd} spatial dims")
    if int(sw_batch_size) < 1:
        raise PromethiumError.invalid(f"sw_batch_size must be >= 1, got {sw_batch_size}")
    ov = _check_overlap(overlap, nd)
    image = tuple(int(s) for s in inputs.shape[2:])
    roi = tuple(int(r) if r and int(r) > 0 else n for r, n in zip(roi_size, image))
    device = torch.device(device) if device is not None else inputs.device
    sw_device = torch.device(sw_device) if sw_device is not None else inputs.device
    # pad: symmetric, where the image is smaller than the window (MONAI's convention)
    pad_lo = [max(r - n, 0) // 2 for r, n in zip(roi, image)]
    pad_hi = [max(r - n, 0) - lo for r, n, lo in zip(roi, image, pad_lo)]
    if any(pad_lo) or any(pad_hi):
        flat: list[int] = []
        for lo, hi in zip(reversed(pad_lo), reversed(pad_hi)):
            flat += [lo, hi]
        inputs = torch.nn.functional.pad(inputs, flat, mode="constant", value=cval)
    padded = tuple(int(s) for s in inputs.shape[2:])
    slices = dense_windows(padded, roi, ov)
    windows: list[Window] = [(n, sl) for n in range(inputs.shape[0]) for sl in slices]
    weight = blend_window(roi, blend, sigma_scale, device=sw_device)

    def on_batch(done: int, total: int) -> None:
        if progress is not None:
            progress(done / total, f"{done}/{total} windows")

    with torch.inference_mode():
        out, norm = _accumulate(inputs, windows, predictor, weight, int(sw_batch_size),
                                device=device, sw_device=sw_device, amp=amp,
                                on_batch=on_batch, should_stop=should_stop)
        assert out is not None
        out /= norm
        crop = tuple(slice(lo, lo + n) for lo, n in zip(pad_lo, image))
        return out[(slice(None), slice(None), *crop)]


class SlidingWindowInferer:
    """Parameters of :func:`sliding_window_inference` kept for repeated calls (MONAI's
    ``SlidingWindowInferer``): ``SlidingWindowInferer(roi, 8)(inputs, predictor)``."""

    def __init__(self, roi_size: Sequence[int], sw_batch_size: int = 8,
                 overlap: Sequence[float] | float = 0.5, blend: str = "cosine",
                 **kwargs: Any) -> None:
        self.roi_size = tuple(roi_size)
        self.sw_batch_size = int(sw_batch_size)
        self.overlap = overlap
        self.blend = blend
        self.kwargs = kwargs

    def __call__(self, inputs: torch.Tensor, predictor: Predictor) -> torch.Tensor:
        return sliding_window_inference(inputs, self.roi_size, self.sw_batch_size, predictor,
                                        self.overlap, self.blend, **self.kwargs)


def model_predictor(model: ReconstructionModel,
                    squeeze_axes: Sequence[int] = ()) -> Predictor:
    """A predictor for windows ``(B, 2, *roi)`` holding ``[x, mask]``: runs
    ``model.reconstruct`` (after squeezing the singleton spatial ``squeeze_axes``, for a
    2-D model on cube windows) and returns ``(B, 1, *roi)``.

    The predictor accepts channels-last batches (:data:`CHANNELS_LAST_OK`, so the engine
    hands it CPU batches in that layout) when the model's class says so with a class
    attribute ``accepts_channels_last``; by default, the architectures shipped in
    :mod:`promethium_lab.ml.models` do (convolutions, GroupNorm, pooling and elementwise
    operations only) and other classes do not."""
    axes = sorted(2 + a for a in squeeze_axes)
    cls = type(model)
    layout_agnostic = bool(getattr(cls, CHANNELS_LAST_OK,
                                   cls.__module__.startswith("promethium_lab.ml.models.")))

    def predict(win: torch.Tensor) -> torch.Tensor:
        x, m = win[:, :1], win[:, 1:2]
        for a in reversed(axes):
            x, m = x.squeeze(a), m.squeeze(a)
        y = model.reconstruct(x, m)
        for a in axes:
            y = y.unsqueeze(a)
        return y

    setattr(predict, CHANNELS_LAST_OK, layout_agnostic)
    return predict


# --------------------------------------------------------------------------------------
# survey-level, blocked
# --------------------------------------------------------------------------------------


def _read(data: Any, index: tuple[slice, ...]) -> np.ndarray:
    return read_block(data, index, np.float32)


class _BlockInferer:
    """Inference of any block of trace dims against the survey's global window grid."""

    def __init__(self, data: Any, live: np.ndarray, model: ReconstructionModel,
                 roi: tuple[int, ...], squeeze: tuple[int, ...], overlap: list[float],
                 blend: str, batch_size: int, device: torch.device, amp: bool, mode: str,
                 context: TaskContext) -> None:
        self.data = data
        self.live = live
        self.squeeze = squeeze
        self.shape = tuple(int(n) for n in data.shape)
        self.roi = roi
        self.model = model
        self.predictor = model_predictor(model, squeeze)
        self.mode = mode
        self.batch_size = batch_size
        self.device = device
        self.amp = amp
        self.context = context
        self.pad_lo = [max(r - n, 0) // 2 for r, n in zip(roi, self.shape)]
        self.padded = [max(r, n) for r, n in zip(roi, self.shape)]
        self.starts = [np.asarray(scan_starts(p, r, o))
                       for p, r, o in zip(self.padded, roi, overlap)]
        self.weight = blend_window(roi, blend, device=device)
        self.windows_run = 0
        self.on_batch: Callable[[int, int], None] | None = None
        self.was_training = False  # the model's mode before it was put in eval mode
        self.params: dict[str, Any] = {}  # inference parameters, for the result's record

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "context": None, "on_batch": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.context = ensure_context(None)

    def _axis_range(self, axis: int, lo: int, hi: int) -> tuple[np.ndarray, int, int]:
        """Starts of the windows touching ``[lo, hi)`` (original coords) and their span."""
        s = self.starts[axis]
        p0, p1 = lo + self.pad_lo[axis], hi + self.pad_lo[axis]
        touch = s[(s < p1) & (s + self.roi[axis] > p0)]
        return touch, int(touch.min()), int(touch.max()) + self.roi[axis]

    def count(self, core: tuple[slice, ...]) -> int:
        """Windows a block runs at most (before skipping all-live ones)."""
        full = (*core, slice(0, self.shape[-1]))
        return math.prod(len(self._axis_range(a, sl.start, sl.stop)[0])
                         for a, sl in enumerate(full))

    def __call__(self, core: tuple[slice, ...]) -> np.ndarray:
        core = tuple(slice(*sl.indices(n)[:2]) for sl, n in zip(core, self.shape))
        full = (*core, slice(0, self.shape[-1]))
        touches, read, pads, region_lo = [], [], [], []
        for a, sl in enumerate(full):
            touch, lo, hi = self._axis_range(a, sl.start, sl.stop)
            r_lo, r_hi = lo - self.pad_lo[a], hi - self.pad_lo[a]
            before, after = max(0, -r_lo), max(0, r_hi - self.shape[a])
            touches.append(touch - lo)
            read.append(slice(max(r_lo, 0), min(r_hi, self.shape[a])))
            pads.append((before, after))
            region_lo.append(r_lo)
        samples = _read(self.data, tuple(read))
        live = self.live[tuple(read[:-1])]
        samples = np.where(live[..., None], samples, np.float32(0))
        if not np.isfinite(samples).all():
            where = {f"axis {a}": (s.start, s.stop) for a, s in enumerate(read[:-1])}
            raise PromethiumError(
                ErrorCode.BAD_DATA, f"the survey has NaN or infinite samples on live traces "
                                    f"in the block {where}",
                hint="clean them, or mark those traces absent (trace_mask False), then "
                     "run again")
        if any(b or a for b, a in pads):
            samples = np.pad(samples, pads)
            live = np.pad(live, pads[:-1])
        # windows of the global grid, relative to the region
        grid = np.meshgrid(*touches, indexing="ij")
        starts = np.stack([g.ravel() for g in grid], axis=-1)
        if self.mode == "missing":
            keep = [not live[tuple(slice(s, s + r) for s, r in zip(row[:-1], self.roi[:-1]))]
                    .all() for row in starts]
            starts = starts[np.asarray(keep, dtype=bool)]
        windows: list[Window] = [(0, tuple(slice(int(s), int(s) + r)
                                           for s, r in zip(row, self.roi))) for row in starts]
        # crop of the core inside the region
        crop = tuple(slice(sl.start - lo, sl.stop - lo) for sl, lo in zip(full, region_lo))
        x_core = samples[crop]
        if not windows:
            return x_core.astype(np.float32)
        x = torch.from_numpy(samples)
        m = torch.from_numpy(live.astype(np.float32))[..., None].expand_as(x)
        inputs = torch.stack([x, m])[None]
        with torch.inference_mode():
            out, norm = _accumulate(inputs, windows, self.predictor, self.weight,
                                    self.batch_size, device=torch.device("cpu"),
                                    sw_device=self.device, amp=self.amp,
                                    on_batch=self.on_batch,
                                    should_stop=self.context.should_stop)
        self.windows_run += len(windows)
        assert out is not None
        acc = out[(0, 0, *crop)].numpy()
        wsum = norm[(0, 0, *crop)].numpy()
        pred = np.divide(acc, wsum, out=np.zeros_like(acc), where=wsum > 0)
        if self.mode == "missing":
            live_core = live[crop[:-1]]
            return np.where(live_core[..., None] | (wsum == 0), x_core, pred).astype(np.float32)
        return pred.astype(np.float32)


def _window_plan(model: ReconstructionModel, dims: Sequence[str], shape: Sequence[int],
                 patch: Sequence[int] | None, line_dim: str | None
                 ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Window over every dim of the survey and the singleton axes a 2-D model squeezes."""
    trace_dims = list(dims[:-1])
    nd_model = model.spatial_dims
    p = model.check_patch(patch if patch is not None else model.patch)
    if nd_model - 1 > len(trace_dims):
        raise PromethiumError.invalid(
            f"a {nd_model}-D model needs {nd_model - 1} trace dims; the survey has "
            f"{trace_dims}", hint="use a 2-D model on 2-D sections")
    if line_dim is not None and line_dim not in trace_dims:
        raise PromethiumError.invalid(
            f"line_dim {line_dim!r} is not a trace dim", hint=f"one of {trace_dims}")
    if nd_model == len(dims):
        return tuple(p), ()
    if nd_model == 2:
        if line_dim is None:
            line_dim = trace_dims[-1]
        axis = trace_dims.index(line_dim)
        roi = [1] * len(trace_dims) + [p[-1]]
        roi[axis] = p[0]
        squeeze = tuple(a for a in range(len(trace_dims)) if a != axis)
        return tuple(roi), squeeze
    raise PromethiumError.invalid(
        f"a {nd_model}-D model does not fit a survey with trace dims {trace_dims}")


def block_inferer(
    ds: xr.Dataset,
    model: ReconstructionModel,
    *,
    mode: str = "missing",
    patch: Sequence[int] | None = None,
    overlap: float = 0.5,
    batch_size: int = 16,
    blend: str = "cosine",
    device: str | torch.device | None = "auto",
    amp: bool | None = None,
    line_dim: str | None = None,
    context: TaskContext | None = None,
) -> _BlockInferer:
    """The "process this block" of deep inference: ``engine(trace_slices) -> ndarray``.

    The engine runs the windows of the survey's **global** window grid that touch a block
    (reading only the region they cover) and keeps the block's part, so any tiling of the
    trace dims (:func:`promethium_lab.io.blocks.tile`) gives the result of one pass over
    the whole survey. Parameters as :func:`infer_survey`; the model is put in eval mode on
    its device (its former mode is kept as ``engine.was_training``). Picklable (for Dask
    workers).
    """
    from promethium_lab.ml.data import resolve_survey

    if mode not in MODES:
        raise PromethiumError.invalid(f"unknown mode {mode!r}", hint=f"one of {MODES}")
    if blend not in BLEND_MODES:
        raise PromethiumError.invalid(f"unknown blend {blend!r}", hint=f"one of {BLEND_MODES}")
    if int(batch_size) < 1:
        raise PromethiumError.invalid(f"batch_size must be >= 1, got {batch_size}")
    dev = resolve_device(device)
    use_amp = dev.type == "cuda" if amp is None else bool(amp) and dev.type == "cuda"
    ds = resolve_survey(ds)
    amp_da = ds["amplitude"]
    dims = tuple(str(d) for d in amp_da.dims)
    shape = tuple(int(n) for n in amp_da.shape)
    roi, squeeze = _window_plan(model, dims, shape, patch, line_dim)
    ov = _check_overlap(overlap, len(dims))
    for a in squeeze:
        ov[a] = 0.0
    if "trace_mask" in ds:
        live = np.asarray(ds["trace_mask"].transpose(*dims[:-1]).values, dtype=bool)
    else:
        live = np.ones(shape[:-1], dtype=bool)
    if isinstance(amp_da.data, np.ndarray) and not np.isfinite(
            amp_da.values[live]).all():
        raise PromethiumError(ErrorCode.BAD_DATA,
                              "the survey has NaN or infinite samples on live traces",
                              hint="clean them, or mark those traces absent (trace_mask "
                                   "False), then run again")
    was_training = model.training
    model.eval()
    model.to(dev)
    engine = _BlockInferer(amp_da.data, live, model, roi, squeeze, ov, blend, int(batch_size),
                           dev, use_amp, mode, ensure_context(context))
    engine.was_training = was_training
    engine.params = {
        "mode": mode, "patch": [roi[i] for i in range(len(roi)) if i not in squeeze],
        "window": list(roi),
        "overlap": float(overlap) if isinstance(overlap, (int, float)) else
        [float(o) for o in overlap],
        "batch_size": int(batch_size), "blend": blend, "device": str(dev), "amp": use_amp,
        "line_dim": line_dim, "model": None, "architecture": model.architecture,
        "model_config": model.config()}
    return engine


def inference_record(engine: _BlockInferer, method: str | None = None,
                     model_ref: str | None = None) -> dict[str, Any]:
    """``attrs["reconstruction"]`` of a survey inferred by ``engine`` (without the time it
    took): the method (default the architecture), the inference parameters, the model
    reference and the number of traces filled."""
    params = {**engine.params, "model": model_ref}
    return {"method": method or engine.model.architecture, "params": params,
            "n_filled": int((~engine.live).sum())}


def infer_survey(
    ds: xr.Dataset,
    model: ReconstructionModel,
    *,
    mode: str = "missing",
    patch: Sequence[int] | None = None,
    overlap: float = 0.5,
    batch_size: int = 16,
    blend: str = "cosine",
    device: str | torch.device | None = "auto",
    amp: bool | None = None,
    line_dim: str | None = None,
    block_mb: float = 32.0,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    time_copy: bool = True,
    method: str | None = None,
    model_ref: str | None = None,
    context: TaskContext | None = None,
) -> xr.Dataset:
    """Apply a reconstruction model to a survey by blocked sliding-window inference.

    The engine is :func:`block_inferer`; the blocks are cut, run and assembled by
    :mod:`promethium_lab.io.blocks` (see :func:`infer_blocks`).

    Parameters
    ----------
    ds : xarray.Dataset
        Survey (``amplitude`` numpy- or dask/zarr-backed, ``time`` last; ``trace_mask``).
    model : ReconstructionModel
    mode : {"missing", "denoise"}, default "missing"
        ``"missing"``: fill absent traces, keep live ones exactly; ``"denoise"``: the model's
        output everywhere.
    patch : sequence of int, optional
        Window (model's default ``model.patch``); sides multiples of ``2**depth``.
    overlap : float, default 0.5
    batch_size : int, default 16
        Windows per forward pass.
    blend : {"cosine", "gaussian", "constant"}, default "cosine"
    device : str or torch.device, default "auto"
        ``"cuda"`` without a GPU raises ``NO_GPU``.
    amp : bool, optional
        Mixed precision; default on for CUDA.
    line_dim : str, optional
        For a 2-D model on a cube: the trace dim its sections run along (default the last).
    block_mb : float, default 32
        Samples per block of trace dims; the inference itself holds about
        ``5 × block_mb``, plus the result: all of it in memory without ``out``, one
        :func:`~promethium_lab.io.store.write_store` block of it with ``out``.
    out : path, optional
        Write the result to this Zarr store (atomic, resumable) and return it opened lazily.
    overwrite : bool, default False
    time_copy : bool, default True
        With ``out``: also write the compact view copies (``view_<dim>``, see
        :mod:`promethium_lab.io.views`). ``write_store`` aligns its blocks to their chunks,
        which are wide in the trace dims, so leave it off when the result of one such
        block would not fit in memory.
    method, model_ref : str, optional
        Recorded in ``attrs["reconstruction"]``.
    context : TaskContext, optional
        Progress, preview and cancel.

    Returns
    -------
    xarray.Dataset
        The survey with the new ``amplitude``; ``trace_mask`` True everywhere, the given
        mask as ``input_trace_mask``, ``attrs["reconstruction"]``.
    """
    from promethium_lab.ml.data import resolve_survey

    started = time.perf_counter()
    _check_block_mb(block_mb)
    ds = resolve_survey(ds)
    engine = block_inferer(ds, model, mode=mode, patch=patch, overlap=overlap,
                           batch_size=batch_size, blend=blend, device=device, amp=amp,
                           line_dim=line_dim, context=context)
    return infer_blocks(ds, engine, inference_record(engine, method, model_ref),
                        block_mb=block_mb, out=out, overwrite=overwrite, time_copy=time_copy,
                        context=context, started=started)


def _check_block_mb(block_mb: float) -> None:
    if not block_mb > 0:
        raise PromethiumError.invalid(f"block_mb must be > 0, got {block_mb}")


def infer_blocks(ds: xr.Dataset, blocks: Callable[[tuple[slice, ...]], np.ndarray],
                 record: dict[str, Any], *, context: TaskContext | None = None,
                 started: float | None = None, block_mb: float = 32.0,
                 out: str | os.PathLike | None = None, overwrite: bool = False,
                 time_copy: bool = True) -> xr.Dataset:
    """A survey filled by a deep block function, in memory or streamed to a store.

    The trace dims are tiled by :func:`~promethium_lab.io.blocks.tile` in blocks of
    :func:`~promethium_lab.io.blocks.budget_step` (``block_mb``) and run by
    :func:`~promethium_lab.io.blocks.run_blocks`, with progress (by windows, against a
    plan of the whole survey), previews and cancel checks; the result is
    :func:`~promethium_lab.io.blocks.filled_survey`. With ``out`` the blocks run inside
    the ones :func:`~promethium_lab.io.store.write_store` writes (atomic, resumable).

    Parameters
    ----------
    ds : xarray.Dataset
        The survey the result is laid out like (its own samples, not gained ones).
    blocks : callable
        ``blocks(trace_slices) -> ndarray``: a :func:`block_inferer` engine, or a wrapper
        of one with the engine as ``blocks.engine``; the engine's model is set back to
        its former training mode at the end.
    record : dict
        ``attrs["reconstruction"]`` (:func:`inference_record`); ``seconds`` is added.
    context : TaskContext, optional
        Progress, preview and cancel.
    started : float, optional
        ``time.perf_counter()`` at the start of the work (default now).
    block_mb, out, overwrite, time_copy
        As :func:`infer_survey`.
    """
    started = time.perf_counter() if started is None else started
    _check_block_mb(block_mb)
    ctx = ensure_context(context)
    engine: _BlockInferer = getattr(blocks, "engine", blocks)
    shape = tuple(int(n) for n in ds["amplitude"].shape)
    runner = _Runner(blocks, engine, shape, budget_step(shape[:-1], shape[-1], block_mb), ctx)
    try:
        if out is None:
            result = runner(tuple(slice(0, n) for n in shape[:-1]))
            out_ds = filled_survey(ds, result, engine.live)
            out_ds.attrs = _template_attrs(ds, record, started)
        else:
            out_ds = _infer_to_store(ds, runner, record, started, out, overwrite, block_mb,
                                     time_copy)
    finally:
        engine.model.train(engine.was_training)
    ctx.progress(1.0, "inference done")
    return out_ds


class _Runner:
    """``runner(region) -> ndarray``: the block function over a region of trace dims, in
    :func:`~promethium_lab.io.blocks.tile` blocks run by
    :func:`~promethium_lab.io.blocks.run_blocks`, with progress (by windows, against a
    plan of the whole survey), previews and cancel checks."""

    def __init__(self, blocks: Callable[[tuple[slice, ...]], np.ndarray],
                 engine: _BlockInferer, shape: tuple[int, ...], step: tuple[int, ...],
                 ctx: TaskContext) -> None:
        self.blocks = blocks
        self.engine = engine
        self.shape = shape
        self.step = step
        self.ctx = ctx
        self.total = float(sum(engine.count(b) for b in tile(shape[:-1], step))) or 1.0
        self.done = 0.0

    def _report(self, value: float) -> None:
        self.ctx.progress(min(value / self.total, 1.0), "sliding-window inference")

    def __call__(self, region: tuple[slice, ...]) -> np.ndarray:
        """The result over ``region`` (trace dims), all samples."""
        origin = [sl.start for sl in region]
        parts = tile([sl.stop - sl.start for sl in region], self.step, origin)
        out = np.empty((*(sl.stop - sl.start for sl in region), self.shape[-1]),
                       dtype=np.float32)

        def work(i: int) -> tuple[int, int, np.ndarray]:
            self.ctx.check("deep reconstruction")
            n_win = self.engine.count(parts[i])
            base = self.done

            def on_batch(k: int, n: int) -> None:
                self._report(base + n_win * k / max(n, 1))

            self.engine.on_batch = on_batch
            return i, n_win, self.blocks(parts[i])

        def done(result: tuple[int, int, np.ndarray]) -> None:
            i, n_win, block = result
            out[tuple(slice(sl.start - o, sl.stop - o) for sl, o in zip(parts[i], origin))] \
                = block
            self.done += n_win
            self._report(self.done)
            if self.ctx.on_preview is not None:
                section = middle_section(block)
                self.ctx.preview(xr.DataArray(section[:: max(1, section.shape[0] // 256),
                                                      :: max(1, section.shape[1] // 512)],
                                              dims=("trace", "time"), name="amplitude"))

        run_blocks(work, range(len(parts)), on_done=done)
        return out


def _template_attrs(ds: xr.Dataset, record: dict[str, Any], started: float) -> dict[str, Any]:
    rec = dict(record)
    rec["seconds"] = round(time.perf_counter() - started, 6)
    return {**ds.attrs, "reconstruction": json_safe(rec)}


def _infer_to_store(ds: xr.Dataset, runner: _Runner, record: dict[str, Any], started: float,
                    out: str | os.PathLike, overwrite: bool, block_mb: float,
                    time_copy: bool) -> xr.Dataset:
    from promethium_lab.io.store import open_store, write_store

    template = filled_survey(ds, input_mask=runner.engine.live)
    template.attrs = _template_attrs(ds, record, started)
    fingerprint = {"reconstruction": json_safe({k: v for k, v in record.items()
                                                 if k != "seconds"}),
                   "weights": _weights_hash(runner.engine.model),
                   "source": str(ds.attrs.get("source_path", ""))}
    path = write_store(template, out, read_block=runner, fingerprint=fingerprint,
                       views=None if time_copy else (), overwrite=overwrite,
                       workers=1, block_mb=block_mb, progress=False,
                       should_stop=runner.ctx.should_stop)
    return open_store(path)


def _weights_hash(model: torch.nn.Module) -> str:
    """sha256 of a model's parameters and buffers (identity of a partial output store)."""
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


