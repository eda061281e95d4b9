"""Plane-wave destruction (PWD) interpolation of missing traces.

Fomel, S. (2002), "Applications of plane-wave destruction filters", *Geophysics* 67(6),
1946–1960. A plane wave of local slope σ (samples per trace) is annihilated by the
implicit finite-difference filter ``C(Z_t, Z_x) = B(Z_t) - Z_x B(1/Z_t)``, where ``B`` is
the maximally flat approximation of the fractional shift ``Z_t^σ`` with ``2N + 1`` taps
(``order`` N = 1, 2 in the paper; 3 and 4 here too, for steeper dips). Interpolation has
two steps:

1. **Local slopes from the live traces.** Gauss–Newton on ``C(σ) d ≈ 0`` with the
   smoothed division of Fomel's slope estimation, ``Δσ = -S[r r'] / S[r'²]`` (``r`` the
   destruction residual, ``r'`` its derivative in σ, ``S`` triangle smoothing). Only
   pairs of *consecutive live traces* enter: a pair ``g`` traces apart uses the filter
   dilated by ``g`` in time (taps ``g`` samples apart), which destroys the shift ``g σ``
   between them — Fomel's treatment of aliased, decimated data, so that regular
   decimation (every second trace) still yields the slopes of the fine grid. The first
   iterations run on low-passed data (frequency continuation, away from cycle skips).
   Slopes where no pair informs them (wide gaps) are interpolated along the trace axis.
   The time scales (low-pass radii, smoothing radius in time) are set in *dominant
   periods* of the data (its spectral centroid), so that the same defaults serve 2 ms and
   4 ms sampling and low- and high-frequency surveys alike.
2. **Filling.** The missing samples ``m`` minimise ``||D(σ) (K d + U m)||²`` with the
   recorded traces fixed (Fomel's PWD interpolation), a sparse linear least-squares
   problem solved through its normal equations (``scipy.sparse``; a direct sparse LU
   factorisation for small problems, conjugate gradients otherwise).

3-D cubes use PWD along both trace dims, with one slope field for each.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import xarray as xr
from scipy.ndimage import uniform_filter1d

from promethium_lab.core.errors import PromethiumError
from promethium_lab.signal.reconstruct.windows import (
    WINDOW_DEFAULTS,
    BlockGrid,
    WindowSpec,
    apply_windowed,
    finish,
    resolve_windows,
    survey_arrays,
    survey_shape,
)

__all__ = [
    "LOWPASS_PERIODS",
    "ORDERS",
    "RECT_PERIODS",
    "default_rect",
    "dominant_period",
    "estimate_slopes",
    "pwd",
    "pwd_fill",
    "pwd_kernel",
]

_P = np.polynomial.polynomial
#: Supported PWD filter orders (filter length ``2 * order + 1``).
ORDERS = (1, 2, 3, 4)


def _bpoly(order: int) -> np.ndarray:
    """Coefficient polynomials (ascending powers of σ) of the maximally flat filter
    ``B(Z) = Σ_k b_k(σ) Z^k``, ``k = -N..N`` (Fomel 2002, eqs. 13-16 for N = 1, 2):
    ``b_k = (2N)!² / ((4N)! (N+k)! (N-k)!) Π_{j=N+k+1}^{2N} (j - σ) Π_{j=N-k+1}^{2N} (j + σ)``.
    """
    n = order
    out = np.zeros((2 * n + 1, 2 * n + 1))
    for i, k in enumerate(range(-n, n + 1)):
        minus = list(range(n + k + 1, 2 * n + 1))
        plus = list(range(n - k + 1, 2 * n + 1))
        roots = [float(j) for j in minus] + [-float(j) for j in plus]
        poly = _P.polyfromroots(roots) if roots else np.ones(1)
        c = (math.factorial(2 * n) ** 2
             / (math.factorial(4 * n) * math.factorial(n + k) * math.factorial(n - k)))
        out[i, : poly.size] = c * (-1) ** len(minus) * poly
    return out


_BPOLY = {n: _bpoly(n) for n in ORDERS}
_BDPOLY = {n: np.array([_P.polyder(c) for c in v]) for n, v in _BPOLY.items()}
#: Largest |slope| (samples per trace) the filter of each order is trusted with.
_SMAX = {n: n + 1.5 for n in ORDERS}


#: Low-pass radii of the frequency continuation, in dominant periods, two Gauss-Newton
#: iterations each (6, 4 and 2 samples on the 4 ms F3 data, 15, 10 and 5 on the 2 ms land
#: CMP, where radii fixed in samples hardly low-passed and the slopes cycle-skipped).
LOWPASS_PERIODS = (1.0, 2.0 / 3.0, 1.0 / 3.0)
#: Time radius of the slope smoothing in dominant periods, by number of trace dims.
RECT_PERIODS = {1: 5.0, 2: 2.5}
#: Trace radii of the slope smoothing, by number of trace dims.
_RECT_TRACES = {1: 15.0, 2: 5.0}


def dominant_period(data: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Dominant period (samples) of the live traces: the inverse of the centroid frequency
    of their summed power spectrum, clipped to [2, trace length].

    Parameters
    ----------
    data : ndarray
        ``(trace dims..., time)``.
    mask : ndarray of bool, optional
        Live traces over the trace dims (default: all).
    """
    d = np.asarray(data, dtype=np.float64)
    nt = d.shape[-1]
    if mask is not None:
        d = d[np.asarray(mask, dtype=bool)]
    power = (np.abs(np.fft.rfft(d.reshape(-1, nt), axis=-1)) ** 2).sum(axis=0)
    moment = float((np.fft.rfftfreq(nt) * power).sum())
    if moment <= 0:
        return 2.0
    return float(np.clip(float(power.sum()) / moment, 2.0, max(nt, 2)))


