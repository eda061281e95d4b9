"""JobMonitor follows real jobs on the kernel executor: traits, binary frames with one in
flight, errors with hints, cancel (comm fallback and Python), the comparison."""

from __future__ import annotations

import io
import itertools
import subprocess
import threading
import time

import numpy as np
import pytest
from PIL import Image

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs import JobState, submit
from promethium_lab.jobs.testing import poll, started
from promethium_lab.widgets import JobMonitor, encode_frame
from promethium_lab.widgets.follow import _file_key, section_of

DEADLINE_S = 60  # only a guard against hanging: never a speed assertion
JPEG = b"\xff\xd8\xff"
PNG = b"\x89PNG\r\n\x1a\n"


def browser_says(monitor: JobMonitor, **content) -> None:
    """A custom message from the browser, through ipywidgets' own entry point."""
    monitor._handle_msg({"content": {"data": {"method": "custom", "content": content}},
                         "buffers": []})


def follow(monitor: JobMonitor, *names: str) -> list[tuple]:
    """Record ``(name, value, state)`` of every change of the traits ``names``."""
    seen: list[tuple] = []

    def note(change):
        value = change["new"]
        if change["name"] == "frame_id":
            value = (value, monitor.frame_format, bytes(monitor.frame[:8]))
        seen.append((change["name"], value, monitor.state))

    monitor.observe(note, names=list(names))
    return seen


def test_monitor_follows_a_job_with_jpeg_frames_then_a_png(batches_kind):
    job = submit(batches_kind, n_batches=8, batch_s=0.15, shape=(300, 500))
    monitor = JobMonitor(job, poll_s=0.05, ack_timeout=0.2)  # no browser: nothing acks
    seen = follow(monitor, "progress", "frame_id", "state")
    assert job.wait(DEADLINE_S) == JobState.COMPLETED
    poll(lambda: not monitor.following, "the monitor thread to stop", DEADLINE_S)

    progress = [v for name, v, _ in seen if name == "progress"]
    assert len(progress) >= 3 and progress == sorted(progress) and progress[-1] == 1.0
    frames = [(v, state) for name, v, state in seen if name == "frame_id"]
    assert len(frames) >= 2
    *running, (final, final_state) = frames
    assert running, "no frame while the job ran"
    for (_, fmt, head), state in running:
        assert fmt == "jpeg" and head.startswith(JPEG) and state in ("running", "previewing")
    assert final[1] == "png" and final[2] == PNG and final_state == "completed"
    assert [f[0] for f, _ in frames] == list(range(1, len(frames) + 1))
    image = Image.open(io.BytesIO(monitor.frame))
    assert image.format == "PNG" and image.size == tuple(monitor.frame_size) == (300, 500)
    assert monitor.state == "completed" and monitor.progress == 1.0
    assert monitor.message == "batch 8/8" and monitor.error is None
    assert not monitor.comparable and not monitor.can_compare  # not a reconstruction
    with pytest.raises(PromethiumError, match="only reconstruct jobs"):
        monitor.comparison()


def test_one_frame_in_flight_until_the_browser_acks(batches_kind):
    job = submit(batches_kind, n_batches=300, batch_s=0.05)
    monitor = JobMonitor(job, poll_s=0.05, ack_timeout=60)
    try:
        poll(lambda: monitor.frame_id == 1 or None, "the first frame", DEADLINE_S)
        first_preview = _file_key(job.record.preview_path)
        poll(lambda: _file_key(job.record.preview_path) != first_preview or None,
             "a newer preview", DEADLINE_S)
        time.sleep(0.5)  # ten polls: a newer preview is there, but frame 1 is not acked
        assert monitor.frame_id == 1 and len(monitor.frames) == 1
        browser_says(monitor, type="ack", id=1)
        poll(lambda: monitor.frame_id == 2 or None, "the frame after the ack", DEADLINE_S)
        assert monitor.frame.startswith(JPEG)
    finally:
        job.cancel()
    assert job.wait(DEADLINE_S) == JobState.CANCELED


def test_unacked_frames_go_out_after_the_timeout(batches_kind):
    """A busy kernel holds the browser's acks back: the newest frame goes out anyway."""
    job = submit(batches_kind, n_batches=300, batch_s=0.05)
    monitor = JobMonitor(job, poll_s=0.05, ack_timeout=0.3)
    try:
        poll(lambda: monitor.frame_id >= 3 or None, "three unacked frames", DEADLINE_S)
        times = [t for _, _, _, t in monitor.frames]
        assert all(b - a >= 0.25 for a, b in itertools.pairwise(times))  # not every poll
    finally:
        job.cancel()
    job.wait(DEADLINE_S)


def test_a_failing_job_shows_its_error_code_and_hint(batches_kind):
    job = submit(batches_kind, n_batches=3, batch_s=0.01, work="bogus")
    monitor = JobMonitor(job, poll_s=0.05)
    poll(lambda: monitor.state == "failed" or None, "the failure", DEADLINE_S)
    assert monitor.error["code"] == ErrorCode.INVALID_PARAMETER.value
    assert monitor.error["message"] == "unknown work 'bogus'"
    assert monitor.error["hint"] == "use 'sleep' or 'cpu'"
    poll(lambda: not monitor.following, "the monitor thread to stop", DEADLINE_S)


