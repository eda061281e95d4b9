"""MSSA's FFT-based (block) Hankel products against the explicit matrices.

The kernel never forms the Hankel matrices: ``H v``, ``Hᴴ u`` and the anti-diagonal
averaging of ``Σ_r u_r c_rᵀ`` are circular correlations / convolutions over the trace
grid. Here they are checked against the matrices built from :func:`hankel_operator`, and
the whole kernel against a straightforward explicit-matrix implementation.
"""

from __future__ import annotations

import numpy as np
import pytest

from promethium_lab.signal.reconstruct.mssa import _HankelFFT, hankel_operator, mssa_kernel

# 1 and 2 trace dims, odd and even sizes, sizes whose FFT grid is padded (11 → 12,
# 13 → 15, 17 → 18), and a degenerate dim of 1
SHAPES = [(7,), (8,), (11,), (2,), (5, 6), (7, 9), (8, 8), (13, 17), (1, 4)]


def _crandn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_hankel_products_and_averaging_match_explicit(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(shape))
    nf, k = 3, 4
    hk = _HankelFFT(shape)
    index, average, (L, K) = hankel_operator(shape)
    assert (hk.L, hk.K) == (L, K)
    x = _crandn(rng, nf, *shape)
    h = x.reshape(nf, -1)[:, index]  # (nf, L, K)
    u = _crandn(rng, nf, k, L)
    v = _crandn(rng, nf, k, K)
    xs = hk.spectrum(x)

    adj = hk.adjoint(xs, hk.pad_fft(u.reshape(nf, k, *hk.ls))).reshape(nf, k, K)
    np.testing.assert_allclose(adj, np.einsum("fij,fki->fkj", h.conj(), u),
                               rtol=0, atol=1e-12 * np.abs(adj).max())

    fwd = hk.forward(xs, v.reshape(nf, k, *hk.ks)).reshape(nf, k, L)
    np.testing.assert_allclose(fwd, np.einsum("fij,fkj->fki", h, v),
                               rtol=0, atol=1e-12 * np.abs(fwd).max())

    low_rank = np.einsum("fki,fkj->fij", u, v)  # Σ_r u_r v_rᵀ, (nf, L, K)
    ref = (average @ low_rank.reshape(nf, L * K).T).T
    avg = hk.average(hk.pad_fft(u.reshape(nf, k, *hk.ls)), v.reshape(nf, k, *hk.ks))
    got = (avg / hk.count).reshape(nf, -1)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    # the counts are those of the explicit averaging operator
    np.testing.assert_allclose(1.0 / hk.count.ravel(), average.max(axis=1).toarray().ravel())


def test_hankel_products_in_single_precision() -> None:
    rng = np.random.default_rng(1)
    shape, nf, k = (9, 10), 2, 3
    hk = _HankelFFT(shape)
    index, _, (L, _) = hankel_operator(shape)
    x = _crandn(rng, nf, *shape).astype(np.complex64)
    u = _crandn(rng, nf, k, L).astype(np.complex64)
    adj = hk.adjoint(hk.spectrum(x), hk.pad_fft(u.reshape(nf, k, *hk.ls)))
    assert adj.dtype == np.complex64
    ref = np.einsum("fij,fki->fkj", x.reshape(nf, -1)[:, index].conj().astype(complex), u)
    np.testing.assert_allclose(adj.reshape(ref.shape), ref, rtol=0,
                               atol=1e-5 * np.abs(ref).max())


def _explicit_kernel(block: np.ndarray, live: np.ndarray, rank: int, n_iter: int,
                     damping: float | None, alpha: tuple[float, float], denoise: bool,
                     ) -> np.ndarray:
    """The kernel with explicit Hankel matrices and sparse averaging (complex128)."""
    tshape, nt = block.shape[:-1], block.shape[-1]
    ntr, ntp = int(np.prod(tshape)), int(np.ceil(1.5 * nt))
    spec = np.fft.rfft(block.reshape(ntr, nt), ntp, axis=-1)
    energy = np.sum(np.abs(spec) ** 2, axis=0)
    keep = energy > 1e-7 * energy.max()
    obs = spec[:, keep].T
    index, average, (L, K) = hankel_operator(tshape)
    nf, k = obs.shape[0], min(rank + 4, L, K)
    q = np.random.default_rng(0).standard_normal((nf, L, k)) + 0j
    x = y = obs
    herm = lambda a: np.conj(np.swapaxes(a, -1, -2))  # noqa: E731
    for it, a in enumerate(np.linspace(alpha[0], alpha[1], n_iter)):
        r = int(min(rank, max(1, np.ceil(rank * (it + 1) / (0.5 * n_iter)))))
        h = x[:, index]
        q, _ = np.linalg.qr(h @ herm(herm(q) @ h))
        b = herm(q) @ h
        w, v = np.linalg.eigh(b @ herm(b))
        v, s = v[..., ::-1], np.sqrt(np.clip(w[..., ::-1], 0, None))
        coef = herm(v[..., :r]) @ b
        if damping is not None and k > r:
            coef = coef * np.clip(1 - (s[:, r:r + 1] / s[:, :r]) ** damping, 0, 1)[..., None]
        hr = q @ v[..., :r] @ coef
        y = (average @ hr.reshape(nf, L * K).T).T
        x = np.where(live.reshape(1, ntr), a * obs + (1 - a) * y, y)
    full = np.zeros_like(spec)
    full[:, keep] = (y if denoise else x).T
    return np.fft.irfft(full, ntp, axis=-1)[:, :nt].reshape(block.shape)


@pytest.mark.parametrize("tshape,kw", [
    ((15,), dict(rank=2)),
    ((16,), dict(rank=3, damping=2.0, alpha=(1.0, 0.5), denoise=True)),
    ((7, 9), dict(rank=2)),
    ((8, 6), dict(rank=3, damping=1.5, alpha=(0.9, 0.6))),
])
def test_kernel_matches_explicit_matrices(tshape: tuple[int, ...], kw: dict) -> None:
    rng = np.random.default_rng(len(tshape))
    block = rng.standard_normal((*tshape, 24))
    live = rng.random(tshape) > 0.4
    block[~live] = 0.0
    opts = dict(damping=None, alpha=(1.0, 1.0), denoise=False) | kw
    ref = _explicit_kernel(block, live, n_iter=10, **opts)
    got = mssa_kernel(block, live, n_iter=10, dtype=np.complex128, **opts)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9 * np.abs(ref).max())
    got32 = mssa_kernel(block, live, n_iter=10, **opts)  # the default, complex64
    np.testing.assert_allclose(got32, ref, rtol=0, atol=1e-4 * np.abs(ref).max())
