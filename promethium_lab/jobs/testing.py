"""A synthetic batched workflow for the tests and benchmarks of the job machinery.

Not a user task (it is not registered as a job kind); tests register it with
``register_workflow("batches", "promethium_lab.jobs.testing:batches", outputs=("out",))``.
It behaves like the real workflows: reports progress per batch, publishes previews,
checks for cancellation between batches, and writes its output into ``<out>.partial``,
renamed into place only when complete.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from promethium_lab.core.context import TaskContext, ensure_context
from promethium_lab.core.errors import PromethiumError
from promethium_lab.io.formats import partial_path

__all__ = ["batches", "busy", "poll", "started"]


def poll(predicate: Any, what: str, deadline: float = 90.0) -> Any:
    """Call ``predicate`` until it returns something other than None/False.

    ``deadline`` only guards against hanging; it is never a speed assertion.
    """
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value is not None and value is not False:
            return value
        time.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


def started(log: Path) -> list[int]:
    """Batch numbers the :func:`batches` workflow started (from its ``log``)."""
    if not log.exists():
        return []
    return [int(line.split()[1]) for line in log.read_text().splitlines()
            if line.startswith("start")]


def busy(seconds: float) -> None:
    """Keep one core busy with numpy work for about ``seconds``."""
    a = np.random.default_rng(0).standard_normal((128, 128))
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        a = np.tanh(a @ a.T * 1e-3)


def batches(
    n_batches: int = 10,
    batch_s: float = 0.1,
    *,
    out: str | os.PathLike | None = None,
    shape: tuple[int, int] = (600, 700),
    preview: bool = True,
    fail_at: int | None = None,
    work: str = "sleep",
    log: str | os.PathLike | None = None,
    context: TaskContext | None = None,
) -> Path | dict[str, Any]:
    """Run ``n_batches`` batches of ``batch_s`` seconds each.

    Parameters
    ----------
    n_batches, batch_s
        Number and duration of batches.
    out : path-like, optional
        Output folder: one ``batch_<i>.npy`` per batch, written in ``<out>.partial``.
    shape : (int, int)
        Shape of the preview section (downsampled by the job to ≤ 512 × 512).
    preview : bool
        Publish a preview after every batch.
    fail_at : int, optional
        Raise an unexpected error (``RuntimeError``) at this batch; ``n_batches`` or more:
        after the output is complete (a failing last step).
    work : {"sleep", "cpu"}
        Sleep, or keep a core busy, for ``batch_s``.
    log : path-like, optional
        Append ``start <i>`` / ``done <i>`` lines (flushed at once) for the tests.
    context : TaskContext, optional

    Returns
    -------
    Path or dict
        ``out`` when given, else ``{"batches": n_batches}``.
    """
    ctx = ensure_context(context)
    if work not in ("sleep", "cpu"):
        raise PromethiumError.invalid(f"unknown work {work!r}", hint="use 'sleep' or 'cpu'")
    final = Path(out) if out is not None else None
    partial = partial_path(final) if final is not None else None
    if partial is not None:
        partial.mkdir(parents=True, exist_ok=True)
    rows, cols = (int(s) for s in shape)
    section = np.zeros((rows, cols), dtype=np.float32)

    def note(text: str) -> None:
        if log is not None:
            with open(log, "a") as fh:
                fh.write(text + "\n")

    for i in range(int(n_batches)):
        ctx.check(f"batch {i}")
        note(f"start {i}")
        if fail_at is not None and i == int(fail_at):
            raise RuntimeError(f"synthetic failure at batch {i}")
        if work == "cpu":
            busy(batch_s)
        else:
            time.sleep(batch_s)
        section[:, : (i + 1) * cols // int(n_batches)] = i + 1
        if partial is not None:
            np.save(partial / f"batch_{i}.npy", np.full(4, i, dtype=np.int32))
        note(f"done {i}")
        ctx.progress((i + 1) / n_batches, f"batch {i + 1}/{n_batches}")
        if preview:
            import xarray as xr

            ctx.preview(xr.DataArray(section.copy(), dims=("trace", "time"), name="amplitude",
                                     coords={"trace": np.arange(rows),
                                             "time": np.arange(cols) * 2.0},
                                     attrs={"batch": i + 1}))
    if final is not None:
        os.replace(partial, final)
    if fail_at is not None and int(fail_at) >= n_batches:
        raise RuntimeError("synthetic failure after the output was written")
    return final if final is not None else {"batches": int(n_batches)}