def _cancel_check(job, log, how) -> None:
    poll(lambda: started(log) or None, "the first batch", DEADLINE_S)
    how()
    assert job.wait(DEADLINE_S) == JobState.CANCELED
    assert len(started(log)) < 200  # stopped within a batch or two, not at the end
    assert job.error["code"] == ErrorCode.CANCELED.value


def test_cancel_through_the_comm_fallback_stops_the_job(batches_kind, tmp_path):
    log = tmp_path / "log"
    job = submit(batches_kind, n_batches=200, batch_s=0.05, log=str(log))
    monitor = JobMonitor(job, poll_s=0.05)
    _cancel_check(job, log, lambda: browser_says(monitor, type="cancel"))
    poll(lambda: monitor.state == "canceled" or None, "the monitor to say canceled", DEADLINE_S)
    assert monitor.error["code"] == ErrorCode.CANCELED.value


def test_monitor_cancel_stops_a_job_while_the_main_thread_waits_on_it(batches_kind, tmp_path):
    """The job in the foreground: this thread blocks in ``wait()`` like a busy cell while
    the cancel comes from elsewhere (as the browser's request does)."""
    log = tmp_path / "log"
    job = submit(batches_kind, n_batches=200, batch_s=0.05, work="cpu", log=str(log))
    monitor = JobMonitor(job, poll_s=0.05)
    asked = []
    poll(lambda: started(log) or None, "the first batch", DEADLINE_S)
    timer = threading.Timer(0.3, lambda: asked.append(monitor.cancel()))
    timer.start()
    assert job.wait(DEADLINE_S) == JobState.CANCELED  # blocks this thread until canceled
    assert asked == ["stopping"] and len(started(log)) < 200
    poll(lambda: not monitor.following, "the monitor thread to stop", DEADLINE_S)
    assert monitor.state == "canceled"


def test_closing_the_widget_stops_the_thread(batches_kind):
    job = submit(batches_kind, n_batches=300, batch_s=0.05)
    monitor = JobMonitor(job, poll_s=0.05)
    assert monitor.following
    monitor.close()
    assert not monitor.following
    job.cancel()
    job.wait(DEADLINE_S)


def test_frames_are_reduced_by_signed_max_abs_to_800_by_600():
    section = np.zeros((1600, 1800), dtype=np.float32)  # (trace, time)
    section[1234, 1700] = 5.0  # one spike: a mean would wash it out, max-abs keeps it
    section[10, 10] = -5.0
    data, size = encode_frame(section, "png", clip=5.0)
    assert data.startswith(PNG) and size == (800, 600)
    pixels = np.asarray(Image.open(io.BytesIO(data)))
    assert pixels.shape == (600, 800)  # rows = time, columns = traces
    assert pixels.min() == 0 and pixels.max() == 255  # the spikes, black and white
    assert np.count_nonzero(pixels == 0) == 1 and np.count_nonzero(pixels == 255) == 1
    assert np.median(pixels) in (127, 128)  # zero is mid grey
    jpeg, jsize = encode_frame(np.zeros((2000, 3000)), "jpeg")  # integral blocks of 3 × 5
    assert jpeg.startswith(JPEG) and jsize == (667, 600)
    small, ssize = encode_frame(np.ones((1, 7)), "png")  # one trace, seven samples
    assert ssize == (1, 7) and small.startswith(PNG)
    with pytest.raises(PromethiumError):
        encode_frame(section, "gif")


def test_section_of_puts_time_last_and_cuts_cubes():
    import xarray as xr

    cube = xr.DataArray(np.arange(4 * 3 * 5, dtype=float).reshape(4, 5, 3),
                        dims=("inline", "time", "crossline"))
    sec = section_of(xr.Dataset({"amplitude": cube}))
    assert sec.shape == (3, 5)  # the middle inline, (crossline, time)
    np.testing.assert_array_equal(sec, cube.transpose("inline", "crossline", "time")[2].values)


def test_comparison_of_a_completed_reconstruction(survey_root):
    job = submit("reconstruct", source=str(survey_root / "holed.zarr"), method="linear",
                 reference=str(survey_root / "full.zarr"))
    monitor = JobMonitor(job, poll_s=0.05)
    assert monitor.comparable
    assert job.wait(DEADLINE_S) == JobState.COMPLETED
    poll(lambda: monitor.can_compare or None, "the comparison to be offered", DEADLINE_S)
    view = monitor.comparison()
    assert view.hv is not None
    browser_says(monitor, type="compare")  # the button: shown in monitor.output
    assert monitor.box.children == (monitor, monitor.output)


def test_a_job_whose_runner_died_shows_runner_lost():
    from promethium_lab.jobs import get_store

    proc = subprocess.Popen(["true"])
    proc.wait()  # a pid that no longer runs
    store = get_store()
    rec = store.create("batches", pid=proc.pid)
    store.update(rec.id, state=JobState.RUNNING, pid=proc.pid)
    monitor = JobMonitor(rec.id, poll_s=0.05)
    poll(lambda: monitor.state == "failed" or None, "the lost runner", DEADLINE_S)
    assert monitor.error["code"] == ErrorCode.RUNNER_LOST.value and monitor.error["hint"]
