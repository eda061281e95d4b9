"""A real JupyterHub for a team: two users, each with their own promethium_lab.

The hub runs ``deploy/jupyterhub/jupyterhub_config.py`` (the documented configuration, see
``docs/jupyterhub.md``) with what a test machine needs on top: 127.0.0.1 and free ports,
``configurable-http-proxy`` from npm, a shared-password authenticator and
``SimpleLocalProcessSpawner`` (homes under a temporary folder, no system users). Alice and
Bob log in through the hub's login form; each reaches the Lab and the REST API under
``/user/<name>/``, submits a job, and sees only their own jobs, store and files. Alice also
logs in with Debian's Chromium and finds her jobs and survey in the Promethium side panel
(screenshots ``tests/artifacts/hub_panel_*.png``).

Nothing is faked: the hub, the proxy, the two single-user servers and the job runners are
the real programs, talking HTTP on 127.0.0.1; the test stops them all.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dask.config
import psutil
import pytest
import requests
import yaml
from _lab import ARTIFACTS, launch_chromium

from promethium_lab.core.errors import ErrorCode

REPO = Path(__file__).resolve().parents[2]
HUB_CONFIG = REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"
SURVEY = "f3_missing_traces_ibm.sgy"  # 132 KB, 414 traces, some absent
USERS = ("alice", "bob")
DEADLINE_S = 90.0  # only a guard against hanging: never a speed assertion
STEP_MS = 60_000  # the browser's guard against hanging, as in the other browser tests
TERMINAL = {"completed", "failed", "canceled"}

# one hub for the module: with `pytest -n 2 --dist loadgroup` its tests share one worker
pytestmark = pytest.mark.xdist_group("jupyterhub")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _mount_namespaces() -> bool:
    """Whether this machine lets us run the hub in a mount namespace of its own (where the
    shared survey folder's read-only bind mounts live and die with it)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run([unshare, "--mount", "--propagation", "private", "true"],
                           capture_output=True, check=False)
    return probe.returncode == 0


@dataclass
class Hub:
    """A running JupyterHub: its public URL, an admin API token, the users' homes."""

    url: str
    token: str
    password: str
    folder: Path
    log: Path
    proc: subprocess.Popen
    surveys: Path | None
    gateway: str
    sessions: dict[str, requests.Session] = field(default_factory=dict)

    def home(self, user: str) -> Path:
        return self.folder / "home" / user

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-8000:]

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to the hub's REST API with the admin token."""
        return requests.request(method, f"{self.url}hub/api/{path}", timeout=30,
                                headers={"Authorization": f"token {self.token}"}, **kwargs)


def _hub_config(folder: Path, port: int, token: str, password: str) -> str:
    """The test's own config: the documented one, then 127.0.0.1, free ports, files under
    ``folder``, a shared-password login and local processes as the users' servers."""
    return f"""\
c = get_config()  # noqa: F821
load_subconfig({str(HUB_CONFIG)!r})

c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{_free_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{_free_port()}"
c.ConfigurableHTTPProxy.command = [{shutil.which("configurable-http-proxy")!r}]
c.ConfigurableHTTPProxy.pid_file = {str(folder / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{folder / "hub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(folder / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(folder / "hub.pid")!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}  # POST .../server answers at once

c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allowed_users = {set(USERS)!r}

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(folder / "home" / "{username}")!r}
c.Spawner.cmd = [{sys.executable!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.args = ["--allow-root"]  # the test machine runs everything as root
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# the test's admin: starts servers, hands out tokens
c.JupyterHub.services = [{{"name": "hub-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["hub-test"]}}]
"""


