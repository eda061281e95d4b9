"""The job store: one SQLite file per user, shared by every process that runs jobs.

Kernels, Dask workers, the CLI and the Jupyter server all read and write
``<config.data_dir>/jobs.sqlite``. The file is in WAL mode (readers never wait for
writers), every connection sets a generous ``busy_timeout``, and every write is one
short ``BEGIN IMMEDIATE`` transaction, so several processes can write at once without
losing updates. State changes are conditional updates (``... WHERE state IN (...)``), so
two processes never both move a job out of the same state.

The table is derived from :class:`~promethium_lab.jobs.models.JobRecord`: one column per
field (JSON text for mappings and lists). Opening a file written by an older version adds
the columns it lacks; every value written is validated by the model first, every row read
is a validated ``JobRecord``.

A job whose owner died (a killed kernel, a lost Dask worker) is found by
:meth:`JobStore.recover`, which runs the first time a process opens a store: owners on
this host are checked by pid, owners on other hosts by the age of their heartbeat.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import time
import typing
import uuid
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs.models import ACTIVE_STATES, TERMINAL_STATES, JobRecord, JobState

__all__ = [
    "HOSTNAME",
    "JobStore",
    "cleanup_partials",
    "default_store_path",
    "get_store",
    "process_alive",
]

HOSTNAME = socket.gethostname()
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0
#: Owners on other hosts are presumed dead when their heartbeat is older than this.
STALE_AFTER_S = 30.0

#: The primary key among :class:`JobRecord`'s fields.
PRIMARY_KEY = "id"


def _sql_column(name: str, field: FieldInfo) -> tuple[str, bool]:
    """SQLite declaration of a :class:`JobRecord` field and whether it is stored as JSON.

    ``str`` (and ``str`` enums) -> TEXT, ``bool``/``int`` -> INTEGER, ``float`` -> REAL,
    anything else (mappings, lists) -> JSON text. ``X | None`` is nullable; other columns
    are ``NOT NULL`` with the field's default, so a column added to an older file gets it.
    """
    args = [a for a in typing.get_args(field.annotation) if a is not type(None)]
    nullable = len(args) < len(typing.get_args(field.annotation))
    py = args[0] if nullable and len(args) == 1 else field.annotation
    origin = typing.get_origin(py) or py
    if isinstance(origin, type) and issubclass(origin, str):
        sql, is_json = "TEXT", False
    elif origin in (bool, int):
        sql, is_json = "INTEGER", False
    elif origin is float:
        sql, is_json = "REAL", False
    else:
        sql, is_json = "TEXT", True
    if name == PRIMARY_KEY:
        return f"{sql} PRIMARY KEY", is_json
    if nullable:
        return sql, is_json
    decl = f"{sql} NOT NULL"
    if not field.is_required():
        default = field.get_default(call_default_factory=True)
        if is_json:
            default = json.dumps(default)
        elif isinstance(default, StrEnum):
            default = default.value
        literal = ("'" + default.replace("'", "''") + "'" if isinstance(default, str)
                   else str(int(default)) if isinstance(default, bool) else repr(default))
        decl += f" DEFAULT {literal}"
    return decl, is_json


def _table() -> tuple[dict[str, str], frozenset[str]]:
    columns = {name: _sql_column(name, f) for name, f in JobRecord.model_fields.items()}
    return ({k: decl for k, (decl, _) in columns.items()},
            frozenset(k for k, (_, is_json) in columns.items() if is_json))


#: column -> SQLite declaration (one per :class:`JobRecord` field, in its order), and the
#: columns holding JSON text
_COLUMNS, _JSON = _table()
_ACTIVE = tuple(s.value for s in ACTIVE_STATES)
_RUNNING = (JobState.RUNNING.value, JobState.PREVIEWING.value, JobState.STOPPING.value)

_recovered: set[tuple[int, str]] = set()
_recovered_lock = threading.Lock()


def default_store_path() -> Path:
    """``<config.data_dir>/jobs.sqlite`` (``PROMETHIUM_DATA_DIR`` overrides the folder)."""
    from promethium_lab.core.config import get_config

    return get_config().data_dir / "jobs.sqlite"


def process_alive(pid: int, since: float | None = None) -> bool:
    """True when process ``pid`` of this host is alive (not a zombie) and, when ``since``
    is given, was started no later than ``since`` (a newer process reused the pid)."""
    if pid <= 0:
        return False
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return since is None or proc.create_time() <= since + 1.0
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:  # someone else's process: it exists
        return True


def cleanup_partials(outputs: list[str]) -> list[dict[str, Any]]:
    """Remove the unfinished siblings of ``outputs`` (``<out>.partial``, ``<out>.partial-*``).

    Workflows write into such siblings and rename them into place only when complete, so
    these are exactly the leftovers of a failed, canceled or killed job.

    Returns
    -------
    list of dict
        ``{"path": str, "removed": bool}`` for each leftover found.
    """
    import glob
    import shutil

    from promethium_lab.io.formats import partial_path

    found: list[dict[str, Any]] = []
    for out in outputs:
        p = Path(out).expanduser()
        if not p.parent.is_dir():
            continue
        for leftover in sorted(glob.glob(glob.escape(str(partial_path(p))) + "*")):
            path = Path(leftover)
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed = True
            except FileNotFoundError:
                removed = True
            except OSError:
                removed = False
            found.append({"path": str(path), "removed": removed})
    return found


class JobStore:
    """Job records in one SQLite file, safe for several processes.

    Parameters
    ----------
    path : path-like, optional
        The SQLite file; default :func:`default_store_path`.
    recover : bool or None
        Run :meth:`recover` now. ``None`` (default): only the first time this process
        opens this file.
    stale_after : float
        Seconds without heartbeat after which an owner on another host is presumed dead.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, recover: bool | None = None,
                 stale_after: float = STALE_AFTER_S) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self.stale_after = float(stale_after)
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PromethiumError(
                ErrorCode.BAD_CONFIG, f"cannot create the job store folder {self.path.parent}",
                hint="set PROMETHIUM_DATA_DIR (or data_dir in the config) to a writable folder",
            ) from exc
        self._init_schema()
        key = (os.getpid(), str(self.path.resolve()))
        with _recovered_lock:
            first = key not in _recovered
            _recovered.add(key)
        if recover or (recover is None and first):
            self.recover()

    # ------------------------------------------------------------------ connections
    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (reopened after a fork)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            self._local.pid = os.getpid()
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (``BEGIN IMMEDIATE`` takes the write lock up front,
        so the busy timeout applies instead of a deadlock between two readers upgrading)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _init_schema(self) -> None:
        conn = self._conn()
        for attempt in range(50):  # switching to WAL needs a moment without other writers
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError:
                time.sleep(0.01 * (attempt + 1))
        with self._write() as c:
            cols = ", ".join(f"{k} {v}" for k, v in _COLUMNS.items())
            c.execute(f"CREATE TABLE IF NOT EXISTS jobs ({cols})")
            have = {row[1] for row in c.execute("PRAGMA table_info(jobs)")}
            for name, decl in _COLUMNS.items():  # a newer JobRecord only adds fields
                if name not in have:
                    if "NOT NULL" in decl and "DEFAULT" not in decl:  # SQLite needs one
                        decl = decl.replace(" NOT NULL", "")
                    c.execute(f"ALTER TABLE jobs ADD COLUMN {name} {decl}")
            c.execute("CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state)")
            c.execute("CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at)")
            c.execute("CREATE INDEX IF NOT EXISTS jobs_updated ON jobs (updated_at)")
            c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ------------------------------------------------------------------ records
    @staticmethod
    def _record(row: sqlite3.Row) -> JobRecord:
        """The :class:`JobRecord` of a row (columns this version does not know are left out;
        JSON columns that are NULL get the field's default)."""
        data: dict[str, Any] = {}
        for key in row.keys():
            if key not in _COLUMNS:
                continue
            value = row[key]
            if key in _JSON:
                if not value:
                    continue
                value = json.loads(value)
            data[key] = value
        return JobRecord.model_validate(data)

    @staticmethod
    def _columns(fields: dict[str, Any], job_id: str) -> dict[str, Any]:
        """``fields`` validated by :class:`JobRecord` and encoded for SQLite.

        Raises INVALID_PARAMETER when a value does not fit its field (nothing that cannot
        be read back is ever written).
        """
        unknown = [k for k in fields if k not in _COLUMNS]
        if unknown:
            raise KeyError(f"not a job record field: {unknown[0]}")
        try:
            rec = JobRecord.model_validate({"kind": "", **fields, "id": job_id})
        except ValidationError as exc:
            raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                                  f"bad job record value for job {job_id}: {exc}",
                                  hint="this is a bug of the caller; please report it") from exc
        out = {}
        for key in fields:
            value = getattr(rec, key)
            if key in _JSON:
                value = None if value is None else json.dumps(value)
            elif isinstance(value, StrEnum):
                value = value.value
            elif isinstance(value, bool):
                value = int(value)
            out[key] = value
        return out

    def create(self, kind: str, parameters: dict[str, Any] | None = None, *,
               executor: str = "kernel", outputs: list[str] | None = None, target: str = "",
               pid: int | None = None, host: str | None = None,
               job_id: str | None = None) -> JobRecord:
        """Add a queued job owned by this process (or ``pid``/``host``); returns its record."""
        now = time.time()
        job_id = job_id or uuid.uuid4().hex[:12]
        row = self._columns({
            "kind": kind, "parameters": parameters or {}, "state": JobState.QUEUED,
            "created_at": now, "updated_at": now, "executor": executor,
            "outputs": list(outputs or []), "target": target,
            "pid": os.getpid() if pid is None else pid,
            "host": HOSTNAME if host is None else host, "heartbeat_at": now,
        }, job_id)
        row = {"id": job_id, **row}
        with self._write() as c:
            c.execute(f"INSERT INTO jobs ({', '.join(row)}) VALUES "
                      f"({', '.join('?' * len(row))})", tuple(row.values()))
        return self.get(job_id)

    def not_found(self, job_id: str) -> PromethiumError:
        """The ``JOB_NOT_FOUND`` error for ``job_id`` (HTTP 404 in the REST API)."""
        return PromethiumError(
            ErrorCode.JOB_NOT_FOUND, f"there is no job {job_id!r} in the job store {self.path}",
            hint="list the jobs with `promethium-lab jobs list`; a server reads the store of "
            "its own PROMETHIUM_DATA_DIR")

    def get(self, job_id: str) -> JobRecord:
        """The record of ``job_id``; raises ``JOB_NOT_FOUND`` when there is none."""
        row = self._conn().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise self.not_found(job_id)
        return self._record(row)

    @staticmethod
    def _filters(state: str | JobState | list[str | JobState] | None,
                 kind: str | None) -> tuple[list[str], list[Any]]:
        """SQL conditions and their arguments for the state(s) and kind filters."""
        where: list[str] = []
        args: list[Any] = []
        if state is not None:
            states = [state] if isinstance(state, str) else list(state)
            values = [JobState.parse(s).value for s in states]
            where.append(f"state IN ({', '.join('?' * len(values))})")
            args += values
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        return where, args

    def list(self, *, state: str | JobState | list[str | JobState] | None = None,
             kind: str | None = None, limit: int | None = None,
             offset: int = 0) -> list[JobRecord]:
        """Records, newest first, optionally filtered by state(s) and kind; ``limit`` and
        ``offset`` page through them."""
        where, args = self._filters(state, kind)
        sql = "SELECT * FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, rowid DESC"
        if limit is not None or offset:
            sql += f" LIMIT {-1 if limit is None else int(limit)} OFFSET {max(0, int(offset))}"
        return [self._record(r) for r in self._conn().execute(sql, args)]

    def page_keys(self, *, limit: int = 50, after: tuple[float, str] | None = None,
                  state: str | JobState | list[str | JobState] | None = None,
                  kind: str | None = None,
                  ) -> tuple[list[tuple[str, float, float, float]], tuple[float, str] | None]:
        """The versions of one page of records, newest first by ``(created_at, id)``
        (keyset paging), without reading the records.

        Parameters
        ----------
        limit : int
            Most records on the page (at least 1).
        after : (float, str), optional
            The key of the last record of the previous page (None: the first page).
        state, kind
            Filters, as in :meth:`list`.

        Returns
        -------
        versions : list of (id, created_at, updated_at, heartbeat_at)
            Every change of a record moves its ``updated_at`` or ``heartbeat_at``, so a
            version names the record's content (what the server caches its JSON by).
        next_key : (float, str) or None
            Key to pass as ``after`` for the next page; None on the last page. Jobs added
            meanwhile are newer than every key, so they never shift a later page: a walk
            through the pages sees every older job once. (Every record :meth:`create`
            writes has a ``created_at``; one without is never paged.)
        """
        where, args = self._filters(state, kind)
        if after is not None:
            where.append("(created_at, id) < (?, ?)")
            args += [float(after[0]), str(after[1])]
        sql = "SELECT id, created_at, updated_at, heartbeat_at FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        limit = max(1, int(limit))
        sql += f" ORDER BY created_at DESC, id DESC LIMIT {limit + 1}"
        rows = [tuple(r) for r in self._conn().execute(sql, args).fetchall()]
        last = rows[limit - 1] if len(rows) > limit else None
        return rows[:limit], None if last is None else (last[1] or 0.0, last[0])

    def records(self, job_ids: list[str]) -> dict[str, JobRecord]:
        """The records of ``job_ids`` that exist, by id (one query)."""
        if not job_ids:
            return {}
        marks = ", ".join("?" * len(job_ids))
        rows = self._conn().execute(f"SELECT * FROM jobs WHERE id IN ({marks})", list(job_ids))
        return {rec.id: rec for rec in map(self._record, rows)}

    def page(self, *, limit: int = 50, after: tuple[float, str] | None = None,
             state: str | JobState | list[str | JobState] | None = None,
             kind: str | None = None) -> tuple[list[JobRecord], tuple[float, str] | None]:
        """One page of records, newest first (see :meth:`page_keys`), and the next key."""
        versions, next_key = self.page_keys(limit=limit, after=after, state=state, kind=kind)
        found = self.records([v[0] for v in versions])
        return [found[v[0]] for v in versions if v[0] in found], next_key

    def changed_since(self, since: float) -> list[JobRecord]:
        """Records whose ``updated_at`` is at or after ``since``, oldest change first; what
        the server's live job events read (heartbeats do not count as changes)."""
        rows = self._conn().execute(
            "SELECT * FROM jobs WHERE updated_at >= ? ORDER BY updated_at", (float(since),))
        return [self._record(r) for r in rows]

    def last_change(self) -> float:
        """The newest ``updated_at`` of the store (0.0 when it holds no job)."""
        row = self._conn().execute("SELECT MAX(updated_at) FROM jobs").fetchone()
        return float(row[0] or 0.0)

    def update(self, job_id: str, **fields: Any) -> None:
        """Set fields of a record (``updated_at`` too) in one short transaction."""
        self._update(job_id, fields)

    def _update(self, job_id: str, fields: dict[str, Any], *,
                only_states: tuple[str, ...] | None = None,
                extra_where: str = "", extra_args: tuple[Any, ...] = ()) -> bool:
        fields = dict(fields)
        fields.setdefault("updated_at", time.time())
        if PRIMARY_KEY in fields:
            raise KeyError(f"the job record field {PRIMARY_KEY!r} cannot change")
        sets, args = [], []
        for key, value in self._columns(fields, job_id).items():
            sets.append(f"{key} = ?")
            args.append(value)
        sql = f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?"
        args.append(job_id)
        if only_states is not None:
            sql += f" AND state IN ({', '.join('?' * len(only_states))})"
            args += list(only_states)
        if extra_where:
            sql += " AND " + extra_where
            args += list(extra_args)
        with self._write() as c:
            return c.execute(sql, args).rowcount > 0

    def transition(self, job_id: str, to: JobState, *,
                   from_states: tuple[JobState, ...] | None = None, **fields: Any) -> bool:
        """Move a job to state ``to`` if it is in one of ``from_states`` (default: any active
        state); returns whether it moved. Entering a terminal state sets ``finished_at``."""
        states = tuple(s.value for s in (from_states or tuple(ACTIVE_STATES)))
        fields["state"] = to
        if to in TERMINAL_STATES:
            fields.setdefault("finished_at", time.time())
        return self._update(job_id, fields, only_states=states)

    def set_progress(self, job_id: str, fraction: float, message: str | None = None) -> None:
        """Record progress (and a heartbeat) of a running job."""
        now = time.time()
        fields: dict[str, Any] = {"progress": float(fraction), "heartbeat_at": now,
                                  "updated_at": now}
        if message is not None:
            fields["message"] = message
        self._update(job_id, fields, only_states=_RUNNING)

    def claim(self, job_id: str, *, worker: str = "", pid: int | None = None,
              host: str | None = None) -> bool:
        """queued → running for the calling process; False if not queued any more."""
        now = time.time()
        return self.transition(job_id, JobState.RUNNING, from_states=(JobState.QUEUED,),
                               started_at=now, heartbeat_at=now, worker=worker,
                               pid=os.getpid() if pid is None else pid,
                               host=HOSTNAME if host is None else host)

    def request_cancel(self, job_id: str) -> JobState:
        """Ask a job to stop: a queued job is canceled at once, a running one goes to
        ``stopping`` until its runner sees the flag (within one batch). Returns the state."""
        now = time.time()
        with self._write() as c:
            row = c.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise self.not_found(job_id)
            state = JobState(row[0])
            if state == JobState.QUEUED:
                err = PromethiumError(ErrorCode.CANCELED, f"job {job_id} was canceled before "
                                      "it started", hint="nothing was written").to_dict()
                c.execute("UPDATE jobs SET state=?, cancel_requested=1, updated_at=?, "
                          "finished_at=?, error=? WHERE id=?",
                          (JobState.CANCELED.value, now, now, json.dumps(err), job_id))
                return JobState.CANCELED
            if state in (JobState.RUNNING, JobState.PREVIEWING):
                c.execute("UPDATE jobs SET state=?, cancel_requested=1, updated_at=? WHERE id=?",
                          (JobState.STOPPING.value, now, job_id))
                return JobState.STOPPING
            return state

    def cancel_requested(self, job_id: str) -> bool:
        """The cancel flag (one indexed read; cheap enough to poll every few 100 ms)."""
        row = self._conn().execute("SELECT cancel_requested FROM jobs WHERE id = ?",
                                   (job_id,)).fetchone()
        return bool(row and row[0])

    def heartbeat(self, job_ids: list[str], *, pid: int | None = None,
                  host: str | None = None) -> None:
        """Mark the active jobs among ``job_ids`` owned by this process as alive."""
        if not job_ids:
            return
        now = time.time()
        marks = ", ".join("?" * len(job_ids))
        with self._write() as c:
            c.execute(f"UPDATE jobs SET heartbeat_at = ? WHERE id IN ({marks}) AND pid = ? "
                      f"AND host = ? AND state IN ({', '.join('?' * len(_ACTIVE))})",
                      (now, *job_ids, os.getpid() if pid is None else pid,
                       HOSTNAME if host is None else host, *_ACTIVE))

    def delete(self, job_id: str) -> None:
        """Forget a finished job (its preview file too)."""
        rec = self.get(job_id)
        if not rec.is_terminal:
            raise PromethiumError(ErrorCode.INVALID_PARAMETER,
                                  f"job {job_id} is {rec.state.value}",
                                  hint="cancel it and wait until it stopped before deleting it")
        with self._write() as c:
            c.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        if rec.preview_path:
            Path(rec.preview_path).unlink(missing_ok=True)

    # ------------------------------------------------------------------ recovery
    def owner_alive(self, rec: JobRecord, now: float | None = None) -> bool:
        """Whether the process owning ``rec`` (submitter or runner) is alive."""
        if rec.pid <= 0 or not rec.host:  # no owner recorded (e.g. fire-and-forget)
            if rec.state == JobState.QUEUED:
                return True
            return (now or time.time()) - (rec.heartbeat_at or 0) <= self.stale_after
        if rec.host == HOSTNAME:
            # a pid reused by a process started after the owner's last heartbeat is not it
            return process_alive(rec.pid, rec.heartbeat_at or rec.created_at)
        return (now or time.time()) - (rec.heartbeat_at or 0) <= self.stale_after

    def mark_lost(self, rec: JobRecord) -> bool:
        """Mark an active job whose owner died as failed (RUNNER_LOST); its unfinished
        outputs are removed and listed in ``partial_outputs``. Returns whether it changed."""
        where = "running" if rec.state != JobState.QUEUED else "queued"
        err = PromethiumError(
            ErrorCode.RUNNER_LOST,
            f"job {rec.id} ({rec.kind}) was {where} in process {rec.pid} on {rec.host or '?'}, "
            "which died (kernel restarted or killed, Dask worker lost)",
            hint="submit the job again; its unfinished output was removed",
            retryable=True,
        )
        # clean first: whoever sees the job FAILED finds its leftovers gone (the owner is
        # dead, so nothing writes them any more)
        partial = cleanup_partials(rec.outputs)
        return self._update(rec.id, {"state": JobState.FAILED, "error": err.to_dict(),
                                     "finished_at": time.time(), "partial_outputs": partial},
                            only_states=(rec.state.value,),
                            extra_where="pid = ? AND host = ?", extra_args=(rec.pid, rec.host))

    def recover(self) -> list[str]:
        """Fail every active job whose owner died (``RUNNER_LOST``) and clean its partial
        output. Called automatically when a process first opens the store.

        Returns
        -------
        list of str
            Ids of the jobs marked lost.
        """
        now = time.time()
        lost = []
        for rec in self.list(state=list(ACTIVE_STATES)):
            if not self.owner_alive(rec, now) and self.mark_lost(rec):
                lost.append(rec.id)
        return lost


_stores: dict[tuple[int, str], JobStore] = {}
_stores_lock = threading.Lock()


def get_store(path: str | os.PathLike | None = None) -> JobStore:
    """The process-wide :class:`JobStore` of ``path`` (default: the user's store); the
    first open in a process recovers jobs of dead runners."""
    p = Path(path).expanduser() if path is not None else default_store_path()
    key = (os.getpid(), str(p.resolve()))
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = JobStore(p)
        return store
