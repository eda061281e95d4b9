"""The job routes of the server extension: ``GET promethium/jobs/<id>`` and
``POST promethium/jobs/<id>/cancel`` (what the JobMonitor's Cancel button calls)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _server_helpers import fetch

from promethium_lab.core.errors import ErrorCode
from promethium_lab.jobs import (
    JobRecord,
    JobState,
    get_store,
    register_workflow,
    submit,
    unregister_workflow,
)
from promethium_lab.jobs.models import job_json_schema
from promethium_lab.jobs.testing import poll, started

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 60  # only a guard against hanging: never a speed assertion
N_BATCHES = 400


@pytest.fixture
def batches_kind():
    register_workflow("batches", "promethium_lab.jobs.testing:batches", outputs=("out",),
                      replace=True)
    yield "batches"
    unregister_workflow("batches")


_fetch = fetch


async def _json(jp_fetch, *parts: str, **kwargs) -> dict:
    status, body = await _fetch(jp_fetch, *parts, **kwargs)
    assert status == 200, body
    return body


def _post(**kwargs) -> dict:
    return {"method": "POST", "body": b"", **kwargs}


async def test_get_job_answers_its_record(jp_fetch, batches_kind):
    import jsonschema

    job = submit(batches_kind, n_batches=2, batch_s=0.01)
    assert await asyncio.to_thread(job.wait, DEADLINE_S) == JobState.COMPLETED
    body = await _json(jp_fetch, "promethium", "jobs", job.id)
    assert body == job.record.to_dict()
    jsonschema.validate(body, job_json_schema())  # the openapi.yaml component
    assert JobRecord.model_validate(body).to_dict() == body  # the pydantic payload
    assert body["state"] == "completed" and body["progress"] == 1.0


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_unknown_job_is_404_with_the_error_envelope(jp_fetch, method):
    get_store().create("ingest", job_id="0123456789ab")  # another job exists
    parts = ("promethium", "jobs", "feedfacecafe") + (("cancel",) if method == "POST" else ())
    kwargs = _post() if method == "POST" else {}
    status, body = await _fetch(jp_fetch, *parts, **kwargs)
    assert status == 404
    assert body["code"] == ErrorCode.JOB_NOT_FOUND.value
    assert "feedfacecafe" in body["message"] and body["hint"]
    assert body["retryable"] is False


async def test_cancel_stops_a_running_job_while_another_thread_waits_on_it(
        jp_fetch, batches_kind, tmp_path):
    log = tmp_path / "log"
    job = submit(batches_kind, n_batches=N_BATCHES, batch_s=0.05, work="cpu", log=str(log))
    await asyncio.to_thread(poll, lambda: started(log) or None, "the first batch", DEADLINE_S)
    waited: list[JobState] = []
    waiter = threading.Thread(target=lambda: waited.append(job.wait(DEADLINE_S)))
    waiter.start()  # the kernel's cell, blocked on the job
    body = await _json(jp_fetch, "promethium", "jobs", job.id, "cancel", **_post())
    assert body["id"] == job.id and body["cancel_requested"] is True
    assert body["state"] in ("stopping", "canceled")
    await asyncio.to_thread(waiter.join, DEADLINE_S)
    assert waited == [JobState.CANCELED]
    assert len(started(log)) < N_BATCHES
    again = await _json(jp_fetch, "promethium", "jobs", job.id, "cancel", **_post())
    assert again["state"] == "canceled"  # asking again changes nothing
    assert again["error"]["code"] == ErrorCode.CANCELED.value


@pytest.mark.parametrize("cancel", [False, True])
async def test_unauthenticated_requests_are_refused(jp_fetch, cancel):
    store = get_store()
    job_id = store.create("ingest").id
    parts = ("promethium", "jobs", job_id, *(("cancel",) if cancel else ()))
    kwargs = _post() if cancel else {}
    for auth in ("", "token not-the-token"):
        status, _ = await _fetch(jp_fetch, *parts, headers={"Authorization": auth}, **kwargs)
        assert status == 403
    assert store.get(job_id).state == JobState.QUEUED


async def test_cancel_with_a_login_cookie_needs_the_xsrf_header(jp_fetch):
    """A browser authenticates with its login cookie: then the POST needs ``X-XSRFToken``
    matching the ``_xsrf`` cookie (what the JobMonitor sends); a token needs neither."""
    store = get_store()
    job_id = store.create("ingest").id
    login = await jp_fetch("promethium", "jobs", job_id)  # token-authenticated: sets a cookie
    cookies = [c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie")]
    assert cookies, "the server set no login cookie"
    browser = {"Authorization": "", "Cookie": "; ".join(cookies)}
    assert (await jp_fetch("promethium", "jobs", job_id, headers=browser)).code == 200

    status, body = await _fetch(jp_fetch, "promethium", "jobs", job_id, "cancel",
                                headers=browser, **_post())
    assert status == 403 and "xsrf" in str(body).lower()
    assert store.get(job_id).state == JobState.QUEUED  # nothing was canceled

    xsrf = "2|6f2b3c1a|7e1d0b5f8c9a4e3d2c1b0a9f8e7d6c5b|1700000000"
    with_xsrf = {**browser, "Cookie": f"{browser['Cookie']}; _xsrf={xsrf}", "X-XSRFToken": xsrf}
    body = await _json(jp_fetch, "promethium", "jobs", job_id, "cancel", headers=with_xsrf,
                       **_post())
    assert body["state"] == "canceled"  # it was queued: canceled at once


# ------------------------------------------------------------ a real server, its own process
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, token: str, method: str = "GET") -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None,
                                     headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_cancel_through_a_jupyter_server_while_the_main_thread_is_blocked(
        batches_kind, tmp_path, promethium_data_dir):
    """The JobMonitor's case: the kernel (this process) runs a cell blocked on the job; the
    browser asks the Jupyter server (another process, under a JupyterHub-like prefix) to
    cancel it; the job store carries the request to the job's runner."""
    port, token, prefix = _free_port(), "test-token-123", "/user/ana/"
    env = {**os.environ, "PROMETHIUM_DATA_DIR": str(promethium_data_dir),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.base_url={prefix}", f"--ServerApp.root_dir={tmp_path}",
         "--ServerApp.jpserver_extensions=promethium_lab=True"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}{prefix}promethium/"
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                if _call(base + "info", token)[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stderr.read().decode(errors="replace")
            assert time.monotonic() < deadline, "the Jupyter server did not start"
            time.sleep(0.2)

        log = tmp_path / "log"
        job = submit(batches_kind, n_batches=N_BATCHES, batch_s=0.05, work="cpu", log=str(log))
        answers: list[tuple[int, dict]] = []

        def browser() -> None:  # another thread: the browser's Cancel button
            poll(lambda: started(log) or None, "the first batch", DEADLINE_S)
            answers.append(_call(f"{base}jobs/{job.id}/cancel", token, "POST"))

        threading.Thread(target=browser, daemon=True).start()
        assert job.wait(DEADLINE_S) == JobState.CANCELED  # the main thread, blocked
        assert len(started(log)) < N_BATCHES
        status, body = answers[0]
        assert status == 200 and body["id"] == job.id
        assert body["state"] in ("stopping", "canceled") and body["cancel_requested"] is True
        status, record = _call(f"{base}jobs/{job.id}", token)
        assert status == 200 and record["state"] == "canceled"
        assert _call(f"{base}jobs/{job.id}", "wrong-token")[0] == 403
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=30)


