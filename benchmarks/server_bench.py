#!/usr/bin/env python
"""Server benchmark: REST latency of the job routes with 10 000 jobs in the store.

Starts a real ``jupyter server`` on 127.0.0.1 (a free port, a token, promethium_lab's
extension, a private ``PROMETHIUM_DATA_DIR``) after filling its job store with
``--jobs`` records (mixed kinds and states, as a busy user's store looks), then drives it
from a loopback client at a fixed rate (open loop: a request is due every 1/rate s
whatever the previous ones are doing; one asyncio loop, latency counted from the due
time):

* **job-list page**: ``GET promethium/jobs?limit=50``, alternately the first page and a
  page deep in the list (a cursor from the middle of the store);
* **one job's record**: ``GET promethium/jobs/<id>`` of a random job.

and prints p50 / p99 latency of each with PASS/FAIL lines for the target of issue 14
(p99 ≤ 50 ms at 100 requests/s). Then the **event delay**: a client subscribed to
Jupyter Server's event stream (``/api/events/subscribe``, what JupyterLab's
``serviceManager.events.stream`` reads) while this process, as a job's runner would,
writes progress to the store; the delay is from the write to the arrival of the job
event (target ≤ 1 s). Timing is noisy on shared machines; nothing here is a test.

Run: ``PYTHONPATH=. python benchmarks/server_bench.py`` (``--seconds 5`` for a short run).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 50.0
TARGET_EVENT_S = 1.0


def fill_store(data_dir: Path, n: int) -> list[str]:
    """``n`` job records in ``<data_dir>/jobs.sqlite``; returns their ids."""
    os.environ["PROMETHIUM_DATA_DIR"] = str(data_dir)
    sys.path.insert(0, str(REPO))
    from promethium_lab.jobs.models import JobState
    from promethium_lab.jobs.store import JobStore

    store = JobStore(data_dir / "jobs.sqlite")
    kinds = ("ingest", "reconstruct", "export", "train")
    ends = (JobState.COMPLETED, JobState.FAILED, JobState.CANCELED)
    ids = []
    for i in range(n):
        rec = store.create(kinds[i % 4], {"source": f"surveys/line_{i:05d}.sgy",
                                          "method": "pocs", "overlap": 16}, pid=0, host="")
        store.transition(rec.id, ends[i % 3], from_states=(JobState.QUEUED,),
                         progress=1.0, message="done")
        ids.append(rec.id)
    store.close()
    return ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path, port: int, token: str) -> subprocess.Popen:
    env = {**os.environ, "PROMETHIUM_DATA_DIR": str(workdir / "data"),
           "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workdir}",
         "--ServerApp.log_level=WARN", "--ServerApp.jpserver_extensions=promethium_lab=True"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


class Client:
    """Keep-alive connections to the server, one per thread of the pool."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.headers = port, {"Authorization": f"token {token}"}
        self._local = threading.local()

    def get(self, path: str) -> tuple[int, bytes, float]:
        """``(status, body, seconds)`` of ``GET /promethium/<path>``."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                                 timeout=30)
        t0 = time.perf_counter()
        conn.request("GET", f"/promethium/{path}", headers=self.headers)
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - t0


def wait_ready(client: Client, server: subprocess.Popen, deadline_s: float = 120) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {server.stderr.read().decode()[-2000:]}")
        try:
            if client.get("info")[0] == 200:
                return
        except OSError:
            client._local.conn = None
        time.sleep(0.2)
    raise SystemExit("the Jupyter server did not start")


def drive(client: Client, paths: list[str], rate: float, seconds: float,
          concurrency: int = 16) -> tuple[list[float], int]:
    """Send ``paths`` round-robin at ``rate`` requests/s for ``seconds`` from one asyncio
    loop (no client threads contending for the GIL); returns the latencies (s) of the
    answered requests, each from its *scheduled* send time (so a request the client
    could not send on time counts its wait: no coordinated omission), and the count of
    non-200 answers."""
    import asyncio

    from tornado.httpclient import AsyncHTTPClient, HTTPClientError

    async def run() -> tuple[list[float], int]:
        http = AsyncHTTPClient(force_instance=True, max_clients=concurrency)
        base = f"http://127.0.0.1:{client.port}/promethium/"
        loop = asyncio.get_running_loop()
        latencies: list[float] = []
        failures = 0

        async def one(path: str, due: float) -> None:
            nonlocal failures
            try:
                response = await http.fetch(base + path, headers=client.headers,
                                            request_timeout=30)
                code = response.code
            except HTTPClientError as err:
                code = err.code
            latencies.append(loop.time() - due)
            failures += code != 200

        start, tasks = loop.time(), []
        for i in range(int(rate * seconds)):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            tasks.append(asyncio.create_task(one(paths[i % len(paths)], due)))
        await asyncio.gather(*tasks)
        http.close()
        return latencies, failures

    return asyncio.run(run())


async def event_delays(port: int, token: str, data_dir: Path, n: int) -> list[float]:
    """Seconds from each of ``n`` progress writes to its job event on the event socket."""
    import asyncio

    from tornado.websocket import websocket_connect

    from promethium_lab.jobs.models import JobState
    from promethium_lab.jobs.store import JobStore
    from promethium_lab.server.events import JOB_EVENT_SCHEMA_ID

    ws = await websocket_connect(f"ws://127.0.0.1:{port}/api/events/subscribe?token={token}")
    store = JobStore(data_dir / "jobs.sqlite")
    rec = store.create("reconstruct", {"source": "surveys/line.sgy", "method": "pocs"})
    store.transition(rec.id, JobState.RUNNING)
    rng, delays = random.Random(1), []
    for i in range(n):
        progress = round((i + 1) / (n + 1), 6)
        t0 = time.perf_counter()
        store.set_progress(rec.id, progress, f"block {i + 1}/{n + 1}")
        while True:
            msg = json.loads(await asyncio.wait_for(ws.read_message(), 10))
            if (msg.get("schema_id") == JOB_EVENT_SCHEMA_ID and msg["job_id"] == rec.id
                    and msg["progress"] == progress):
                break
        delays.append(time.perf_counter() - t0)
        await asyncio.sleep(0.1 + 0.3 * rng.random())  # writes out of step with the looks
    ws.close()
    store.close()
    return delays


def quantile_ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs in the store")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per route")
    parser.add_argument("--events", type=int, default=40, help="progress writes timed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="server-bench-") as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        ids = fill_store(workdir / "data", args.jobs)
        print(f"store: {args.jobs} jobs written in {time.perf_counter() - t0:.1f} s")
        port, token = free_port(), "bench-token"
        server = start_server(workdir, port, token)
        try:
            client = Client(port, token)
            wait_ready(client, server)
            # a cursor from the middle of the store: walk to it once
            page, cursor = json.loads(client.get("jobs?limit=500")[1]), ""
            for _ in range(args.jobs // 1000):
                cursor = page["next_cursor"]
                page = json.loads(client.get(f"jobs?limit=500&cursor={cursor}")[1])
            lists = ["jobs?limit=50", f"jobs?limit=50&cursor={cursor}"]
            rng = random.Random(0)
            records = [f"jobs/{rng.choice(ids)}" for _ in range(997)]
            for path in lists + records[:20]:  # warm-up: imports, connections, caches
                client.get(path)
            print(f"load: {args.rate:g} requests/s for {args.seconds:g} s per route, "
                  "loopback, open loop\n")
            print(f"{'route':<34}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-200':>9}")
            verdicts = []
            for name, paths in (("job-list page (limit=50)", lists),
                                ("one job's record", records)):
                latencies, failures = drive(client, paths, args.rate, args.seconds)
                p50, p99 = quantile_ms(latencies, 0.50), quantile_ms(latencies, 0.99)
                print(f"{name:<34}{len(latencies):>9}{p50:>9.1f}{p99:>9.1f}{failures:>9}")
                verdicts.append((name, p99, failures))
            print()
            for name, p99, failures in verdicts:
                ok = p99 <= TARGET_P99_MS and failures == 0
                print(f"{'PASS' if ok else 'FAIL'}  {name}: p99 {p99:.1f} ms "
                      f"(target ≤ {TARGET_P99_MS:g} ms at {args.rate:g} requests/s)")
            import asyncio

            delays = asyncio.run(event_delays(port, token, workdir / "data", args.events))
            d50, d99 = quantile_ms(delays, 0.50), quantile_ms(delays, 0.99)
            print(f"{'PASS' if d99 <= 1000 * TARGET_EVENT_S else 'FAIL'}  job progress "
                  f"change → event on /api/events/subscribe: p50 {d50:.0f} ms, p99 {d99:.0f} "
                  f"ms, max {1000 * max(delays):.0f} ms over {len(delays)} writes "
                  f"(target ≤ {TARGET_EVENT_S:g} s)")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.communicate(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
