"""The SQLite job store: records, conditional state changes, cancel flags, several
processes writing at once, and recovery of jobs whose runner died."""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
import time

import psutil
import pytest

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs import JobState, JobStore, get_store, list_jobs
from promethium_lab.jobs.store import cleanup_partials, default_store_path


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_default_path_follows_the_data_dir(data_dir):
    assert default_store_path() == data_dir / "jobs.sqlite"
    store = get_store()
    assert store.path == data_dir / "jobs.sqlite" and store.path.is_file()
    assert get_store() is store
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_create_get_list(store):
    a = store.create("ingest", {"path": "/a.sgy"}, outputs=["/a.zarr"], target="m:f")
    b = store.create("export", {"store": "/a.zarr"}, executor="dask:tcp://x")
    assert a.state == JobState.QUEUED and a.pid == os.getpid() and a.progress == 0.0
    assert a.created_at <= a.updated_at and a.started_at is None
    got = store.get(a.id)
    assert got.parameters == {"path": "/a.sgy"} and got.outputs == ["/a.zarr"]
    assert got.target == "m:f"
    assert [r.id for r in store.list()] == [b.id, a.id]  # newest first
    assert [r.id for r in store.list(kind="ingest")] == [a.id]
    assert [r.id for r in store.list(state="queued", limit=1)] == [b.id]
    assert store.list(state=["completed", "failed"]) == []
    with pytest.raises(PromethiumError) as err:
        store.get("nope")
    assert err.value.code == ErrorCode.JOB_NOT_FOUND


def test_state_changes_are_conditional(store):
    job = store.create("ingest")
    assert store.claim(job.id, worker="here")
    assert not store.claim(job.id)  # only one claimant
    rec = store.get(job.id)
    assert rec.state == JobState.RUNNING and rec.started_at is not None
    assert rec.worker == "here"
    store.set_progress(job.id, 0.5, "half")
    assert (store.get(job.id).progress, store.get(job.id).message) == (0.5, "half")
    assert store.transition(job.id, JobState.COMPLETED, progress=1.0)
    assert not store.transition(job.id, JobState.FAILED)  # terminal stays terminal
    rec = store.get(job.id)
    assert rec.state == JobState.COMPLETED and rec.finished_at >= rec.started_at
    store.set_progress(job.id, 0.1)  # ignored once finished
    assert store.get(job.id).progress == 1.0


def test_request_cancel(store):
    queued = store.create("ingest")
    assert store.request_cancel(queued.id) == JobState.CANCELED
    rec = store.get(queued.id)
    assert rec.cancel_requested and rec.error["code"] == ErrorCode.CANCELED.value
    running = store.create("ingest")
    store.claim(running.id)
    assert not store.cancel_requested(running.id)
    assert store.request_cancel(running.id) == JobState.STOPPING
    assert store.cancel_requested(running.id)
    assert store.get(running.id).state == JobState.STOPPING
    store.transition(running.id, JobState.CANCELED)
    assert store.request_cancel(running.id) == JobState.CANCELED  # no change
    with pytest.raises(PromethiumError):
        store.request_cancel("nope")


def test_cleanup_partials(tmp_path):
    out = tmp_path / "s[1].zarr"  # glob characters in the name
    (tmp_path / "s[1].zarr.partial").mkdir()
    (tmp_path / "s[1].zarr.partial" / "x").write_text("x")
    (tmp_path / "s[1].zarr.partial-123").write_text("x")
    (tmp_path / "s[1].zarr").mkdir()  # a complete output is not touched
    (tmp_path / "other.partial").mkdir()
    found = cleanup_partials([str(out), str(tmp_path / "missing" / "a")])
    assert sorted(f["path"] for f in found) == [str(tmp_path / "s[1].zarr.partial"),
                                                 str(tmp_path / "s[1].zarr.partial-123")]
    assert all(f["removed"] for f in found)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.partial", "s[1].zarr"]


def test_recover_marks_dead_runners_lost(store, tmp_path):
    out = tmp_path / "out.zarr"
    (tmp_path / "out.zarr.partial").mkdir()
    dead = store.create("ingest", outputs=[str(out)])
    store.claim(dead.id, pid=dead_pid())
    dead_queued = store.create("ingest", pid=dead_pid())
    alive = store.create("ingest")
    store.claim(alive.id)
    lost = store.recover()
    assert sorted(lost) == sorted([dead.id, dead_queued.id])
    rec = store.get(dead.id)
    assert rec.state == JobState.FAILED and rec.finished_at is not None
    assert rec.error["code"] == ErrorCode.RUNNER_LOST.value == "PL-JOB-002"
    assert rec.error["retryable"] is True
    assert rec.partial_outputs == [{"path": str(tmp_path / "out.zarr.partial"),
                                    "removed": True}]
    assert not (tmp_path / "out.zarr.partial").exists()
    assert store.get(alive.id).state == JobState.RUNNING
    assert store.recover() == []


def test_recover_other_hosts_by_heartbeat(store):
    stale = store.create("ingest", host="elsewhere", pid=4242)
    store.claim(stale.id, pid=4242, host="elsewhere")
    store.update(stale.id, heartbeat_at=time.time() - 10 * store.stale_after)
    fresh = store.create("ingest", host="elsewhere", pid=4242)
    store.claim(fresh.id, pid=4242, host="elsewhere")
    assert store.recover() == [stale.id]
    assert store.get(fresh.id).state == JobState.RUNNING