def _stop(hub: Hub) -> None:
    """Stop the users' servers (SIGINT, as the hub would, but seen at once), then the hub
    (SIGTERM: it stops the proxy); SIGKILL for whatever hangs."""
    proc = hub.proc
    servers = []
    if proc.poll() is None:
        for user in USERS:
            try:
                state = hub.api("GET", f"users/{user}").json()["servers"][""]["state"]
                servers.append(psutil.Process(state["pid"]))
            except (KeyError, requests.RequestException, psutil.NoSuchProcess):
                continue  # not started, or gone already
    def running(server: psutil.Process) -> bool:  # an ended child of the hub is a zombie
        try:
            return server.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    for server in servers:
        server.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 20
    while any(map(running, servers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for server in filter(running, servers):
        server.kill()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _wait_for_hub(hub: Hub) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if hub.proc.poll() is not None:
            raise AssertionError(f"jupyterhub exited ({hub.proc.returncode}):\n{hub.log_tail()}")
        try:
            if requests.get(f"{hub.url}hub/api/", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"jupyterhub did not answer in {DEADLINE_S} s:\n{hub.log_tail()}")


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[Hub]:
    """A JupyterHub on 127.0.0.1 with the documented config, alice's and bob's homes holding
    a survey each; a shared survey folder (read-only) when mount namespaces are available."""
    proxy = shutil.which("configurable-http-proxy")
    assert proxy is not None, (
        "configurable-http-proxy is not on PATH: JupyterHub needs it "
        "(npm install -g configurable-http-proxy@5; .ci/run installs it)")
    folder = tmp_path_factory.mktemp("hub")
    data = Path(os.environ["PROMETHIUM_TEST_DATA"])
    assert (data / SURVEY).is_file(), f"test data {data / SURVEY} is missing"
    for user in USERS:
        (folder / "home" / user / "data").mkdir(parents=True)
        shutil.copy2(data / SURVEY, folder / "home" / user / "data" / SURVEY)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "PROMETHIUM_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    gateway = f"http://127.0.0.1:{_free_port()}"  # only written into the users' environment
    env["PROMETHIUM_HUB_DASK_GATEWAY"] = gateway
    cmd = [sys.executable, "-m", "jupyterhub", "-f", str(folder / "jupyterhub_config.py")]
    surveys = None
    if _mount_namespaces():
        surveys = folder / "shared-surveys"
        surveys.mkdir()
        shutil.copy2(data / SURVEY, surveys / SURVEY)
        env["PROMETHIUM_HUB_SURVEYS"] = str(surveys)
        # the hub, the proxy and the users' servers share a mount namespace of their own:
        # the read-only mounts of the shared folder go away with them
        cmd = [shutil.which("unshare"), "--mount", "--propagation", "private", *cmd]

    port, token, password = _free_port(), secrets.token_hex(16), secrets.token_hex(8)
    (folder / "jupyterhub_config.py").write_text(_hub_config(folder, port, token, password))
    log = folder / "jupyterhub.log"
    with log.open("wb") as out:
        # no terminal on stdin: the users' servers then stop at the hub's first SIGINT
        # rather than ask "Shutdown this Jupyter server (y/[n])?" for 5 s
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    hub = Hub(url=f"http://127.0.0.1:{port}/", token=token, password=password, folder=folder,
              log=log, proc=proc, surveys=surveys, gateway=gateway)
    try:
        _wait_for_hub(hub)
        for user in USERS:  # both servers start at once
            answer = hub.api("POST", f"users/{user}/server")
            assert answer.status_code in (201, 202), (answer.status_code, answer.text)
        for user in USERS:
            _wait_for_server(hub, user)
        yield hub
    finally:
        for session in hub.sessions.values():
            session.close()
        _stop(hub)


def _wait_for_server(hub: Hub, user: str) -> dict[str, Any]:
    """The hub's model of ``user``'s (default) server once it is ready."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        model = hub.api("GET", f"users/{user}").json()
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return server
        if not server or not server.get("pending"):
            raise AssertionError(f"{user}'s server did not start: {model}\n{hub.log_tail()}")
        time.sleep(0.3)
    raise AssertionError(f"{user}'s server not ready in {DEADLINE_S} s:\n{hub.log_tail()}")


def _cookie(session: requests.Session, name: str, path: str) -> str:
    for cookie in session.cookies:
        if cookie.name == name and cookie.path.rstrip("/") == path.rstrip("/"):
            return cookie.value
    found = [(c.name, c.path) for c in session.cookies]
    raise AssertionError(f"no {name} cookie for {path} among {found}")


def _login(hub: Hub, user: str) -> requests.Session:
    """Log ``user`` in through the hub's login form (a browser's way: the form's ``_xsrf``,
    then the OAuth round trip to the user's own server), once per module."""
    if user in hub.sessions:
        return hub.sessions[user]
    session = requests.Session()
    form = session.get(f"{hub.url}hub/login", timeout=30)
    assert form.status_code == 200, form.text
    xsrf = re.search(r'name="_xsrf"\s+value="([^"]+)"', form.text)
    assert xsrf is not None, "the login form has no _xsrf field"
    done = session.post(f"{hub.url}hub/login?next=/hub/home", timeout=30, data={
        "username": user, "password": hub.password, "_xsrf": xsrf.group(1)},
        allow_redirects=False)
    assert done.status_code == 302, (done.status_code, done.text[-2000:])
    wrong = requests.post(f"{hub.url}hub/login", timeout=30, data={
        "username": user, "password": "not-the-password", "_xsrf": xsrf.group(1)},
        cookies=form.cookies, allow_redirects=False)
    assert wrong.status_code == 403  # the password matters
    hub.sessions[user] = session
    return session


def _xsrf_headers(session: requests.Session, user: str) -> dict[str, str]:
    """The header a browser's POST to ``/user/<user>/`` carries (the server's ``_xsrf``)."""
    return {"X-XSRFToken": _cookie(session, "_xsrf", f"/user/{user}/")}


def _user_token(hub: Hub, user: str) -> str:
    """An API token of ``user`` (what the hub's token page hands out)."""
    answer = hub.api("POST", f"users/{user}/tokens", json={"note": "test_hub", "expires_in": 900})
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def _page_config(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                      html, re.S)
    assert found is not None, "no page config in the Lab page"
    return json.loads(found.group(1))


def _submit(client: requests.Session, base: str, headers: dict[str, str],
            parameters: dict[str, Any]) -> dict[str, Any]:
    body = {"kind": "reconstruct", "parameters": {
        "method": "linear", "blind": False, "access_patterns": [], "views": [], **parameters}}
    answer = client.post(f"{base}promethium/jobs", json=body, headers=headers, timeout=30)
    assert answer.status_code == 201, (answer.status_code, answer.text)
    return answer.json()


def _wait_for_job(client: requests.Session, base: str, headers: dict[str, str],
                  job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        answer = client.get(f"{base}promethium/jobs/{job_id}", headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        if answer.json()["state"] in TERMINAL:
            return answer.json()
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not end in {DEADLINE_S} s")


def test_each_member_works_in_their_own_server_and_job_store(hub):
    """Alice (login cookie + XSRF, as the side panel) and Bob (an API token, as a script):
    the Lab with promethium-lab, the REST API, a job each, and only their own jobs."""
    alice = _login(hub, "alice")
    bob = _login(hub, "bob")
    clients = {"alice": (alice, {}), "bob": (requests.Session(), {})}
    bob_token = _user_token(hub, "bob")
    clients["bob"][1]["Authorization"] = f"token {bob_token}"

    for user, session in (("alice", alice), ("bob", bob)):
        lab = session.get(f"{hub.url}user/{user}/lab", timeout=60)  # the OAuth round trip
        assert lab.status_code == 200 and lab.url == f"{hub.url}user/{user}/lab", lab.url
        config = _page_config(lab.text)
        assert config["baseUrl"] == f"/user/{user}/"
        names = [ext["name"] for ext in config.get("federated_extensions", [])]
        assert "promethium-lab" in names, names
    clients["alice"][1].update(_xsrf_headers(alice, "alice"))

    jobs = {}
    for user, (client, headers) in clients.items():
        base = f"{hub.url}user/{user}/"
        info = client.get(f"{base}promethium/info", headers=headers, timeout=30)
        assert info.status_code == 200, info.text
        data_dir = hub.home(user) / ".local" / "share" / "promethium-lab"
        assert Path(info.json()["data_dir"]) == data_dir  # the store inside the own home
        kinds = client.get(f"{base}promethium/workflows", headers=headers, timeout=30)
        assert kinds.status_code == 200
        assert "reconstruct" in [w["kind"] for w in kinds.json()["workflows"]]
        listed = client.get(f"{base}promethium/datasets", params={"root": "data"},
                            headers=headers, timeout=30)
        assert listed.status_code == 200, listed.text
        assert SURVEY in json.dumps(listed.json())
        jobs[user] = _submit(client, base, headers, {
            "source": f"data/{SURVEY}", "out": f"data/{user}-filled.zarr"})
        assert jobs[user]["parameters"]["source"] == str(hub.home(user) / "data" / SURVEY)

    for user, (client, headers) in clients.items():
        base = f"{hub.url}user/{user}/"
        record = _wait_for_job(client, base, headers, jobs[user]["id"])
        assert record["state"] == "completed", record["error"]
        assert (hub.home(user) / "data" / f"{user}-filled.zarr" / "zarr.json").is_file()
        page = client.get(f"{base}promethium/jobs", headers=headers, timeout=30).json()
        assert [job["id"] for job in page["jobs"]] == [jobs[user]["id"]]  # only their own
        other = next(u for u in USERS if u != user)
        answer = client.get(f"{base}promethium/jobs/{jobs[other]['id']}", headers=headers,
                            timeout=30)
        assert answer.status_code == 404
        assert answer.json()["code"] == ErrorCode.JOB_NOT_FOUND.value
        assert (hub.home(user) / ".local/share/promethium-lab/jobs.sqlite").is_file()

    # what the documented config put into each server's environment
    for user in USERS:
        pid = hub.api("GET", f"users/{user}").json()["servers"][""]["state"]["pid"]
        environ = psutil.Process(pid).environ()
        assert environ["HOME"] == str(hub.home(user))
        assert environ["PROMETHIUM_DATA_DIR"] == "~/.local/share/promethium-lab"
        dask_config = dask.config.collect_env(environ)  # what dask-gateway will read
        assert dask.config.get("gateway.address", config=dask_config) == hub.gateway
        assert dask.config.get("gateway.auth.type", config=dask_config) == "jupyterhub"


def test_members_cannot_reach_each_others_files_or_servers(hub):
    """Alice's paths stop at her home; her token and her cookies do not open Bob's server."""
    alice = _login(hub, "alice")
    alice.get(f"{hub.url}user/alice/lab", timeout=60).raise_for_status()
    base = f"{hub.url}user/alice/"
    bob_file = hub.home("bob") / "data" / SURVEY
    for path in (f"../bob/data/{SURVEY}", str(bob_file)):
        answer = alice.get(f"{base}promethium/datasets/summary", params={"path": path},
                           timeout=30)
        assert answer.status_code == 403, (path, answer.status_code, answer.text)
        assert answer.json()["code"] == ErrorCode.PATH_OUTSIDE_ROOT.value
    answer = alice.get(f"{base}promethium/datasets", params={"root": "../bob"}, timeout=30)
    assert answer.status_code == 403
    answer = alice.post(f"{base}promethium/jobs", headers=_xsrf_headers(alice, "alice"),
                        timeout=30, json={"kind": "reconstruct", "parameters": {
                            "source": f"../bob/data/{SURVEY}", "out": "stolen.zarr"}})
    assert answer.status_code == 403 and not (hub.home("alice") / "stolen.zarr").exists()
    # without the XSRF header a cookie-authenticated POST is refused
    answer = alice.post(f"{base}promethium/jobs", timeout=30, json={"kind": "reconstruct"})
    assert answer.status_code == 403

    alice_token = {"Authorization": f"token {_user_token(hub, 'alice')}"}
    assert requests.get(f"{base}promethium/info", headers=alice_token,
                        timeout=30).status_code == 200
    for route in ("promethium/info", "promethium/jobs", "api/contents/data"):
        answer = requests.get(f"{hub.url}user/bob/{route}", headers=alice_token, timeout=30,
                              allow_redirects=False)
        assert answer.status_code == 403, (route, answer.status_code)
    answer = requests.post(f"{hub.url}user/bob/promethium/jobs", headers=alice_token,
                           timeout=30, json={"kind": "reconstruct", "parameters": {
                               "source": f"data/{SURVEY}", "out": "data/by-alice.zarr"}})
    assert answer.status_code == 403
    # Alice's browser session: Bob's server sends her to the hub, which refuses her
    lab = alice.get(f"{hub.url}user/bob/lab", timeout=60)
    assert lab.status_code == 403 and "/user/bob/" not in lab.url, (lab.status_code, lab.url)
    answer = alice.get(f"{hub.url}user/bob/promethium/jobs", timeout=30, allow_redirects=False)
    assert answer.status_code == 403
    assert not (hub.home("bob") / "data" / "by-alice.zarr").exists()


def test_the_shared_survey_folder_is_read_only_for_everyone(hub):
    """``PROMETHIUM_HUB_SURVEYS`` appears as ``~/surveys`` in both homes: listed by the side
    panel, read by jobs, written by nobody."""
    assert hub.surveys is not None, (
        "this machine cannot make mount namespaces (unshare --mount failed), so the hub's "
        "read-only bind mounts of the shared folder cannot be made")
    before = sorted(p.name for p in hub.surveys.iterdir())
    headers = {}
    for user in USERS:
        session = _login(hub, user)
        session.get(f"{hub.url}user/{user}/lab", timeout=60).raise_for_status()
        headers[user] = _xsrf_headers(session, user)
        base = f"{hub.url}user/{user}/"
        listed = session.get(f"{base}promethium/datasets", params={"root": "surveys"},
                             timeout=30)
        assert listed.status_code == 200, listed.text
        assert SURVEY in json.dumps(listed.json())
        summary = session.get(f"{base}promethium/datasets/summary", timeout=30,
                              params={"path": f"surveys/{SURVEY}"})
        assert summary.status_code == 200, summary.text
        assert summary.json()["live_traces"] > 0
        put = session.put(f"{base}api/contents/surveys/notes.txt", headers=headers[user],
                          timeout=30, json={"type": "file", "format": "text", "content": "x"})
        assert put.status_code >= 400, put.status_code

    # a job reads the shared survey into its owner's home; one writing into it is refused
    alice, bob = hub.sessions["alice"], hub.sessions["bob"]
    alice_base, bob_base = f"{hub.url}user/alice/", f"{hub.url}user/bob/"
    read = _submit(alice, alice_base, headers["alice"], {
        "source": f"surveys/{SURVEY}", "out": "from-shared.zarr"})
    write = bob.post(f"{bob_base}promethium/jobs", headers=headers["bob"], timeout=30, json={
        "kind": "reconstruct", "parameters": {"source": f"surveys/{SURVEY}",
                                              "out": "surveys/bob.zarr", "method": "linear"}})
    assert write.status_code == 400, (write.status_code, write.text)
    error = write.json()
    assert error["code"] == "PL-IO-014" and error["field"] == "out", error
    assert "read-only" in error["message"], error
    record = _wait_for_job(alice, alice_base, headers["alice"], read["id"])
    assert record["state"] == "completed", record["error"]
    assert (hub.home("alice") / "from-shared.zarr" / "zarr.json").is_file()
    assert sorted(p.name for p in hub.surveys.iterdir()) == before


def _job_ids(hub: Hub, user: str) -> list[str]:
    """The ids of ``user``'s jobs (through the REST API with their token); one is submitted
    first, and waited for, when they have none yet."""
    base, headers = f"{hub.url}user/{user}/", {"Authorization": f"token {_user_token(hub, user)}"}
    client = requests.Session()
    with client:
        page = client.get(f"{base}promethium/jobs", headers=headers, timeout=30)
        assert page.status_code == 200, page.text
        if not page.json()["jobs"]:
            job = _submit(client, base, headers, {
                "source": f"data/{SURVEY}", "out": f"data/{user}-panel.zarr"})
            _wait_for_job(client, base, headers, job["id"])
            page = client.get(f"{base}promethium/jobs", headers=headers, timeout=30)
        ids = [job["id"] for job in page.json()["jobs"]]
    assert ids, f"{user} has no job"
    return ids


@pytest.mark.browser
def test_the_side_panel_shows_a_member_their_own_jobs_and_surveys(hub):
    """Alice signs in through the hub's login form in Chromium, lands in her Lab, and the
    Promethium panel lists her jobs (none of Bob's) and her survey; nothing is fetched from
    any host but 127.0.0.1."""
    from playwright.sync_api import Error, expect, sync_playwright

    alice_jobs, bob_jobs = _job_ids(hub, "alice"), _job_ids(hub, "bob")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []

    def elsewhere(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1"

    def refuse(route: Any) -> None:
        outside.append(route.request.url)
        route.abort()

    with sync_playwright() as pw, launch_chromium(pw) as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.route(elsewhere, refuse)
        page.route_web_socket(elsewhere, lambda ws: (outside.append(ws.url), ws.close()))
        try:
            page.goto(f"{hub.url}hub/login?next=%2Fuser%2Falice%2Flab")
            page.locator("#username_input").fill("alice")
            page.locator("#password_input").fill(hub.password)
            page.locator("#login_submit").click()
            page.wait_for_url(f"{hub.url}user/alice/lab**", timeout=STEP_MS)
            tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab'
                               '[data-id="promethium-lab-panel"]')
            tab.wait_for(timeout=STEP_MS)
            panel = page.locator("#promethium-lab-panel")
            if not panel.is_visible():
                tab.click()

            panel.locator('.pl-TabStrip-tab[data-tab="jobs"]').click()
            for job_id in alice_jobs:
                expect(panel.locator(f'.pl-Job[data-job-id="{job_id}"]')).to_be_visible(
                    timeout=STEP_MS)
            shown = panel.locator(".pl-Job").evaluate_all("rows => rows.map(r => r.dataset.jobId)")
            assert sorted(shown) == sorted(alice_jobs), shown
            assert not set(shown) & set(bob_jobs), (shown, bob_jobs)
            page.screenshot(path=str(ARTIFACTS / "hub_panel_jobs.png"))

            panel.locator('.pl-TabStrip-tab[data-tab="datasets"]').click()
            card = panel.locator(f'.pl-Dataset[data-path="data/{SURVEY}"]')
            expect(card).to_be_visible(timeout=STEP_MS)
            expect(card.locator(".pl-Dataset-summary")).to_contain_text("poststack3d",
                                                                        timeout=STEP_MS)
            expect(panel.locator('.pl-Dataset[data-path*="bob"]')).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "hub_panel_datasets.png"))
        except (AssertionError, Error) as err:  # Error: a Playwright timeout too
            page.screenshot(path=str(ARTIFACTS / "hub_panel_failed.png"))
            raise AssertionError(f"{err}\nhub log:\n{hub.log_tail()}") from err
    assert not outside, f"the Lab reached beyond 127.0.0.1: {outside}"


def test_the_kubernetes_values_give_the_same_setup():
    """``z2jh-values.yaml`` and ``dask-gateway-values.yaml`` (not run here: no cluster) say
    what ``jupyterhub_config.py`` does: the store in the home, the surveys read-only in it, a
    GPU profile, and a gateway the users' Dask config points at, behind the hub's proxy."""
    values = yaml.safe_load((HUB_CONFIG.parent / "z2jh-values.yaml").read_text())
    user = values["singleuser"]
    home = Path(user["storage"]["homeMountPath"])
    env = user["extraEnv"]
    assert Path(env["PROMETHIUM_DATA_DIR"]).is_relative_to(home)
    assert values["hub"]["config"]["KubeSpawner"]["notebook_dir"] == str(home)
    (mount,) = user["storage"]["extraVolumeMounts"]
    (volume,) = user["storage"]["extraVolumes"]
    assert mount["readOnly"] and volume["persistentVolumeClaim"]["readOnly"]
    assert mount["name"] == volume["name"]
    assert Path(mount["mountPath"]).parent == home
    gpu = [p for p in user["profileList"]
           if "nvidia.com/gpu" in p.get("kubespawner_override", {}).get(
               "extra_resource_limits", {})]
    assert len(gpu) == 1 and not gpu[0].get("default")
    assert sum(bool(p.get("default")) for p in user["profileList"]) == 1

    def gateway(key: str) -> str:  # what dask-gateway reads from the users' Dask config
        return dask.config.get(f"gateway.{key}", config=dask.config.collect_env(env))

    assert gateway("auth.type") == "jupyterhub"
    chart = yaml.safe_load((HUB_CONFIG.parent / "dask-gateway-values.yaml").read_text())
    prefix = chart["gateway"]["prefix"]
    assert gateway("address") == f"http://proxy-public{prefix}"
    assert gateway("public-address").rstrip("/") == prefix
    assert gateway("proxy-address").startswith("gateway://traefik-dask-gateway:")
    assert chart["gateway"]["auth"]["type"] == "jupyterhub"
    assert "dask-gateway" in values["hub"]["services"]  # its token, in the `hub` Secret
    for name, code in chart["gateway"]["extraConfig"].items():
        compile(code, f"dask-gateway-values.yaml: gateway.extraConfig.{name}", "exec")
        assert "PROMETHIUM_DATA_DIR" in code and str(home) in code
