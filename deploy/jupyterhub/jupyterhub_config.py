"""JupyterHub configuration for a team using promethium_lab on one machine.

Start the hub with ``jupyterhub -f deploy/jupyterhub/jupyterhub_config.py`` (as root: the
local spawners start each user's server as that user), in an environment where
``promethium-lab`` and ``jupyterhub`` are installed and ``configurable-http-proxy`` is on
``PATH``. ``docs/jupyterhub.md`` explains every part; the Kubernetes equivalent is
``z2jh-values.yaml`` beside this file.

What it sets up:

* **Per-user job stores.** Each user's server runs with ``PROMETHIUM_DATA_DIR`` pointing
  into that user's home (``~/.local/share/promethium-lab``, expanded by the user's own
  process), so the job store (``jobs.sqlite``), previews, models and logs of one user never
  mix with another's. The server root is the home (``notebook_dir = "~"``): the side panel
  and the REST API read nothing outside it.
* **A shared, read-only survey folder** (optional). When ``PROMETHIUM_HUB_SURVEYS`` names a
  folder of the host, it appears read-only as ``~/surveys`` in every home (a read-only bind
  mount made before each server starts; ``BindReadOnlyPaths=`` of the unit with
  ``systemdspawner``), so everyone reads the same SEG-Y files and nobody can change them.
* **Dask Gateway** (optional). When ``PROMETHIUM_HUB_DASK_GATEWAY`` is a gateway's URL, each
  user's environment carries the Dask config that points ``dask_gateway.Gateway()`` at it,
  authenticated by the user's JupyterHub token. ``executor="dask"`` (and ``"gateway"``) then
  run jobs on a Gateway cluster of the user's own.

Settings read from the hub's environment (all optional):

``PROMETHIUM_HUB_USERS``
    Comma-separated user names allowed to log in (``Authenticator.allowed_users``).
``PROMETHIUM_HUB_ADMINS``
    Comma-separated admin user names (``Authenticator.admin_users``).
``PROMETHIUM_HUB_SURVEYS``
    Absolute path of the shared survey folder on the host.
``PROMETHIUM_HUB_SURVEYS_AT``
    Its name inside each home (default ``surveys``).
``PROMETHIUM_HUB_DASK_GATEWAY``
    URL of the Dask Gateway API (e.g. ``http://127.0.0.1:8000``).
``PROMETHIUM_HUB_DASK_GATEWAY_PROXY``
    Address of the gateway's scheduler proxy (``gateway://host:port``), when it is not
    the API's host and port.

Site choices (authenticator, TLS, ports) are left to a second file loaded after this one,
``jupyterhub -f site_config.py`` where ``site_config.py`` starts with
``load_subconfig("/path/to/deploy/jupyterhub/jupyterhub_config.py")``.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path
from typing import Any

c = get_config()  # noqa: F821 - injected by JupyterHub when it loads this file

#: Where each user's promethium_lab data lives, relative to the home of the process that
#: reads it (promethium_lab expands ``~`` itself).
USER_DATA_DIR = "~/.local/share/promethium-lab"


def _names(variable: str) -> set[str]:
    """The comma-separated names of the environment variable ``variable``."""
    return {name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()}


# --------------------------------------------------------------------------- who logs in
if _names("PROMETHIUM_HUB_USERS"):
    c.Authenticator.allowed_users = _names("PROMETHIUM_HUB_USERS")
if _names("PROMETHIUM_HUB_ADMINS"):
    c.Authenticator.admin_users = _names("PROMETHIUM_HUB_ADMINS")

# --------------------------------------------------------------------- each user's server
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"  # the server root, and so the side panel's reach, is the home
c.Spawner.environment = {
    # the job store (jobs.sqlite), previews, models and logs: inside the user's own home
    "PROMETHIUM_DATA_DIR": USER_DATA_DIR,
}


# --------------------------------------------------------------- shared read-only surveys
def _home_and_owner(spawner: Any) -> tuple[Path, tuple[int, int] | None]:
    """The home of the user of ``spawner`` and the ``(uid, gid)`` owning it (None when the
    server runs as the hub's own user, as with ``SimpleLocalProcessSpawner``)."""
    home = getattr(spawner, "home_dir", None)  # SimpleLocalProcessSpawner (tests, demos)
    if home:
        return Path(home), None
    entry = pwd.getpwnam(spawner.user.name)
    return Path(entry.pw_dir), (entry.pw_uid, entry.pw_gid)


def _mount_read_only(source: Path, target: Path) -> None:
    """Make ``target`` a read-only bind mount of ``source`` (again read-only if it is a
    mount point already, e.g. after a hub restart)."""
    steps = [] if os.path.ismount(target) else [["mount", "--bind", str(source), str(target)]]
    steps.append(["mount", "-o", "remount,bind,ro", str(target)])
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"cannot share {source} read-only at {target}: {' '.join(cmd)} said "
                f"{done.stderr.strip() or done.returncode}; the hub must run as root with "
                "the right to mount (or use systemdspawner)")