def test_recover_detects_a_reused_pid(store):
    job = store.create("ingest")
    store.claim(job.id)  # our own pid, alive ...
    born = psutil.Process().create_time()
    store.update(job.id, heartbeat_at=born - 3600)  # ... but the owner's last sign predates us
    assert store.recover() == [job.id]


def test_heartbeat_touches_only_own_active_jobs(store):
    mine = store.create("ingest")
    other = store.create("ingest", pid=4242, host="elsewhere")
    store.update(mine.id, heartbeat_at=1.0)
    store.update(other.id, heartbeat_at=1.0)
    store.heartbeat([mine.id, other.id])
    assert store.get(mine.id).heartbeat_at > 1.0
    assert store.get(other.id).heartbeat_at == 1.0


def test_a_new_process_recovers_on_open(store):
    job = store.create("ingest")
    store.claim(job.id, pid=dead_pid())
    JobStore(store.path)  # this process opened the file already: no recovery
    assert store.get(job.id).state == JobState.RUNNING
    code = f"from promethium_lab.jobs import JobStore; JobStore({str(store.path)!r})"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert store.get(job.id).state == JobState.FAILED


def _writer(path: str, k: int, barrier, n_jobs: int, n_updates: int) -> None:
    store = JobStore(path, recover=False)
    barrier.wait()
    ids = []
    for i in range(n_jobs):
        rec = store.create("ingest", {"proc": k, "i": i})
        store.claim(rec.id)
        ids.append(rec.id)
        if i % 5 == 0:
            store.list(limit=10)  # readers interleaved with writers
    for u in range(n_updates):
        store.set_progress(ids[u % n_jobs], (u + 1) / n_updates, f"p{k} u{u}")
    for job_id in ids:
        assert store.transition(job_id, JobState.COMPLETED)


def test_four_processes_writing_at_once_lose_nothing(store):
    n_procs, n_jobs, n_updates = 4, 25, 200
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n_procs)
    procs = [ctx.Process(target=_writer, args=(str(store.path), k, barrier, n_jobs, n_updates))
             for k in range(n_procs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * n_procs
    records = store.list()
    assert len(records) == n_procs * n_jobs
    assert {(r.parameters["proc"], r.parameters["i"]) for r in records} == {
        (k, i) for k in range(n_procs) for i in range(n_jobs)}
    for r in records:
        k, i = r.parameters["proc"], r.parameters["i"]
        last = max(u for u in range(n_updates) if u % n_jobs == i)
        assert r.state == JobState.COMPLETED
        assert r.message == f"p{k} u{last}"
        assert r.progress == pytest.approx((last + 1) / n_updates)
        assert r.created_at <= r.started_at <= r.finished_at
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


#: the table as an earlier version wrote it (before ``partial_outputs`` and ``target``)
OLD_TABLE = """CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL,
    parameters TEXT NOT NULL DEFAULT '{}', state TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '', created_at REAL,
    started_at REAL, updated_at REAL, finished_at REAL,
    executor TEXT NOT NULL DEFAULT 'kernel', worker TEXT NOT NULL DEFAULT '',
    artifacts TEXT NOT NULL DEFAULT '{}', preview_path TEXT, error TEXT,
    traceback TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0,
    host TEXT NOT NULL DEFAULT '', heartbeat_at REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0, outputs TEXT NOT NULL DEFAULT '[]')"""


def test_opens_a_file_of_an_earlier_schema(tmp_path):
    path = tmp_path / "jobs.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_TABLE)
        conn.execute("INSERT INTO jobs (id, kind, parameters, state, created_at, error, "
                     "outputs) VALUES ('old1', 'ingest', '{\"path\": \"/a.sgy\"}', 'failed', "
                     "1.0, '{\"code\": \"PL-JOB-002\", \"message\": \"gone\"}', '[\"/a.zarr\"]')")
    conn.close()
    store = JobStore(path, recover=False)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        have = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    conn.close()
    assert {"partial_outputs", "target"} <= have
    rec = store.get("old1")
    assert rec.state == JobState.FAILED and rec.parameters == {"path": "/a.sgy"}
    assert rec.partial_outputs == [] and rec.target == "" and rec.outputs == ["/a.zarr"]
    assert rec.error["code"] == "PL-JOB-002" and rec.error["retryable"] is False
    store.update("old1", partial_outputs=[{"path": "/a.zarr.partial", "removed": True}])
    assert store.get("old1").partial_outputs == [{"path": "/a.zarr.partial", "removed": True}]
    new = store.create("export", {"store": "/a.zarr"})
    assert [r.id for r in store.list()] == [new.id, "old1"]
    store.close()


def test_paging(store):
    ids = [store.create("ingest", {"i": i}).id for i in range(5)]
    newest_first = ids[::-1]
    assert [r.id for r in store.list(limit=2)] == newest_first[:2]
    assert [r.id for r in store.list(limit=2, offset=2)] == newest_first[2:4]
    assert [r.id for r in store.list(offset=4)] == newest_first[4:]
    assert [r.id for r in list_jobs(limit=2, offset=1, job_store=store)] == newest_first[1:3]


def test_values_are_validated_before_they_are_written(store):
    job = store.create("ingest")
    with pytest.raises(PromethiumError) as err:
        store.update(job.id, progress="half")
    assert err.value.code == ErrorCode.INVALID_PARAMETER
    with pytest.raises(KeyError):
        store.update(job.id, colour="red")
    with pytest.raises(KeyError):
        store.update(job.id, id="other")
    store.update(job.id, message=7, cancel_requested=1)  # coerced as the model does
    rec = store.get(job.id)
    assert rec.message == "7" and rec.cancel_requested is True and rec.progress == 0.0
