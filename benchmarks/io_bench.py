#!/usr/bin/env python
"""SEG-Y I/O benchmark: promethium_lab vs MDIO (multidimio) vs segyio vs dd.

One run generates (or reuses) a synthetic 3-D post-stack SEG-Y cube and measures

* raw read speed: ``dd`` (warm page cache) and segyio (``mmap`` + ``trace.raw[:]``);
* ingest MB/s and peak RSS: ``promethium_lab.workflows.ingest`` vs ``mdio.segy_to_mdio``
  (and segysak when importable), ours repeated at several file sizes (``--scales``);
* read latency of one inline / crossline / time slice (median of random picks, warm
  cache): our store (zarr directly, through xarray's lazy path
  ``xr.open_dataset(store, engine="promethium")`` and through ``open_store``'s dask
  arrays), the MDIO store (zarr), segyio; ``--slices-only`` measures just these;
* export MB/s: ``promethium_lab.workflows.export`` vs ``mdio.mdio_to_segy``, and whether
  each output is byte-identical to the source;

then prints one table, PASS/FAIL lines for the performance targets, and (``--json``)
writes every figure as JSON.

Every engine runs in its own fresh subprocess (this script, re-entered with
``--worker``); the parent polls ``psutil`` every ~50 ms and sums RSS over the worker
and all its children (MDIO's ingest uses a process pool), and reports the maximum.

MB means 10**6 bytes; MB/s figures are SEG-Y file bytes (headers included) per
second of wall time, measured inside the worker (interpreter start-up and imports are
not counted; they are in the peak RSS).

Timing is noisy on shared machines: nothing here asserts on timings.
Run ``python benchmarks/io_bench.py --help`` for the options; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

MB = 1e6
GEN_VERSION = 1  # bump when the synthetic data change (invalidates the cache)
TEXT_SIZE, BIN_SIZE, TRH_SIZE = 3200, 400, 240
FIRST_INLINE, FIRST_CROSSLINE = 1000, 2000
#: picks of exact time slices from a store without a fast_time copy (each decodes whole traces)
EXACT_TIME_PICKS = 6
FORMAT_CODES = {"ibm": 1, "ieee": 5}

# --------------------------------------------------------------------------------------
# synthetic SEG-Y
# --------------------------------------------------------------------------------------


def _ricker(f_hz: float, dt_s: float, n: int) -> np.ndarray:
    t = (np.arange(n) - n // 2) * dt_s
    a = (np.pi * f_hz * t) ** 2
    return ((1 - 2 * a) * np.exp(-a)).astype(np.float32)


def _text_header(n_il: int, n_xl: int, ns: int, dt_us: int, fmt: str) -> bytes:
    lines = [
        "SYNTHETIC 3-D POST-STACK CUBE FOR promethium_lab benchmarks/io_bench.py",
        f"INLINES {FIRST_INLINE}-{FIRST_INLINE + n_il - 1}  CROSSLINES "
        f"{FIRST_CROSSLINE}-{FIRST_CROSSLINE + n_xl - 1}",
        f"SAMPLES {ns}  INTERVAL {dt_us} US  FORMAT {fmt.upper()}",
        "INLINE BYTE 189  CROSSLINE BYTE 193  CDP_X 181  CDP_Y 185  SCALAR -100",
        "DATA: RANDOM REFLECTIVITY (DIPPING LAYERS) * 25 HZ RICKER + NOISE",
    ]
    rows = []
    for i in range(40):
        body = lines[i] if i < len(lines) else ""
        if i == 38:
            body = "SEG Y REV1"
        if i == 39:
            body = "END TEXTUAL HEADER"
        rows.append(f"C{i + 1:2d} {body}"[:80].ljust(80))
    return "".join(rows).encode("cp037")


def _binary_header(ns: int, dt_us: int, code: int) -> bytes:
    from promethium_lab.io.segy_spec import binary_header_dtype

    rec = np.zeros((), dtype=binary_header_dtype(">"))
    rec["job_id"] = 1
    rec["line_num"] = 1
    rec["reel_num"] = 1
    rec["data_traces_per_ensemble"] = 1
    rec["sample_interval"] = dt_us
    rec["orig_sample_interval"] = dt_us
    rec["samples_per_trace"] = ns
    rec["orig_samples_per_trace"] = ns
    rec["data_sample_format"] = code
    rec["ensemble_fold"] = 1
    rec["trace_sorting_code"] = 4  # horizontally stacked
    rec["measurement_system_code"] = 1  # metres
    rec["segy_revision"] = 0x0100
    rec["fixed_length_trace_flag"] = 1
    return rec.tobytes()


def generate_segy(path: Path, n_il: int, n_xl: int, ns: int, fmt: str, dt_us: int = 4000,
                  seed: int = 0) -> None:
    """Write a realistic-ish post-stack cube: dipping layered reflectivity convolved with
    a 25 Hz Ricker wavelet, plus 10 % noise, float32, inline-sorted."""
    import scipy.fft

    from promethium_lab.io.segy_spec import trace_header_dtype
    from promethium_lab.io.segy_write import SegyWriter

    rng = np.random.default_rng(seed)
    code = FORMAT_CODES[fmt]
    dt_s = dt_us / 1e6
    max_shift = max(8, ns // 4)
    length = ns + max_shift + 1
    # one layered earth: sparse Laplacian reflectivity, shifted per trace by smooth dip
    r0 = (rng.laplace(size=length) * (rng.random(length) < 0.25)).astype(np.float32)
    nfft = scipy.fft.next_fast_len(ns + 64, real=True)
    wav = _ricker(25.0, dt_s, 64)
    wav_f = scipy.fft.rfft(wav, nfft)
    hdr_dtype = trace_header_dtype(">")
    per_block = max(1, int(64 * MB // (ns * 4 * n_xl)))  # inlines per block (~64 MB)
    t = np.arange(ns)
    xl = np.arange(n_xl)
    tmp = path.with_name(path.name + ".tmp")
    with SegyWriter(tmp, text_header=_text_header(n_il, n_xl, ns, dt_us, fmt),
                    binary_header=_binary_header(ns, dt_us, code), n_samples=ns,
                    sample_format=code, endian=">", overwrite=True) as w:
        for il0 in range(0, n_il, per_block):
            ils = np.arange(il0, min(n_il, il0 + per_block))
            ii, jj = np.meshgrid(ils, xl, indexing="ij")
            ii, jj = ii.reshape(-1), jj.reshape(-1)
            k = ii.size
            shift = (0.5 * max_shift * (1 + 0.6 * np.sin(2 * np.pi * ii / max(n_il, 64) * 1.5)
                                         * np.cos(2 * np.pi * jj / max(n_xl, 64))
                                         + 0.4 * (ii + jj) / (n_il + n_xl)) / 1.7).astype(np.int64)
            shift = np.clip(shift, 0, max_shift)
            refl = r0[t[None, :] + shift[:, None]]
            u = rng.random((k, ns), dtype=np.float32)  # local, trace-unique reflectors
            refl += np.where(u < 0.05, (u - np.float32(0.025)) * np.float32(12.0), np.float32(0))
            tr = scipy.fft.irfft(scipy.fft.rfft(refl, nfft, axis=1, workers=-1) * wav_f, nfft,
                                 axis=1, workers=-1)[:, 32 : 32 + ns].astype(np.float32)
            noise = rng.random((k, ns), dtype=np.float32)  # uniform: much cheaper than normal
            noise -= np.float32(0.5)
            tr += np.float32(0.35 * float(tr.std() or 1.0)) * noise  # ~10 % rms noise
            tr *= np.float32(1000.0)
            h = np.zeros(k, dtype=hdr_dtype)
            seq = ii * n_xl + jj + 1
            h["trace_seq_num_line"] = seq
            h["trace_seq_num_reel"] = seq
            h["orig_field_record_num"] = FIRST_INLINE + ii
            h["trace_num_orig_record"] = FIRST_CROSSLINE + jj
            h["ensemble_num"] = seq
            h["trace_num_ensemble"] = 1
            h["trace_id_code"] = 1
            h["horizontally_stacked_traces"] = 1
            h["data_use"] = 1
            h["coordinate_scalar"] = -100
            x = (500_000.0 + 12.5 * ii * 0.6 + 12.5 * jj * 0.8) * 100
            y = (6_000_000.0 - 12.5 * ii * 0.8 + 12.5 * jj * 0.6) * 100
            h["cdp_x"] = np.round(x).astype(np.int64)
            h["cdp_y"] = np.round(y).astype(np.int64)
            h["source_coord_x"] = h["cdp_x"]
            h["source_coord_y"] = h["cdp_y"]
            h["group_coord_x"] = h["cdp_x"]
            h["group_coord_y"] = h["cdp_y"]
            h["coordinate_unit"] = 1
            h["samples_per_trace"] = ns
            h["sample_interval"] = dt_us
            h["inline"] = FIRST_INLINE + ii
            h["crossline"] = FIRST_CROSSLINE + jj
            w.write_traces(h.view("V240"), tr)
    os.replace(tmp, path)


def segy_name(n_il: int, n_xl: int, ns: int, fmt: str, dt_us: int) -> str:
    return f"synth3d_{n_il}x{n_xl}x{ns}_dt{dt_us}_{fmt}_v{GEN_VERSION}.sgy"


def expected_size(n_il: int, n_xl: int, ns: int) -> int:
    return TEXT_SIZE + BIN_SIZE + n_il * n_xl * (TRH_SIZE + 4 * ns)


def ensure_segy(workdir: Path, n_il: int, n_xl: int, ns: int, fmt: str, dt_us: int,
                log) -> tuple[Path, float, bool]:
    path = workdir / "segy" / segy_name(n_il, n_xl, ns, fmt, dt_us)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size == expected_size(n_il, n_xl, ns):
        return path, 0.0, True
    log(f"  generating {path.name} ({expected_size(n_il, n_xl, ns) / MB:.0f} MB) ...")
    t0 = time.perf_counter()
    generate_segy(path, n_il, n_xl, ns, fmt, dt_us)
    return path, time.perf_counter() - t0, False


# --------------------------------------------------------------------------------------
# worker side (runs in a fresh subprocess)
# --------------------------------------------------------------------------------------


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / MB


def _cpu() -> float:
    """CPU seconds (user + sys) of this process and its reaped children."""
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _preload() -> None:
    """Import what both libraries' ingest and export import lazily (xarray, zarr, dask,
    distributed, which dask's ``compute`` imports on its first call, the xarray backends
    installed, which its first ``open_dataset`` loads, and the duck-array libraries its
    first index looks up: pint, 0.2 s, which ``import mdio`` loads before MDIO's timer
    anyway), so that neither side's timing includes first imports (the module docstring's
    rule)."""
    import dask.array  # noqa: F401
    import distributed  # noqa: F401
    import numcodecs  # noqa: F401
    import xarray
    import zarr  # noqa: F401

    xarray.backends.list_engines()
    xarray.Dataset(coords={"x": [0, 1]})  # an index: xarray's duck-array look-ups


def _rmtree(p: Path) -> None:
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    elif p.exists():
        p.unlink()


def _warm_tree(p: Path) -> int:
    """Read every file under ``p`` once (page cache), in 16 MB pieces; bytes read."""
    total = 0
    files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()]
    for f in files:
        with open(f, "rb", buffering=0) as fh:
            while chunk := fh.read(16 << 20):
                total += len(chunk)
    return total


def _dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def _var_sizes(store: Path) -> dict[str, float]:
    return {d.name: round(_dir_size(d) / MB, 2) for d in sorted(store.iterdir()) if d.is_dir()}


def w_segyio_read(p: dict) -> dict:
    import segyio

    src = Path(p["src"])
    with segyio.open(src, ignore_geometry=True) as f:
        f.mmap()
        f.trace.raw[:1]  # touch the map
        t0 = time.perf_counter()
        data = f.trace.raw[:]
        dt = time.perf_counter() - t0
        checksum = float(np.abs(data[:: max(1, len(data) // 100)]).sum())
    return {"seconds": dt, "mbps": src.stat().st_size / MB / dt, "shape": list(data.shape),
            "checksum": checksum}


def w_ingest_ours(p: dict) -> dict:
    from promethium_lab.core.config import get_config
    from promethium_lab.workflows import ingest

    src, store = Path(p["src"]), Path(p["store"])
    _rmtree(store)
    _rmtree(store.with_name(store.name + ".partial"))  # never resume a stale partial
    _preload()
    rss0 = _rss_mb()
    c0, t0 = _cpu(), time.perf_counter()
    ingest(src, store, progress=False, overwrite=True)
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    cfg = get_config()
    return {"seconds": dt, "cpu_s": cpu, "mbps": src.stat().st_size / MB / dt,
            "rss_after_import_mb": rss0,
            "store_mb": _dir_size(store) / MB, "store_vars_mb": _var_sizes(store),
            "config": {"chunk_mb": cfg.chunk_mb, "zstd_level": cfg.zstd_level,
                       "workers": cfg.workers or os.cpu_count()}}


def w_ingest_dask(p: dict) -> dict:
    """Our ingest with its blocks written by a Dask LocalCluster of ``n_workers`` worker
    processes × 1 thread on 127.0.0.1 (started before the clock), and the store's hashes."""
    import logging

    from distributed import Client, LocalCluster

    from promethium_lab.io.store import array_hashes
    from promethium_lab.workflows import ingest

    src, store = Path(p["src"]), Path(p["store"])
    _rmtree(store)
    _rmtree(store.with_name(store.name + ".partial"))
    with LocalCluster(n_workers=p["n_workers"], threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.wait_for_workers(p["n_workers"])
        t0 = time.perf_counter()
        ingest(src, store, progress=False, overwrite=True, client=client)
        dt = time.perf_counter() - t0
    return {"seconds": dt, "mbps": src.stat().st_size / MB / dt,
            "hashes": array_hashes(store)}


def w_store_hashes(p: dict) -> dict:
    from promethium_lab.io.store import array_hashes

    return {"hashes": array_hashes(Path(p["store"]))}


def w_ingest_mdio(p: dict) -> dict:
    import mdio
    from mdio import segy_to_mdio
    from mdio.builder.template_registry import get_template
    from segy.standards import get_segy_standard

    src, store = Path(p["src"]), Path(p["store"])
    _rmtree(store)
    _preload()
    rss0 = _rss_mb()
    c0, t0 = _cpu(), time.perf_counter()
    segy_to_mdio(get_segy_standard(1.0), get_template("PostStack3DTime"), src, store,
                 overwrite=True)
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    return {"seconds": dt, "cpu_s": cpu, "mbps": src.stat().st_size / MB / dt,
            "rss_after_import_mb": rss0, "store_mb": _dir_size(store) / MB,
            "store_vars_mb": _var_sizes(store), "version": mdio.__version__}


def w_ingest_segysak(p: dict) -> dict:
    import segysak  # registers the "sgy_engine" xarray backend
    import xarray as xr

    src, store = Path(p["src"]), Path(p["store"])
    _rmtree(store)
    rss0 = _rss_mb()
    c0, t0 = _cpu(), time.perf_counter()
    ds = xr.open_dataset(src, dim_byte_fields={"iline": 189, "xline": 193},
                         extra_byte_fields={"cdp_x": 181, "cdp_y": 185}, engine="sgy_engine")
    ds = ds.chunk({"iline": 16, "xline": 16, "samples": -1})
    for v in ds.variables.values():
        v.encoding = {}
    ds.to_zarr(store, mode="w", zarr_format=3, consolidated=True)
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    return {"seconds": dt, "cpu_s": cpu, "mbps": src.stat().st_size / MB / dt,
            "rss_after_import_mb": rss0, "store_mb": _dir_size(store) / MB,
            "version": segysak.__version__}


def _time_picks(fn, picks: list[int], warmup: int) -> list[float]:
    for k in picks[:warmup]:
        fn(k)
    out = []
    for k in picks:
        t0 = time.perf_counter()
        a = fn(k)
        out.append((time.perf_counter() - t0) * 1e3)
        if a is None or np.size(a) == 0:
            raise RuntimeError("empty read")
    return out


def w_read_zarr(p: dict) -> dict:
    """Latencies (ms) of inline/crossline/time slices from a zarr store (ours or MDIO)."""
    import zarr

    store = Path(p["store"])
    _warm_tree(store)
    # each direction from its MDIO-style ``fast_<dim>`` copy when the store has one
    names = {d: (f"fast_{d}" if (store / f"fast_{d}").exists() else "amplitude")
             for d in ("inline", "crossline", "time")}
    arrs = {d: zarr.open_array(store / n, mode="r") for d, n in names.items()}
    il, xl, tt = p["inlines"], p["crosslines"], p["times"]
    res = {
        "inline": _time_picks(lambda i: arrs["inline"][i, :, :], il, p["warmup"]),
        "crossline": _time_picks(lambda j: arrs["crossline"][:, j, :], xl, p["warmup"]),
        "time": _time_picks(lambda k: arrs["time"][:, :, k], tt, p["warmup"]),
        "chunks": {names[d]: list(a.chunks) for d, a in arrs.items()},
        "time_var": names["time"], "vars": names,
    }
    return res


def w_read_xarray_ours(p: dict) -> dict:
    """Slice latencies through xarray's lazy path: ``xr.open_dataset(engine="promethium")``
    (no dask), ``amplitude.isel(...)`` / ``.sel(...)``; the backend picks the copy."""
    import xarray as xr
    from dask.callbacks import Callback

    from promethium_lab.io.store import StoreAmplitudeArray

    class Graphs(Callback):
        runs = 0

        def _start(self, dsk) -> None:
            Graphs.runs += 1

    store = Path(p["store"])
    _warm_tree(store)
    with Graphs():
        t0 = time.perf_counter()
        ds = xr.open_dataset(store, engine="promethium")
        open_ms = (time.perf_counter() - t0) * 1e3
        amp = ds["amplitude"]
        dims = amp.dims
        picks = dict(zip(dims, (p["inlines"], p["crosslines"], p["times"])))
        res: dict[str, Any] = {"open_ms": open_ms, "dims": list(dims)}
        for d, name in zip(dims, ("inline", "crossline", "time")):
            res[name] = _time_picks(lambda i, d=d: amp.isel({d: i}).values, picks[d],
                                    p["warmup"])
            res[f"{name}_sel"] = _time_picks(
                lambda i, d=d, labels=amp[d].values: amp.sel({d: labels[i]}).values,
                picks[d], p["warmup"])
    inner = amp.variable._data
    while hasattr(inner, "array"):
        inner = inner.array
    if isinstance(inner, StoreAmplitudeArray):
        every = [slice(0, n, 1) for n in amp.shape]
        res["sources"] = {name: inner.source((*every[:k], 0, *every[k + 1:]))
                          for k, name in enumerate(("inline", "crossline", "time"))}
    res["dask_graphs"] = Graphs.runs
    res["chunks_none"] = amp.chunks is None
    return res


def w_read_paired(p: dict) -> dict:
    """The same slices read directly with zarr and through xarray's lazy path, pick by pick
    in one process (alternating which goes first), so both see the same machine load:
    the per-pick ratios are the steadiest xarray/zarr figure on a shared machine."""
    import xarray as xr
    import zarr

    store = Path(p["store"])
    _warm_tree(store)
    ds = xr.open_dataset(store, engine="promethium")
    amp = ds["amplitude"]
    dims = amp.dims
    res: dict[str, Any] = {}
    for k, (name, picks) in enumerate(zip(("inline", "crossline", "time"),
                                          (p["inlines"], p["crosslines"], p["times"]))):
        src = f"fast_{name}" if (store / f"fast_{name}").exists() else "amplitude"
        arr = zarr.open_array(store / src, mode="r")

        def direct(i: int, arr=arr, k=k) -> np.ndarray:
            return arr[(slice(None),) * k + (i,)]

        def lazy(i: int, d=dims[k]) -> np.ndarray:
            return amp.isel({d: i}).values

        for i in picks[:p["warmup"]]:
            if not np.array_equal(direct(i), lazy(i)):
                raise RuntimeError(f"{name} {i}: xarray and zarr read different values")
        tz, tx = [], []
        for n, i in enumerate(picks):
            order = ((direct, tz), (lazy, tx)) if n % 2 == 0 else ((lazy, tx), (direct, tz))
            for fn, out in order:
                t0 = time.perf_counter()
                fn(i)
                out.append((time.perf_counter() - t0) * 1e3)
        res[f"{name}_zarr"], res[f"{name}_xarray"] = tz, tx
        res[f"{name}_ratio"] = [x / z for x, z in zip(tx, tz)]
    return res


def w_read_view_ours(p: dict) -> dict:
    """Slice latencies of what the views draw: the 8-bit ``view_<dim>`` copies, read
    through the views' chunk-window readers and scaled back to float32."""
    from promethium_lab.io.chunk_files import window_reader
    from promethium_lab.io.views import ViewSlices, open_view

    store = Path(p["store"])
    _warm_tree(store)
    views = {}
    for d in ("inline", "crossline", "time"):
        v = open_view(store, d)
        if v is None:
            raise RuntimeError(f"{store} has no view copy for {d}")
        views[d] = ViewSlices(window_reader(v.q), window_reader(v.scale))
    il, xl, tt = p["inlines"], p["crosslines"], p["times"]
    return {"inline": _time_picks(lambda i: views["inline"][i, :, :], il, p["warmup"]),
            "crossline": _time_picks(lambda j: views["crossline"][:, j, :], xl, p["warmup"]),
            "time": _time_picks(lambda k: views["time"][:, :, k], tt, p["warmup"])}


def w_read_dask_ours(p: dict) -> dict:
    """Slice latencies through ``open_store``'s dask arrays (``fast_variable`` copies)."""
    from promethium_lab.io.store import fast_variable, open_store

    store = Path(p["store"])
    _warm_tree(store)
    t0 = time.perf_counter()
    ds = open_store(store)
    open_ms = (time.perf_counter() - t0) * 1e3
    dims = ds["amplitude"].dims
    var = {d: ds[fast_variable(ds, d)] for d in dims}
    il, xl, tt = p["inlines"], p["crosslines"], p["times"]
    return {
        "inline": _time_picks(lambda i: var[dims[0]].isel({dims[0]: i}).values, il,
                              p["warmup"]),
        "crossline": _time_picks(lambda j: var[dims[1]].isel({dims[1]: j}).values, xl,
                                 p["warmup"]),
        "time": _time_picks(lambda k: var[dims[2]].isel({dims[2]: k}).values, tt,
                            p["warmup"]),
        "time_var": fast_variable(ds, dims[-1]), "dims": list(dims), "open_ms": open_ms,
    }


def w_read_segyio(p: dict) -> dict:
    import segyio

    src = Path(p["src"])
    _warm_tree(src)
    with segyio.open(src, iline=189, xline=193) as f:
        f.mmap()
        ilines, xlines = f.ilines, f.xlines
        il, xl, tt = p["inlines"], p["crosslines"], p["times"]
        return {
            "inline": _time_picks(lambda i: f.iline[int(ilines[i])], il, p["warmup"]),
            "crossline": _time_picks(lambda j: f.xline[int(xlines[j])], xl, p["warmup"]),
            "time": _time_picks(lambda k: f.depth_slice[k], tt, p["warmup"]),
            "sorting": int(f.sorting or 0),
        }


def w_export_ours(p: dict) -> dict:
    from promethium_lab.workflows import export

    store, out = Path(p["store"]), Path(p["out"])
    _rmtree(out)
    _warm_tree(store)
    _preload()
    rss0 = _rss_mb()
    c0, t0 = _cpu(), time.perf_counter()
    export(store, out, overwrite=True, progress=False)
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    return {"seconds": dt, "cpu_s": cpu, "mbps": out.stat().st_size / MB / dt,
            "rss_after_import_mb": rss0}


def w_export_mdio(p: dict) -> dict:
    from mdio import mdio_to_segy

    store, out = Path(p["store"]), Path(p["out"])
    _rmtree(out)
    _warm_tree(store)
    _preload()
    rss0 = _rss_mb()
    c0, t0 = _cpu(), time.perf_counter()
    mdio_to_segy(_mdio_export_spec(p.get("format", "ibm")), store, out)
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    return {"seconds": dt, "cpu_s": cpu, "mbps": out.stat().st_size / MB / dt,
            "rss_after_import_mb": rss0}


def _mdio_export_spec(fmt: str):
    """SEG-Y rev 1.0 spec; its trace data default to IBM floats, so an IEEE source needs
    the float32 trace data spec (else MDIO writes IBM samples under a header saying 5)."""
    from segy.schema import ScalarType, TraceDataSpec
    from segy.standards import get_segy_standard

    spec = get_segy_standard(1.0)
    if fmt == "ieee":
        spec = spec.customize(trace_data_spec=TraceDataSpec(format=ScalarType.FLOAT32))
    return spec


WORKERS = {
    "segyio_read": w_segyio_read,
    "ingest_ours": w_ingest_ours,
    "ingest_mdio": w_ingest_mdio,
    "ingest_dask": w_ingest_dask,
    "store_hashes": w_store_hashes,
    "ingest_segysak": w_ingest_segysak,
    "read_zarr": w_read_zarr,
    "read_xarray_ours": w_read_xarray_ours,
    "read_dask_ours": w_read_dask_ours,
    "read_view_ours": w_read_view_ours,
    "read_paired": w_read_paired,
    "read_segyio": w_read_segyio,
    "export_ours": w_export_ours,
    "export_mdio": w_export_mdio,
}


def worker_main(task: str, params_file: str, result_file: str) -> int:
    params = json.loads(Path(params_file).read_text())
    try:
        res = WORKERS[task](params)
        import resource

        res["ru_maxrss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB
        res["ru_maxrss_children_mb"] = (
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / MB)
        res["ok"] = True
    except BaseException as exc:  # report anything, including KeyboardInterrupt
        res = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
               "traceback": traceback.format_exc()}
    Path(result_file).write_text(json.dumps(res))
    return 0 if res["ok"] else 1


# --------------------------------------------------------------------------------------
# parent side
# --------------------------------------------------------------------------------------


def _tree_rss(proc) -> int:
    import psutil

    try:
        procs = [proc, *proc.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return 0
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return total


def _kill_tree(proc) -> None:
    import psutil

    try:
        kids = proc.children(recursive=True)
    except psutil.Error:
        kids = []
    for q in [proc, *kids]:
        try:
            q.kill()
        except psutil.Error:
            pass


class Runner:
    """Starts workers in fresh subprocesses and measures their process-tree peak RSS."""

    def __init__(self, logdir: Path, timeout: float, verbose: bool) -> None:
        self.logdir = logdir
        self.timeout = timeout
        self.verbose = verbose
        logdir.mkdir(parents=True, exist_ok=True)

    def run(self, task: str, params: dict, *, label: str | None = None,
            python: str | None = None, env: dict | None = None,
            timeout: float | None = None) -> dict:
        import psutil

        label = label or task
        timeout = timeout or self.timeout
        pfile = self.logdir / f"{label}.params.json"
        rfile = self.logdir / f"{label}.result.json"
        lfile = self.logdir / f"{label}.log"
        pfile.write_text(json.dumps(params))
        rfile.unlink(missing_ok=True)
        cmd = [python or sys.executable, os.path.abspath(__file__), "--worker", task,
               "--params", str(pfile), "--result", str(rfile)]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "PROMETHIUM_PROGRESS": "0",
                    **(env or {})}
        t0 = time.perf_counter()
        peak = 0
        status = "ok"
        with open(lfile, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env,
                                    start_new_session=True)
            ps = psutil.Process(proc.pid)
            try:
                while proc.poll() is None:
                    peak = max(peak, _tree_rss(ps))
                    if time.perf_counter() - t0 > timeout:
                        status = f"timeout after {timeout:.0f} s"
                        _kill_tree(ps)
                        break
                    time.sleep(0.05)
            except KeyboardInterrupt:
                _kill_tree(ps)
                raise
            proc.wait()
        wall = time.perf_counter() - t0
        if rfile.exists():
            res = json.loads(rfile.read_text())
        else:
            res = {"ok": False, "error": status if status != "ok" else
                   f"worker exited with code {proc.returncode} and no result"}
        if status != "ok":
            res["ok"] = False
            res["error"] = status
        res["peak_rss_mb"] = peak / MB
        res["wall_with_startup_s"] = wall
        if not res.get("ok"):
            tail = lfile.read_text(errors="replace").splitlines()[-25:]
            res.setdefault("log_tail", tail)
            print(f"  !! {label} failed: {res.get('error')}  (log: {lfile})", flush=True)
            if self.verbose or "traceback" not in res:
                print("     " + "\n     ".join(tail), flush=True)
            else:
                print("     " + "\n     ".join(res["traceback"].splitlines()[-8:]), flush=True)
        return res


def run_repeated(runner: Runner, n: int, task: str, params: dict, *, label: str,
                 **kw: Any) -> dict:
    """Run a worker ``n`` times (fresh process each); median MB/s and seconds, max RSS."""
    runs = []
    for i in range(n):
        r = runner.run(task, params, label=label if n == 1 else f"{label}_r{i + 1}", **kw)
        runs.append(r)
        if not r.get("ok"):
            break
    if len(runs) == 1:
        return runs[0]
    out = dict(runs[-1])
    out["ok"] = all(r.get("ok") for r in runs)
    if out["ok"]:
        for k in ("mbps", "seconds", "cpu_s"):
            if all(k in r for r in runs):
                out[k] = statistics.median(r[k] for r in runs)
        out["mbps_all"] = [r["mbps"] for r in runs]
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    out["repeats"] = len(runs)
    return out


def dd_read(path: Path) -> dict:
    if shutil.which("dd") is None:
        return {"ok": False, "error": "dd not found"}
    cmd = ["dd", f"if={path}", "of=/dev/null", "bs=16M"]
    subprocess.run(cmd, check=True, capture_output=True)  # warm-up read
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        runs.append(time.perf_counter() - t0)
    best = min(runs)
    return {"ok": True, "seconds": runs, "mbps": path.stat().st_size / MB / best,
            "mbps_median": path.stat().st_size / MB / statistics.median(runs)}


def compare_segy(src: Path, out: Path, ns: int, code: int) -> dict:
    """Byte comparison of two SEG-Y files, with where they differ."""
    a_size, b_size = src.stat().st_size, out.stat().st_size
    res: dict[str, Any] = {"identical": False, "size_src": a_size, "size_out": b_size}
    if a_size != b_size:
        res["detail"] = f"sizes differ: {a_size} vs {b_size} bytes"
        return res
    with open(src, "rb") as fa, open(out, "rb") as fb:
        ha, hb = fa.read(TEXT_SIZE + BIN_SIZE), fb.read(TEXT_SIZE + BIN_SIZE)
    text_same = ha[:TEXT_SIZE] == hb[:TEXT_SIZE]
    bin_diff = [i + 3201 for i in range(BIN_SIZE) if ha[TEXT_SIZE + i] != hb[TEXT_SIZE + i]]
    tsize = TRH_SIZE + 4 * ns
    n = (a_size - TEXT_SIZE - BIN_SIZE) // tsize
    ma = np.memmap(src, np.uint8, "r", TEXT_SIZE + BIN_SIZE, (n, tsize))
    mb = np.memmap(out, np.uint8, "r", TEXT_SIZE + BIN_SIZE, (n, tsize))
    hdr_traces = smp_traces = smp_values = 0
    hdr_bytes: set[int] = set()
    max_abs = max_rel = 0.0
    step = max(1, int(64 * MB // tsize))
    for s in range(0, n, step):
        a, b = np.asarray(ma[s : s + step]), np.asarray(mb[s : s + step])
        dh = a[:, :TRH_SIZE] != b[:, :TRH_SIZE]
        hdr_traces += int(dh.any(axis=1).sum())
        if dh.any():
            hdr_bytes.update((np.flatnonzero(dh.any(axis=0)) + 1).tolist())
        sa = a[:, TRH_SIZE:].copy().view(">u4")
        sb = b[:, TRH_SIZE:].copy().view(">u4")
        ds_ = sa != sb
        if ds_.any():
            smp_traces += int(ds_.any(axis=1).sum())
            smp_values += int(ds_.sum())
            fa_, fb_ = _decode(sa, code), _decode(sb, code)
            diff = np.abs(fa_.astype(np.float64) - fb_)
            max_abs = max(max_abs, float(diff.max()))
            scale = float(np.abs(fa_).max()) or 1.0
            max_rel = max(max_rel, float(diff.max()) / scale)
    res.update({
        "text_header_identical": text_same,
        "binary_header_bytes_differing": bin_diff,
        "trace_headers_differing": hdr_traces,
        "trace_header_bytes_differing": sorted(hdr_bytes),
        "traces_with_sample_diffs": smp_traces,
        "samples_differing": smp_values,
        "max_abs_sample_diff": max_abs,
        "max_sample_diff_rel_to_block_max": max_rel,
        "n_traces": int(n),
    })
    res["identical"] = (text_same and not bin_diff and hdr_traces == 0 and smp_values == 0)
    if not res["identical"]:
        parts = []
        if not text_same:
            parts.append("text header differs")
        if bin_diff:
            parts.append(f"binary header bytes {_ranges(bin_diff)} differ")
        if hdr_traces:
            parts.append(f"{hdr_traces}/{n} trace headers differ "
                         f"(bytes {_ranges(sorted(hdr_bytes))})")
        if smp_values:
            parts.append(f"{smp_values} samples in {smp_traces} traces differ "
                         f"(max |d| {max_abs:.3g}, {max_rel:.2g} of max |amp|)")
        res["detail"] = "; ".join(parts)
    else:
        res["detail"] = "byte-identical"
    return res


def _decode(words_be: np.ndarray, code: int) -> np.ndarray:
    if code == 1:
        from promethium_lab.io.ibm import ibm_to_ieee

        return ibm_to_ieee(words_be.astype(np.uint32))
    return words_be.view(">f4").astype(np.float32)


def _ranges(vals: list[int]) -> str:
    if not vals:
        return "-"
    out, start, prev = [], vals[0], vals[0]
    for v in [*vals[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ",".join(out[:12]) + (" ..." if len(out) > 12 else "")


# --------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------


def _f(v: Any, fmt: str = ".1f", unit: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:{fmt}}{unit}"


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b:
        return None
    return a / b


def _med(res: dict | None, key: str) -> float | None:
    if not res or not res.get("ok") or key not in res:
        return None
    return statistics.median(res[key])


def _get(res: dict | None, key: str) -> float | None:
    if not res or not res.get("ok"):
        return None
    return res.get(key)


def build_report(R: dict) -> tuple[str, list[dict]]:
    """The printed table and the target lines (as dicts) from the results dict."""
    base = R["scales"][0]
    ing = R["ingest"]
    ours1 = ing.get(f"ours@{base['scale']}")
    mdio1 = ing.get("mdio")
    sak = ing.get("segysak")
    rd = R["read"]
    ex = R["export"]
    rows: list[tuple[str, str, str, str, str, str]] = []

    def row(metric, ours="", mdio="", segyio="", dd="", ratios=""):
        rows.append((metric, ours, mdio, segyio, dd, ratios))

    row(f"file ({base['shape']}, {R['format']})", _f(base["mb"], ".0f", " MB"))
    row("raw read MB/s (warm)", "", "", _f(_get(R.get("segyio_read"), "mbps"), ".0f"),
        _f(_get(R.get("dd"), "mbps"), ".0f"),
        _fmt_ratio("dd/segyio", _ratio(_get(R.get("dd"), "mbps"),
                                       _get(R.get("segyio_read"), "mbps"))))
    o_mbps, m_mbps = _get(ours1, "mbps"), _get(mdio1, "mbps")
    row(f"ingest MB/s @{base['scale']}x", _f(o_mbps), _f(m_mbps), "", "",
        _fmt_ratio("ours/MDIO", _ratio(o_mbps, m_mbps)))
    row("ingest wall s | CPU s (user+sys)",
        f"{_f(_get(ours1, 'seconds'))} | {_f(_get(ours1, 'cpu_s'))}",
        f"{_f(_get(mdio1, 'seconds'))} | {_f(_get(mdio1, 'cpu_s'))}", "", "",
        _fmt_ratio("CPU ours/MDIO", _ratio(_get(ours1, "cpu_s"), _get(mdio1, "cpu_s"))))
    o_rss, m_rss = _get(ours1, "peak_rss_mb"), _get(mdio1, "peak_rss_mb")
    row("ingest peak RSS MB (tree)", _f(o_rss, ".0f"), _f(m_rss, ".0f"), "", "",
        _fmt_ratio("ours/MDIO", _ratio(o_rss, m_rss)))
    row("  RSS after imports MB", _f(_get(ours1, "rss_after_import_mb"), ".0f"),
        _f(_get(mdio1, "rss_after_import_mb"), ".0f"))
    row("store size MB (store/source)", _store(ours1, base["mb"]), _store(mdio1, base["mb"]))
    sizes = {**(_get(mdio1, "store_vars_mb") or {}), **(_get(ours1, "store_vars_mb") or {})}
    for name in sorted(sizes, key=lambda n: -sizes[n]):
        if sizes[name] >= 0.05:
            row(f"  {name} MB", _var(ours1, name, base["mb"]), _var(mdio1, name, base["mb"]))
    d1, d2 = ing.get("dask1"), ing.get("dask2")
    if d1 is not None or d2 is not None:
        row("ingest MB/s on a LocalCluster (1 | 2 workers)",
            f"{_f(_get(d1, 'mbps'))} | {_f(_get(d2, 'mbps'))}", "", "", "",
            _fmt_ratio("2/1 workers", _ratio(_get(d2, "mbps"), _get(d1, "mbps"))))
    for sc in R["scales"][1:]:
        r = ing.get(f"ours@{sc['scale']}")
        row(f"ingest MB/s @{sc['scale']}x ({sc['mb']:.0f} MB)", _f(_get(r, "mbps")), "", "", "",
            _fmt_ratio(f"{sc['scale']}x/{base['scale']}x", _ratio(_get(r, "mbps"), o_mbps)))
        row(f"ingest peak RSS MB @{sc['scale']}x", _f(_get(r, "peak_rss_mb"), ".0f"))
    if R.get("mdio_scales"):
        for sc in R["scales"][1:]:
            r = ing.get(f"mdio@{sc['scale']}")
            row(f"MDIO ingest MB/s @{sc['scale']}x", "", _f(_get(r, "mbps")))
    if sak is not None and sak.get("ok"):
        row("segysak ingest (to zarr)", "", "", "", "",
            f"segysak {_f(_get(sak, 'mbps'))} MB/s, peak RSS {_f(_get(sak, 'peak_rss_mb'), '.0f')}"
            f" MB; " + _fmt_ratio("ours/segysak", _ratio(o_mbps, _get(sak, "mbps"))))
    else:
        row("segysak ingest", "", "", "", "", "skipped (see note)")
    for d in ("inline", "crossline", "time"):
        ov = _med(rd.get("ours_view"), d)
        mz = _med(rd.get("mdio_zarr"), d)
        sg = _med(rd.get("segyio"), d)
        row(f"{d} view read ms (8-bit copy)", _f(ov, ".2f"), _f(mz, ".2f"), _f(sg, ".2f"), "",
            ", ".join(x for x in (_fmt_ratio("MDIO/ours", _ratio(mz, ov)),
                                  _fmt_ratio("ours/segyio", _ratio(ov, sg))) if x))
    for d in ("inline", "crossline", "time"):
        oz = _med(rd.get("ours_zarr"), d)
        ox = _med(rd.get("ours_xarray"), d)
        osel = _med(rd.get("ours_xarray"), f"{d}_sel")
        od = _med(rd.get("ours_dask"), d)
        mz = _med(rd.get("mdio_zarr"), d)
        sg = _med(rd.get("segyio"), d)
        row(f"{d} exact read ms (zarr | xr isel | xr sel | dask)",
            f"{_f(oz, '.2f')} | {_f(ox, '.2f')} | {_f(osel, '.2f')} | {_f(od, '.2f')}",
            _f(mz, ".2f"), _f(sg, ".2f"), "",
            ", ".join(x for x in (_fmt_ratio("MDIO/ours", _ratio(mz, oz)),
                                  _fmt_ratio("ours/segyio", _ratio(oz, sg)),
                                  _fmt_ratio("xr/zarr", _ratio(ox, oz)),
                                  _fmt_ratio("dask/zarr", _ratio(od, oz))) if x))
    pr = rd.get("ours_paired")
    for d in ("inline", "crossline", "time"):
        pz, px = _med(pr, f"{d}_zarr"), _med(pr, f"{d}_xarray")
        row(f"{d} read ms, paired (zarr | xr isel)", f"{_f(pz, '.2f')} | {_f(px, '.2f')}",
            "", "", "", _fmt_ratio("xr/zarr (median of per-pick ratios)",
                                   _med(pr, f"{d}_ratio")))
    row("open ms (xarray | dask)",
        f"{_f(_get(rd.get('ours_xarray'), 'open_ms'), '.1f')} | "
        f"{_f(_get(rd.get('ours_dask'), 'open_ms'), '.1f')}")
    eo, em = ex.get("ours"), ex.get("mdio")
    row("export MB/s", _f(_get(eo, "mbps")), _f(_get(em, "mbps")), "", "",
        _fmt_ratio("ours/MDIO", _ratio(_get(eo, "mbps"), _get(em, "mbps"))))
    row("export wall s | CPU s", f"{_f(_get(eo, 'seconds'))} | {_f(_get(eo, 'cpu_s'))}",
        f"{_f(_get(em, 'seconds'))} | {_f(_get(em, 'cpu_s'))}")
    row("export peak RSS MB (tree)", _f(_get(eo, "peak_rss_mb"), ".0f"),
        _f(_get(em, "peak_rss_mb"), ".0f"))
    row("export byte-identical", _ident(ex.get("ours_compare")), _ident(ex.get("mdio_compare")))

    headers = ("metric", "ours", "MDIO", "segyio", "dd", "ratios")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]

    # targets
    T: list[dict] = []

    def target(name, ok, figures):
        T.append({"target": name, "pass": ok, "figures": figures})

    r_ing = _ratio(o_mbps, m_mbps)
    o_st, m_st = _get(ours1, "store_mb"), _get(mdio1, "store_mb")
    r_st = _ratio(o_st, base["mb"])
    target("store size <= 1.5x the SEG-Y file", None if r_st is None else r_st <= 1.5,
           f"ours {_f(o_st, '.0f')} MB for {base['mb']:.0f} MB = {_f(r_st, '.2f')}x "
           f"(MDIO {_f(_ratio(m_st, base['mb']), '.2f')}x)")
    target("ingest >= 5x MDIO MB/s", None if r_ing is None else r_ing >= 5,
           f"ours {_f(o_mbps)} MB/s vs MDIO {_f(m_mbps)} MB/s = {_f(r_ing, '.2f')}x")
    if d1 is not None or d2 is not None:
        same = [bool((r or {}).get("same_hashes")) for r in (d1, d2)]
        r12 = _ratio(_get(d2, "mbps"), _get(d1, "mbps"))
        target("scale-out ingest on Dask: the same store with 1 and 2 workers",
               None if r12 is None else all(same),
               f"1 worker {_f(_get(d1, 'mbps'))} MB/s, 2 workers {_f(_get(d2, 'mbps'))} MB/s "
               f"= {_f(r12, '.2f')}x; array hashes equal to the single-process store: "
               f"{same[0]} / {same[1]}")
    r_rss = _ratio(o_rss, m_rss)
    target("ingest peak RSS <= 0.5x MDIO", None if r_rss is None else r_rss <= 0.5,
           f"ours {_f(o_rss, '.0f')} MB vs MDIO {_f(m_rss, '.0f')} MB = {_f(r_rss, '.2f')}x")
    if len(R["scales"]) > 1:
        figs, oks = [], []
        for sc in R["scales"][1:]:
            v = _get(ing.get(f"ours@{sc['scale']}"), "mbps")
            r = _ratio(v, o_mbps)
            oks.append(None if r is None else abs(r - 1) <= 0.20)
            pct = None if r is None else (r - 1) * 100
            figs.append(f"{sc['scale']}x: {_f(v)} MB/s ({_f(pct, '+.0f')} %)")
        ok = None if None in oks else all(oks)
        target(f"ingest MB/s flat within +-20 % from {base['scale']}x to "
               f"{R['scales'][-1]['scale']}x", ok,
               f"{base['scale']}x: {_f(o_mbps)} MB/s; " + "; ".join(figs))
    for d in ("inline", "crossline", "time"):
        ov = _med(rd.get("ours_view"), d)
        oz = _med(rd.get("ours_zarr"), d)
        mz = _med(rd.get("mdio_zarr"), d)
        r = _ratio(mz, ov)
        target(f"{d} view read >= 10x faster than MDIO (zarr)", None if r is None else r >= 10,
               f"ours {_f(ov, '.2f')} ms vs MDIO {_f(mz, '.2f')} ms = {_f(r, '.1f')}x faster "
               f"(exact, from amplitude: {_f(oz, '.2f')} ms = "
               f"{_f(_ratio(mz, oz), '.1f')}x)")
    for d in ("inline", "crossline", "time"):
        oz = _med(rd.get("ours_zarr"), d)
        ox = _med(rd.get("ours_xarray"), d)
        osel = _med(rd.get("ours_xarray"), f"{d}_sel")
        od = _med(rd.get("ours_dask"), d)
        pz, px = _med(pr, f"{d}_zarr"), _med(pr, f"{d}_xarray")
        r = _med(pr, f"{d}_ratio")
        target(f"{d} xarray-path slice <= 1.5x direct zarr", None if r is None else r <= 1.5,
               f"paired: xarray isel {_f(px, '.2f')} ms vs zarr {_f(pz, '.2f')} ms, per-pick "
               f"ratio {_f(r, '.2f')}x; separate runs: xarray isel {_f(ox, '.2f')} ms, "
               f"sel {_f(osel, '.2f')} ms vs zarr {_f(oz, '.2f')} ms = "
               f"{_f(_ratio(ox, oz), '.2f')}x / {_f(_ratio(osel, oz), '.2f')}x; "
               f"dask path {_f(od, '.2f')} ms = {_f(_ratio(od, oz), '.2f')}x")
    xr_res = rd.get("ours_xarray")
    if xr_res is not None:
        graphs = _get(xr_res, "dask_graphs")
        target("xarray path builds no dask graph (open + every slice)",
               None if graphs is None else graphs == 0 and bool(xr_res.get("chunks_none")),
               f"{_f(graphs, '.0f')} dask graphs run, amplitude.chunks "
               f"{'is None' if xr_res.get('chunks_none') else 'is not None'}")
    for d in ("inline", "crossline", "time"):
        ov = _med(rd.get("ours_view"), d)
        sg = _med(rd.get("segyio"), d)
        r = _ratio(ov, sg)
        target(f"{d} view read within 5x of segyio mmap", None if r is None else r <= 5,
               f"ours {_f(ov, '.2f')} ms vs segyio {_f(sg, '.2f')} ms = {_f(r, '.1f')}x")
    r_ex = _ratio(_get(eo, "mbps"), _get(em, "mbps"))
    target("export >= 2x MDIO MB/s", None if r_ex is None else r_ex >= 2,
           f"ours {_f(_get(eo, 'mbps'))} MB/s vs MDIO {_f(_get(em, 'mbps'))} MB/s = "
           f"{_f(r_ex, '.2f')}x")
    lines.append("")
    for t in T:
        tag = "PASS" if t["pass"] else ("FAIL" if t["pass"] is False else "N/A ")
        lines.append(f"{tag}  {t['target']}: {t['figures']}")
    notes = []
    sources = (_get(rd.get("ours_xarray"), "sources") or {})
    if sources:
        notes.append("xarray path reads " + ", ".join(f"{d} slices from {v}"
                                                      for d, v in sources.items())
                     + "; zarr directly: " + ", ".join(
                         f"{d} from {v}" for d, v in
                         (_get(rd.get("ours_zarr"), "vars") or {}).items()))
    if sak is None or not sak.get("ok"):
        why = ((sak or {}).get("error") or "not run").splitlines()[0]
        notes.append(f"segysak: skipped ({why})")
    for k in ("ours_compare", "mdio_compare"):
        c = ex.get(k)
        if c:
            notes.append(f"export {k.split('_')[0]}: {c.get('detail')}")
    if notes:
        lines.append("")
        lines += [f"note: {n}" for n in notes]
    return "\n".join(lines), T


def _fmt_ratio(name: str, r: float | None) -> str:
    return "" if r is None else f"{name} {r:.2f}x"


def _store(res: dict | None, src_mb: float) -> str:
    v = _get(res, "store_mb")
    return "-" if v is None else f"{v:.0f} ({v / src_mb:.2f}x)"


def _var(res: dict | None, name: str, src_mb: float) -> str:
    v = (_get(res, "store_vars_mb") or {}).get(name)
    return "-" if v is None else f"{v:.1f} ({v / src_mb:.3f}x)"


def _ident(c: dict | None) -> str:
    if not c:
        return "-"
    if c.get("error"):
        return "error"
    return "yes" if c.get("identical") else "NO"


# --------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------


def plan(args) -> list[dict]:
    ns = args.samples
    if args.inlines and args.crosslines:
        n_il, n_xl = args.inlines, args.crosslines
    else:
        per_trace = TRH_SIZE + 4 * ns
        n = max(4, int(args.size_gb * 1e9 / per_trace))
        if args.inlines:
            n_il, n_xl = args.inlines, max(2, n // args.inlines)
        elif args.crosslines:
            n_il, n_xl = max(2, n // args.crosslines), args.crosslines
        else:
            n_il = n_xl = max(2, round(math.sqrt(n)))
    out = []
    for s in args.scales:
        f = math.sqrt(s)
        il = max(2, round(n_il * f))
        xl = max(2, round(n_il * n_xl * s / il))
        out.append({"scale": s, "n_il": il, "n_xl": xl, "ns": ns,
                    "shape": f"{il}x{xl}x{ns}", "mb": expected_size(il, xl, ns) / MB})
    return out


def _picks(n: int, count: int, rng: np.random.Generator) -> list[int]:
    return [int(v) for v in rng.integers(0, n, size=count)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--size-gb", type=float, default=1.0,
                    help="size of the 1x SEG-Y file (ignored when --inlines and --crosslines)")
    ap.add_argument("--inlines", type=int, help="inlines of the 1x cube")
    ap.add_argument("--crosslines", type=int, help="crosslines of the 1x cube")
    ap.add_argument("--samples", type=int, default=1000, help="samples per trace")
    ap.add_argument("--dt-us", type=int, default=4000, help="sample interval (microseconds)")
    ap.add_argument("--format", choices=sorted(FORMAT_CODES), default="ibm",
                    help="SEG-Y sample format")
    ap.add_argument("--scales", default="1,4",
                    help="comma-separated file-size multiples for our ingest (first = base; "
                         "reads, export and MDIO use the first)")
    ap.add_argument("--mdio-scales", action="store_true",
                    help="also run MDIO's ingest at every scale (slow)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of each ingest/export (fresh process each; median MB/s, max RSS)")
    ap.add_argument("--picks", type=int, default=25, help="random slices per direction (>= 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed picks before timing")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/promethium_bench"),
                    help="SEG-Y cache, stores, exports and logs")
    ap.add_argument("--keep", action="store_true", help="keep stores and exports afterwards")
    ap.add_argument("--timeout", type=float, default=1200.0,
                    help="time limit of each worker subprocess (s)")
    ap.add_argument("--skip", default="",
                    help="comma-separated steps to skip: dd,segyio,mdio,segysak,read,export")
    ap.add_argument("--dask", action="store_true",
                    help="also ingest on a Dask LocalCluster of 1 and 2 worker processes "
                         "(scale-out: MB/s, and array hashes equal to our single-process "
                         "store)")
    ap.add_argument("--slices-only", action="store_true",
                    help="measure only the slice reads (ours: zarr, xarray, dask; segyio): "
                         "one ingest of the first --scales size, no dd/MDIO/segysak/export")
    ap.add_argument("--segysak-python",
                    help="python with segysak installed (default: this one; skipped if absent)")
    ap.add_argument("--json", type=Path, help="write all results as JSON here")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random slice picks")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--params", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.params, args.result)

    try:
        args.scales = [float(s) if "." in s else int(s) for s in args.scales.split(",") if s]
    except ValueError:
        ap.error(f"--scales must be comma-separated numbers, got {args.scales!r}")
    if not args.scales or any(s <= 0 for s in args.scales):
        ap.error("--scales needs positive numbers")
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    if args.picks < 20:
        ap.error("--picks must be >= 20")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - {"dd", "segyio", "mdio", "segysak", "read", "export"}
    if unknown:
        ap.error(f"unknown --skip steps {sorted(unknown)}")
    if args.slices_only:
        if "read" in skip:
            ap.error("--slices-only measures the reads: do not --skip read")
        skip |= {"dd", "segyio", "mdio", "segysak", "export"}
        args.scales = args.scales[:1]

    try:
        import psutil  # noqa: F401
    except ImportError:
        print("error: psutil is needed (pip install psutil)", file=sys.stderr)
        return 2

    workdir: Path = args.workdir.expanduser().resolve()
    run_dir = workdir / "run"
    logdir = workdir / "logs"
    workdir.mkdir(parents=True, exist_ok=True)
    _rmtree(run_dir)
    run_dir.mkdir()
    runner = Runner(logdir, args.timeout, args.verbose)
    scales = plan(args)
    code = FORMAT_CODES[args.format]
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:7.1f}s] {msg}", flush=True)

    R: dict[str, Any] = {
        "argv": sys.argv, "format": args.format, "scales": scales, "ingest": {}, "read": {},
        "export": {}, "mdio_scales": args.mdio_scales,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "mem_gb": _mem_gb()},
        "versions": _versions(), "loadavg_start": _loadavg(),
    }
    free = shutil.disk_usage(workdir).free
    need = sum(s["mb"] for s in scales) * MB * 1.5 + scales[0]["mb"] * MB * 4
    if free < need:
        print(f"error: {workdir} has {free / 1e9:.1f} GB free, about {need / 1e9:.1f} GB needed",
              file=sys.stderr)
        return 2

    try:
        log(f"SEG-Y files ({args.format}, {args.samples} samples, dt {args.dt_us} us) "
            f"in {workdir / 'segy'}")
        for sc in scales:
            path, gen_s, cached = ensure_segy(workdir, sc["n_il"], sc["n_xl"], sc["ns"],
                                              args.format, args.dt_us, log)
            sc["path"] = str(path)
            sc["generated_s"] = gen_s
            log(f"  {sc['scale']}x: {path.name} {sc['mb']:.0f} MB "
                + ("(cached)" if cached else f"(generated in {gen_s:.1f} s)"))
        src = Path(scales[0]["path"])

        if "dd" not in skip:
            log("dd warm read ...")
            R["dd"] = dd_read(src)
            log(f"  dd {R['dd'].get('mbps', 0):.0f} MB/s")
        if "segyio" not in skip:
            log("segyio mmap full read ...")
            R["segyio_read"] = runner.run("segyio_read", {"src": str(src)})
            log(f"  segyio {_f(_get(R['segyio_read'], 'mbps'), '.0f')} MB/s")

        ours_store = run_dir / "ours.zarr"
        mdio_store = run_dir / "mdio.mdio"
        for sc in scales:
            label = f"ours@{sc['scale']}"
            store = ours_store if sc is scales[0] else run_dir / f"ours_{sc['scale']}x.zarr"
            if sc is not scales[0]:
                _warm_tree(Path(sc["path"]))
            log(f"ingest ours {sc['scale']}x ({sc['mb']:.0f} MB) ...")
            r = run_repeated(runner, args.repeat, "ingest_ours",
                             {"src": sc["path"], "store": str(store)},
                             label=f"ingest_ours_{sc['scale']}x")
            R["ingest"][label] = r
            log(f"  {_f(_get(r, 'mbps'))} MB/s, {_f(_get(r, 'seconds'))} s, "
                f"peak RSS {r['peak_rss_mb']:.0f} MB")
            if sc is not scales[0]:
                _rmtree(store)

        if args.dask and ours_store.exists():
            base_hashes = runner.run("store_hashes", {"store": str(ours_store)},
                                     label="hashes_ours").get("hashes")
            for n in (1, 2):
                store = run_dir / f"dask{n}.zarr"
                _warm_tree(Path(scales[0]["path"]))
                log(f"ingest ours on a LocalCluster of {n} worker process(es) ...")
                r = runner.run("ingest_dask", {"src": scales[0]["path"], "store": str(store),
                                               "n_workers": n}, label=f"ingest_dask_{n}")
                if r.get("ok"):
                    r["same_hashes"] = r.pop("hashes") == base_hashes
                R["ingest"][f"dask{n}"] = r
                log(f"  {_f(_get(r, 'mbps'))} MB/s, hashes equal: {r.get('same_hashes')}")
                _rmtree(store)

        mdio_env = {"MDIO__IMPORT__SAVE_SEGY_FILE_HEADER": "true",  # needed to export
                    "TQDM_DISABLE": "1"}
        if "mdio" not in skip:
            todo = scales if args.mdio_scales else scales[:1]
            for sc in todo:
                first = sc is scales[0]
                store = mdio_store if first else run_dir / f"mdio_{sc['scale']}x.mdio"
                _warm_tree(Path(sc["path"]))
                log(f"ingest MDIO {sc['scale']}x ...")
                r = run_repeated(runner, args.repeat, "ingest_mdio",
                                 {"src": sc["path"], "store": str(store)},
                                 label=f"ingest_mdio_{sc['scale']}x", env=mdio_env)
                R["ingest"]["mdio" if first else f"mdio@{sc['scale']}"] = r
                log(f"  {_f(_get(r, 'mbps'))} MB/s, {_f(_get(r, 'seconds'))} s, "
                    f"peak RSS {r['peak_rss_mb']:.0f} MB")
                if not first:
                    _rmtree(store)

        if "segysak" not in skip:
            py = args.segysak_python or sys.executable
            chk = subprocess.run([py, "-c", "import segysak"], capture_output=True, text=True)
            if chk.returncode != 0:
                why = (chk.stderr.strip().splitlines() or ["?"])[-1]
                R["ingest"]["segysak"] = {"ok": False, "error": f"not importable with {py}: {why}"}
                log(f"segysak skipped: not importable with {py} ({why})")
            else:
                _warm_tree(src)
                log("ingest segysak ...")
                store = run_dir / "segysak.zarr"
                r = runner.run("ingest_segysak", {"src": str(src), "store": str(store)},
                               python=py)
                R["ingest"]["segysak"] = r
                if r.get("version"):
                    R["versions"]["segysak"] = f"{r['version']} ({py})"
                log(f"  {_f(_get(r, 'mbps'))} MB/s, peak RSS {r['peak_rss_mb']:.0f} MB")
                _rmtree(store)

        if "read" not in skip:
            rng = np.random.default_rng(args.seed)
            b = scales[0]
            picks = {"inlines": _picks(b["n_il"], args.picks, rng),
                     "crosslines": _picks(b["n_xl"], args.picks, rng),
                     "times": _picks(b["ns"], args.picks, rng), "warmup": args.warmup}
            R["read"]["picks"] = picks
            if _get(R["ingest"].get(f"ours@{b['scale']}"), "mbps"):
                log("read latency: ours, view copies (what the views draw) ...")
                R["read"]["ours_view"] = runner.run(
                    "read_view_ours", {"store": str(ours_store), **picks},
                    label="read_ours_view")
                tv = "fast_time" if (ours_store / "fast_time").exists() else "amplitude"
                # exact time slices without a fast_time copy decode whole traces: fewer picks
                exact = picks if tv == "fast_time" else {
                    **picks, "times": picks["times"][:EXACT_TIME_PICKS],
                    "warmup": min(args.warmup, 1)}
                R["read"]["exact_time_picks"] = len(exact["times"])
                log("read latency: ours, exact (zarr) ...")
                R["read"]["ours_zarr"] = runner.run(
                    "read_zarr", {"store": str(ours_store), "time_var": tv, **exact},
                    label="read_ours_zarr")
                log("read latency: ours (xarray, lazy: xr.open_dataset engine=promethium) ...")
                R["read"]["ours_xarray"] = runner.run(
                    "read_xarray_ours", {"store": str(ours_store), **exact},
                    label="read_ours_xarray")
                log("read latency: ours, zarr and xarray paired pick by pick ...")
                R["read"]["ours_paired"] = runner.run(
                    "read_paired", {"store": str(ours_store), **exact},
                    label="read_ours_paired")
                log("read latency: ours (dask: open_store) ...")
                R["read"]["ours_dask"] = runner.run(
                    "read_dask_ours", {"store": str(ours_store), **exact},
                    label="read_ours_dask")
            if mdio_store.exists():
                log("read latency: MDIO (zarr) ...")
                R["read"]["mdio_zarr"] = runner.run(
                    "read_zarr", {"store": str(mdio_store), **picks}, label="read_mdio_zarr")
            log("read latency: segyio mmap ...")
            R["read"]["segyio"] = runner.run("read_segyio", {"src": str(src), **picks})
            for k in ("ours_view", "ours_zarr", "ours_xarray", "ours_dask", "mdio_zarr",
                      "segyio"):
                r = R["read"].get(k)
                if r and r.get("ok"):
                    log(f"  {k}: " + ", ".join(
                        f"{d} {statistics.median(r[d]):.2f} ms" for d in ("inline", "crossline",
                                                                          "time")))

        if "export" not in skip:
            if ours_store.exists():
                out = run_dir / "export_ours.sgy"
                log("export ours ...")
                r = run_repeated(runner, args.repeat, "export_ours",
                                 {"store": str(ours_store), "out": str(out)}, label="export_ours")
                R["export"]["ours"] = r
                if r.get("ok"):
                    log(f"  {_f(r['mbps'])} MB/s; comparing with the source ...")
                    R["export"]["ours_compare"] = _safe_compare(src, out, args.samples, code)
                    log(f"  {R['export']['ours_compare']['detail']}")
                _rmtree(out)
            if mdio_store.exists():
                out = run_dir / "export_mdio.sgy"
                log("export MDIO ...")
                r = run_repeated(runner, args.repeat, "export_mdio",
                                 {"store": str(mdio_store), "out": str(out),
                                  "format": args.format},
                                 label="export_mdio", env=mdio_env)
                R["export"]["mdio"] = r
                if r.get("ok"):
                    log(f"  {_f(r['mbps'])} MB/s; comparing with the source ...")
                    R["export"]["mdio_compare"] = _safe_compare(src, out, args.samples, code)
                    log(f"  {R['export']['mdio_compare']['detail']}")
                _rmtree(out)
    except KeyboardInterrupt:
        log("interrupted; reporting what was measured")
    finally:
        if not args.keep:
            _rmtree(run_dir)

    R["total_seconds"] = time.perf_counter() - t_start
    R["loadavg_end"] = _loadavg()
    table, targets = build_report(R)
    R["targets"] = targets
    print()
    print(f"promethium_lab I/O benchmark  ({R['machine']['cpus']} CPUs, "
          f"{R['machine']['mem_gb']:.0f} GB RAM, python {R['machine']['python']}; "
          f"MB = 1e6 bytes; medians of {args.picks} picks; total {R['total_seconds']:.0f} s; "
          f"load avg {R['loadavg_start'][:1]} -> {R['loadavg_end'][:1]})")
    print(table)
    if args.json:
        args.json.write_text(json.dumps(R, indent=1, default=str))
        print(f"\nresults written to {args.json}")
    return 0


def _safe_compare(src: Path, out: Path, ns: int, code: int) -> dict:
    try:
        return compare_segy(src, out, ns, code)
    except Exception as exc:  # report, never abort the benchmark
        return {"identical": False, "error": str(exc), "detail": f"comparison failed: {exc}"}


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _mem_gb() -> float:
    try:
        import psutil

        return psutil.virtual_memory().total / 1e9
    except ImportError:
        return float("nan")


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("promethium-lab", "multidimio", "segy", "segyio", "zarr", "xarray", "dask",
                 "numpy", "numcodecs", "segysak"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


if __name__ == "__main__":
    sys.exit(main())
