#!/usr/bin/env python
"""Jobs benchmark: latencies of the kernel and Dask executors, and the cost of a job.

Measures, in a private job store (``<workdir>/data/jobs.sqlite``):

* **submit → running**: wall time from calling ``jobs.submit(...)`` to the job's
  ``started_at`` (written by the runner when it claims the job), for the kernel executor
  (threads here) and a ``LocalCluster`` of 2 workers × 1 thread (once it is up; its
  start-up time is shown separately);
* **cancel → canceled**: from ``job.cancel()`` (and, kernel only, from a cancel written by
  another store handle, as the server or CLI would) to the job's ``finished_at``, for a
  job of 50 ms batches;
* **job overhead**: a reconstruction (``workflows.reconstruct`` of a synthetic decimated
  cube, store to store, single thread) called directly vs run as a kernel job (submit →
  finished: queueing, progress, previews, heartbeats, the record);
* **Dask speed-up**: the same reconstruction as a job on the LocalCluster (its blocks
  spread over both workers through ``client=``) vs the single-thread kernel job, and
  whether both results are identical.

then prints the figures and PASS/FAIL lines for the targets:

* kernel submit → running ≤ 50 ms (median); LocalCluster ≤ 1 s once the cluster is up;
* job overhead ≤ 5 % of a ~30-second task;
* reconstruct on a LocalCluster with 2 workers ≥ 1.6× the single-thread kernel run.

BLAS/OpenMP threads are pinned to 1 (here and in the workers) so that "single thread"
means it. Timing is noisy on shared machines; nothing here is a test.

Run: ``PYTHONPATH=. python benchmarks/jobs_bench.py`` (``--quick`` for a ~1-minute run
with a short task, which then only indicates the overhead).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

__all__ = ["main"]

BATCHES = "promethium_lab.jobs.testing:batches"
TARGET_KERNEL_S = 0.050
TARGET_DASK_S = 1.0
TARGET_OVERHEAD = 0.05
TARGET_SPEEDUP = 1.6


def _setup_env(workdir: Path) -> None:
    os.environ["PROMETHIUM_DATA_DIR"] = str(workdir / "data")
    os.environ["PROMETHIUM_PROGRESS"] = "0"
    os.environ["PROMETHIUM_WORKERS"] = "1"  # single-thread kernel runs


def _make_store(workdir: Path, shape: tuple[int, int, int], seed: int = 1) -> Path:
    """A synthetic cube with half its traces removed, as a store (cached)."""
    from promethium_lab.io.store import is_complete_store, write_store
    from promethium_lab.signal.decimate import decimate
    from promethium_lab.signal.synthetic import synthetic_cube

    store = workdir / f"cube_{shape[0]}x{shape[1]}x{shape[2]}_s{seed}.zarr"
    if not is_complete_store(store):
        shutil.rmtree(store, ignore_errors=True)
        ds = synthetic_cube(*shape, seed=seed, noise=0.05)
        write_store(decimate(ds, "random", fraction=0.5, seed=0), store, overwrite=True,
                    access_patterns=(), views=())
    return store


def _stats(values: list[float]) -> dict[str, float]:
    v = sorted(values)
    return {"median": statistics.median(v), "p90": v[min(len(v) - 1, int(0.9 * len(v)))],
            "max": v[-1], "n": len(v)}


def _submit_latency(executor: Any, n: int) -> list[float]:
    from promethium_lab.jobs import submit

    out = []
    for _ in range(n):
        t0 = time.time()
        job = submit("batches", executor=executor, n_batches=1, batch_s=0.0, preview=False)
        job.wait(60)
        out.append(job.record.started_at - t0)
    return out


def _cancel_latency(executor: Any, n: int, *, via_store: bool = False) -> list[float]:
    from promethium_lab.jobs import JobState, JobStore, submit

    out = []
    for _ in range(n):
        job = submit("batches", executor=executor, n_batches=100_000, batch_s=0.05,
                     preview=False)
        while job.progress == 0.0:  # running, one batch done
            time.sleep(0.005)
        time.sleep(0.02)
        t0 = time.time()
        if via_store:
            JobStore(job.store.path).request_cancel(job.id)
        else:
            job.cancel()
        assert job.wait(60) == JobState.CANCELED
        out.append(job.record.finished_at - t0)
    return out


def _timed_job(executor: Any, **params: Any) -> tuple[float, float, Any]:
    """Wall seconds from submit to the job's ``finished_at``, CPU seconds of this process
    meanwhile (waiting on the executor's future, not polling), and the record."""
    from promethium_lab.jobs import JobState, submit

    t0, c0 = time.time(), time.process_time()
    job = submit("reconstruct", executor=executor, **params)
    job.future.result()
    state = job.wait()
    cpu = time.process_time() - c0
    rec = job.record
    if state != JobState.COMPLETED:
        raise SystemExit(f"reconstruct job {job.id} {state.value}: {rec.error}")
    return rec.finished_at - t0, cpu, rec


def _same(a: Path, b: Path) -> tuple[bool, float]:
    """Whether two stores hold the same amplitudes, and their largest difference."""
    import numpy as np

    from promethium_lab.io.store import open_store

    x, y = (np.asarray(open_store(p)["amplitude"].values, dtype=np.float64) for p in (a, b))
    diff = float(np.nanmax(np.abs(x - y))) if x.shape == y.shape else float("inf")
    return bool(np.array_equal(x, y, equal_nan=True)), diff


def run(args: argparse.Namespace) -> dict[str, Any]:
    from promethium_lab.jobs import DaskExecutor, KernelExecutor, register_workflow
    from promethium_lab.workflows.reconstruct import reconstruct

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    _setup_env(workdir)
    register_workflow("batches", BATCHES, outputs=("out",), replace=True)
    res: dict[str, Any] = {"machine": {"python": sys.version.split()[0],
                                       "platform": platform.platform(),
                                       "cpus": os.cpu_count(),
                                       "load_before": os.getloadavg()[0]}}
    print(f"job store: {workdir / 'data' / 'jobs.sqlite'}", flush=True)

    # ------------------------------------------------------------------ latencies
    kernel = KernelExecutor(max_workers=2)
    _submit_latency(kernel, 3)  # warm-up: imports, first connection
    res["kernel_submit_running"] = _stats(_submit_latency(kernel, args.repeats))
    res["kernel_cancel"] = _stats(_cancel_latency(kernel, args.cancels))
    res["kernel_cancel_via_store"] = _stats(_cancel_latency(kernel, args.cancels,
                                                            via_store=True))
    print("kernel latencies done", flush=True)

    t0 = time.perf_counter()
    dask = DaskExecutor(n_workers=2, threads_per_worker=1)
    dask.client.wait_for_workers(2)
    res["dask_cluster_start_s"] = time.perf_counter() - t0
    _submit_latency(dask, 3)  # warm-up: imports on the workers
    res["dask_submit_running"] = _stats(_submit_latency(dask, args.repeats))
    res["dask_cancel"] = _stats(_cancel_latency(dask, args.cancels))
    print("dask latencies done", flush=True)

    # ------------------------------------------------------------------ reconstruct
    shape = tuple(int(s) for s in args.cube.split(","))
    store = _make_store(workdir, shape)  # type: ignore[arg-type]
    small = _make_store(workdir, (8, shape[1], 64))
    # output chunks of a few inlines: the blocks of work (aligned to them) are many, so two
    # workers can share them; ``overlap`` extra inlines are computed around each block
    common = {"method": args.method, "blind": False, "block_mb": args.block_mb,
              "overwrite": True, "access_patterns": (), "views": (), "overlap": args.overlap,
              "chunks": (args.chunk_inlines, shape[1], shape[2])}
    outs = {k: workdir / f"rec_{k}.zarr" for k in ("direct", "kernel", "dask")}
    for p in outs.values():
        shutil.rmtree(p, ignore_errors=True)
    warm = {**common, "chunks": (4, shape[1], 64)}
    reconstruct(small, out=workdir / "warm.zarr", **warm)  # imports, first allocations
    _timed_job(dask, source=str(small), out=str(workdir / "warm.zarr"), **warm)  # workers
    direct, job_kernel, direct_cpu, job_cpu = [], [], [], []
    for _ in range(args.repeat_task):  # alternate, so drifts hit both
        t0, c0 = time.perf_counter(), time.process_time()
        reconstruct(store, out=outs["direct"], **common)
        direct.append(time.perf_counter() - t0)
        direct_cpu.append(time.process_time() - c0)
        print(f"direct reconstruct: {direct[-1]:.2f} s ({direct_cpu[-1]:.2f} s CPU)",
              flush=True)
        seconds, cpu, _ = _timed_job(kernel, source=str(store), out=str(outs["kernel"]),
                                     **common)
        job_kernel.append(seconds)
        job_cpu.append(cpu)
        print(f"kernel job reconstruct: {seconds:.2f} s ({cpu:.2f} s CPU)", flush=True)
    res["task"] = {"store": str(store), "shape": list(shape), **{
        k: v for k, v in common.items() if k != "overwrite"}}
    res["direct_s"] = statistics.median(direct)
    res["kernel_job_s"] = statistics.median(job_kernel)
    res["overhead"] = res["kernel_job_s"] / res["direct_s"] - 1
    res["direct_cpu_s"] = statistics.median(direct_cpu)
    res["kernel_job_cpu_s"] = statistics.median(job_cpu)
    res["overhead_cpu"] = res["kernel_job_cpu_s"] / res["direct_cpu_s"] - 1
    seconds, _, _ = _timed_job(dask, source=str(store), out=str(outs["dask"]), **common)
    print(f"dask job reconstruct: {seconds:.2f} s", flush=True)
    res["dask_job_s"] = seconds
    res["speedup"] = res["kernel_job_s"] / seconds
    res["dask_identical"], res["dask_max_diff"] = _same(outs["kernel"], outs["dask"])
    res["direct_identical"], res["direct_max_diff"] = _same(outs["direct"], outs["kernel"])
    res["machine"]["load_after"] = os.getloadavg()[0]
    dask.close()
    kernel.close()
    if not args.keep:
        for p in outs.values():
            shutil.rmtree(p, ignore_errors=True)
    return res


def report(res: dict[str, Any]) -> list[str]:
    ms = 1000.0

    def lat(key: str) -> str:
        s = res[key]
        return (f"median {s['median'] * ms:7.1f} ms   p90 {s['p90'] * ms:7.1f} ms   "
                f"max {s['max'] * ms:7.1f} ms   (n={s['n']})")

    lines = [
        "",
        "promethium_lab jobs benchmark",
        f"  machine: {res['machine']['cpus']} cores, Python {res['machine']['python']}, "
        f"load average {res['machine']['load_before']:.1f} before, "
        f"{res['machine']['load_after']:.1f} after"
        + ("  (busy machine: timings are inflated)"
           if res["machine"]["load_after"] > 1.2 * (res["machine"]["cpus"] or 1) else ""),
        "",
        f"kernel  submit → running      {lat('kernel_submit_running')}",
        f"kernel  cancel → canceled     {lat('kernel_cancel')}   (same process)",
        f"kernel  cancel → canceled     {lat('kernel_cancel_via_store')}   (via the store)",
        f"dask    cluster start         {res['dask_cluster_start_s']:.2f} s "
        "(LocalCluster, 2 workers × 1 thread)",
        f"dask    submit → running      {lat('dask_submit_running')}",
        f"dask    cancel → canceled     {lat('dask_cancel')}   (via the store)",
        "",
        f"task    reconstruct ({res['task']['method']}) of a "
        f"{'×'.join(map(str, res['task']['shape']))} cube, 50 % of its traces missing, "
        f"blocks of {res['task']['chunks'][0]} inlines + {res['task']['overlap']} around",
        f"        direct call (1 thread)     {res['direct_s']:8.2f} s",
        f"        kernel job  (1 thread)     {res['kernel_job_s']:8.2f} s   overhead "
        f"{res['overhead'] * 100:+.2f} %   (identical: {res['direct_identical']})",
        f"        CPU time of this process   {res['direct_cpu_s']:8.2f} s direct, "
        f"{res['kernel_job_cpu_s']:.2f} s as a job: overhead {res['overhead_cpu'] * 100:+.2f} %",
        f"        dask job (2 workers)       {res['dask_job_s']:8.2f} s   speed-up "
        f"{res['speedup']:.2f}×   (identical: {res['dask_identical']}, max difference "
        f"{res['dask_max_diff']:.3g})",
        "",
    ]

    def target(ok: bool, text: str) -> str:
        return f"{'PASS' if ok else 'FAIL'}  {text}"

    k, d = res["kernel_submit_running"]["median"], res["dask_submit_running"]["median"]
    lines.append(target(k <= TARGET_KERNEL_S,
                        f"kernel submit → running {k * ms:.1f} ms ≤ {TARGET_KERNEL_S * ms:.0f} ms"))
    lines.append(target(d <= TARGET_DASK_S, f"LocalCluster submit → running {d * ms:.1f} ms "
                        f"≤ {TARGET_DASK_S * ms:.0f} ms (cluster up)"))
    note = "" if res["direct_s"] >= 25 else (
        f" (task {res['direct_s']:.0f} s, not ~30 s: indicative only)")
    lines.append(target(res["overhead"] <= TARGET_OVERHEAD,
                        f"job overhead {res['overhead'] * 100:.2f} % ≤ "
                        f"{TARGET_OVERHEAD * 100:.0f} % of a {res['direct_s']:.0f}-second task"
                        + note))
    lines.append(target(res["overhead_cpu"] <= TARGET_OVERHEAD,
                        f"job overhead in CPU time {res['overhead_cpu'] * 100:.2f} % ≤ "
                        f"{TARGET_OVERHEAD * 100:.0f} % (insensitive to other processes)"))
    lines.append(target(res["speedup"] >= TARGET_SPEEDUP and res["dask_identical"],
                        f"reconstruct on a LocalCluster (2 workers) {res['speedup']:.2f}× ≥ "
                        f"{TARGET_SPEEDUP}× the single-thread kernel run, same result"))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default="/tmp/promethium_jobs_bench")
    parser.add_argument("--repeats", type=int, default=20, help="latency samples")
    parser.add_argument("--cancels", type=int, default=5, help="cancel samples")
    parser.add_argument("--cube", default="160,32,256",
                        help="inline,crossline,samples of the reconstruct cube")
    parser.add_argument("--method", default="pwd", help="reconstruction method")
    parser.add_argument("--block-mb", type=float, default=0.25,
                        help="block of work (MB); blocks are also aligned to the chunks")
    parser.add_argument("--chunk-inlines", type=int, default=8,
                        help="inlines per output chunk (= per block of work)")
    parser.add_argument("--overlap", type=int, default=4,
                        help="traces computed around each block")
    parser.add_argument("--repeat-task", type=int, default=2,
                        help="direct/kernel-job pairs of the long task (median)")
    parser.add_argument("--quick", action="store_true",
                        help="small cube and fewer samples (~1 minute)")
    parser.add_argument("--keep", action="store_true", help="keep the reconstructed stores")
    parser.add_argument("--json", default=None, help="write every figure to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.cube, args.repeats, args.cancels, args.repeat_task = "24,32,256", 10, 3, 1
    res = run(args)
    lines = report(res)
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
