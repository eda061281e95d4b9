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
randomized subspace iteration (one power step per reinsertion iteration). The Hankel
matrices are never formed: their products with the subspace vectors and the anti-diagonal
averaging of the rank-reduced matrix are circular (2-D) correlations and convolutions over
the trace grid, computed with FFTs batched over frequencies and vectors (Korobeynikov
(2010), "Computation- and space-efficient implementation of SSA", *Statistics and Its
Interface* 3(3); Gao, J., Sacchi, M. & Chen, X. (2013), "A fast reduced-rank interpolation
method for prestack seismic volumes that depend on four spatial dimensions", *Geophysics*
78(1), V21–V30).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.fft as sfft
import scipy.sparse as sp
import xarray as xr

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


class _HankelFFT:
    """Products with the (block) Hankel matrices of a stack of trace grids, by FFTs.

    With ``H[i, j] = x[i + j]`` (multi-indices over the trace grid of shape ``n``, ``i``
    over the ``L`` grid ``ls``, ``j`` over the ``K`` grid ``ks``, ``ls + ks - 1 = n``):

    - ``(H v)[i] = Σ_j x[i+j] v[j]`` and ``(Hᴴ u)[j] = Σ_i conj(x[i+j]) u[i]`` are
      correlations of ``x`` with ``v`` / ``u``;
    - the anti-diagonal sums of ``Σ_r u_r c_rᵀ`` are ``Σ_r u_r * c_r`` (convolutions).

    All are exact as circular ones over any FFT grid ``N >= n`` (per dim): the wrapped
    lags never land on the kept indices. Zero-padded inputs and cropped outputs are
    transformed one axis at a time, skipping the rows that are all zero / not kept.
    Vectors are laid out ``(..., grid)`` (frequencies, vectors, grid dims), flat grids in
    C order as in :func:`hankel_operator`.
    """

    def __init__(self, shape: Sequence[int], workers: int = 1) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.ls = tuple(n // 2 + 1 for n in self.shape)
        self.ks = tuple(n - lv + 1 for n, lv in zip(self.shape, self.ls))
        self.nfft = tuple(sfft.next_fast_len(n) for n in self.shape)
        self.d = len(self.shape)
        self.workers = workers
        count = np.ones(1)
        for lv, kv in zip(self.ls, self.ks):  # anti-diagonal lengths, per dim then outer
            count = np.multiply.outer(count, np.convolve(np.ones(lv), np.ones(kv)))
        self.count = count.reshape(self.shape)

    @property
    def L(self) -> int:
        return int(np.prod(self.ls))

    @property
    def K(self) -> int:
        return int(np.prod(self.ks))

    def pad_fft(self, a: np.ndarray, inverse: bool = False, norm: str = "backward"
                ) -> np.ndarray:
        """Transform of ``a (..., *grid)`` zero-padded to the FFT grid (last axis first)."""
        fn = sfft.ifft if inverse else sfft.fft
        for ax in range(-1, -self.d - 1, -1):
            a = fn(a, n=self.nfft[ax], axis=ax, norm=norm, workers=self.workers)
        return a

    def fft_crop(self, a: np.ndarray, grid: Sequence[int], inverse: bool = False,
                 norm: str = "backward") -> np.ndarray:
        """Transform of ``a (..., *nfft)``, cropped to ``grid`` (first grid axis first)."""
        fn = sfft.ifft if inverse else sfft.fft
        for ax in range(-self.d, 0):
            a = fn(a, axis=ax, norm=norm, workers=self.workers,
                   overwrite_x=True)
            a = a[(Ellipsis, slice(0, grid[ax]), *([slice(None)] * (-ax - 1)))]
        return a

    def spectrum(self, x: np.ndarray) -> np.ndarray:
        """``conj(FFT(x))`` of a stack of trace grids ``(nf, *shape)`` → ``(nf, 1, *nfft)``."""
        return np.conj(self.pad_fft(x))[:, None]

    def adjoint(self, xs_conj: np.ndarray, u_hat: np.ndarray) -> np.ndarray:
        """``Hᴴ u`` from ``conj(FFT(x))`` and the FFTs of the ``u`` → ``(..., *ks)``."""
        return self.fft_crop(xs_conj * u_hat, self.ks, norm="forward")

    def forward(self, xs_conj: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``H v`` for ``v (nf, k, *ks)`` → ``(nf, k, *ls)``."""
        v_hat = self.pad_fft(v, inverse=True, norm="forward")  # = FFT(v)[-f]
        return self.fft_crop(np.conj(xs_conj) * v_hat, self.ls, inverse=True)

    def average(self, u_hat: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Anti-diagonal average of ``Σ_r u_r c_rᵀ`` from the FFTs of the ``u`` ``(nf, r,
        *nfft)`` and the ``c`` ``(nf, r, *ks)`` → ``(nf, *shape)``."""
        prod = u_hat * self.pad_fft(c)
        return self.fft_crop(prod.sum(axis=1), self.shape, inverse=True)


def _rank_reduce(hk: _HankelFFT, xs_conj: np.ndarray, rank: int, damping: float | None,
                 q: np.ndarray, q_hat: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anti-diagonal average of the rank-``rank`` (damped) approximation of the Hankel
    matrices of a stack of trace grids (``xs_conj``: :meth:`_HankelFFT.spectrum`).

    Randomized subspace iteration (Halko, Martinsson & Tropp (2011), "Finding structure
    with randomness", *SIAM Review* 53(2)) warm-started from the previous call's basis
    ``q`` ``(nf, L, k)`` (``q_hat``: its FFTs, ``(nf, k, *nfft)``), one power step per
    call: across the reinsertion iterations the basis converges while each call costs a
    few batched FFTs. Returns the averaged grids ``(nf, *shape)`` and the new basis and
    its FFTs.
    """
    nf, L, k = q.shape
    z = hk.adjoint(xs_conj, q_hat)  # Hᴴ q, (nf, k, *ks)
    y = hk.forward(xs_conj, z).reshape(nf, k, L)  # H Hᴴ q
    q_next, _ = np.linalg.qr(np.swapaxes(y, -1, -2))
    q_next_hat = hk.pad_fft(np.ascontiguousarray(np.swapaxes(q_next, -1, -2))
                            .reshape(nf, k, *hk.ls))
    b = np.conj(hk.adjoint(xs_conj, q_next_hat)).reshape(nf, k, hk.K)  # = q_nextᴴ H
    w, v = np.linalg.eigh(b @ _herm(b))
    r = min(rank, w.shape[-1])
    v = np.ascontiguousarray(v[..., ::-1])
    s = np.sqrt(np.clip(w[..., ::-1], 0.0, None))
    # products with at least two rows of vᴴ: with one row, matmul takes the matrix-vector
    # BLAS path, multithreaded from small sizes on, whose thread hand-offs cost
    # milliseconds per frequency on a loaded machine
    rows = max(r, 2)
    coef = (_herm(v[..., :rows]) @ b)[:, :r]  # = uᴴ H, u = q_next v[:, :r]
    if damping is not None and s.shape[-1] > r:
        sk = s[:, :r]
        nxt = s[:, r:r + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(sk > 0, 1.0 - (nxt / sk) ** damping, 0.0)
        coef = coef * np.clip(factor, 0.0, 1.0).astype(coef.real.dtype)[:, :, None]
    # FFT(u_r) = Σ_m FFT(q_next_m) v[m, r]: no transform of u needed
    vt = np.ascontiguousarray(np.swapaxes(v[..., :rows], -1, -2))
    u_hat = (vt @ q_next_hat.reshape(nf, k, -1))[:, :r]
    avg = hk.average(u_hat.reshape(nf, r, *hk.nfft), coef.reshape(nf, r, *hk.ks))
    return avg, q_next, q_next_hat


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
    dtype = np.dtype(dtype)
    obs = np.ascontiguousarray(spec[:, keep].T, dtype=dtype).reshape(-1, *tshape)
    hk = _HankelFFT(tshape)
    L, K = hk.L, hk.K
    inv_count = (1.0 / hk.count).astype(obs.real.dtype)
    # the 0 Hz (and even-length Nyquist) bins are real, and so stay with explicit Hankel
    # matrices; the FFT products leave rounding-level imaginary parts there, which the
    # reinsertion iterations can amplify (unstable off the reals): project them back
    kept = np.flatnonzero(keep)
    real_bins = (kept == 0) | ((ntp % 2 == 0) & (kept == ntp // 2))
    sampled = live.reshape(tshape)[None]
    x = obs.copy()
    y = x
    nf = x.shape[0]
    k = int(min(rank + 4, L, K))
    q = (np.random.default_rng(0).standard_normal((nf, L, k)) + 0j).astype(dtype)
    q_hat = hk.pad_fft(np.ascontiguousarray(np.swapaxes(q, -1, -2)).reshape(nf, k, *hk.ls))
    a_sched = np.linspace(alpha[0], alpha[1], n_iter)
    ramp_iters = max(ramp * n_iter, 1.0)
    for it in range(n_iter):
        r = rank if ramp <= 0 else int(min(rank, max(1, np.ceil(rank * (it + 1) / ramp_iters))))
        avg, q, q_hat = _rank_reduce(hk, hk.spectrum(x), r, damping, q, q_hat)
        y = avg * inv_count
        if real_bins.any():
            y[real_bins] = y[real_bins].real
        a = float(a_sched[it])  # a Python float keeps the complex dtype
        x = np.where(sampled, a * obs + (1.0 - a) * y, y)
    res = y if denoise else x
    full = np.zeros_like(spec)
    full[:, keep] = res.reshape(nf, ntr).T
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
        raise PromethiumError.invalid(f"rank must be an integer >= 1, got {rank!r}",
                                      hint="about the number of dipping events in a window")
    if n_iter is None:
        n_iter = 40
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise PromethiumError.invalid(f"n_iter must be an integer >= 1, got {n_iter!r}")
    if damping is not None and not (np.isfinite(damping) and damping > 0):
        raise PromethiumError.invalid(f"damping must be > 0 (or None), got {damping!r}")
    a_pair = (float(alpha), float(alpha)) if np.isscalar(alpha) else tuple(map(float, alpha))
    if len(a_pair) != 2 or not all(0.0 < a <= 1.0 for a in a_pair):
        raise PromethiumError.invalid(f"alpha must be in (0, 1] (or a pair of such), got {alpha!r}")
    if not (np.isfinite(ramp) and 0.0 <= ramp <= 1.0):
        raise PromethiumError.invalid(f"ramp must be in [0, 1], got {ramp!r}")
    nyquist = 500.0 / arrays.dt_ms
    band = None
    if freq_band is not None:
        try:
            lo, hi = (float(v) for v in freq_band)
        except (TypeError, ValueError) as exc:
            raise PromethiumError.invalid(
                f"freq_band must be (f_min, f_max) in Hz, got {freq_band!r}") from exc
        if not (0.0 <= lo < hi):
            raise PromethiumError.invalid(f"freq_band needs 0 <= f_min < f_max, got {freq_band!r}",
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
