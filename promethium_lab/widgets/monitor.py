"""``JobMonitor``: watch one job in a notebook — state, progress, error, live preview, cancel.

>>> from promethium_lab import jobs
>>> from promethium_lab.widgets import JobMonitor
>>> job = jobs.submit("reconstruct", source="survey.zarr", method="pocs")
>>> JobMonitor(job)              # displays itself; updates while the cell below runs

How it stays live while the kernel is busy
------------------------------------------
* **Updates** come from a daemon thread that polls the job store (every ``poll_s``) and sets
  the widget's traits; widget state goes out on the kernel's IOPub channel, which threads
  may use while the main thread runs a cell. The kernel's main thread does nothing for it.
  The thread stops when the job has ended and its final frame is sent, or when the widget
  is closed.
* **Previews** travel as binary buffers (the ``frame`` trait is ``bytes``; the browser gets a
  ``DataView`` and shows it as a Blob), never as JSON arrays: JPEG while the job runs, PNG
  (lossless) once it has ended, at most 800 × 600 pixels, the seismic grey map with a
  symmetric clip, reduced by :func:`promethium_lab.viz.reduce_window` (signed max-abs, so
  zoomed-out amplitudes stay honest).
* **One frame in flight.** The browser acknowledges each frame with a comm message once
  it is decoded, and the thread sends the next (always the newest preview; older ones are
  dropped) only after that. Comm messages *from* the browser wait while the kernel is
  busy, though, so the thread waits for an acknowledgement at most ``ack_timeout``
  (about 1 s) and then sends the newest frame anyway: a busy kernel gets a frame per
  second at most, an idle one as fast as the browser takes them.
* **Cancel** does not depend on the kernel being idle: the browser's Cancel button POSTs
  to the server extension (``POST {baseUrl}promethium/jobs/<id>/cancel``, XSRF-checked),
  which sets the job store's cancel flag that the job's runner checks between batches.
  Without a Jupyter server (``panel serve``) or when that request fails, the button falls
  back to a comm message handled here (``job.cancel()``, run once the kernel is idle).
  From Python: :meth:`JobMonitor.cancel`.
"""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from promethium_lab.core.errors import PromethiumError
from promethium_lab.core.logging import get_logger

