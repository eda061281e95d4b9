"""``JobMonitor``: watch one job in a notebook — state, progress, error, live preview, cancel,
and reproduce it once it completed.

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
  Without a Jupyter server, or when that request fails, the button falls back to a comm
  message handled here (``job.cancel()``, run once the kernel is idle).
  From Python: :meth:`JobMonitor.cancel`.
* **Reproduce** (a completed job) writes the notebook that re-runs the job with the same
  parameters (:func:`promethium_lab.jobs.reproduce_notebook`) and shows its path; a comm
  message, so it runs once the kernel is idle. From Python: :meth:`JobMonitor.reproduce`.

The state logic (thread, frames, acknowledgements, cancel, comparison) lives in
:class:`promethium_lab.widgets.follow.JobFollower`, shared with the Panel component
:class:`promethium_lab.widgets.serve.PanelJobMonitor` that draws the same ``monitor.js``
in ``panel serve``.
"""

from __future__ import annotations

import os
from typing import Any

import anywidget
import traitlets

from promethium_lab.core.errors import PromethiumError
from promethium_lab.widgets.follow import (
    ACK_TIMEOUT_S,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    POLL_S,
    STATIC,
    FollowsJob,
    JobFollower,
    encode_frame,
    section_of,
)

__all__ = [
    "ACK_TIMEOUT_S",
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "JobMonitor",
    "encode_frame",
    "section_of",
]


class JobMonitor(FollowsJob, anywidget.AnyWidget):
    """A live view of one job: state, progress bar, message, error with its hint, a
    preview, and Cancel / "Open comparison" / Reproduce buttons.

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
    reproduce_dir : path-like, optional
        Folder of the notebook Reproduce writes (default: the working folder, in Jupyter
        the notebook's own).

    Attributes
    ----------
    follower : JobFollower
        The state logic (thread, frames, cancel) this widget shows.
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
    #: the job completed, so the notebook that re-runs it can be written (Reproduce)
    can_reproduce = traitlets.Bool(False).tag(sync=True)
    #: the reproduce notebook Reproduce wrote ("" before)
    reproduced = traitlets.Unicode("").tag(sync=True)
    #: why Reproduce failed, ``code: message (hint)`` ("" when it did not)
    reproduce_error = traitlets.Unicode("").tag(sync=True)
    #: the newest preview frame (binary; JPEG while running, PNG at the end)
    frame = traitlets.Bytes(b"").tag(sync=True)
    frame_format = traitlets.Unicode("").tag(sync=True)
    frame_id = traitlets.Int(0).tag(sync=True)
    frame_size = traitlets.List(traitlets.Int(), default_value=[0, 0]).tag(sync=True)

    def __init__(self, job: Any, *, job_store: Any = None, poll_s: float = POLL_S,
                 ack_timeout: float = ACK_TIMEOUT_S, start: bool = True,
                 reproduce_dir: str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.follower = JobFollower(job, self._publish, job_store=job_store, poll_s=poll_s,
                                    ack_timeout=ack_timeout, on_compare=self.open_comparison,
                                    reproduce_dir=reproduce_dir)
        super().__init__(**self.follower.initial(), **kwargs)
        self._output: Any = None
        self._box: Any = None
        self.on_msg(lambda _w, content, _b: self.follower.handle(content))
        if start:
            self.start()

    def _publish(self, changes: dict[str, Any]) -> None:
        """Set the traits ``changes`` names (one widget message for all of them)."""
        with self.hold_sync():
            for name, value in changes.items():
                setattr(self, name, value)

    def close(self) -> None:
        """Stop following and close the widget (and its comparison output)."""
        self.stop(timeout=2.0)
        if self._box is not None:
            self._box.close()
        if self._output is not None:
            self._output.close()
        super().close()

    # the frame benchmark (benchmarks/viz_bench.py) drives these two directly
    def _send_frame(self, path: str | None, fmt: str, state: str) -> bool:
        return self.follower.send_frame(path, fmt, state)

    @property
    def _acked(self) -> int:
        return self.follower.acked

    @_acked.setter
    def _acked(self, frame_id: int) -> None:
        self.follower.ack(frame_id)

    # -- actions -----------------------------------------------------------------------
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
