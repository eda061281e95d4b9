"""Jupyter server extension of promethium_lab: REST under ``<base_url>/promethium/``.

Jupyter finds the server extension and the prebuilt JupyterLab extension through the two
hooks below (re-exported by :mod:`promethium_lab`). They import nothing heavy, so
``import promethium_lab`` stays cheap for kernels that never start a server.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_jupyter_labextension_paths", "_jupyter_server_extension_points"]

LABEXTENSION_NAME = "promethium-lab"
"""Name of the npm package and of ``share/jupyter/labextensions/<name>``."""


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built lab extension lies, relative to the ``promethium_lab`` package."""
    return [{"src": "labextension", "dest": LABEXTENSION_NAME}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The extension app Jupyter server loads when ``promethium_lab`` is enabled."""
    from promethium_lab.server.app import PromethiumServerApp

    return [{"module": "promethium_lab", "app": PromethiumServerApp}]