__all__ = [
    "ACK_TIMEOUT_S",
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "JobMonitor",
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
_TERMINAL = ("completed", "failed", "canceled")


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


# ----------------------------------------------------------------------------- widget
class JobMonitor(anywidget.AnyWidget):
    """A live view of one job: state, progress bar, message, error with its hint, a
    preview, and Cancel / "Open comparison" buttons.

    Parameters
    ----------
    job : Job or str
        The job (what :func:`promethium_lab.jobs.submit` returns) or its id.
    job_store : JobStore or path, optional
        The store to look ``job`` up in when it is an id.
    poll_s : float
        Seconds between two looks at the job store.
    ack_timeout : float
        Seconds to wait for the browser's acknowledgement of a frame before sending the
        newest one anyway (see the module's docstring).
    start : bool
        Start following the job now (else call :meth:`start`).

    Attributes
    ----------
    output : ipywidgets.Output
        Where "Open comparison" shows :meth:`comparison` (displayed under the monitor).
    """

    _esm = STATIC / "monitor.js"
    _css = STATIC / "promethium.css"

    job_id = traitlets.Unicode("").tag(sync=True)
    kind = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Unicode("queued").tag(sync=True)
    progress = traitlets.Float(0.0).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    executor = traitlets.Unicode("").tag(sync=True)
    #: the job's kind has a before/after comparison (reconstruct)
    comparable = traitlets.Bool(False).tag(sync=True)
    #: ... and it completed, so the comparison can be opened now
    can_compare = traitlets.Bool(False).tag(sync=True)
    #: the newest preview frame (binary; JPEG while running, PNG at the end)
    frame = traitlets.Bytes(b"").tag(sync=True)
    frame_format = traitlets.Unicode("").tag(sync=True)
    frame_id = traitlets.Int(0).tag(sync=True)
    frame_size = traitlets.List(traitlets.Int(), default_value=[0, 0]).tag(sync=True)

    def __init__(self, job: Any, *, job_store: Any = None, poll_s: float = POLL_S,
                 ack_timeout: float = ACK_TIMEOUT_S, start: bool = True, **kwargs: Any) -> None:
        from promethium_lab.jobs import get_job

        self.job = get_job(job, job_store=job_store) if isinstance(job, str) else job
        self.poll_s = float(poll_s)
        self.ack_timeout = float(ack_timeout)
        rec = self.job.record
        super().__init__(job_id=rec.id, kind=rec.kind, executor=rec.executor,
                         comparable=rec.kind == "reconstruct", **kwargs)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._acked = 0
        self._sent_at = 0.0
        self._clip: float | None = None
        self._thread: threading.Thread | None = None
        self._output: Any = None
        self._box: Any = None
        #: frames sent: (frame id, format, job state when sent, seconds since start)
        self.frames: list[tuple[int, str, str, float]] = []
        self._t0 = time.monotonic()
        self.on_msg(self._on_message)
        self._apply(rec)
        if start:
            self.start()

    # -- following the job -----------------------------------------------------------
    def start(self) -> None:
        """Start the daemon thread that follows the job (no-op when it runs)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, daemon=True,
                                        name=f"promethium-monitor-{self.job_id}")
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop following the job (the widget stays as it is)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def following(self) -> bool:
        """Whether the daemon thread still follows the job."""
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop following and close the widget (and its comparison output)."""
        self.stop(timeout=2.0)
        if self._box is not None:
            self._box.close()
        if self._output is not None:
            self._output.close()
        super().close()

    def _apply(self, rec: Any) -> None:
        """Copy the record's state into the traits (one widget message for all of them)."""
        error = dict(rec.error) if rec.error else None
        with self.hold_sync():
            self.state = rec.state.value
            self.progress = float(rec.progress)
            self.message = rec.message
            self.error = error
            self.can_compare = self.comparable and rec.state.value == "completed"

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
                self._apply(rec)
                key = _file_key(rec.preview_path)
                if rec.is_terminal:
                    if key is not None:  # the final frame, lossless
                        self._wait_ack(self.ack_timeout)
                        if not self._stop.is_set():
                            self._send_frame(rec.preview_path, "png", rec.state.value)
                    return
                if key is not None and key != last_key and self._may_send():
                    if self._send_frame(rec.preview_path, "jpeg", rec.state.value):
                        last_key = key
                self._wake.wait(self.poll_s)
                self._wake.clear()
        except Exception as exc:  # never let the thread die silently
            log.warning("monitor of job %s stopped: %s: %s", self.job_id, type(exc).__name__, exc)
        finally:
            store.close()  # this thread's SQLite connection

    def _may_send(self) -> bool:
        """No frame in flight, or the in-flight one waited ``ack_timeout`` already."""
        with self._lock:
            return (self._acked >= self.frame_id
                    or time.monotonic() - self._sent_at >= self.ack_timeout)

    def _wait_ack(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._stop.is_set() and not self._may_send():
            self._wake.wait(max(0.0, min(self.poll_s, deadline - time.monotonic())))
            self._wake.clear()
            if time.monotonic() >= deadline:
                return

    def _send_frame(self, path: str | None, fmt: str, state: str) -> bool:
        """Render the preview at ``path`` and send it as the next frame."""
        from promethium_lab.jobs.preview import read_preview

        preview = read_preview(path) if path else None
        if preview is None:
            return False
        section = section_of(preview)
        from promethium_lab.viz import symmetric_clip

        clip = symmetric_clip(section)
        # one clip for the whole job (the largest seen), so frames do not flicker
        self._clip = clip if self._clip is None else max(self._clip, clip)
        data, size = encode_frame(section, fmt, clip=self._clip)
        with self._lock:
            frame_id = self.frame_id + 1
            self._sent_at = time.monotonic()
        with self.hold_sync():
            self.frame_format = fmt
            self.frame_size = list(size)
            self.frame = data
            self.frame_id = frame_id
        self.frames.append((frame_id, fmt, state, round(time.monotonic() - self._t0, 3)))
        return True

    # -- messages from the browser -----------------------------------------------------
    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ack":
            with self._lock:
                self._acked = max(self._acked, int(content.get("id", 0)))
            self._wake.set()
        elif kind == "cancel":  # the fallback when the server route is out of reach
            self.cancel()
        elif kind == "compare":
            self.open_comparison()

    # -- actions -----------------------------------------------------------------------
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

    @property
    def output(self) -> Any:
        """The ``ipywidgets.Output`` the comparison is shown in."""
        if self._output is None:
            import ipywidgets

            self._output = ipywidgets.Output()
        return self._output

    def open_comparison(self) -> None:
        """Show :meth:`comparison` in :attr:`output` (a typed error there if it fails)."""
        from IPython.display import display

        out = self.output
        out.clear_output()
        with out:
            try:
                display(self.comparison())
            except PromethiumError as err:
                print(err)  # code: message (hint)

    @property
    def box(self) -> Any:
        """The monitor with its comparison output under it (what displaying it shows)."""
        if self._box is None:
            import ipywidgets

            self._box = ipywidgets.VBox([self, self.output])
        return self._box

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<JobMonitor {self.job_id} {self.kind} {self.state} {self.progress:.0%}>"


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