def default_rect(n_trace_dims: int, period: float | None = None) -> tuple[float, ...]:
    """Default triangle smoothing radii of the slope estimation, trace dims then time.

    15 traces for sections, 5 × 5 traces for cubes (smoothing over two trace dims gathers
    as many samples with a smaller radius); in time :data:`RECT_PERIODS` (5 for sections,
    2.5 for cubes) dominant periods of the data, or 40 and 20 samples without ``period``.
    """
    k = min(n_trace_dims, 2)
    rt = (40.0 if k == 1 else 20.0) if period is None else RECT_PERIODS[k] * period
    return (_RECT_TRACES[k],) * n_trace_dims + (rt,)


def _coefs(s: np.ndarray, order: int, deriv: bool = False) -> np.ndarray:
    """Filter taps ``b_k(σ)`` (or their σ-derivatives), shape ``(2 * order + 1, *s.shape)``."""
    table = _BDPOLY[order] if deriv else _BPOLY[order]
    s = np.asarray(s, dtype=np.float64)
    powers = np.empty((table.shape[1], *s.shape))
    powers[0] = 1.0
    for j in range(1, table.shape[1]):
        powers[j] = powers[j - 1] * s
    return np.tensordot(table, powers, axes=1)


def _shift_t(a: np.ndarray, k: int) -> np.ndarray:
    """``out[..., t] = a[..., t + k]``, zero outside."""
    if k == 0:
        return a
    out = np.zeros_like(a)
    n = a.shape[-1]
    if abs(k) >= n:
        return out
    if k > 0:
        out[..., : n - k] = a[..., k:]
    else:
        out[..., -k:] = a[..., : n + k]
    return out


