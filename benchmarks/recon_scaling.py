"""Reconstruction of Zarr-backed surveys as they grow: time per trace and peak memory.

Writes synthetic 3-D cubes (planar events, Ricker wavelet; the base cube repeated along
inline, every other copy mirrored, so the data look alike at every size) with 30 % of the
traces removed at random as Zarr stores of 1×, 2×, 4× and 8× the base size, then
runs ``workflows.reconstruct(store, out=..., block_mb=...)`` store to store on each, in a
fresh subprocess with one worker thread (``--workers``: with more, a survey of one block
would use one core and a larger one all of them, and the time per trace would measure
the parallelism, not the work), and prints wall and CPU milliseconds per trace and peak
RSS. Targets
(issue 4): time per trace flat (±20 %) from 1× to 8×, and memory bounded: once the survey
is larger than a block, peak RSS stops growing with it.

The default base, 208 inlines × 56 crosslines × 128 samples in blocks of 4 MB, already
holds two blocks, so every scale runs in the regime of a real survey: several blocks,
each running the survey's windows that reach into it (POCS's default 32 × 32 × 128,
overlap 8), the windows that straddle a block edge run by both blocks. A 1× survey of
one block (or of one window per dim) would do less work per trace than any real survey.

    python benchmarks/recon_scaling.py --method pocs
    python benchmarks/recon_scaling.py --scales 1,2,4,8,16   # memory beyond 8x
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil


def _write_store(path: Path, n_il: int, n_xl: int, ns: int, scale: int) -> None:
    """``scale`` copies of the base cube along inline, every other one mirrored, so the
    dipping events zigzag on through the whole survey instead of leaving the time window
    (a bigger synthetic_cube would fill with silent windows, which cost nothing)."""
    import numpy as np
    import xarray as xr

    from promethium_lab.io.store import write_store
    from promethium_lab.signal.decimate import decimate
    from promethium_lab.signal.synthetic import synthetic_cube

    base = synthetic_cube(n_inline=n_il, n_crossline=n_xl, n_samples=ns, seed=0)
    parts = [base if k % 2 == 0 else base.isel(inline=slice(None, None, -1))
             for k in range(scale)]
    cube = xr.concat(parts, dim="inline", coords="minimal", compat="override")
    cube = cube.assign_coords(inline=np.arange(n_il * scale) + int(base["inline"][0]))
    holed = decimate(cube, pattern="random", fraction=0.3, seed=scale)
    write_store(holed, path, overwrite=True, progress=False)


def _worker(args: argparse.Namespace) -> None:
    from promethium_lab.workflows.reconstruct import reconstruct

    t0 = time.perf_counter()
    c0 = time.process_time()
    reconstruct(args.store, method=args.method, out=args.out, overwrite=True, blind=False,
                progress=False, block_mb=args.block_mb)
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}))


def _peak_rss(cmd: list[str], env: dict[str, str]) -> tuple[dict, float]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    peak = 0.0
    ps = psutil.Process(proc.pid)

    def watch() -> None:
        nonlocal peak
        while proc.poll() is None:
            try:
                rss = sum(p.memory_info().rss for p in [ps, *ps.children(recursive=True)])
                peak = max(peak, rss / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.05)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    out, _ = proc.communicate()
    t.join()
    if proc.returncode:
        raise SystemExit(f"worker failed: {' '.join(cmd)}")
    return json.loads(out.strip().splitlines()[-1]), peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="pocs")
    ap.add_argument("--inlines", type=int, default=208, help="inlines of the 1x cube")
    ap.add_argument("--crosslines", type=int, default=56)
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--scales", default="1,2,4,8")
    ap.add_argument("--workers", type=int, default=1,
                    help="threads running blocks (PROMETHIUM_WORKERS); 1 measures work")
    ap.add_argument("--block-mb", type=float, default=4.0,
                    help="block of work of reconstruct (peak memory follows it)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args)
        return
    work = Path(tempfile.mkdtemp(prefix="recon_scaling_"))
    # blocks run in --workers threads; with one, seconds per trace measure the work alone
    # (with several, a survey of one block would run on one core and larger ones on all)
    env = {**os.environ, "PROMETHIUM_WORKERS": str(args.workers)}
    rows = []
    try:
        for scale in [int(s) for s in args.scales.split(",")]:
            n_il = args.inlines * scale
            store, out = work / f"in{scale}.zarr", work / f"out{scale}.zarr"
            _write_store(store, args.inlines, args.crosslines, args.samples, scale)
            res, peak = _peak_rss([sys.executable, __file__, "--worker", "--store", str(store),
                                   "--out", str(out), "--method", args.method,
                                   "--block-mb", str(args.block_mb)], env)
            traces = n_il * args.crosslines
            mb = traces * args.samples * 4 / 2**20
            rows.append((scale, traces, mb, res["seconds"], res["seconds"] / traces * 1e3,
                         peak, res["cpu"] / traces * 1e3))
            shutil.rmtree(store)
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"reconstruct ({args.method}) store to store, {args.inlines}×{args.crosslines}×"
          f"{args.samples} at 1x, 30 % traces missing, blocks of {args.block_mb:g} MB, "
          f"{args.workers} worker thread(s)")
    print(f"{'scale':>5} {'traces':>8} {'MB':>7} {'seconds':>9} {'ms/trace':>9} "
          f"{'CPU ms/trace':>13} {'peak RSS MB':>12}")
    for scale, traces, mb, sec, per, peak, cpu in rows:
        print(f"{scale:>5} {traces:>8} {mb:>7.1f} {sec:>9.2f} {per:>9.3f} {cpu:>13.3f} "
              f"{peak:>12.0f}")
    base = rows[0][4]
    dev = [r[4] / base - 1 for r in rows]
    worst = max(dev, key=abs)
    flat = "PASS" if abs(worst) <= 0.2 else "FAIL"
    print(f"{flat}  time per trace flat within ±20 % from 1x to {rows[-1][0]}x: "
          f"largest deviation {worst:+.0%}")
    # bounded: once the survey holds more than one block, peak RSS no longer follows size
    big = [r for r in rows if r[2] > args.block_mb]
    if len(big) >= 2:
        growth = big[-1][5] / big[0][5]
        size = big[-1][2] / big[0][2]
        ok = "PASS" if growth <= 1.25 else "FAIL"
        print(f"{ok}  memory bounded: peak RSS {big[0][5]:.0f} MB at {big[0][0]}x, "
              f"{big[-1][5]:.0f} MB at {big[-1][0]}x ({growth:.2f}x for {size:.0f}x the data)")
    else:
        print("N/A   memory bounded: needs two scales of more than one block "
              "(lower --block-mb or add scales)")


if __name__ == "__main__":
    main()
