"""Quality metrics of a reconstruction: SNR, SNR on the missing traces, PSNR, SSIM and a
blind (held-out live trace) estimate when no truth is known.

Inputs may be survey Datasets (their ``amplitude`` is used), DataArrays or numpy arrays of
the same shape; xarray inputs with the same dims in another order are transposed to the
reference's order, and arrays are otherwise compared position by position. Where the
reference is a survey with a ``trace_mask``, its absent traces (truth unknown) are left
out of SNR and PSNR and zeroed in both arrays for SSIM. Dask-backed inputs are reduced
lazily and computed once per metric.

Conventions: a perfect estimate has SNR and PSNR ``+inf`` (``math.inf``, never a NaN or a
warning); a zero reference with a non-zero error gives ``-inf``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.signal._apply import TIME, apply_overlap, as_amplitude
from promethium_lab.signal.decimate import decimate

__all__ = ["blind_estimate", "metrics", "psnr", "snr", "snr_missing", "ssim"]

ArrayLike = xr.Dataset | xr.DataArray | np.ndarray


def _db(num: float, den: float) -> float:
    """``10 log10(num / den)``, ``+inf`` for ``den == 0`` and ``-inf`` for ``num == 0``."""
    if den <= 0:
        return math.inf
    if num <= 0:
        return -math.inf
    return float(10.0 * np.log10(num / den))


def _prepare(estimate: ArrayLike, reference: ArrayLike
             ) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray | None]:
    """Estimate and reference as plain float64 DataArrays with the reference's dims."""
    ref = as_amplitude(reference, "reference")
    est = as_amplitude(estimate, "estimate")
    if set(est.dims) == set(ref.dims):
        est = est.transpose(*ref.dims)
    if est.shape != ref.shape:
        raise PromethiumError.invalid(
            f"estimate shape {dict(zip(est.dims, est.shape))} differs from "
            f"reference shape {dict(zip(ref.dims, ref.shape))}")
    dims = ref.dims
    r = xr.DataArray(ref.data, dims=dims).astype(np.float64)
    e = xr.DataArray(est.data, dims=dims).astype(np.float64)
    live = None
    if isinstance(reference, xr.Dataset) and "trace_mask" in reference:
        live = _as_mask(reference["trace_mask"], r, "reference trace_mask")
    return e, r, live


def _as_mask(mask: Any, ref: xr.DataArray, name: str = "mask") -> xr.DataArray:
    """A boolean DataArray over (some of) ``ref``'s dims from a survey, DataArray or array."""
    if isinstance(mask, xr.Dataset):
        if "trace_mask" not in mask:
            raise PromethiumError.invalid(f"{name}: the dataset has no trace_mask")
        mask = mask["trace_mask"]
    if isinstance(mask, xr.DataArray) and set(mask.dims) <= set(ref.dims):
        return xr.DataArray(np.asarray(mask.values, dtype=bool), dims=mask.dims)
    arr = np.asarray(mask.values if isinstance(mask, xr.DataArray) else mask)
    if arr.dtype.kind not in "biu":
        raise PromethiumError.invalid(f"{name} must be boolean, got dtype {arr.dtype}")
    if arr.shape != ref.shape[: arr.ndim]:
        raise PromethiumError.invalid(f"{name} shape {arr.shape} does not match the leading dims "
                                      f"{dict(zip(ref.dims, ref.shape))}")
    return xr.DataArray(arr.astype(bool), dims=ref.dims[: arr.ndim])


def _and(a: xr.DataArray | None, b: xr.DataArray | None) -> xr.DataArray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _sums(e: xr.DataArray, r: xr.DataArray, select: xr.DataArray | None,
          peak: bool = False) -> dict[str, float]:
    """Signal energy, error energy, sample count (and min/max of r) in one pass."""
    diff2 = (r - e) ** 2
    sig2 = r**2
    count = xr.ones_like(r)
    if select is not None:
        if not bool(select.any()):
            raise PromethiumError.invalid("no traces selected for the metric",
                                          hint="the mask selects no trace")
        diff2, sig2, count = (x.where(select, 0.0) for x in (diff2, sig2, count))
    parts = {"signal": sig2.sum(), "error": diff2.sum(), "count": count.sum()}
    if peak:
        sel = r if select is None else r.where(select)
        parts.update(rmax=sel.max(), rmin=sel.min())
    done = xr.Dataset(parts).compute()
    return {k: float(v) for k, v in done.data_vars.items()}


