#!/usr/bin/env python
"""Sliding-window inference benchmark: promethium_lab vs MONAI, same model, same windows.

One run measures, on a synthetic section with 30 % of its traces removed (the input is the
two channels ``[samples, live mask]``):

* ``ours``: :func:`promethium_lab.ml.infer.sliding_window_inference` (cosine blending);
* ``ours-gauss``: the same with ``blend="gaussian"`` (MONAI's importance map);
* ``monai``: ``monai.inferers.sliding_window_inference(mode="gaussian")``;
* ``ours-store``: the survey API, :func:`promethium_lab.ml.infer.infer_survey`, reading the
  section from a Zarr store and writing the result to another one (blocked, bounded
  memory; informative: it includes the Zarr I/O and the halo windows of its blocks);
* ``model-only``: the model's forward passes on the same windows, stacked into contiguous
  batches as MONAI does, nothing else (the ceiling of an engine that feeds the model
  contiguous batches; ours hands CPU batches to :func:`model_predictor`'s predictor
  channels-last, in which oneDNN convolutions run faster, so it can exceed this).

All use the same model (the shipped ``synthetic-unet`` by default), window (``--patch``),
overlap, batch size and thread count (``--threads``, default 1: steadiest on a shared
machine), under ``torch.inference_mode``.

Throughput: the in-memory engines run in one fresh subprocess (this script re-entered
with ``--worker timing``), one untimed warm-up each, then ``--repeat`` rounds in which
each engine runs once, the order rotating from round to round, so that drift in the
machine's load hits them alike; ``ours-store`` runs in its own subprocess. ``--rounds``
repeats all of it. Reported: windows/s (median and best over the timed runs).

Peak RSS: each engine once more, alone in a fresh subprocess (one warm-up and one timed
run), its RSS polled with psutil every ~20 ms (the interpreter, torch and the model are
in it, alike for all). Difference: the largest absolute difference between our output
and MONAI's with the same (gaussian) blending window, and ours-cosine vs MONAI-gaussian
for scale.

    python benchmarks/infer_bench.py                      # ~1-2 min on 2 cores
    python benchmarks/infer_bench.py --traces 1024 --samples 2048 --repeat 12 --json out.json

Nothing here asserts on timings: it prints PASS/FAIL for the target (ours >= 1.0x MONAI's
windows/s, and max |ours-gauss - monai| <= 1e-4) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ENGINES = ("ours", "ours-gauss", "monai", "model-only", "ours-store")


def _setup(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    import torch

    from promethium_lab.ml import registry
    from promethium_lab.ml.infer import model_predictor
    from promethium_lab.signal.decimate import decimate
    from promethium_lab.signal.synthetic import synthetic_section

    torch.set_num_threads(args.threads)
    model = registry.load(args.model)
    ds = decimate(synthetic_section(args.traces, args.samples, 4.0, seed=0), "random", 0.3,
                  seed=0)
    x = torch.from_numpy(ds["amplitude"].values)
    m = torch.from_numpy(ds["trace_mask"].values.astype("float32"))[:, None].expand_as(x)
    inputs = torch.stack([x, m])[None].contiguous()
    return model_predictor(model), inputs, ds


def _n_windows(args: argparse.Namespace) -> int:
    from promethium_lab.ml.infer import dense_windows

    return len(dense_windows((args.traces, args.samples), args.patch, args.overlap))


def _engines(args: argparse.Namespace, predictor: Any, inputs: Any, ds: Any,
             tmp: Path) -> dict[str, Any]:
    """``name -> run(i) -> windows run`` for every engine."""
    import torch
    from monai.inferers import sliding_window_inference as monai_swi

    from promethium_lab.ml.infer import dense_windows, sliding_window_inference

    roi, bs, ov = tuple(args.patch), args.batch_size, args.overlap
    n_win = _n_windows(args)
    slices = dense_windows(tuple(inputs.shape[2:]), roi, ov)

    def ours(i: int, blend: str = "cosine") -> int:
        sliding_window_inference(inputs, roi, bs, predictor, ov, blend=blend)
        return n_win

    def monai(i: int) -> int:
        with torch.inference_mode():
            monai_swi(inputs, roi, bs, predictor, ov, mode="gaussian")
        return n_win

    def model_only(i: int) -> int:
        with torch.inference_mode():
            for b0 in range(0, len(slices), bs):
                predictor(torch.stack([inputs[(0, slice(None), *s)]
                                       for s in slices[b0:b0 + bs]]))
        return len(slices)

    def ours_store(i: int) -> int:
        from promethium_lab.io.store import open_store, write_store
        from promethium_lab.ml import infer as infer_mod
        from promethium_lab.ml import registry

        src = tmp / "in.zarr"
        if not src.exists():
            write_store(ds, src, progress=False)
        model = registry.load(args.model)
        counted: list[int] = []
        real = infer_mod._BlockInferer.__call__

        def spy(self: Any, core: Any) -> Any:
            out = real(self, core)
            counted.append(self.windows_run)
            return out

        infer_mod._BlockInferer.__call__ = spy  # count the windows actually run
        try:
            infer_mod.infer_survey(open_store(src), model, mode="denoise", patch=roi,
                                   overlap=ov, batch_size=bs, device="cpu",
                                   out=tmp / f"out{i}.zarr", block_mb=args.block_mb)
        finally:
            infer_mod._BlockInferer.__call__ = real
        return counted[-1] if counted else n_win

    return {"ours": ours, "ours-gauss": lambda i: ours(i, "gaussian"), "monai": monai,
            "model-only": model_only, "ours-store": ours_store}


def worker(args: argparse.Namespace) -> None:
    """``--worker timing``: the in-memory engines alternately, run by run (rotating the
    order), so that load drift hits them alike; ``--worker <engine>``: one engine alone,
    for its peak RSS (and, for ``ours-store``, its timing)."""
    import torch

    torch.set_num_threads(args.threads)
    predictor, inputs, ds = _setup(args)
    tmp = Path(tempfile.mkdtemp(prefix="infer_bench_"))
    engines = _engines(args, predictor, inputs, ds, tmp)
    names = [e for e in args.engines.split(",") if e != "ours-store"] \
        if args.worker == "timing" else [args.worker]
    for name in names:
        engines[name](-1)  # warm-up
    times: dict[str, list[float]] = {n: [] for n in names}
    windows: dict[str, list[int]] = {n: [] for n in names}
    for i in range(args.repeat):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            t0 = time.perf_counter()
            windows[name].append(engines[name](i))
            times[name].append(time.perf_counter() - t0)
    print("RESULT " + json.dumps({"seconds": times, "windows": windows}))


def diff_check(args: argparse.Namespace) -> dict[str, float]:
    import torch
    from monai.inferers import sliding_window_inference as monai_swi

    from promethium_lab.ml.infer import sliding_window_inference

    predictor, inputs, _ = _setup(args)
    roi, bs, ov = tuple(args.patch), args.batch_size, args.overlap
    with torch.inference_mode():
        ref = monai_swi(inputs, roi, bs, predictor, ov, mode="gaussian")
    gauss = sliding_window_inference(inputs, roi, bs, predictor, ov, blend="gaussian")
    cosine = sliding_window_inference(inputs, roi, bs, predictor, ov, blend="cosine")
    scale = float(ref.abs().max())
    return {"max_abs_diff_same_window": float((gauss - ref).abs().max()),
            "max_abs_diff_cosine_vs_gaussian": float((cosine - ref).abs().max()),
            "output_max_abs": scale}


def run_worker(args: argparse.Namespace, engine: str) -> dict[str, Any]:
    import psutil

    cmd = [sys.executable, __file__, "--worker", engine, *args.passthrough]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    out, err = proc.communicate()
    lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"worker {engine} failed ({proc.returncode}):\n{err[-3000:]}")
    res = json.loads(lines[-1][7:])
    res["peak_rss_mb"] = peak / 1e6
    return res



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", type=int, default=512)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--patch", type=lambda s: [int(v) for v in s.split(",")], default=[32, 64])
    ap.add_argument("--overlap", type=float, default=0.5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 is steadiest on a shared machine)")
    ap.add_argument("--model", default="synthetic-unet")
    ap.add_argument("--repeat", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--block-mb", type=float, default=1.0)
    ap.add_argument("--skip", default="", help="comma-separated engines to leave out")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", choices=(*ENGINES, "timing"), help=argparse.SUPPRESS)
    ap.add_argument("--engines", default=",".join(ENGINES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    args.passthrough = [
        "--traces", str(args.traces), "--samples", str(args.samples),
        "--patch", ",".join(map(str, args.patch)), "--overlap", str(args.overlap),
        "--batch-size", str(args.batch_size), "--threads", str(args.threads),
        "--model", args.model, "--repeat", str(args.repeat), "--block-mb", str(args.block_mb)]
    skip = set(filter(None, args.skip.split(",")))
    engines = [e for e in ENGINES if e not in skip]
    args.passthrough += ["--engines", ",".join(engines)]
    results: dict[str, dict[str, Any]] = {
        e: {"seconds": [], "windows": [], "peak_rss_mb": 0.0} for e in engines}

    def collect(res: dict[str, Any]) -> None:
        for name, secs in res["seconds"].items():
            results[name]["seconds"] += secs
            results[name]["windows"] += res["windows"][name]

    for _ in range(args.rounds):
        if set(engines) - {"ours-store"}:
            collect(run_worker(args, "timing"))
        if "ours-store" in engines:
            res = run_worker(args, "ours-store")
            collect(res)
            results["ours-store"]["peak_rss_mb"] = res["peak_rss_mb"]
    for engine in engines:
        if engine != "ours-store":
            solo = argparse.Namespace(**{**vars(args), "repeat": 1})
            solo.passthrough = [*args.passthrough]
            solo.passthrough[solo.passthrough.index("--repeat") + 1] = "1"
            results[engine]["peak_rss_mb"] = run_worker(solo, engine)["peak_rss_mb"]
    for agg in results.values():
        rates = [w / s for w, s in zip(agg["windows"], agg["seconds"])]
        agg["windows_per_s_median"] = statistics.median(rates)
        agg["windows_per_s_best"] = max(rates)
    diff = diff_check(args)

    n_win = _n_windows(args)
    print(f"\nsliding-window inference: section {args.traces} x {args.samples}, window "
          f"{tuple(args.patch)}, overlap {args.overlap}, batch {args.batch_size}, "
          f"{n_win} windows, model {args.model}, {args.threads} threads, "
          f"{args.rounds} rounds x {args.repeat} runs\n")
    head = f"{'engine':<12}{'win/s med':>11}{'win/s best':>11}{'peak RSS MB':>13}{'vs MONAI':>10}"
    print(head)
    print("-" * len(head))
    monai_rate = results.get("monai", {}).get("windows_per_s_median")
    for engine, agg in results.items():
        ratio = agg["windows_per_s_median"] / monai_rate if monai_rate else float("nan")
        print(f"{engine:<12}{agg['windows_per_s_median']:>11.1f}"
              f"{agg['windows_per_s_best']:>11.1f}{agg['peak_rss_mb']:>13.0f}{ratio:>9.2f}x")
    print()
    print(f"max |ours(gaussian) - monai(gaussian)| = {diff['max_abs_diff_same_window']:.3g}"
          f"   (output max |y| = {diff['output_max_abs']:.3g})")
    print(f"max |ours(cosine)   - monai(gaussian)| = "
          f"{diff['max_abs_diff_cosine_vs_gaussian']:.3g}   (different blending windows)")
    print()
    if monai_rate:
        for engine in ("ours", "ours-gauss"):
            if engine in results:
                ratio = results[engine]["windows_per_s_median"] / monai_rate
                paired = [m / o for m, o in zip(results["monai"]["seconds"],
                                                results[engine]["seconds"])]
                print(f"{'PASS' if ratio >= 1.0 else 'FAIL'}  {engine} throughput "
                      f"{ratio:.3f}x MONAI's (target >= 1.0x); same-round ratios: median "
                      f"{statistics.median(paired):.3f}, range {min(paired):.3f}-"
                      f"{max(paired):.3f}")
        if "model-only" in results:
            print(f"info  model forward passes alone: "
                  f"{results['model-only']['windows_per_s_median'] / monai_rate:.3f}x "
                  "MONAI's windows/s (the ceiling with contiguous batches)")
        rss = results.get("ours", {}).get("peak_rss_mb")
        if rss:
            print(f"info  ours peak RSS {rss / results['monai']['peak_rss_mb']:.2f}x MONAI's")
    ok = diff["max_abs_diff_same_window"] <= 1e-4
    print(f"{'PASS' if ok else 'FAIL'}  same blending window: outputs agree to "
          f"{diff['max_abs_diff_same_window']:.2g} (target <= 1e-4)")
    if args.json is not None:
        import torch

        args.json.write_text(json.dumps({
            "params": {k: v for k, v in vars(args).items() if k not in ("json", "passthrough")},
            "results": results, "diff": diff,
            "machine": {"python": platform.python_version(), "torch": torch.__version__,
                        "cpu_count": os.cpu_count(), "platform": platform.platform()},
        }, indent=2, default=str))


if __name__ == "__main__":
    main()
