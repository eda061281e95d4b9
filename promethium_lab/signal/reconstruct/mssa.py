"""(Damped) multichannel singular spectrum analysis: rank reduction in the f-x(-y) domain.

Oropeza, V. & Sacchi, M. (2011), "Simultaneous seismic data denoising and reconstruction
via multichannel singular spectrum analysis", *Geophysics* 76(3), V25–V32: at each
frequency the traces form a Hankel matrix (a block Hankel matrix of Hankel blocks for two
trace dims) whose rank equals the number of plane waves; missing traces are restored by
iterating rank reduction ``R`` and reinsertion of the recorded traces,

    S_{k+1} = α_k S_obs + (1 - α_k M) R[S_k],

with ``α_k`` falling from ``alpha[0]`` to ``alpha[1]`` (1: recorded traces reinserted as
they are; < 1: weighted reinsertion for noisy data). Huang, W., Wang, R., Chen, Y., Li, H.
& Gan, S. (2016), "Damped multichannel singular spectrum analysis for 3D random noise
attenuation", *Geophysics* 81(4), V261–V270: the kept singular values are damped by
``1 - (σ_{K+1} / σ_i)^N``. The rank grows from 1 to ``rank`` over the first
``ramp × n_iter`` iterations, which keeps the early, mostly empty iterations from
fitting the holes and speeds convergence.

Rank reduction runs on all the frequencies of a window at once, by a warm-started
randomized subspace iteration (one power step per reinsertion iteration).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import xarray as xr

from promethium_lab.signal.reconstruct.windows import (
    WINDOW_DEFAULTS,
    BlockGrid,
    WindowSpec,
    apply_windowed,
    finish,
    param_error,
    resolve_windows,
    survey_arrays,
    survey_shape,
)

__all__ = ["hankel_operator", "mssa", "mssa_kernel"]


def hankel_operator(shape: Sequence[int]) -> tuple[np.ndarray, sp.csr_matrix, tuple[int, int]]:
    """Index map of the (block) Hankel matrix of a trace grid and its averaging adjoint.

    Returns
    -------
    index : ndarray of int
        ``(L, K)`` flat trace indices: ``H[i, j] = x.flat[index[i, j]]``.
    average : scipy.sparse.csr_matrix
        ``(n_traces, L*K)``: anti-diagonal averaging back to traces.
    (L, K) : tuple of int
    """
    shape = tuple(int(n) for n in shape)
    ls = [n // 2 + 1 for n in shape]
    ks = [n - lv + 1 for n, lv in zip(shape, ls)]
    if len(shape) == 1:
        index = np.arange(ls[0])[:, None] + np.arange(ks[0])[None, :]
    else:
        a = np.arange(ls[0])[:, None, None, None] + np.arange(ks[0])[None, None, :, None]
        b = np.arange(ls[1])[None, :, None, None] + np.arange(ks[1])[None, None, None, :]
        index = (a * shape[1] + b).reshape(ls[0] * ls[1], ks[0] * ks[1])
    n = int(np.prod(shape))
    flat = index.ravel()
    count = np.bincount(flat, minlength=n).astype(np.float64)
    average = sp.csr_matrix((1.0 / count[flat], (flat, np.arange(flat.size))),
                            shape=(n, flat.size))
    return index, average, index.shape


def _herm(a: np.ndarray) -> np.ndarray:
    """Contiguous conjugate transpose of a stack of matrices (keeps matmul on BLAS)."""
    return np.ascontiguousarray(np.conj(np.swapaxes(a, -1, -2)))


def _rank_reduce(h: np.ndarray, rank: int, damping: float | None, q: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Rank-``rank`` (damped) approximation of a stack of matrices ``(nf, L, K)``.

    Randomized subspace iteration (Halko, Martinsson & Tropp (2011), "Finding structure
    with randomness", *SIAM Review* 53(2)) warm-started from the previous call's basis
    ``q`` ``(nf, L, k)``, one power step per call: across the reinsertion iterations the
    basis converges while each call costs a few small batched products.
    """
    y = h @ _herm(_herm(q) @ h)
    q_next, _ = np.linalg.qr(y)
    b = _herm(q_next) @ h
    w, v = np.linalg.eigh(b @ _herm(b))
    r = min(rank, w.shape[-1])
    v = np.ascontiguousarray(v[..., ::-1])
    s = np.sqrt(np.clip(w[..., ::-1], 0.0, None))
    u = q_next @ v[..., :r]
    coef = _herm(v[..., :r]) @ b  # = u^H h
    if damping is not None and s.shape[-1] > r:
        sk = s[:, :r]
        nxt = s[:, r:r + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(sk > 0, 1.0 - (nxt / sk) ** damping, 0.0)
        coef = coef * np.clip(factor, 0.0, 1.0)[:, :, None]
    return u @ coef, q_next


def mssa_kernel(
    block: np.ndarray,
    live: np.ndarray,
    *,
    rank: int,
    n_iter: int = 40,
    damping: float | None = None,
    alpha: tuple[float, float] = (1.0, 1.0),
    ramp: float = 0.5,
    band: tuple[float, float] | None = None,
    dt_ms: float = 1.0,
    denoise: bool = False,
    tpad: float = 1.5,
    energy_floor: float = 1e-7,
    dtype: Any = np.complex64,
) -> np.ndarray:
    """MSSA reconstruction of one window ``(trace dims..., time)``."""
    tshape = block.shape[:-1]
    ntr = int(np.prod(tshape))
    nt = block.shape[-1]
    ntp = int(np.ceil(tpad * nt))
    spec = np.fft.rfft(block.reshape(ntr, nt), ntp, axis=-1)  # (traces, nf)
    freqs = np.fft.rfftfreq(ntp, dt_ms / 1000.0)
    energy = np.sum(np.abs(spec) ** 2, axis=0)
    keep = energy > energy_floor * max(float(energy.max()), 1e-300)
    if band is not None:
        keep &= (freqs >= band[0]) & (freqs <= band[1])
    if not keep.any():
        return block.copy()
    obs = np.ascontiguousarray(spec[:, keep].T, dtype=dtype)  # (nf, traces)
    index, average, (L, K) = hankel_operator(tshape)
    average = average.astype(np.float32 if np.dtype(dtype) == np.complex64 else np.float64)
    sampled = live.reshape(ntr)[None, :]
    x = obs.copy()
    y = x
    nf = x.shape[0]
    k = int(min(rank + 4, L, K))
    q = (np.random.default_rng(0).standard_normal((nf, L, k)) + 0j).astype(dtype)
    a_sched = np.linspace(alpha[0], alpha[1], n_iter)
    ramp_iters = max(ramp * n_iter, 1.0)
    for it in range(n_iter):
        r = rank if ramp <= 0 else int(min(rank, max(1, np.ceil(rank * (it + 1) / ramp_iters))))
        hr, q = _rank_reduce(x[:, index], r, damping, q)
        y = np.ascontiguousarray((average @ hr.reshape(hr.shape[0], L * K).T).T)
        a = a_sched[it]
        x = np.where(sampled, a * obs + (1.0 - a) * y, y)
    res = y if denoise else x
    full = np.zeros_like(spec)
    full[:, keep] = res.T
    return np.fft.irfft(full, ntp, axis=-1)[:, :nt].reshape(block.shape).astype(np.float64)


def mssa(
    ds: xr.Dataset,
    rank: int,
    damping: float | None = None,
    window: WindowSpec = None,
    freq_band: tuple[float, float] | None = None,
    *,
    n_iter: int | None = None,
    alpha: float | tuple[float, float] = 1.0,
    ramp: float = 0.5,
    overlap: WindowSpec = None,
    denoise: bool = False,
    n_jobs: int = 1,
    grid: BlockGrid | None = None,
) -> xr.Dataset:
    """(Damped) MSSA / Cadzow reconstruction (Oropeza & Sacchi, 2011; Huang et al., 2016).

    Parameters
    ----------
    ds : xarray.Dataset
        Survey with ``amplitude`` (trace dims..., time) and ``trace_mask`` (True = live);
        one trace dim (Hankel) or two (block Hankel).
    rank : int
        Number of plane waves (dips) per window, >= 1.
    damping : float, optional
        Damping factor ``N`` of damped MSSA (Huang et al., 2016), > 0; ``None``: plain
        truncated SVD.
    window : WindowSpec, optional
        Windows (traces per trace dim, then samples; larger than the data → clipped);
        default 48 traces × 128 samples (2-D) or 32 × 32 traces × 128 samples (3-D).
    freq_band : (float, float), optional
        Frequencies (Hz) processed; the rest is left out (zero at the filled traces).
        Default: every frequency that holds energy.
    n_iter : int, optional
        Reinsertion iterations; default 40.
    alpha : float or (float, float), default 1
        Reinsertion weight, or its first and last value (linear schedule), in (0, 1].
    ramp : float, default 0.5
        Fraction of the iterations over which the rank grows to ``rank`` (0: fixed rank).
    overlap : WindowSpec, optional
        Window overlaps (default a quarter of the window).
    denoise : bool, default False
        Also replace the live traces by their rank-reduced version (noise attenuation).
    n_jobs : int, default 1
        Windows processed in parallel threads.
    grid : BlockGrid, optional
        ``ds`` is a block of a larger survey (set by ``workflows.reconstruct``): windows
        follow the whole survey's tiling, so blocks join exactly.

    Returns
    -------
    xarray.Dataset
        The filled survey, ``attrs["reconstruction"]`` with method ``"mssa"``.

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for a bad rank, damping, band, alpha, iteration count or
        window, or a ``trace_mask`` with no live trace.
    """
    started = time.perf_counter()
    arrays = survey_arrays(ds)
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
        raise param_error(f"rank must be an integer >= 1, got {rank!r}",
                          hint="about the number of dipping events in a window")
    if n_iter is None:
        n_iter = 40
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise param_error(f"n_iter must be an integer >= 1, got {n_iter!r}")
    if damping is not None and not (np.isfinite(damping) and damping > 0):
        raise param_error(f"damping must be > 0 (or None), got {damping!r}")
    a_pair = (float(alpha), float(alpha)) if np.isscalar(alpha) else tuple(map(float, alpha))
    if len(a_pair) != 2 or not all(0.0 < a <= 1.0 for a in a_pair):
        raise param_error(f"alpha must be in (0, 1] (or a pair of such), got {alpha!r}")
    if not (np.isfinite(ramp) and 0.0 <= ramp <= 1.0):
        raise param_error(f"ramp must be in [0, 1], got {ramp!r}")
    nyquist = 500.0 / arrays.dt_ms
    band = None
    if freq_band is not None:
        try:
            lo, hi = (float(v) for v in freq_band)
        except (TypeError, ValueError) as exc:
            raise param_error(f"freq_band must be (f_min, f_max) in Hz, got {freq_band!r}"
                              ) from exc
        if not (0.0 <= lo < hi):
            raise param_error(f"freq_band needs 0 <= f_min < f_max, got {freq_band!r}",
                              hint=f"the Nyquist frequency is {nyquist:g} Hz")
        band = (lo, hi)
    ntr = len(arrays.trace_dims)
    sizes, overlaps = resolve_windows(survey_shape(arrays.shape, grid), arrays.dims, window,
                                      overlap, WINDOW_DEFAULTS["mssa"][ntr])
    params: dict[str, Any] = dict(rank=int(rank), damping=damping, n_iter=n_iter,
                                  alpha=a_pair, ramp=ramp, freq_band=band, window=sizes,
                                  overlap=overlaps, denoise=denoise)

    def kernel(block: np.ndarray, live: np.ndarray) -> np.ndarray:
        return mssa_kernel(block, live, rank=int(rank), n_iter=n_iter, damping=damping,
                           alpha=a_pair, ramp=ramp, band=band, dt_ms=arrays.dt_ms,
                           denoise=denoise)

    filled = apply_windowed(kernel, arrays.data, arrays.mask, sizes, overlaps, n_jobs=n_jobs,
                            grid=grid,
                            skip_full=not denoise)
    return finish(ds, arrays, filled, "mssa", params, started, keep_live=not denoise)
