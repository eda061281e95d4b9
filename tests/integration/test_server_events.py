"""Live job events: a change written to the job store by any process reaches the
subscribers of Jupyter Server's event stream (``/api/events/subscribe``, what JupyterLab's
``serviceManager.events.stream`` reads)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator

from jupyter_events.schema import EventSchema

from promethium_lab.jobs import JobState, get_store
from promethium_lab.server.events import (
    JOB_EVENT_SCHEMA,
    JOB_EVENT_SCHEMA_ID,
    JobEventEmitter,
)

DEADLINE_S = 30  # only a guard against hanging: never a speed assertion


@contextlib.asynccontextmanager
async def started_events(serverapp) -> AsyncIterator[JobEventEmitter]:
    """The extension's emitter, started as the server starts it, after its first look."""
    app = serverapp.extension_manager.extension_points["promethium_lab"].app
    app.job_event_interval = 0.05
    await app._start_jupyter_server_extension(serverapp)
    try:
        await app._job_events.tick()  # its first look: the store as it is now
        yield app._job_events
    finally:
        await app.stop_extension()


async def _job_events(ws, job_id: str, until: str) -> list[dict]:
    """The job's events read from the socket until one has state ``until``."""
    seen = []
    async with asyncio.timeout(DEADLINE_S):
        while True:
            msg = json.loads(await ws.read_message())
            if msg.get("schema_id") == JOB_EVENT_SCHEMA_ID and msg["job_id"] == job_id:
                seen.append(msg)
                if msg["state"] == until:
                    return seen


def test_the_schema_is_a_valid_jupyter_events_schema():
    schema = EventSchema(JOB_EVENT_SCHEMA)
    assert schema.id == JOB_EVENT_SCHEMA_ID
    schema.validate({"job_id": "a", "kind": "k", "state": "running", "progress": 0.5,
                     "message": "", "updated_at": None})


async def test_changes_written_by_another_process_reach_subscribers(jp_serverapp, jp_ws_fetch):
    async with started_events(jp_serverapp):
        await _progress_from_another_process(jp_ws_fetch)


async def _progress_from_another_process(jp_ws_fetch) -> None:
    ws = await jp_ws_fetch("api", "events", "subscribe")
    # another process (as a kernel or the CLI would) creates a job and moves it along
    script = (
        "import sys, time\n"
        "from promethium_lab.jobs import JobState, get_store\n"
        "s = get_store()\n"
        "rec = s.create('reconstruct', {'method': 'pocs'})\n"
        "print(rec.id, flush=True)\n"
        "sys.stdin.readline()\n"
        "s.transition(rec.id, JobState.RUNNING)\n"
        "for p in (0.25, 0.5, 0.75):\n"
        "    s.set_progress(rec.id, p, f'block {int(p * 4)}/4'); time.sleep(0.3)\n"
        "s.heartbeat([rec.id])\n"  # a heartbeat alone is no change
        "s.transition(rec.id, JobState.COMPLETED)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    job_id = (await proc.stdout.readline()).decode().strip()
    first = await _job_events(ws, job_id, until="queued")
    assert [e["progress"] for e in first] == [0.0]
    assert first[0]["kind"] == "reconstruct"
    proc.stdin.write(b"go\n")
    await proc.stdin.drain()
    events = await _job_events(ws, job_id, until="completed")
    assert await proc.wait() == 0
    ws.close()
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)  # in order, each change once at most
    assert {e["state"] for e in events} <= {"running", "completed"}
    assert events[-1]["state"] == "completed"
    assert 0.5 in progress or 0.75 in progress  # the steps show, not only the end
    assert all(e["updated_at"].endswith("Z") for e in events)
    assert get_store().get(job_id).state == JobState.COMPLETED


async def test_an_unchanged_store_emits_nothing(jp_serverapp):
    async with started_events(jp_serverapp) as job_events:
        store = get_store()
        rec = store.create("ingest", {})
        assert await job_events.tick() == 1  # the new job
        store.heartbeat([rec.id])
        assert await job_events.tick() == 0  # a heartbeat alone is no change
        store.transition(rec.id, JobState.RUNNING)
        store.set_progress(rec.id, 0.5, "half")
        assert await job_events.tick() == 1  # two changes since the last look: one event
        assert await job_events.tick() == 0