def snr(estimate: ArrayLike, reference: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Signal-to-noise ratio of an estimate against the truth, in dB.

    ``SNR = 10 log10(||ref||² / ||ref - est||²)``, the reconstruction quality measure of
    e.g. Oropeza & Sacchi (2011), *Geophysics* 76(3), V25–V32. ``+inf`` when the estimate
    is exact, ``-inf`` when the reference is zero and the estimate is not.

    Parameters
    ----------
    estimate, reference : xarray.Dataset, xarray.DataArray or ndarray
        Same shape (see the module notes on alignment and absent reference traces).
    mask : optional
        Boolean over the trace dims (or a survey, whose ``trace_mask`` is used): only the
        traces where it is True count.

    Returns
    -------
    float
    """
    e, r, live = _prepare(estimate, reference)
    select = _and(live, None if mask is None else _as_mask(mask, r))
    s = _sums(e, r, select)
    return _db(s["signal"], s["error"])


def snr_missing(estimate: ArrayLike, reference: ArrayLike, mask: ArrayLike) -> float:
    """SNR (dB) on the traces that were missing: where ``mask`` is False.

    The formula of :func:`snr`, ``10 log10(||ref||² / ||ref - est||²)``, restricted to
    the traces that the reconstruction had to fill in, so the copied live traces do not
    inflate the score.

    Parameters
    ----------
    estimate, reference : xarray.Dataset, xarray.DataArray or ndarray
    mask : xarray.Dataset, xarray.DataArray or ndarray
        The ``trace_mask`` given to the reconstruction (True = live), or the decimated
        survey itself.

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` when no trace is missing.
    """
    e, r, live = _prepare(estimate, reference)
    missing = ~_as_mask(mask, r, "mask")
    if not bool(missing.any()):
        raise PromethiumError.invalid("the mask marks no missing trace",
                                      hint="snr() scores all traces")
    s = _sums(e, r, _and(live, missing))
    return _db(s["signal"], s["error"])


def psnr(estimate: ArrayLike, reference: ArrayLike, data_range: float | None = None,
         mask: ArrayLike | None = None) -> float:
    """Peak signal-to-noise ratio in dB.

    ``PSNR = 10 log10(L² / MSE)`` with ``MSE = mean((ref - est)²)`` and ``L`` the data
    range (default ``max(ref) - min(ref)``, the convention of Wang et al. (2004) and
    scikit-image for signed data). ``+inf`` for an exact estimate.

    Parameters
    ----------
    estimate, reference : xarray.Dataset, xarray.DataArray or ndarray
    data_range : float, optional
        ``L``; must be > 0.
    mask : optional
        Only the traces where it is True count (as in :func:`snr`).
    """
    e, r, live = _prepare(estimate, reference)
    select = _and(live, None if mask is None else _as_mask(mask, r))
    s = _sums(e, r, select, peak=True)
    if data_range is None:
        peak = s["rmax"] - s["rmin"]
    else:
        peak = float(data_range)
        if not np.isfinite(peak) or peak <= 0:
            raise PromethiumError.invalid(f"data_range must be > 0, got {data_range}")
    mse = s["error"] / max(s["count"], 1.0)
    return _db(peak * peak, mse)


def ssim(estimate: ArrayLike, reference: ArrayLike, data_range: float | None = None, *,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
         truncate: float = 3.5) -> float:
    """Structural similarity index (mean SSIM) of 2-D sections, averaged over slices.

    Wang, Bovik, Sheikh & Simoncelli (2004), "Image quality assessment: from error
    visibility to structural similarity", *IEEE Trans. Image Processing* 13(4):
    ``SSIM = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))`` with
    local means, variances and covariance from a Gaussian window (σ = 1.5 samples,
    11 × 11 with the default truncation), ``C1 = (k1 L)²``, ``C2 = (k2 L)²`` and ``L``
    the data range (default ``max(ref) - min(ref)``). The SSIM map is averaged away from
    a border of the window radius (as scikit-image does). Sections are the last two
    axes (``trace dim, time``); a 3-D cube is the mean over its 2-D slices along the
    first trace dim. Dask-backed input is processed chunk by chunk with a halo.

    Returns
    -------
    float
        In ``[-1, 1]``; exactly 1 for identical inputs.
    """
    e, r, live = _prepare(estimate, reference)
    if r.ndim < 2:
        raise PromethiumError.invalid("SSIM needs at least 2-D data (trace dim, time)")
    if live is not None:
        e, r = e.where(live, 0.0), r.where(live, 0.0)
    sigma, truncate = float(sigma), float(truncate)
    if not sigma > 0 or not truncate > 0:
        raise PromethiumError.invalid("sigma and truncate must be > 0")
    radius = int(truncate * sigma + 0.5)
    axes = r.dims[-2:]
    if min(r.sizes[d] for d in axes) <= 2 * radius:
        raise PromethiumError.invalid(
            f"sections of {dict((d, r.sizes[d]) for d in axes)} are too small for the "
            f"{2 * radius + 1}-sample SSIM window", hint="use a smaller sigma")
    if data_range is None:
        bounds = xr.Dataset({"max": r.max(), "min": r.min()}).compute()
        span = float(bounds["max"]) - float(bounds["min"])
    else:
        span = float(data_range)
        if not np.isfinite(span) or span <= 0:
            raise PromethiumError.invalid(f"data_range must be > 0, got {data_range}")
    span = span if span > 0 else 1.0
    c1, c2 = (k1 * span) ** 2, (k2 * span) ** 2
    sig = (0.0,) * (r.ndim - 2) + (sigma, sigma)

    def ssim_map(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        def blur(a: np.ndarray) -> np.ndarray:
            return ndimage.gaussian_filter(a, sig, mode="reflect", truncate=truncate)

        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        mx, my = blur(x), blur(y)
        sxx = blur(x * x) - mx * mx
        syy = blur(y * y) - my * my
        sxy = blur(x * y) - mx * my
        return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1)
                                                        * (sxx + syy + c2))

    smap = apply_overlap(ssim_map, e, r, depth={d: radius for d in axes}, dtype=np.float64)
    inner = smap.isel({d: slice(radius, r.sizes[d] - radius) for d in axes})
    return float(inner.mean().values)


def _rms(estimate: ArrayLike) -> float:
    amp = as_amplitude(estimate, "estimate").astype(np.float64)
    if isinstance(estimate, xr.Dataset) and "trace_mask" in estimate:
        live = estimate["trace_mask"].astype(bool)
        n = float(live.sum()) * (amp.sizes[TIME] if TIME in amp.dims else 1)
        total = float((amp**2).where(live, 0.0).sum())
        return math.sqrt(total / n) if n else 0.0
    return float(np.sqrt((amp**2).mean()))


def metrics(estimate: ArrayLike, reference: ArrayLike | None = None,
            original_mask: ArrayLike | None = None) -> dict[str, float | int]:
    """Every metric that applies, as a JSON-ready dict.

    Always ``rms`` (of the estimate's live traces). With a ``reference``: ``snr_db``
    (:func:`snr`), ``psnr_db`` (:func:`psnr`) and, when the data are at least 2-D and
    large enough for the window, ``ssim`` (:func:`ssim`). With a reference and the
    ``original_mask`` that went into the reconstruction (True = live) marking some
    traces missing: ``snr_missing_db`` (:func:`snr_missing`) and ``n_missing``.
    SNR/PSNR are ``math.inf`` for an exact estimate (``json.dumps`` writes ``Infinity``).
    """
    out: dict[str, float | int] = {"rms": _rms(estimate)}
    if reference is None:
        return out
    out["snr_db"] = snr(estimate, reference)
    out["psnr_db"] = psnr(estimate, reference)
    try:
        out["ssim"] = ssim(estimate, reference)
    except PromethiumError as exc:  # too small / 1-D: SSIM does not apply
        if exc.code is not ErrorCode.INVALID_PARAMETER:
            raise
    if original_mask is not None:
        _, r, _ = _prepare(estimate, reference)
        missing = ~_as_mask(original_mask, r, "original_mask")
        n_missing = int(missing.sum())
        if n_missing:
            out["snr_missing_db"] = snr_missing(estimate, reference, original_mask)
            out["n_missing"] = n_missing
    return out


def blind_estimate(
    ds: xr.Dataset,
    reconstruct_fn: Callable[[xr.Dataset], xr.Dataset | xr.DataArray],
    fraction: float = 0.1,
    seed: int = 0,
    pattern: str = "random",
) -> dict[str, Any]:
    """Estimate reconstruction quality without truth, on held-out live traces.

    Hide ``fraction`` of the live traces (:func:`promethium_lab.signal.decimate.decimate`
    with ``pattern`` and ``seed``), reconstruct the decimated survey with
    ``reconstruct_fn``, and score the restored hidden traces against their recorded
    values: ``SNR = 10 log10(||ref||² / ||ref - est||²)`` and PSNR on those traces only
    (the hold-out / cross-validation estimate, cf. Stone (1974), "Cross-validatory
    choice and assessment of statistical predictions", *J. R. Stat. Soc. B* 36).

    Parameters
    ----------
    ds : xarray.Dataset
        Survey (its own absent traces stay absent and are not scored).
    reconstruct_fn : callable
        ``reconstruct_fn(decimated_ds)`` → Dataset or amplitude DataArray of the same shape.
    fraction : float, default 0.1
        Fraction of live traces to hide, ``0 < fraction < 1``.
    seed : int, default 0
    pattern : {"random", "regular", "gap"}, default "random"

    Returns
    -------
    dict
        ``snr_db``, ``psnr_db``, ``n_hidden``, ``fraction``, ``seed``, ``pattern``.
    """
    if not callable(reconstruct_fn):
        raise PromethiumError.invalid("reconstruct_fn must be callable")
    held = decimate(ds, pattern, fraction, seed=seed)  # type: ignore[arg-type]
    result = reconstruct_fn(held)
    if not isinstance(result, (xr.Dataset, xr.DataArray)):
        raise PromethiumError.invalid(f"reconstruct_fn returned {type(result).__name__}, "
                                      "not an xarray Dataset or DataArray")
    return {
        "snr_db": snr_missing(result, ds, held["trace_mask"]),
        "psnr_db": psnr(result, ds, mask=~held["trace_mask"].astype(bool)),
        "n_hidden": int(held.attrs["decimation"]["n_removed"]),
        "fraction": float(fraction),
        "seed": seed,
        "pattern": pattern,
    }