def _pair_terms(
    d: np.ndarray, live: np.ndarray, s: np.ndarray, order: int, gmax: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton terms ``r r'`` and ``r'²`` of consecutive live pairs along axis 0.

    ``d`` is ``(n, rest..., nt)``, ``live`` ``(n, rest...)``, ``s`` the slope between
    traces ``x`` and ``x + 1``, ``(n - 1, rest..., nt)``. A pair ``(x, x + g)`` with no
    live trace between contributes, with weight ``1 / g``, to the slopes ``x .. x+g-1``.
    """
    n = d.shape[0]
    num = np.zeros_like(s)
    den = np.zeros_like(s)
    c = np.cumsum(live, axis=0)
    cs = np.concatenate([np.zeros_like(s[:1]), np.cumsum(s, axis=0)], axis=0)
    nw = order
    for g in range(1, min(gmax, n - 1) + 1):
        valid = live[:-g] & live[g:] & ((c[g - 1:-1] - c[:-g]) == 0)
        if not valid.any():
            continue
        sg = (cs[g:] - cs[:-g]) / g
        b = _coefs(sg, order)
        bd = _coefs(sg, order, deriv=True)
        r = np.zeros_like(sg)
        rd = np.zeros_like(sg)
        a_, b_ = d[:-g], d[g:]
        for i, k in enumerate(range(-nw, nw + 1)):
            diff = _shift_t(b_, k * g) - _shift_t(a_, -k * g)
            r += b[i] * diff
            rd += bd[i] * diff
        w = valid[..., None] / g
        rr = w * r * rd
        dd = w * rd * rd
        for j in range(g):
            num[j: j + n - g] += rr
            den[j: j + n - g] += dd
    return num, den


def _triangle(a: np.ndarray, radius: Sequence[float]) -> np.ndarray:
    """Triangle smoothing (two box filters of length ``radius`` per axis; Fomel's
    shaping smoother), O(n) whatever the radius; ``radius <= 1`` leaves an axis alone."""
    out = a
    for ax, r in enumerate(radius):
        n = round(r)
        if n > 1:
            out = uniform_filter1d(out, n, axis=ax, mode="nearest")
            out = uniform_filter1d(out, n, axis=ax, mode="nearest")
    return out


def _lowpass(a: np.ndarray, radius: float) -> np.ndarray:
    """Triangle low-pass along time (the last axis)."""
    n = round(radius)
    if n <= 1:
        return a
    out = uniform_filter1d(a, n, axis=-1, mode="constant")
    return uniform_filter1d(out, n, axis=-1, mode="constant")


def _fill_along(s: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace ``s`` where ``ok`` is False by linear interpolation along axis 0 (nearest
    beyond the ends). Returns the new values and where they are now defined (columns
    with nothing ok are left as they are and stay undefined)."""
    if ok.all():
        return s, ok
    n = s.shape[0]
    idx = np.arange(n).reshape((n,) + (1,) * (s.ndim - 1))
    left = np.maximum.accumulate(np.where(ok, idx, -1), axis=0)
    right = np.flip(np.minimum.accumulate(np.flip(np.where(ok, idx, n), 0), axis=0), 0)
    has_l, has_r = left >= 0, right < n
    li, ri = np.clip(left, 0, n - 1), np.clip(right, 0, n - 1)
    sl = np.take_along_axis(s, li, axis=0)
    sr = np.take_along_axis(s, ri, axis=0)
    span = np.maximum(ri - li, 1)
    wr = np.clip((idx - li) / span, 0, 1)
    both = (1 - wr) * sl + wr * sr
    out = np.where(has_l & has_r, both, np.where(has_l, sl, np.where(has_r, sr, s)))
    return np.where(ok, s, out), ok | has_l | has_r


def _fill_slopes(s: np.ndarray, ok: np.ndarray, n_trace_axes: int) -> np.ndarray:
    """Fill undefined slopes along the slope axis (0) first, then along the other trace
    axes (3-D: whole columns with no informed slope, e.g. missing crosslines); 0 where
    nothing at all is informed."""
    s, ok = _fill_along(s, ok)
    for ax in range(1, n_trace_axes):
        moved, ok_m = _fill_along(np.moveaxis(s, ax, 0), np.moveaxis(ok, ax, 0))
        s, ok = np.moveaxis(moved, 0, ax), np.moveaxis(ok_m, 0, ax)
    return np.where(ok, s, 0.0)


def estimate_slopes(
    data: np.ndarray,
    mask: np.ndarray,
    *,
    axis: int = 0,
    order: int = 2,
    rect: Sequence[float] | None = None,
    n_iter: int = 8,
    gmax: int = 3,
    lowpass: Sequence[float] | None = None,
    eps: float = 0.01,
    s0: np.ndarray | None = None,
) -> np.ndarray:
    """Local PWD slopes (samples per trace) along one trace axis, from the live traces.

    Fomel (2002)'s Gauss-Newton slope estimation with smoothed (shaping-like) division,
    restricted to consecutive live pairs (time-dilated filters for pairs ``g ≤ gmax``
    apart, so aliased regular decimation is handled).

    Parameters
    ----------
    data : ndarray
        ``(trace dims..., time)``; absent traces 0.
    mask : ndarray of bool
        Live traces over the trace dims.
    axis : int
        Trace axis of the slopes.
    order : {1, 2, 3, 4}
        PWD filter order (``2 * order + 1`` taps).
    rect : sequence of float, optional
        Triangle smoothing radii in traces per trace dim, then samples in time;
        default :func:`default_rect` with the data's :func:`dominant_period`.
    n_iter : int
        Gauss-Newton iterations.
    gmax : int
        Largest separation (traces) of a live pair that informs the slopes.
    lowpass : sequence of float, optional
        Triangle low-pass radii (samples) of the first iterations, two iterations each;
        default :data:`LOWPASS_PERIODS` dominant periods.
    eps : float
        Stabilisation of the division, relative to the mean denominator.
    s0 : ndarray, optional
        Starting slopes.

    Returns
    -------
    ndarray
        Slopes between trace ``x`` and ``x + 1`` along ``axis``: the data shape with
        ``n - 1`` along ``axis``.
    """
    d = np.moveaxis(np.asarray(data, dtype=np.float64), axis, 0)
    live = np.moveaxis(np.asarray(mask, dtype=bool), axis, 0)
    shape = (d.shape[0] - 1, *d.shape[1:])
    s = np.zeros(shape) if s0 is None else np.moveaxis(np.asarray(s0, float), axis, 0).copy()
    period = dominant_period(d, live) if rect is None or lowpass is None else 0.0
    rect_m = list(default_rect(d.ndim - 1, period) if rect is None else rect)
    rect_m.insert(0, rect_m.pop(axis))
    if lowpass is None:
        lowpass = [f * period for f in LOWPASS_PERIODS]
    smax = _SMAX[order]
    schedule = [lp for lp in lowpass for _ in range(2)][:n_iter]
    schedule += [0.0] * (n_iter - len(schedule))
    den_s = np.zeros(shape)
    for lp in schedule:
        dd = _lowpass(d, lp) if lp > 1 else d
        num, den = _pair_terms(dd, live, s, order, gmax)
        num_s = _triangle(num, rect_m)
        den_s = _triangle(den, rect_m)
        s = np.clip(s - num_s / (den_s + eps * max(den_s.mean(), 1e-30)), -smax, smax)
    # where no live pair informed the slope (wide gaps), interpolate along the axis
    informed = den_s > 1e-3 * max(den_s.mean(), 1e-30)
    s = _fill_slopes(s, informed, d.ndim - 1)
    return np.moveaxis(s, 0, axis)


def _pwd_rows(s: np.ndarray, axis: int, shape: tuple[int, ...], order: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO triplets of the destruction operator along one trace axis."""
    nw = order
    nt = shape[-1]
    grids = np.meshgrid(*[np.arange(n) for n in s.shape], indexing="ij")
    row = np.ravel_multi_index(grids, s.shape)
    x_next = list(grids)
    x_next[axis] = grids[axis] + 1
    t = grids[-1]
    b = _coefs(s, order)
    rows, cols, vals = [], [], []
    for i, k in enumerate(range(-nw, nw + 1)):
        for sign, src, tk in ((1.0, x_next, t + k), (-1.0, grids, t - k)):
            ok = (tk >= 0) & (tk < nt)
            idx = [g[ok] for g in src[:-1]] + [tk[ok]]
            rows.append(row[ok])
            cols.append(np.ravel_multi_index(idx, shape))
            vals.append(sign * b[i][ok])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def pwd_fill(
    data: np.ndarray,
    mask: np.ndarray,
    slopes: Sequence[np.ndarray | None],
    *,
    order: int = 2,
    eps: float = 1e-4,
    direct_max: int = 150_000,
    cg_tol: float = 1e-6,
    cg_maxiter: int = 2000,
) -> np.ndarray:
    """Fill the absent traces by PWD least squares with the recorded traces fixed.

    Minimises ``Σ_axes ||D_a(σ_a) d||² + eps ||m||²`` over the missing samples ``m``
    (Fomel, 2002). ``slopes[a]`` is the slope field along trace axis ``a`` (``None`` to
    leave that axis out).

    Returns
    -------
    ndarray
        ``data`` with the absent traces filled.
    """
    d = np.asarray(data, dtype=np.float64)
    live = np.asarray(mask, dtype=bool)
    shape = d.shape
    nt = shape[-1]
    r_all, c_all, v_all = [], [], []
    offset = 0
    for a, s in enumerate(slopes):
        if s is None or shape[a] < 2:
            continue
        r, c, v = _pwd_rows(np.asarray(s, dtype=np.float64), a, shape, order)
        r_all.append(r + offset)
        c_all.append(c)
        v_all.append(v)
        offset += int(np.prod(s.shape))
    if not r_all:
        return d.copy()
    D = sp.csc_matrix((np.concatenate(v_all), (np.concatenate(r_all), np.concatenate(c_all))),
                      shape=(offset, d.size))
    known = np.repeat(live.ravel(), nt)
    unk = np.flatnonzero(~known)
    if unk.size == 0:
        return d.copy()
    A = D[:, unk]
    rhs = -(D[:, np.flatnonzero(known)] @ d.ravel()[known])
    N = (A.T @ A).tocsc()
    scale = float(N.diagonal().mean()) or 1.0
    N = N + (eps * scale) * sp.identity(unk.size, format="csc")
    b = A.T @ rhs
    if unk.size <= direct_max:
        x = spla.splu(N, permc_spec="COLAMD").solve(b)
    else:
        diag = N.diagonal()
        M = sp.diags(1.0 / diag)
        x, _ = spla.cg(N, b, rtol=cg_tol, maxiter=cg_maxiter, M=M)
    out = d.ravel().copy()
    out[unk] = x
    return out.reshape(shape)


def pwd_kernel(
    block: np.ndarray,
    live: np.ndarray,
    *,
    order: int = 2,
    rect: Sequence[float] | None = None,
    n_iter: int = 8,
    gmax: int = 3,
    n_outer: int = 1,
    eps: float = 1e-4,
) -> np.ndarray:
    """PWD interpolation of one window: slopes along every trace axis, then the fill.

    ``rect=None``: :func:`default_rect` with the window's :func:`dominant_period`, which
    also sets the low-pass radii of the frequency continuation (:data:`LOWPASS_PERIODS`).
    """
    ntr = block.ndim - 1
    period = dominant_period(block, live)
    if rect is None:
        rect = default_rect(ntr, period)
    lowpass = [f * period for f in LOWPASS_PERIODS]
    slopes: list[np.ndarray | None] = []
    for a in range(ntr):
        if block.shape[a] < 2:
            slopes.append(None)
            continue
        slopes.append(estimate_slopes(block, live, axis=a, order=order, rect=rect,
                                      n_iter=n_iter, gmax=gmax, lowpass=lowpass))
    out = pwd_fill(block, live, slopes, order=order, eps=eps)
    for _ in range(n_outer - 1):
        everywhere = np.ones_like(live)
        slopes = [
            None if s is None else estimate_slopes(out, everywhere, axis=a, order=order,
                                                   rect=rect, n_iter=3, gmax=1, lowpass=(),
                                                   s0=s)
            for a, s in enumerate(slopes)
        ]
        out = pwd_fill(block, live, slopes, order=order, eps=eps)
    return out


def pwd(
    ds: xr.Dataset,
    *,
    order: int | None = None,
    rect: Sequence[float] | None = None,
    n_iter: int = 8,
    gmax: int = 3,
    n_outer: int = 1,
    eps: float = 1e-4,
    window: WindowSpec = None,
    overlap: WindowSpec = None,
    n_jobs: int = 1,
    grid: BlockGrid | None = None,
) -> xr.Dataset:
    """Plane-wave destruction interpolation of a survey's absent traces (Fomel, 2002).

    Parameters
    ----------
    ds : xarray.Dataset
        Survey with ``amplitude`` (trace dims..., time) and ``trace_mask`` (True = live);
        one trace dim (section) or two (cube).
    order : {1, 2, 3, 4}, optional
        PWD filter order: a ``2 * order + 1``-tap maximally flat fractional-shift
        filter, accurate for slopes up to about ``order + 1.5`` samples per trace.
        Default 2 for sections and 1 for cubes (3-tap filters keep the 3-D system sparse
        and were as accurate on the test cubes).
    rect : sequence of float, optional
        Triangle smoothing radii of the slope estimation (Fomel's ``rect``), in traces
        per trace dim then in samples; default 15 traces and 5 dominant periods of each
        window (:func:`dominant_period`) for sections, 5 × 5 traces and 2.5 periods for
        cubes. The frequency continuation's low-pass radii are 1, 2/3 and 1/3 period.
    n_iter : int, default 8
        Gauss-Newton iterations of the slope estimation.
    gmax : int, default 3
        Largest separation (traces) of consecutive live traces used for the slopes
        (time-dilated filters; 2 covers every-second-trace decimation).
    n_outer : int, default 1
        Outer iterations: >1 re-estimates the slopes on the filled data and fills again.
    eps : float, default 1e-4
        Damping of the missing samples relative to the operator scale.
    window, overlap : WindowSpec, optional
        Windows (traces per trace dim, then samples; larger than the data → clipped) and
        overlaps; default 64 traces (2-D) or 32 × 32 traces (3-D) and the whole time axis,
        overlap a quarter of the window.
    n_jobs : int, default 1
        Windows processed in parallel threads.
    grid : BlockGrid, optional
        ``ds`` is a block of a larger survey (set by ``workflows.reconstruct``): windows
        follow the whole survey's tiling, so blocks join exactly.

    Returns
    -------
    xarray.Dataset
        The filled survey (see :func:`promethium_lab.signal.reconstruct.windows.finish`):
        live traces as recorded, ``attrs["reconstruction"]`` with method ``"pwd"``.

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for a bad order, smoothing, iteration count or window, or a
        ``trace_mask`` with no live trace.
    """
    started = time.perf_counter()
    arrays = survey_arrays(ds)
    ntr = len(arrays.trace_dims)
    if order is None:
        order = 2 if ntr == 1 else 1
    if isinstance(order, bool) or order not in ORDERS:
        raise PromethiumError.invalid(
            f"order must be one of {ORDERS}, got {order!r}",
            hint="filter length 2 * order + 1; higher orders follow steeper dips")
    if rect is not None:
        try:
            rect = tuple(float(r) for r in rect)
        except (TypeError, ValueError) as exc:
            raise PromethiumError.invalid(
                f"rect must be a sequence of radii, got {rect!r}") from exc
        if len(rect) != ntr + 1 or any(not np.isfinite(r) or r < 0 for r in rect):
            raise PromethiumError.invalid(f"rect must hold {ntr + 1} non-negative radii "
                                          f"(trace dims then time), got {rect}")
    for name, v, lo in (("n_iter", n_iter, 1), ("gmax", gmax, 1), ("n_outer", n_outer, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise PromethiumError.invalid(f"{name} must be an integer >= {lo}, got {v!r}")
    if not (np.isfinite(eps) and eps >= 0):
        raise PromethiumError.invalid(f"eps must be >= 0, got {eps!r}")
    sizes, overlaps = resolve_windows(survey_shape(arrays.shape, grid), arrays.dims, window,
                                      overlap, WINDOW_DEFAULTS["pwd"][ntr])
    params: dict[str, Any] = dict(order=order, rect=rect, n_iter=n_iter, gmax=gmax,
                                  n_outer=n_outer, eps=eps, window=sizes, overlap=overlaps)

    def kernel(block: np.ndarray, live: np.ndarray) -> np.ndarray:
        return pwd_kernel(block, live, order=order, rect=rect, n_iter=n_iter, gmax=gmax,
                          n_outer=n_outer, eps=eps)

    filled = apply_windowed(kernel, arrays.data, arrays.mask, sizes, overlaps, n_jobs=n_jobs,
                            grid=grid)
    return finish(ds, arrays, filled, "pwd", params, started)
