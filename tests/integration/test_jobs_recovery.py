"""A process running jobs is killed (SIGKILL): at the next start its running and queued
jobs end as failed with RUNNER_LOST, and their partial output is removed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from _jobs_helpers import DEADLINE_S, cli, env_for, poll, started

from promethium_lab.core.errors import ErrorCode
from promethium_lab.jobs import JobState, JobStore

SCRIPT = textwrap.dedent("""
    import sys
    from promethium_lab.jobs import KernelExecutor, register_workflow, submit

    register_workflow("batches", "promethium_lab.jobs.testing:batches", outputs=("out",))
    ex = KernelExecutor(max_workers=1)
    out, log = sys.argv[1], sys.argv[2]
    running = submit("batches", executor=ex, n_batches=100000, batch_s=0.05, out=out,
                     log=log, preview=False)
    queued = submit("batches", executor=ex, n_batches=1, batch_s=0.0, out=out + "2")
    print(running.id, queued.id, flush=True)
    running.wait()
""")


def test_killed_process_jobs_end_as_runner_lost(tmp_path):
    data = tmp_path / "data"
    out, log = tmp_path / "out", tmp_path / "log.txt"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(out), str(log)],
                            env=env_for(data), stdout=subprocess.PIPE, text=True)
    try:
        running_id, queued_id = proc.stdout.readline().split()
        poll(lambda: len(started(log)) >= 2, "the job running")
        assert Path(str(out) + ".partial").is_dir()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(DEADLINE_S)
    assert proc.returncode == -signal.SIGKILL

    # the next process to open the store (here: the CLI) finds the dead runner
    shown = subprocess.run(cli("jobs", "show", running_id, "--json"), env=env_for(data),
                           capture_output=True, text=True, timeout=DEADLINE_S)
    assert shown.returncode == 0, shown.stderr
    rec = json.loads(shown.stdout)
    assert rec["state"] == "failed"
    assert rec["error"]["code"] == ErrorCode.RUNNER_LOST.value == "PL-JOB-002"
    assert "died" in rec["error"]["message"] and rec["error"]["hint"]
    assert rec["partial_outputs"] == [{"path": str(out) + ".partial", "removed": True}]
    assert not out.exists() and not Path(str(out) + ".partial").exists()

    store = JobStore(data / "jobs.sqlite")
    queued = store.get(queued_id)
    assert queued.state == JobState.FAILED and queued.started_at is None
    assert queued.error["code"] == ErrorCode.RUNNER_LOST.value
    assert store.recover() == []
