"""Live job events: each change of a job's state, progress or message, pushed to the browser.

Jobs are written to the user's job store by whoever runs them (a kernel, a runner
process, a Dask worker, the CLI), so the server learns of a change by reading the store.
:class:`JobEventEmitter` asks it every ``interval`` seconds for the records changed since
its last look (one indexed query, off the event loop) and emits one ``jupyter_events``
event per job whose state, progress or message changed. Jupyter Server forwards the
events to every subscriber of ``/api/events/subscribe``, which is what JupyterLab's
``serviceManager.events.stream`` listens to, so the side panel sees a job move within
about ``interval`` of its runner writing it, without polling REST.

The event (schema :data:`JOB_EVENT_SCHEMA_ID`, version 1)::

    {"job_id": "3f2a...", "kind": "reconstruct", "state": "running",
     "progress": 0.42, "message": "block 5/12", "updated_at": "2026-12-03T09:00:00.123Z"}
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from tornado.ioloop import PeriodicCallback

from promethium_lab.jobs.models import JobRecord

if TYPE_CHECKING:
    from jupyter_events import EventLogger

    from promethium_lab.jobs.store import JobStore

__all__ = ["JOB_EVENT_SCHEMA", "JOB_EVENT_SCHEMA_ID", "JobEventEmitter", "job_event"]

JOB_EVENT_SCHEMA_ID = "https://promethium-lab.dev/events/job/v1"

JOB_EVENT_SCHEMA: dict[str, Any] = {
    "$id": JOB_EVENT_SCHEMA_ID,
    "version": "1",
    "title": "Promethium job changed",
    "personal-data": False,
    "description": "A job of the user's job store changed state, progress or message "
                   "(emitted by the promethium_lab server extension, read by its side panel).",
    "type": "object",
    "required": ["job_id", "kind", "state", "progress", "message", "updated_at"],
    "properties": {
        "job_id": {"type": "string", "description": "The job's id."},
        "kind": {"type": "string", "description": "The workflow the job runs."},
        "state": {"type": "string", "description": "Its state after the change."},
        "progress": {"type": "number", "description": "Done fraction in [0, 1]."},
        "message": {"type": "string", "description": "Latest progress message."},
        "updated_at": {"type": ["string", "null"],
                       "description": "When the record changed (ISO 8601 UTC)."},
    },
}
"""The ``jupyter_events`` schema of a job event (registered by the server extension)."""

log = logging.getLogger(__name__)


def job_event(record: JobRecord) -> dict[str, Any]:
    """The event data of a job's record (what :data:`JOB_EVENT_SCHEMA` describes)."""
    data = record.model_dump(mode="json", include={"state", "progress", "message",
                                                   "updated_at", "kind"})
    return {"job_id": record.id, **data}


class JobEventEmitter:
    """Emit a job event for every job whose state, progress or message changed.

    Parameters
    ----------
    event_logger : jupyter_events.EventLogger
        The server's event bus (``serverapp.event_logger``); the schema is registered here.
    store : callable
        Returns the :class:`~promethium_lab.jobs.store.JobStore` to watch (called in the
        worker thread, so the store's per-thread SQLite connection is that thread's).
    interval : float
        Seconds between two looks at the store.
    """

    def __init__(self, event_logger: EventLogger, store: Any, interval: float = 0.25) -> None:
        self.event_logger = event_logger
        self.store = store
        self.interval = float(interval)
        self._since: float | None = None  # newest updated_at seen
        self._seen: dict[str, tuple[str, float, str]] = {}
        self._busy = False
        self._callback: PeriodicCallback | None = None
        if JOB_EVENT_SCHEMA_ID not in event_logger.schemas.schema_ids:
            event_logger.register_event_schema(JOB_EVENT_SCHEMA)

    def changes(self) -> list[dict[str, Any]]:
        """The events of the jobs changed since the last call (runs in a worker thread).

        The first call only takes note of the store's current state, so starting the
        server does not replay old jobs.
        """
        store: JobStore = self.store()
        first = self._since is None
        if first:
            self._since = store.last_change()
        events = []
        for rec in store.changed_since(self._since):
            key = (str(rec.state), float(rec.progress), rec.message)
            if not first and self._seen.get(rec.id) != key:
                events.append(job_event(rec))
            self._seen[rec.id] = key
            self._since = max(self._since, rec.updated_at or 0.0)
        return events

    async def tick(self) -> int:
        """Look at the store once and emit what changed; returns how many events went out."""
        if self._busy:  # the previous look is still reading
            return 0
        self._busy = True
        try:
            events = await asyncio.to_thread(self.changes)
        except Exception as exc:  # a locked or missing store must not stop the loop
            log.debug("promethium_lab: job events skipped a look: %s", exc)
            return 0
        finally:
            self._busy = False
        for data in events:
            self.event_logger.emit(schema_id=JOB_EVENT_SCHEMA_ID, data=data)
        return len(events)

    def start(self) -> None:
        """Look every :attr:`interval` seconds on the current IOLoop."""
        if self._callback is None:
            self._callback = PeriodicCallback(self.tick, self.interval * 1000)
            self._callback.start()

    def stop(self) -> None:
        """Stop looking."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
