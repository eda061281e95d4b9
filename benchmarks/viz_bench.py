"""Interactive section view of a Zarr store as it grows: ours vs matplotlib vs HoloViews.

Writes synthetic 2-D sections ``(trace, time)`` as Zarr stores at 1×, 4× and 16× (traces
and samples both doubled per step; 16× is 30000 traces × 4000 samples by default, 480 MB
of float32), with their overview pyramid and clip percentiles (as ingest keeps them), and
then, for each size and each engine, in a fresh subprocess whose peak RSS is polled:

* **ours**: ``promethium_lab.viz.section(store)`` rendered with ``hv.render(..., "bokeh")``
  (800 × 600); the zoom is a ``RangeXY`` event on the rendered plot (what a box zoom in
  the browser sends), which re-reads the visible window at screen resolution;
* **matplotlib**: the section loaded into memory, ``imshow`` and a PNG drawn (Agg,
  800 × 600); the zoom is ``set_xlim/set_ylim`` and a redraw;
* **hv rasterize**: HoloViews' default ``rasterize(hv.Image(dask-backed DataArray))`` (its
  default aggregation, the mean) rendered the same way; the zoom is the same event.

"First render" is from opening the store to the Bokeh model / PNG (each engine first warms
up on a tiny image and the store stack's lazy imports are done, so one-time imports and JIT
compilation are not counted). Zooms go to
the central half and then an eighth of each axis. Prints one table and the targets of
issue 13: first render grows ≤ 2× from 1× to 16×, zoom re-render ≤ 150 ms at 16×, ≥ 10×
faster than matplotlib at 16×, peak RSS ≤ 1 GB at 16×. Nothing is asserted: this is a
measurement, not a test.

    python benchmarks/viz_bench.py                              # 16x = 30000 x 4000
    python benchmarks/viz_bench.py --traces 1875 --samples 250  # quick check (16x = 7500 x 1000)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

# run from a checkout without installing: the package is imported lazily, from here
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ENGINES = ("ours", "matplotlib", "hv rasterize")
WIDTH, HEIGHT = 800, 600


# ---------------------------------------------------------------- data


def _base_section(n_traces: int, n_samples: int, dt_ms: float):
    """A repeating block of dipping and curved Ricker reflections (float32)."""
    import numpy as np

    from promethium_lab.signal.synthetic import ricker

    rng = np.random.default_rng(0)
    t = np.arange(n_samples) * dt_ms
    x = np.arange(n_traces)
    out = np.zeros((n_traces, n_samples), np.float32)
    for _ in range(24):
        t0 = rng.uniform(0, t[-1])
        dip = rng.uniform(-0.6, 0.6) * dt_ms
        curve = rng.uniform(0, 2e-4) * dt_ms
        amp = rng.uniform(-1, 1)
        tt = t0 + dip * (x - n_traces / 2) + curve * (x - n_traces / 2) ** 2
        out += (amp * ricker(t[None, :] - tt[:, None], 25.0)).astype(np.float32)
    return out


class _Generator:
    """``read_block(trace slices)`` of a large synthetic section: the base block tiled with
    every other copy mirrored, plus 5 % noise (deterministic per block)."""

    def __init__(self, n_samples: int, dt_ms: float) -> None:
        self.base = _base_section(512, n_samples, dt_ms)

    def __call__(self, sl: tuple[slice, ...]):
        import numpy as np

        (s,) = sl
        idx = np.arange(s.start, s.stop)
        k, r = np.divmod(idx, 512)
        r = np.where(k % 2 == 0, r, 511 - r)
        noise = np.random.default_rng(s.start).standard_normal((idx.size, self.base.shape[1]))
        return self.base[r] + (0.05 * noise).astype(np.float32)


def _stale_layout(path: Path, shape: tuple[int, int]) -> bool:
    """True when the store's amplitude is not chunked as a store written now would be
    (written by an older version): it is then rewritten, so the figures are today's."""
    from promethium_lab.io.store import choose_chunks

    meta = json.loads((path / "amplitude" / "zarr.json").read_text())
    return tuple(meta["chunk_grid"]["configuration"]["chunk_shape"]) != choose_chunks(shape)