def share_surveys(spawner: Any) -> None:
    """``Spawner.pre_spawn_hook``: show ``PROMETHIUM_HUB_SURVEYS`` read-only as
    ``~/<PROMETHIUM_HUB_SURVEYS_AT>`` in the home of the user about to start.

    With ``systemdspawner`` the unit gets ``BindReadOnlyPaths=`` (a mount only its processes
    see); with the local process spawners the hub (root) bind-mounts it read-only into the
    home. Either way the folder lies under the server root, so the side panel lists its
    surveys, and nobody, root inside the server included, can write to it.

    Parameters
    ----------
    spawner : jupyterhub.spawner.Spawner
        The spawner of the server about to start.

    Raises
    ------
    RuntimeError
        When the folder cannot be shared read-only (or the spawner is not a local one): the
        server then does not start, rather than start with a writable or empty folder.
    """
    from jupyterhub.spawner import LocalProcessSpawner

    systemd = hasattr(spawner, "unit_extra_properties")
    if not systemd and not isinstance(spawner, LocalProcessSpawner):
        raise RuntimeError(
            f"PROMETHIUM_HUB_SURVEYS works with the local spawners and systemdspawner, not "
            f"{type(spawner).__name__}: on Kubernetes mount the folder as z2jh-values.yaml does")
    source = Path(os.environ["PROMETHIUM_HUB_SURVEYS"]).resolve()
    if not source.is_dir():
        raise RuntimeError(f"PROMETHIUM_HUB_SURVEYS={source} is not a folder")
    home, owner = _home_and_owner(spawner)
    target = home / os.environ.get("PROMETHIUM_HUB_SURVEYS_AT", "surveys")
    if not os.path.ismount(target):
        # a system user's home exists already; the simple spawner's is made here
        target.mkdir(parents=owner is None, exist_ok=True)
        if owner is not None:
            os.chown(target, *owner)
    if systemd:  # a mount of the user's unit only
        spawner.unit_extra_properties = {**spawner.unit_extra_properties,
                                         "BindReadOnlyPaths": f"{source}:{target}"}
        return
    _mount_read_only(source, target)


if os.environ.get("PROMETHIUM_HUB_SURVEYS"):
    c.Spawner.pre_spawn_hook = share_surveys

# ---------------------------------------------------------------------------- Dask Gateway
_gateway = os.environ.get("PROMETHIUM_HUB_DASK_GATEWAY", "").strip()
if _gateway:
    # Dask reads DASK_<SECTION>__<KEY> variables as its config: gateway.address set makes
    # promethium_lab's executor="dask" (and "gateway") ask this gateway for a cluster, and
    # dask-gateway authenticates with the user's JUPYTERHUB_API_TOKEN.
    c.Spawner.environment.update({
        "DASK_GATEWAY__ADDRESS": _gateway,
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    })
    _proxy = os.environ.get("PROMETHIUM_HUB_DASK_GATEWAY_PROXY", "").strip()
    if _proxy:
        c.Spawner.environment["DASK_GATEWAY__PROXY_ADDRESS"] = _proxy
