"""Remove traces on purpose: random, regular or gap decimation of a survey.

The result is the reconstruction problem with a known answer: the removed traces are
absent (``trace_mask`` False, amplitude 0) in the copy and live in the original.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import xarray as xr

from promethium_lab.core.errors import PromethiumError
from promethium_lab.signal._apply import split, trace_dims

__all__ = ["PATTERNS", "decimate", "removed_mask"]

#: Decimation patterns.
PATTERNS = ("random", "regular", "gap")


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _regular_positions(n: int, m: int) -> np.ndarray:
    """``m`` of ``0 .. n - 1`` spread evenly (Bresenham): odd indices for ``m = n / 2``."""
    i = np.arange(n)
    return i[(i + 1) * m // n > i * m // n]


def decimate(
    ds: xr.Dataset,
    pattern: Literal["random", "regular", "gap"] = "random",
    fraction: float = 0.5,
    seed: int = 0,
    dim: str | None = None,
    gap_width: int | None = None,
) -> xr.Dataset:
    """A copy of the survey with a fraction of its traces removed.

    Removed traces get ``trace_mask`` False and amplitude 0; ``attrs["decimation"]``
    records what was removed. Patterns:

    ``"random"``
        ``round(fraction * n_live)`` live traces drawn uniformly without replacement over
        the whole trace grid (every trace dim) with ``numpy.random.default_rng(seed)``
        (the random-sampling setting of compressive-sensing interpolation, Hennenfent &
        Herrmann (2008), "Simply denoise: wavefield reconstruction via jittered
        undersampling", *Geophysics* 73(3)). ``attrs["decimation"]["removed_flat_index"]``
        lists the C-order flat indices over the trace dims.
    ``"regular"``
        ``round(fraction * n)`` of the ``n`` positions along ``dim`` spread evenly
        (every other one for ``fraction = 0.5``: the aliased, regularly decimated case),
        removed for all other trace dims.
    ``"gap"``
        One block of ``gap_width`` (default ``round(fraction * n)``) consecutive positions
        along ``dim``, placed at random (by ``seed``) with live traces on both sides when
        possible.

    Parameters
    ----------
    ds : xarray.Dataset
        Survey with ``amplitude`` and (optionally) ``trace_mask``.
    pattern : {"random", "regular", "gap"}, default "random"
    fraction : float, default 0.5
        Fraction to remove, ``0 < fraction < 1`` (of the live traces for ``"random"``,
        of the positions along ``dim`` otherwise). Rounded half up.
    seed : int, default 0
        Seed of the random choices; the same seed gives the same traces.
    dim : str, optional
        Trace dim of the ``"regular"`` and ``"gap"`` patterns (default the last trace dim).
    gap_width : int, optional
        Width of the gap in traces (``"gap"`` only), ``1 <= gap_width < n``.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for a fraction outside (0, 1), an unknown pattern or dim, a
        decimation that removes nothing, or one that leaves no live trace.
    """
    if not isinstance(ds, xr.Dataset):
        raise PromethiumError.invalid(
            "decimate takes a survey Dataset (amplitude + trace_mask)",
            hint="wrap arrays with promethium_lab.signal.synthetic.make_survey")
    amp, mask = split(ds)
    tdims = trace_dims(amp)
    if not tdims:
        raise PromethiumError.invalid("the survey has no trace dims to decimate")
    grid = tuple(amp.sizes[d] for d in tdims)
    if mask is None:
        live = np.ones(grid, dtype=bool)
    else:
        live = np.asarray(mask.transpose(*tdims).values, dtype=bool)
    if pattern not in PATTERNS:
        raise PromethiumError.invalid(f"unknown decimation pattern {pattern!r}",
                                      hint=f"one of {PATTERNS}")
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.number)):
        raise PromethiumError.invalid(f"fraction must be a number, got {fraction!r}")
    fraction = float(fraction)
    if not 0 < fraction < 1:
        raise PromethiumError.invalid(f"fraction must be strictly between 0 and 1, got {fraction}",
                                      hint="the fraction of traces to remove, e.g. 0.5")
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise PromethiumError.invalid(f"seed must be a non-negative integer, got {seed!r}") from exc
    n_live = int(live.sum())
    record: dict[str, Any] = {"pattern": pattern, "fraction": fraction, "seed": seed,
                              "trace_dims": tdims}
    removed = np.zeros(grid, dtype=bool)
    if pattern == "random":
        if dim is not None and dim not in tdims:
            raise PromethiumError.invalid(f"{dim!r} is not a trace dim",
                                          hint=f"trace dims: {tdims}")
        m = _round_half_up(fraction * n_live)
        live_flat = np.flatnonzero(live)
        chosen = np.sort(rng.choice(live_flat, size=m, replace=False)) if m else live_flat[:0]
        removed.flat[chosen] = True
        record["removed_flat_index"] = [int(i) for i in chosen]
    else:
        dim = tdims[-1] if dim is None else dim
        if dim not in tdims:
            raise PromethiumError.invalid(f"{dim!r} is not a trace dim",
                                          hint=f"trace dims: {tdims}")
        n = amp.sizes[dim]
        axis = tdims.index(dim)
        if pattern == "regular":
            if gap_width is not None:
                raise PromethiumError.invalid("gap_width applies to pattern='gap' only")
            positions = _regular_positions(n, _round_half_up(fraction * n))
        else:
            if gap_width is None:
                width = _round_half_up(fraction * n)
            else:
                if isinstance(gap_width, bool) or int(gap_width) != gap_width:
                    raise PromethiumError.invalid(
                        f"gap_width must be an integer, got {gap_width!r}")
                width = int(gap_width)
                if not 1 <= width < n:
                    raise PromethiumError.invalid(
                        f"gap_width must be between 1 and {n - 1}, got {width}",
                        hint=f"{dim!r} has {n} positions")
            if width >= n:
                width = n - 1
            if width < 1:
                positions = np.arange(0)
            else:
                # keep a live position on each side of the gap when the line allows it
                lo, hi = (1, n - width - 1) if n - width >= 2 else (0, n - width)
                start = int(rng.integers(lo, hi + 1))
                positions = np.arange(start, start + width)
                record["gap_start"] = start
                record["gap_width"] = width
        sel = [slice(None)] * len(tdims)
        sel[axis] = positions
        removed[tuple(sel)] = True
        removed &= live
        record["dim"] = dim
        record["removed_index"] = [int(i) for i in positions]
        if dim in amp.coords and amp.coords[dim].dims == (dim,):
            labels = np.asarray(amp.coords[dim].values)[positions]
            record["removed_labels"] = [v.item() if hasattr(v, "item") else v for v in labels]
    n_removed = int(removed.sum())
    if n_removed == 0:
        raise PromethiumError.invalid(
            f"decimation pattern={pattern!r} fraction={fraction} removes no live trace",
            hint="raise the fraction (it is rounded to whole traces)")
    new_live = live & ~removed
    if not new_live.any():
        raise PromethiumError.invalid(
            f"decimation pattern={pattern!r} fraction={fraction} leaves no live trace",
            hint="lower the fraction")
    record.update(n_removed=n_removed, n_live_before=n_live, n_live_after=int(new_live.sum()))
    new_mask = xr.DataArray(new_live, dims=tdims)
    out = ds.copy()
    mask_attrs = dict(mask.attrs) if mask is not None else {}
    out["trace_mask"] = xr.Variable(tdims, new_live, attrs=mask_attrs)
    new_amp = amp.where(new_mask, amp.dtype.type(0)).transpose(*amp.dims)
    new_amp.attrs = dict(amp.attrs)
    out["amplitude"] = new_amp.astype(amp.dtype, copy=False)
    out.attrs = {**ds.attrs, "decimation": record}
    return out


def removed_mask(original: xr.Dataset | xr.DataArray, decimated: xr.Dataset | xr.DataArray
                 ) -> xr.DataArray:
    """Traces live in ``original`` and absent in ``decimated`` (both surveys or masks)."""
    a = original["trace_mask"] if isinstance(original, xr.Dataset) else original
    b = decimated["trace_mask"] if isinstance(decimated, xr.Dataset) else decimated
    return (a.astype(bool) & ~b.astype(bool)).rename("removed")
