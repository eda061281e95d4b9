"""REST handlers of the promethium_lab server extension (see ``openapi.yaml``)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.server.datasets import scan_datasets

__all__ = [
    "DatasetsHandler",
    "InfoHandler",
    "JobCancelHandler",
    "JobHandler",
    "PromethiumAPIHandler",
]

_STATUS: dict[ErrorCode, int] = {
    ErrorCode.PATH_NOT_FOUND: 404,
    ErrorCode.JOB_NOT_FOUND: 404,
    ErrorCode.INVALID_PARAMETER: 400,
    ErrorCode.BAD_CONFIG: 500,
    ErrorCode.INTERNAL: 500,
}


class PromethiumAPIHandler(ExtensionHandlerMixin, APIHandler):
    """Base of the handlers: answers a :class:`PromethiumError` as its JSON dict."""

    def send_error_json(self, err: PromethiumError) -> None:
        """Finish with ``err.to_dict()`` and the HTTP status that fits it."""
        status = getattr(err, "http_status", None) or _STATUS.get(err.code, 400)
        self.set_status(status)
        self.finish(json.dumps(err.to_dict()))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Unexpected exceptions also answer ``{code, message, hint, retryable}``.

        Authentication and other ``tornado.web.HTTPError`` answers keep Jupyter's form.
        """
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        if isinstance(exc, PromethiumError):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(exc.to_dict()))
            return
        if exc is None or isinstance(exc, tornado.web.HTTPError):
            super().write_error(status_code, **kwargs)
            return
        err = PromethiumError(
            ErrorCode.INTERNAL,
            f"{type(exc).__name__}: {exc}",
            hint="see the Jupyter server log for the traceback",
        )
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(err.to_dict()))


class InfoHandler(PromethiumAPIHandler):
    """``GET promethium/info``: version of promethium_lab, its data dir, Python version."""

    @tornado.web.authenticated
    def get(self) -> None:
        from promethium_lab.core.config import get_config
        from promethium_lab.core.version import __version__

        try:
            data_dir = str(get_config().data_dir)
        except PromethiumError as err:
            self.send_error_json(err)
            return
        self.finish(
            json.dumps(
                {
                    "version": __version__,
                    "data_dir": data_dir,
                    "python": sys.version.split()[0],
                }
            )
        )


class DatasetsHandler(PromethiumAPIHandler):
    """``GET promethium/datasets?root=<dir>``: datasets under a folder of the server root."""

    auth_resource = "contents"  # reading the listing is reading contents

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        limits = self.settings.get("promethium_lab", {})
        root = self.get_query_argument("root", "")
        try:
            result = await asyncio.to_thread(
                scan_datasets,
                self.settings["server_root_dir"],
                root,
                limits.get("max_depth", 3),
                limits.get("max_entries", 2000),
            )
        except PromethiumError as err:
            self.send_error_json(err)
            return
        self.finish(json.dumps(result))


def _job_record(job_id: str) -> dict[str, Any]:
    """The JSON record of ``job_id`` from the user's job store (``JOB_NOT_FOUND``, 404, when
    there is none)."""
    from promethium_lab.jobs import get_store

    return get_store().get(job_id).to_dict()


def _cancel(job_id: str) -> dict[str, Any]:
    """Ask job ``job_id`` to stop (the store's flag, seen by its runner wherever it runs) and
    return its record after asking."""
    from promethium_lab.jobs import cancel_job

    _job_record(job_id)  # 404 for an unknown id
    cancel_job(job_id)
    return _job_record(job_id)


class _JobRouteHandler(PromethiumAPIHandler):
    """Base of the job routes: runs a store call off the event loop and answers its JSON
    (or the error envelope)."""

    auth_resource = "kernels"  # a job is work a kernel (or its cluster) does

    async def answer(self, call: Any, job_id: str) -> None:
        try:
            record = await asyncio.to_thread(call, job_id)
        except PromethiumError as err:
            self.send_error_json(err)
            return
        self.finish(json.dumps(record))


class JobHandler(_JobRouteHandler):
    """``GET promethium/jobs/<id>``: the job's record (``JobRecord`` of openapi.yaml)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        await self.answer(_job_record, job_id)


class JobCancelHandler(_JobRouteHandler):
    """``POST promethium/jobs/<id>/cancel``: ask a job to stop; answers its record.

    Works whatever the kernel that submitted the job is doing: the request only sets the
    job store's cancel flag, which the job's runner checks between batches (a queued job is
    canceled at once, a running one is ``stopping`` until its runner stops). Asking again,
    or asking a finished job, changes nothing and answers its record. Tornado checks XSRF
    for this POST unless the request carries the server's token.
    """

    @tornado.web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        await self.answer(_cancel, job_id)