# ------------------------------------------------------------------ list, submit, preview
async def test_job_pages_are_stable_while_jobs_are_added(jp_fetch):
    """Keyset paging: jobs added between two page fetches never shift a later page, so a
    walk through the pages sees every older job exactly once, newest first."""
    store = get_store()
    older = [store.create("ingest", {"n": i}).id for i in range(23)]
    seen: list[str] = []
    cursor = ""
    while True:
        params = {"limit": "5", **({"cursor": cursor} if cursor else {})}
        page = await _json(jp_fetch, "promethium", "jobs", params=params)
        assert len(page["jobs"]) <= 5
        seen += [job["id"] for job in page["jobs"]]
        for i in range(3):  # the kernels go on submitting while the panel pages
            store.create("export", {"added": i})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == older[::-1]  # no duplicates, no gaps
    first = await _json(jp_fetch, "promethium", "jobs", params={"limit": "3"})
    assert [job["kind"] for job in first["jobs"]] == ["export"] * 3  # the new ones lead
    JobRecord.model_validate(first["jobs"][0])

    store.request_cancel(older[0])
    store.request_cancel(older[1])
    only = await _json(jp_fetch, "promethium", "jobs",
                       params={"state": "canceled,failed", "kind": "ingest"})
    assert [job["id"] for job in only["jobs"]] == [older[1], older[0]]
    assert only["next_cursor"] is None
    # the page's JSON of a record is cached by version: every change shows on the next page
    store.transition(older[2], JobState.RUNNING)
    store.set_progress(older[2], 0.4, "block 2/5")
    page = await _json(jp_fetch, "promethium", "jobs", params={"kind": "ingest"})
    assert page["jobs"] == [store.get(i).to_dict() for i in older[::-1]]
    store.heartbeat([older[2]], pid=store.get(older[2]).pid)
    page = await _json(jp_fetch, "promethium", "jobs", params={"kind": "ingest"})
    assert page["jobs"] == [store.get(i).to_dict() for i in older[::-1]]
    for params in ({"limit": "0"}, {"limit": "x"}, {"limit": "501"}, {"cursor": "!!"},
                   {"cursor": "bm90IGpzb24"}, {"state": "sleeping"}):
        status, body = await _fetch(jp_fetch, "promethium", "jobs", params=params)
        assert status == 400, params
        assert body["code"] == ErrorCode.INVALID_PARAMETER.value and body["hint"]