def make_store(path: Path, n_traces: int, n_samples: int, dt_ms: float = 2.0) -> dict:
    """Write the store and its overview (skipped when already there); their times."""
    import dask.array as da
    import numpy as np
    import xarray as xr

    from promethium_lab.io.overview import read_overview, write_overview
    from promethium_lab.io.store import is_complete_store, write_store

    times: dict = {}
    if not is_complete_store(path) or _stale_layout(path, (n_traces, n_samples)):
        ds = xr.Dataset(
            {"amplitude": (("trace", "time"), da.zeros((n_traces, n_samples), dtype="f4",
                                                       chunks=(256, n_samples))),
             "trace_mask": (("trace",), np.ones(n_traces, bool))},
            coords={"trace": np.arange(n_traces),
                    "time": ("time", np.arange(n_samples) * dt_ms, {"units": "ms"})},
            attrs={"source_path": f"synthetic_{n_traces}x{n_samples}.sgy",
                   "sample_interval_us": dt_ms * 1000})
        t0 = time.perf_counter()
        write_store(ds, path, read_block=_Generator(n_samples, dt_ms), overwrite=True,
                    progress=False)
        times["write_s"] = time.perf_counter() - t0
    if read_overview(path) is None:
        t0 = time.perf_counter()
        write_overview(path)
        times["overview_s"] = time.perf_counter() - t0
    return times


# ---------------------------------------------------------------- workers


def _zooms(n_traces: int, n_samples: int, dt_ms: float) -> list[tuple]:
    out = []  # (x_range, y_range) of the central half and eighth
    for frac in (0.5, 0.125):
        cx, cy = n_traces / 2, n_samples * dt_ms / 2
        hx, hy = n_traces * frac / 2, n_samples * dt_ms * frac / 2
        out.append(((cx - hx, cx + hx), (cy - hy, cy + hy)))
    return out


def _time_zooms(zoom, zooms: list, repeat: int) -> dict:
    """Time ``zoom(x_range, y_range)`` for each zoom, ``repeat`` rounds (round ``k`` shifted
    by ``k`` traces, so no round re-uses a cached window): the first time of each zoom and
    all of them."""
    out: dict = {}
    for k in range(max(1, repeat)):
        for i, (xr_, yr) in enumerate(zooms):
            t0 = time.perf_counter()
            zoom((xr_[0] + k, xr_[1] + k), yr)
            out.setdefault(f"zoom{i}_runs", []).append(time.perf_counter() - t0)
    for i in range(len(zooms)):
        out[f"zoom{i}_s"] = out[f"zoom{i}_runs"][0]
    return out


def _worker_ours(store: str, zooms: list, repeat: int = 1) -> dict:
    import holoviews as hv
    import holoviews.plotting.bokeh
    import numpy as np

    from promethium_lab.io.store import open_store
    from promethium_lab.viz import section

    hv.render(hv.Image(np.zeros((4, 4))), backend="bokeh")  # warm-up
    t0 = time.perf_counter()
    view = section(open_store(store), width=WIDTH, height=HEIGHT)
    hv.render(view.hv, backend="bokeh")
    out = {"first_s": time.perf_counter() - t0}
    rng = next(s for s in view.hv.streams if isinstance(s, hv.streams.RangeXY))
    out.update(_time_zooms(lambda x, y: rng.event(x_range=x, y_range=y), zooms, repeat))
    out["pixels"] = list(view.hv.last.get(0).data.shape)
    return out


def _worker_matplotlib(store: str, zooms: list, repeat: int = 1) -> dict:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from promethium_lab.io.store import open_store

    def draw(data, extent):
        fig = Figure(figsize=(WIDTH / 100, HEIGHT / 100), dpi=100)
        ax = fig.add_subplot()
        ax.imshow(data.T, aspect="auto", cmap="gray_r", extent=extent)
        ax.invert_yaxis()
        canvas = FigureCanvasAgg(fig)
        canvas.print_png(io.BytesIO())
        return fig, ax, canvas

    draw(np.zeros((4, 4), np.float32), (0, 1, 0, 1))  # warm-up
    t0 = time.perf_counter()
    ds = open_store(store)
    data = np.asarray(ds["amplitude"].values)
    t = ds["time"].values
    _, ax, canvas = draw(data, (-0.5, data.shape[0] - 0.5, t[-1], t[0]))
    out = {"first_s": time.perf_counter() - t0}

    def zoom(xr_, yr):
        ax.set_xlim(*xr_)
        ax.set_ylim(yr[1], yr[0])
        canvas.print_png(io.BytesIO())

    out.update(_time_zooms(zoom, zooms, repeat))
    return out


