"""What every job monitor view shares: preview frames and the thread that follows a job.

:class:`JobFollower` holds the monitor's state logic once, for every front end that shows
a job — the anywidget :class:`~promethium_lab.widgets.JobMonitor` in Jupyter and the Panel
component :class:`~promethium_lab.widgets.serve.PanelJobMonitor` in ``panel serve``:

* a daemon thread polls the job store (every ``poll_s``) and hands the record's state
  (``state``, ``progress``, ``message``, ``error``, ``can_compare``) to the view's
  ``publish`` callback; it checks that the job's runner is alive as ``Job.wait`` does;
* preview frames (:func:`encode_frame`: JPEG while the job runs, PNG at the end) go out
  through the same callback as ``bytes`` (``frame``, ``frame_format``, ``frame_size``,
  then ``frame_id``), with one frame in flight: the next one waits for the browser's
  acknowledgement (:meth:`JobFollower.ack`) or ``ack_timeout``;
* the browser's messages (``ack``, ``cancel``, ``compare``, ``reproduce``) are handled by
  :meth:`JobFollower.handle`; Cancel writes the job store's cancel flag (``Job.cancel``),
  which the job's runner checks between batches, wherever it runs; Reproduce writes the
  notebook that re-runs a completed job (:func:`promethium_lab.jobs.reproduce_notebook`)
  and publishes its path (``reproduced``) or the typed error (``reproduce_error``).
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from promethium_lab.core.errors import PromethiumError
from promethium_lab.core.logging import get_logger

__all__ = [
    "ACK_TIMEOUT_S",
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "POLL_S",
    "STATIC",
    "FollowsJob",
    "JobFollower",
    "encode_frame",
    "section_of",
]

log = get_logger("widgets")

STATIC = Path(__file__).parent / "static"
#: largest preview frame sent to the browser (pixels)
FRAME_WIDTH, FRAME_HEIGHT = 800, 600
#: seconds the sender waits for the browser's acknowledgement before sending anyway
ACK_TIMEOUT_S = 1.0
#: seconds between two looks at the job store
POLL_S = 0.2
#: seconds between two checks that the job's runner is alive (as ``Job.wait`` does)
OWNER_CHECK_S = 1.0
#: JPEG quality of the frames sent while the job runs
JPEG_QUALITY = 85

# ------------------------------------------------------------------------------ frames
def section_of(preview: Any) -> np.ndarray:
    """The 2-D ``(trace, time)`` array a preview shows, as float32 (NaN = no sample).

    ``preview`` is what :attr:`promethium_lab.jobs.Job.preview` returns (a DataArray, or a
    Dataset whose ``amplitude`` or widest variable is shown) or any array. The time axis
    (dim ``time``, else the last) comes last; extra leading dims are cut at their middle
    and a single trace becomes a one-trace section.
    """
    obj = preview
    if hasattr(obj, "data_vars"):  # a Dataset
        if "amplitude" in obj.data_vars:
            obj = obj["amplitude"]
        elif obj.data_vars:
            obj = max(obj.data_vars.values(), key=lambda v: v.ndim)
        else:
            raise PromethiumError.invalid("the preview holds no data variable",
                                          hint="a preview is the newest downsampled result")
    if hasattr(obj, "dims"):
        dims = list(map(str, obj.dims))
        if "time" in dims and dims[-1] != "time":
            obj = obj.transpose(..., "time")
        data = np.asarray(obj.values)
    else:
        data = np.asarray(obj)
    while data.ndim > 2:
        data = data[data.shape[0] // 2]
    if data.ndim < 2:
        data = np.atleast_1d(data)[None, :]
    return np.asarray(data, dtype=np.float32)


def encode_frame(section: Any, fmt: str = "jpeg", *, clip: float | None = None,
                 width: int = FRAME_WIDTH, height: int = FRAME_HEIGHT,
                 quality: int = JPEG_QUALITY) -> tuple[bytes, tuple[int, int]]:
    """One preview frame: ``section`` reduced to screen pixels, in the seismic grey map.

    Parameters
    ----------
    section : array_like
        ``(trace, time)`` (see :func:`section_of`); traces run left to right, time down.
    fmt : {"jpeg", "png"}
        JPEG while a job runs (small), PNG for the final frame (lossless).
    clip : float, optional
        Amplitude shown full black (positive) / full white (negative); default
        :func:`promethium_lab.viz.symmetric_clip` of the section.
    width, height : int
        Most pixels across (traces) and down (samples). Larger sections are reduced by
        :func:`promethium_lab.viz.reduce_window` (signed max-abs per pixel, never a mean);
        smaller ones are sent as they are and scaled by the browser.
    quality : int
        JPEG quality.

    Returns
    -------
    bytes, (int, int)
        The encoded image and its ``(width, height)``.
    """
    from PIL import Image

    from promethium_lab.viz import reduce_window, symmetric_clip

    if fmt not in ("jpeg", "png"):
        raise PromethiumError.invalid(f"frame format {fmt!r} is not 'jpeg' or 'png'")
    data = section_of(section)
    reduced = reduce_window(data, width, height, how="maxabs")  # (x pixels, y pixels)
    clip = symmetric_clip(reduced) if clip is None or not clip > 0 else float(clip)
    scaled = np.clip(np.nan_to_num(reduced / clip, nan=0.0), -1.0, 1.0)
    # seismic grey: positive amplitude black, negative white, zero (and no data) mid grey
    grey = np.round((1.0 - scaled) * 127.5).astype(np.uint8).T  # rows = time
    image = Image.fromarray(np.ascontiguousarray(grey), mode="L")
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.save(buf, format="JPEG", quality=int(quality))
    else:
        image.save(buf, format="PNG", compress_level=6)
    return buf.getvalue(), (image.width, image.height)


# ---------------------------------------------------------------------------- follower
class JobFollower:
    """Follows one job for a view: its state and its preview frames, one frame in flight.

    Parameters
    ----------
    job : Job or str
        The job (what :func:`promethium_lab.jobs.submit` returns) or its id.
    publish : callable
        ``publish(changes)`` gets a dict of the view's properties to set together (one
        message to the browser); called from the follower's thread.
    job_store, poll_s, ack_timeout
        The job store to look ``job`` up in, seconds between two looks at it, and seconds
        to wait for the browser's acknowledgement of a frame before sending the newest
        one anyway (a busy kernel holds acknowledgements back).
    on_compare : callable, optional
        Called (no arguments) when the browser asks for the comparison.
    reproduce_dir : path-like, optional
        Folder of the notebooks Reproduce writes (default: the working folder, which in
        Jupyter is the notebook's own).

    Attributes
    ----------
    frames : list of (int, str, str, float)
        Frames sent: frame id, format, the job's state then, seconds since the start.
    """

    def __init__(self, job: Any, publish: Callable[[dict[str, Any]], None], *,
                 job_store: Any = None, poll_s: float = POLL_S,
                 ack_timeout: float = ACK_TIMEOUT_S,
                 on_compare: Callable[[], None] | None = None,
                 reproduce_dir: str | os.PathLike | None = None) -> None:
        from promethium_lab.jobs import get_job

        self.job = get_job(job, job_store=job_store) if isinstance(job, str) else job
        self.publish = publish
        self.poll_s = float(poll_s)
        self.ack_timeout = float(ack_timeout)
        self.on_compare = on_compare
        self.reproduce_dir = reproduce_dir
        self.frame_id = 0
        self.acked = 0
        self.frames: list[tuple[int, str, str, float]] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._sent_at = 0.0
        self._clip: float | None = None
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()

    def initial(self) -> dict[str, Any]:
        """The view's properties now: the job's identity and :meth:`state_of` its record."""
        rec = self.job.record
        return {"job_id": rec.id, "kind": rec.kind, "executor": rec.executor,
                "comparable": rec.kind == "reconstruct", **self.state_of(rec)}

    @staticmethod
    def state_of(rec: Any) -> dict[str, Any]:
        """The properties a job record sets: state, progress, message, error, can_compare,
        can_reproduce."""
        completed = rec.state.value == "completed"
        return {"state": rec.state.value, "progress": float(rec.progress),
                "message": rec.message, "error": dict(rec.error) if rec.error else None,
                "can_compare": rec.kind == "reconstruct" and completed,
                "can_reproduce": completed}

    # -- the thread ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the daemon thread that follows the job (no-op when it runs)."""
        if self.following:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, daemon=True,
                                        name=f"promethium-monitor-{self.job.id}")
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop following the job (the view stays as it is)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def following(self) -> bool:
        """Whether the daemon thread still follows the job."""
        return self._thread is not None and self._thread.is_alive()

    def _follow(self) -> None:
        last_key: tuple[str, int, int] | None = None
        store = self.job.store
        next_owner_check = time.monotonic() + OWNER_CHECK_S
        try:
            while not self._stop.is_set():
                try:
                    rec = self.job.record
                except PromethiumError:  # the job was deleted
                    return
                if not rec.is_terminal and time.monotonic() >= next_owner_check:
                    next_owner_check = time.monotonic() + OWNER_CHECK_S
                    if not store.owner_alive(rec) and store.mark_lost(rec):
                        continue  # its runner died: shown as failed (RUNNER_LOST)
                self.publish(self.state_of(rec))
                key = _file_key(rec.preview_path)
                if rec.is_terminal:
                    if key is not None:  # the final frame, lossless
                        self._wait_ack(self.ack_timeout)
                        if not self._stop.is_set():
                            self.send_frame(rec.preview_path, "png", rec.state.value)
                    return
                if key is not None and key != last_key and self._may_send():
                    if self.send_frame(rec.preview_path, "jpeg", rec.state.value):
                        last_key = key
                self._wake.wait(self.poll_s)
                self._wake.clear()
        except Exception as exc:  # never let the thread die silently
            log.warning("monitor of job %s stopped: %s: %s", self.job.id, type(exc).__name__,
                        exc)
        finally:
            store.close()  # this thread's SQLite connection

    def _may_send(self) -> bool:
        """No frame in flight, or the in-flight one waited ``ack_timeout`` already."""
        with self._lock:
            return (self.acked >= self.frame_id
                    or time.monotonic() - self._sent_at >= self.ack_timeout)

    def _wait_ack(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._stop.is_set() and not self._may_send():
            self._wake.wait(max(0.0, min(self.poll_s, deadline - time.monotonic())))
            self._wake.clear()
            if time.monotonic() >= deadline:
                return

    def send_frame(self, path: str | None, fmt: str, state: str) -> bool:
        """Render the preview at ``path`` and publish it as the next frame.

        The clip is the largest :func:`~promethium_lab.viz.symmetric_clip` seen for this
        job, so frames do not flicker. Returns False when there is no preview to show.
        """
        from promethium_lab.jobs.preview import read_preview
        from promethium_lab.viz import symmetric_clip

        preview = read_preview(path) if path else None
        if preview is None:
            return False
        section = section_of(preview)
        clip = symmetric_clip(section)
        self._clip = clip if self._clip is None else max(self._clip, clip)
        data, size = encode_frame(section, fmt, clip=self._clip)
        with self._lock:
            self.frame_id += 1
            frame_id = self.frame_id
            self._sent_at = time.monotonic()
        # frame_id last: the browser shows the frame when frame_id changes
        self.publish({"frame_format": fmt, "frame_size": list(size), "frame": data,
                      "frame_id": frame_id})
        self.frames.append((frame_id, fmt, state, round(time.monotonic() - self._t0, 3)))
        return True

    # -- the browser -----------------------------------------------------------------------
    def ack(self, frame_id: int) -> None:
        """The browser has shown frame ``frame_id``: the next one may go."""
        with self._lock:
            self.acked = max(self.acked, int(frame_id))
        self._wake.set()

    def handle(self, content: Any) -> None:
        """A message from the browser: ``{"type": "ack", "id": n}``, ``{"type": "cancel"}``,
        ``{"type": "compare"}`` or ``{"type": "reproduce"}`` (anything else is ignored)."""
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ack":
            self.ack(int(content.get("id", 0)))
        elif kind == "cancel":
            self.cancel()
        elif kind == "compare" and self.on_compare is not None:
            self.on_compare()
        elif kind == "reproduce":
            self.publish_reproduction()

    def reproduce(self, out: str | os.PathLike | None = None, *,
                  output_dir: str | os.PathLike | None = None) -> Path:
        """Write the notebook that re-runs the (completed) job with the same parameters:
        :func:`promethium_lab.jobs.reproduce_notebook` for this job and its job store, with
        its ``out`` (default: :attr:`reproduce_dir`, else the working folder) and
        ``output_dir``; returns the notebook's path and raises its errors
        (``JOB_NOT_COMPLETED`` before the job completed, an input that is gone, ...).
        """
        from promethium_lab.jobs.reproduce import reproduce_notebook

        return reproduce_notebook(self.job.id, out if out is not None else self.reproduce_dir,
                                  job_store=self.job.store, output_dir=output_dir)

    def publish_reproduction(self) -> Path | None:
        """:meth:`reproduce`, then publish the notebook's path (``reproduced``) or the typed
        error as ``code: message (hint)`` (``reproduce_error``); returns the path or None."""
        try:
            path = self.reproduce()
        except PromethiumError as err:
            self.publish({"reproduced": "", "reproduce_error": str(err)})
            return None
        self.publish({"reproduced": str(path), "reproduce_error": ""})
        return path

    def cancel(self) -> str:
        """Ask the job to stop (the job store's flag); returns the state after asking."""
        state = self.job.cancel()
        self._wake.set()
        return state.value

    def comparison(self, **kwargs: Any) -> Any:
        """Before / after / difference of a completed reconstruction job.

        :func:`promethium_lab.viz.compare` of the job's ``source`` and its result (and its
        ``reference`` when it had one); ``kwargs`` go to ``compare`` (e.g. ``shot_point=3``).

        Raises
        ------
        PromethiumError
            INVALID_PARAMETER when the job is no reconstruction, has not completed, or its
            input or result cannot be opened from here.
        """
        from promethium_lab.viz import compare

        rec = self.job.record
        if rec.kind != "reconstruct":
            raise PromethiumError.invalid(
                f"job {rec.id} is a {rec.kind} job; only reconstruct jobs have a comparison",
                hint="open its output with promethium_lab.viz.section")
        if rec.state.value != "completed":
            raise PromethiumError.invalid(
                f"job {rec.id} is {rec.state.value}, not completed",
                hint="wait until it completed (job.wait()), then open the comparison")
        before = _existing_path(rec.parameters.get("source"), "its input", rec.id)
        after = self.job.result(timeout=30)
        if after is None:
            raise PromethiumError.invalid(
                f"the result of job {rec.id} stayed in the process that ran it",
                hint="submit reconstructions with out='result.zarr' to open them anywhere")
        reference = rec.parameters.get("reference")
        if reference is not None:
            reference = _existing_path(reference, "its reference", rec.id)
        return compare(before, after, reference, **kwargs)


class FollowsJob:
    """What a monitor view (``JobMonitor``, ``PanelJobMonitor``) offers from Python, handed
    to its :attr:`follower`."""

    follower: JobFollower

    @property
    def job(self) -> Any:
        """The :class:`~promethium_lab.jobs.Job` shown."""
        return self.follower.job

    @property
    def frames(self) -> list[tuple[int, str, str, float]]:
        """Frames sent: (frame id, format, job state when sent, seconds since start)."""
        return self.follower.frames

    def start(self) -> None:
        """Start the daemon thread that follows the job (no-op when it runs)."""
        self.follower.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop following the job (the view stays as it is)."""
        self.follower.stop(timeout)

    @property
    def following(self) -> bool:
        """Whether the daemon thread still follows the job."""
        return self.follower.following

    def cancel(self) -> str:
        """Ask the job to stop (the job store's flag); returns the state after asking."""
        return self.follower.cancel()

    def comparison(self, **kwargs: Any) -> Any:
        """Before / after / difference of a completed reconstruction job (see
        :meth:`JobFollower.comparison`).

        Raises
        ------
        PromethiumError
            INVALID_PARAMETER when the job is no reconstruction, has not completed, or its
            input or result cannot be opened from here.
        """
        return self.follower.comparison(**kwargs)

    def reproduce(self, out: str | os.PathLike | None = None, *,
                  output_dir: str | os.PathLike | None = None) -> Path:
        """Write the notebook that re-runs the completed job with the same parameters (see
        :meth:`JobFollower.reproduce`); the Reproduce button does the same.

        Raises
        ------
        PromethiumError
            ``JOB_NOT_COMPLETED`` before the job completed, and the other errors of
            :func:`promethium_lab.jobs.reproduce_notebook`.
        """
        return self.follower.reproduce(out, output_dir=output_dir)


def _file_key(path: str | None) -> tuple[str, int, int] | None:
    """What changes when a preview file is replaced (path, mtime, inode), or None."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, st.st_mtime_ns, st.st_ino)


def _existing_path(value: Any, what: str, job_id: str) -> str:
    if isinstance(value, str) and Path(value).expanduser().exists():
        return value
    raise PromethiumError.invalid(
        f"{what} of job {job_id} ({value!r}) is not a path that exists here",
        hint="compare by hand: promethium_lab.viz.compare(before, after)")