def _png_size(body: bytes) -> tuple[int, int]:
    """``(width, height)`` of a PNG, from its IHDR chunk."""
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR"
    return int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")


async def test_a_job_submitted_through_post_runs_to_completion(jp_fetch, jp_root_dir,
                                                               seismic_file):
    """Reconstruct a real SEG-Y with absent traces into a store under the root, in a runner
    process of its own; its preview is a PNG of the preview's size."""
    from promethium_lab.jobs.preview import read_preview

    seismic_file("f3_missing_traces_ibm.sgy", jp_root_dir / "surveys")
    body = json.dumps({"kind": "reconstruct", "parameters": {
        "source": "surveys/f3_missing_traces_ibm.sgy", "out": "surveys/filled.zarr",
        "method": "linear", "blind": False, "access_patterns": [], "views": []}}).encode()
    response = await jp_fetch("promethium", "jobs", method="POST", body=body)
    assert response.code == 201
    record = json.loads(response.body)
    assert response.headers["Location"].endswith(f"/promethium/jobs/{record['id']}")
    assert record["kind"] == "reconstruct" and record["executor"] == "process"
    assert record["parameters"]["source"] == str(
        (jp_root_dir / "surveys" / "f3_missing_traces_ibm.sgy").resolve())

    def finished() -> dict | None:
        rec = get_store().get(record["id"])
        return rec if rec.is_terminal else None

    rec = await asyncio.to_thread(poll, finished, "the job to end", DEADLINE_S)
    assert rec.state == JobState.COMPLETED, rec.error
    assert (jp_root_dir / "surveys" / "filled.zarr" / "zarr.json").is_file()
    summary = await _json(jp_fetch, "promethium", "datasets", "summary",
                          params={"path": "surveys/filled.zarr"})
    assert summary["absent_traces"] == 0 and summary["live_traces"] == 414
    # the store's quality figures travel in the record, for the panel's rows
    from promethium_lab.io.store import open_store

    assert rec.artifacts["metrics"] == open_store(rec.artifacts["output"]).attrs["metrics"]
    assert "blind=False" in rec.artifacts["metrics"]["note"]

    preview = read_preview(rec.preview_path)
    sizes = preview.squeeze().sizes
    status, png = await _fetch(jp_fetch, "promethium", "jobs", rec.id, "preview.png")
    assert status == 200
    assert _png_size(png) == (sizes["crossline"], sizes["time"])
    status, png = await _fetch(jp_fetch, "promethium", "jobs", rec.id, "preview.png",
                               params={"width": "16", "height": "16"})
    assert status == 200 and max(_png_size(png)) <= 16

    # "Reproduce": the report notebook that re-runs the job, written under the root
    answer = await jp_fetch("promethium", "jobs", rec.id, "reproduce", method="POST",
                            body=b"")
    assert answer.code == 201
    written = json.loads(answer.body)
    assert written == {"job_id": rec.id, "path": f"reproduce_{rec.id}.ipynb"}
    nb = json.loads((jp_root_dir / written["path"]).read_text())
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    text = "".join(params["source"])
    assert rec.id in text and "reconstruct" in text and "filled.reproduced.zarr" in text
    status, err = await _fetch(jp_fetch, "promethium", "jobs", rec.id, "reproduce",
                               method="POST", body=json.dumps({"path": "../x.ipynb"}).encode())
    assert status == 403 and err["code"] == ErrorCode.PATH_OUTSIDE_ROOT.value
    status, err = await _fetch(jp_fetch, "promethium", "jobs", rec.id, "reproduce",
                               method="POST", body=b"[1]")
    assert status == 400 and err["code"] == ErrorCode.INVALID_PARAMETER.value


async def test_reproduce_needs_a_completed_job(jp_fetch, jp_root_dir):
    queued = get_store().create("reconstruct", {"source": "x.sgy", "method": "pocs"})
    status, err = await _fetch(jp_fetch, "promethium", "jobs", queued.id, "reproduce",
                               method="POST", body=b"")
    assert status == 409 and err["code"] == ErrorCode.JOB_NOT_COMPLETED.value
    status, err = await _fetch(jp_fetch, "promethium", "jobs", "0123456789ab", "reproduce",
                               method="POST", body=b"")
    assert status == 404 and err["code"] == ErrorCode.JOB_NOT_FOUND.value
    assert not list(jp_root_dir.glob("*.ipynb"))  # nothing written for a refusal