def _worker_hv_rasterize(store: str, zooms: list, repeat: int = 1) -> dict:
    import holoviews as hv
    import holoviews.plotting.bokeh
    import numpy as np
    import xarray as xr
    from holoviews.operation.datashader import rasterize

    from promethium_lab.io.store import open_store

    warm = xr.DataArray(np.zeros((8, 8), np.float32), dims=("trace", "time"),
                        coords={"trace": np.arange(8.0), "time": np.arange(8.0)})
    hv.render(rasterize(hv.Image(warm, kdims=["trace", "time"]), width=4, height=4),
              backend="bokeh")  # warm-up (datashader's JIT)
    t0 = time.perf_counter()
    amp = open_store(store)["amplitude"]
    img = hv.Image(amp, kdims=["trace", "time"])
    dmap = rasterize(img, width=WIDTH, height=HEIGHT)
    hv.render(dmap.opts(width=WIDTH, height=HEIGHT), backend="bokeh")
    out = {"first_s": time.perf_counter() - t0}
    rng = next(s for s in dmap.streams if isinstance(s, hv.streams.RangeXY))
    out.update(_time_zooms(lambda x, y: rng.event(x_range=x, y_range=y), zooms, repeat))
    return out


WORKERS = {"ours": _worker_ours, "matplotlib": _worker_matplotlib,
           "hv rasterize": _worker_hv_rasterize}


def _run_worker(engine: str, store: Path, zooms: list, repeat: int = 1) -> dict:
    """The worker in a fresh process; its result and the peak RSS of its process tree
    (polled by :func:`recon_scaling._peak_rss`, as the other benchmarks do)."""
    from recon_scaling import _peak_rss

    cmd = [sys.executable, __file__, "--worker", engine, "--store", str(store),
           "--zooms", json.dumps(zooms), "--repeat", str(repeat)]
    env = dict(os.environ, PROMETHIUM_PROGRESS="0")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    try:
        out, peak = _peak_rss(cmd, env)
    except SystemExit:  # the worker's traceback is on stderr above the table
        return {"error": "worker failed"}
    return {**out, "peak_mb": peak}


# ---------------------------------------------------------------- report


def _ms(v: float | None) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{1000 * v:9.0f}"


def _zoom(r: dict, i: int) -> float | None:
    """Zoom ``i`` of a worker's result: the median of its rounds (the one time if one)."""
    import statistics

    runs = r.get(f"zoom{i}_runs")
    return statistics.median(runs) if runs else r.get(f"zoom{i}_s")


def _mb(v: float | None) -> str:
    return "—" if v is None else f"{v:9.0f}"


