"""The context a long task runs in: progress, previews and cooperative cancellation.

Every workflow takes ``context=``; jobs pass one that writes to the job store, widgets one
that updates a progress bar, and plain calls get :data:`NULL_CONTEXT` behaviour (a tqdm bar,
never canceled).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from promethium_lab.core.errors import PromethiumError
from promethium_lab.core.progress import Progress

__all__ = ["TaskContext", "ensure_context"]


class TaskContext:
    """Progress, preview and cancel hooks for one running task.

    Parameters
    ----------
    on_progress : callable, optional
        ``on_progress(fraction, message)`` with ``fraction`` in [0, 1].
    on_preview : callable, optional
        ``on_preview(obj)``: the newest downsampled result (an xarray object); only the
        latest matters, so receivers may drop older ones.
    cancel_event : threading.Event, optional
        Set it (or call :meth:`cancel`) to ask the task to stop at its next check.
    is_canceled : callable, optional
        Extra cancel check (e.g. a flag in the job store written by another process).
    show_progress : bool or None
        Show a tqdm bar too; None reads the config.
    """

    def __init__(
        self,
        on_progress: Callable[[float, str], None] | None = None,
        on_preview: Callable[[Any], None] | None = None,
        cancel_event: threading.Event | None = None,
        is_canceled: Callable[[], bool] | None = None,
        show_progress: bool | None = None,
    ) -> None:
        self.on_progress = on_progress
        self.on_preview = on_preview
        self.cancel_event = cancel_event or threading.Event()
        self.is_canceled = is_canceled
        self.show_progress = show_progress
        self.fraction = 0.0
        self.message = ""

    def progress(self, fraction: float, message: str = "") -> None:
        """Report the done fraction of the whole task."""
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.message = message or self.message
        if self.on_progress is not None:
            self.on_progress(self.fraction, self.message)

    def preview(self, obj: Any) -> None:
        """Publish the newest preview of the result."""
        if self.on_preview is not None:
            self.on_preview(obj)

    def cancel(self) -> None:
        """Ask the task to stop at its next check."""
        self.cancel_event.set()

    def should_stop(self) -> bool:
        """True once cancellation was asked for."""
        if self.cancel_event.is_set():
            return True
        if self.is_canceled is not None and self.is_canceled():
            self.cancel_event.set()
            return True
        return False

    def check(self, what: str = "the task") -> None:
        """Raise ``PromethiumError(CANCELED)`` if cancellation was asked for."""
        if self.should_stop():
            raise PromethiumError.canceled(what)

    def progress_bar(
        self, total: float, desc: str = "", unit: str = "it", show: bool | None = None,
        **tqdm_kwargs: Any,
    ) -> Progress:
        """A :class:`~promethium_lab.core.progress.Progress` reporting to this context.

        Parameters
        ----------
        total : float
            Units of work.
        desc : str
            Label of the bar (also the progress message).
        unit : str
            Unit name shown by tqdm.
        show : bool or None
            Show a tqdm bar; None uses the context's ``show_progress`` (else the config).
        **tqdm_kwargs
            Passed to tqdm.

        Returns
        -------
        Progress
            Its updates call :meth:`progress`; use it as a context manager.
        """
        return Progress(total, desc=desc, unit=unit,
                        show=self.show_progress if show is None else show,
                        callback=self.progress, **tqdm_kwargs)

    def child(self, start: float, stop: float, *, preview: bool = True) -> TaskContext:
        """A context for one step of this task.

        Its progress maps [0, 1] onto [start, stop] of this task; it shares this task's
        cancellation (event and extra check), tqdm setting and, with ``preview``, its
        preview hook.

        Parameters
        ----------
        start, stop : float
            The part of this task's progress the step covers.
        preview : bool, default True
            Pass the step's previews on to this task.

        Returns
        -------
        TaskContext
            The step's context.
        """
        return TaskContext(on_progress=self.sub(start, stop),
                           on_preview=self.on_preview if preview else None,
                           cancel_event=self.cancel_event, is_canceled=self.is_canceled,
                           show_progress=self.show_progress)

    def sub(self, start: float, stop: float) -> Callable[[float, str], None]:
        """A progress callback mapping [0, 1] of a step onto [start, stop] of the task."""

        def report(fraction: float, message: str = "") -> None:
            self.progress(start + (stop - start) * fraction, message)

        return report


def ensure_context(context: TaskContext | None) -> TaskContext:
    """``context`` or a fresh one (tqdm bar per the config, never canceled)."""
    return context if context is not None else TaskContext()