@pytest.mark.parametrize("submission, status, code, field", [
    ({"kind": "no-such-kind"}, 400, ErrorCode.INVALID_PARAMETER, None),
    ({"kind": "ingest", "parameters": {"path": "f3.sgy"}}, 400, ErrorCode.INVALID_PARAMETER,
     "store"),
    ({"kind": "export", "parameters": {"store": "s.zarr", "path": "o.sgy", "colour": 1}},
     400, ErrorCode.INVALID_PARAMETER, None),
    ({"kind": "ingest", "parameters": {"path": "f3.sgy", "store": "s.zarr", "workers": "x"}},
     400, ErrorCode.INVALID_PARAMETER, "workers"),
    ({"kind": "ingest", "parameters": {"path": "f3.sgy", "store": "s.zarr"},
      "executor": "kernel"}, 400, ErrorCode.INVALID_PARAMETER, None),
    ({"kind": "ingest", "priority": 1}, 400, ErrorCode.INVALID_PARAMETER, None),
    ({"kind": "ingest", "parameters": {"path": "../f3.sgy", "store": "s.zarr"}},
     403, ErrorCode.PATH_OUTSIDE_ROOT, "path"),
    ({"kind": "ingest", "parameters": {"path": "/etc/hosts", "store": "s.zarr"}},
     403, ErrorCode.PATH_OUTSIDE_ROOT, "path"),
    ({"kind": "ingest", "parameters": {"path": "f3.sgy", "store": "out-link/s.zarr"}},
     403, ErrorCode.PATH_OUTSIDE_ROOT, "store"),
    ({"kind": "ingest", "parameters": {"path": "missing.sgy", "store": "s.zarr"}},
     404, ErrorCode.PATH_NOT_FOUND, "path"),
    ({"kind": "ingest", "parameters": {"path": "f3.sgy", "store": "no/dir/s.zarr"}},
     404, ErrorCode.PATH_NOT_FOUND, "store"),
])
async def test_bad_submissions_answer_the_envelope_and_create_no_job(
        jp_fetch, jp_root_dir, tmp_path, submission, status, code, field):
    """Refused with the envelope, naming the parameter (``field``) when it is about one."""
    (jp_root_dir / "f3.sgy").write_bytes(b"\0" * 3600)
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", jp_root_dir / "out-link")
    answer, body = await _fetch(jp_fetch, "promethium", "jobs", method="POST",
                                body=json.dumps(submission).encode())
    assert answer == status, body
    assert body["code"] == code.value and body["message"] and body["hint"]
    assert body.get("field") == field, body
    assert get_store().page()[0] == []  # nothing was submitted


async def test_a_body_that_is_not_json_is_400(jp_fetch):
    status, body = await _fetch(jp_fetch, "promethium", "jobs", method="POST", body=b"{kind")
    assert status == 400 and body["code"] == ErrorCode.INVALID_PARAMETER.value


async def test_submit_with_a_login_cookie_needs_the_xsrf_header(jp_fetch):
    login = await jp_fetch("promethium", "jobs")  # token-authenticated: sets a cookie
    cookies = [c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie")]
    browser = {"Authorization": "", "Cookie": "; ".join(cookies)}
    body = json.dumps({"kind": "no-such-kind"}).encode()
    status, answer = await _fetch(jp_fetch, "promethium", "jobs", method="POST", body=body,
                                  headers=browser)
    assert status == 403 and "xsrf" in str(answer).lower()
    xsrf = "2|6f2b3c1a|7e1d0b5f8c9a4e3d2c1b0a9f8e7d6c5b|1700000000"
    with_xsrf = {**browser, "Cookie": f"{browser['Cookie']}; _xsrf={xsrf}", "X-XSRFToken": xsrf}
    status, answer = await _fetch(jp_fetch, "promethium", "jobs", method="POST", body=body,
                                  headers=with_xsrf)
    assert status == 400 and answer["code"] == ErrorCode.INVALID_PARAMETER.value  # past XSRF


async def test_job_preview_is_404_until_there_is_one(jp_fetch):
    job_id = get_store().create("ingest").id
    status, body = await _fetch(jp_fetch, "promethium", "jobs", job_id, "preview.png")
    assert status == 404
    assert body["code"] == ErrorCode.PATH_NOT_FOUND.value and body["retryable"] is True
    status, body = await _fetch(jp_fetch, "promethium", "jobs", "feedfacecafe", "preview.png")
    assert status == 404 and body["code"] == ErrorCode.JOB_NOT_FOUND.value