def preview_fps(work: Path, frames: int = 60) -> dict:
    """Preview frames per second through the widget, at 800 x 600.

    A job store holds one job whose preview (the newest downsampled result, as a running
    job leaves it) is a 1600 x 1200 section; a :class:`JobMonitor` renders it the way its
    thread does for every frame: read the preview file, reduce it to 800 x 600 (signed
    max-abs), map it to grey, encode JPEG (PNG for the last frame) and set the binary trait.
    Every frame is acknowledged at once, as an idle browser would.
    """
    import numpy as np
    import xarray as xr

    from promethium_lab.jobs import JobStore
    from promethium_lab.widgets import JobMonitor

    (work / "preview_jobs.sqlite").unlink(missing_ok=True)
    store = JobStore(work / "preview_jobs.sqlite")
    rec = store.create("reconstruct", {"source": "bench"})
    rng = np.random.default_rng(0)
    section = xr.DataArray(rng.standard_normal((1600, 1200)).astype(np.float32),
                           dims=("trace", "time"), name="amplitude")
    # a job's own previews are capped at 512 per dim; this one is written at full size so
    # that frames are 800 x 600
    folder = work / "previews"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rec.id}.nc"
    section.to_dataset().to_netcdf(path, engine="scipy")
    mon = JobMonitor(rec.id, job_store=store, start=False)
    sizes, t_jpeg, t0 = set(), [], time.perf_counter()
    for i in range(frames):
        t = time.perf_counter()
        fmt = "png" if i == frames - 1 else "jpeg"
        mon._send_frame(str(path), fmt, "running")
        mon._acked = mon.frame_id
        if fmt == "jpeg":
            t_jpeg.append(time.perf_counter() - t)
        sizes.add(tuple(mon.frame_size))
    total = time.perf_counter() - t0
    mon.close()
    store.close()
    return {"fps": (frames - 1) / sum(t_jpeg), "fps_all": frames / total,
            "frame_size": sorted(sizes)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--traces", type=int, default=7500, help="traces at 1x (default 7500)")
    ap.add_argument("--samples", type=int, default=1000, help="samples at 1x (default 1000)")
    ap.add_argument("--scales", default="1,4,16", help="sizes as multiples of 1x (squares)")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                      "promethium_viz_bench"))
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--preview-frames", type=int, default=60,
                    help="frames for the widget preview rate (0: skip)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds of the two zooms (each shifted by a trace, so none is "
                         "cached); the table shows their medians (default 3)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    ap.add_argument("--zooms", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        import dask.array as da

        from promethium_lab.io.store import open_store

        open_store(args.store)  # lazy imports of the store stack: not part of a render
        da.zeros(2).sum().compute()  # (dask imports distributed on its first compute)
        zooms = [tuple(tuple(r) for r in z) for z in json.loads(args.zooms)]
        print(json.dumps(WORKERS[args.worker](args.store, zooms, args.repeat)))
        return

    scales = [int(s) for s in args.scales.split(",")]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    for scale in scales:
        side = math.isqrt(scale)
        nx, nt = args.traces * side, args.samples * side
        store = work / f"section_{nx}x{nt}.zarr"
        made = make_store(store, nx, nt)
        zooms = _zooms(nx, nt, 2.0)
        row = {"traces": nx, "samples": nt, "mb": nx * nt * 4 / 1e6, **made}
        for engine in engines:
            row[engine] = _run_worker(engine, store, zooms, args.repeat)
            print(f"  {scale:>3}x {engine:<13} {json.dumps(row[engine])}", flush=True)
        results[scale] = row

    print()
    rounds = f"median of {args.repeat} rounds" if args.repeat > 1 else "one round"
    print(f"zoom re-renders: {rounds}, each of a window not seen before")
    print(f"{'size':>5} {'traces x samples':>18} {'MB':>6} | " + " | ".join(
        f"{e:^38}" for e in engines))
    print(f"{'':>5} {'':>18} {'':>6} | " + " | ".join(
        f"{'first ms':>9} {'zoom½ ms':>9} {'zoom⅛ ms':>9} {'RSS MB':>8}" for _ in engines))
    for scale, row in results.items():
        cells = []
        for e in engines:
            r = row[e]
            if "error" in r:
                cells.append(f"{'error: ' + r['error'][:30]:>38}")
            else:
                cells.append(f"{_ms(r['first_s'])} {_ms(_zoom(r, 0))} "
                             f"{_ms(_zoom(r, 1))} {_mb(r['peak_mb']):>8}")
        print(f"{scale:>4}x {row['traces']:>8} x {row['samples']:<7} {row['mb']:>6.0f} | "
              + " | ".join(cells))
    print()
    for scale, row in results.items():
        if "write_s" in row or "overview_s" in row:
            print(f"{scale:>4}x store written in {row.get('write_s', 0):.1f} s, overview "
                  f"(pyramid + percentiles) in {row.get('overview_s', 0):.1f} s")

    lo, hi = min(results), max(results)
    ours = {s: results[s].get("ours", {}) for s in results}

    def get(scale, engine, key):
        r = results[scale].get(engine, {})
        return r.get(key) if "error" not in r else None

    checks = []
    a, b = get(lo, "ours", "first_s"), get(hi, "ours", "first_s")
    if a and b and lo != hi:
        checks.append((b / a <= 2.0, f"first render grows ≤ 2x from {lo}x to {hi}x: "
                                     f"{b / a:.2f}x ({1000 * a:.0f} → {1000 * b:.0f} ms)"))
    r_hi = ours[hi] if "error" not in ours[hi] else {}
    zs = [_zoom(r_hi, i) for i in (0, 1)]
    if all(z is not None for z in zs):
        runs = " / ".join(" ".join(f"{1000 * t:.0f}" for t in r_hi.get(f"zoom{i}_runs", []))
                          for i in (0, 1))
        checks.append((max(zs) <= 0.150, f"zoom re-render ≤ 150 ms at {hi}x ({rounds}): "
                                         f"½ {1000 * zs[0]:.0f} ms, ⅛ {1000 * zs[1]:.0f} ms "
                                         f"(all: {runs} ms)"))
    m = get(hi, "matplotlib", "first_s")
    if m and b:
        checks.append((m / b >= 10.0, f"≥ 10x faster than matplotlib at {hi}x (first render): "
                                      f"{m / b:.1f}x"))
    h = get(hi, "hv rasterize", "first_s")
    if h and b:
        print(f"INFO  vs HoloViews' default rasterize at {hi}x (first render): {h / b:.1f}x "
              "faster")
    rss = ours[hi].get("peak_mb")
    if rss is not None and "error" not in ours[hi]:
        checks.append((rss <= 1024, f"peak RSS ≤ 1 GB at {hi}x: {rss:.0f} MB"))
    if args.preview_frames:
        pv = preview_fps(work, args.preview_frames)
        results["preview"] = pv
        print(f"preview through the widget: {pv['fps']:.1f} JPEG frames/s "
              f"({pv['fps_all']:.1f} with the final PNG), frames {pv['frame_size']}")
        checks.append((pv["fps"] >= 10.0, f"≥ 10 preview frames/s (800 x 600): "
                                          f"{pv['fps']:.1f}"))
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if args.json:
        Path(args.json).write_text(json.dumps({str(k): v for k, v in results.items()},
                                              indent=2))


if __name__ == "__main__":
    main()
