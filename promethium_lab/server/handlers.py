"""REST handlers of the promethium_lab server extension (see ``openapi.yaml``): the base
class, the error table, and the routes of info, datasets, models and workflows (the job
routes are in :mod:`promethium_lab.server.jobs`)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import BaseModel

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.server.datasets import scan_datasets, section_preview, summarize

__all__ = [
    "HTTP_STATUS",
    "DatasetPreviewHandler",
    "DatasetSummaryHandler",
    "DatasetsHandler",
    "InfoHandler",
    "JSONText",
    "ModelHandler",
    "ModelsHandler",
    "PromethiumAPIHandler",
    "WorkflowsHandler",
    "http_status",
]

_BAD_INPUT = (ErrorCode.INVALID_PARAMETER, ErrorCode.REPORT_FAILED, ErrorCode.PATH_IS_DIRECTORY,
              ErrorCode.NOT_SEGY,
              ErrorCode.TRUNCATED_FILE, ErrorCode.UNSUPPORTED_FORMAT,
              ErrorCode.BAD_SAMPLE_COUNT, ErrorCode.BAD_SAMPLE_INTERVAL,
              ErrorCode.INCONSISTENT_GEOMETRY, ErrorCode.UNREADABLE_WAVEFORM,
              ErrorCode.NOT_A_STORE, ErrorCode.EXPORT_UNSUPPORTED, ErrorCode.BAD_OUTPUT_PATH,
              ErrorCode.MODEL_MISMATCH, ErrorCode.BAD_DATA)

#: The HTTP status of every error code: the one table the handlers answer from.
HTTP_STATUS: dict[ErrorCode, int] = {
    **dict.fromkeys(_BAD_INPUT, 400),
    ErrorCode.PATH_OUTSIDE_ROOT: 403,
    ErrorCode.PATH_NOT_FOUND: 404,
    ErrorCode.JOB_NOT_FOUND: 404,
    ErrorCode.OUTPUT_EXISTS: 409,
    ErrorCode.STORE_INCOMPLETE: 409,
    ErrorCode.CANCELED: 409,
    ErrorCode.JOB_NOT_COMPLETED: 409,
    ErrorCode.BAD_CONFIG: 500,
    ErrorCode.RUNNER_LOST: 500,
    ErrorCode.INTERNAL: 500,
    ErrorCode.NO_GPU: 503,
}


def http_status(err: PromethiumError) -> int:
    """The HTTP status of ``err`` (:data:`HTTP_STATUS`; 500 for a code it lacks)."""
    return HTTP_STATUS.get(err.code, 500)


class JSONText(str):
    """A body that is JSON text already (answered as it is)."""


class PromethiumAPIHandler(ExtensionHandlerMixin, APIHandler):
    """Base of the handlers: a :class:`PromethiumError` raised by a handler is answered as
    its JSON envelope ``{code, name, message, hint, retryable}`` with the status of
    :data:`HTTP_STATUS` (see :meth:`write_error`)."""

    async def answer(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``call(*args, **kwargs)`` off the event loop and finish with its result
        (see :meth:`reply`): for calls that read files or draw."""
        self.reply(await asyncio.to_thread(call, *args, **kwargs))

    def answer_now(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``call(*args, **kwargs)`` on the event loop and finish with its result: for
        calls of a millisecond or less (an indexed read of the job store, cached JSON),
        where a worker thread's hand-offs under the GIL cost more than the call."""
        self.reply(call(*args, **kwargs))

    def reply(self, result: Any) -> None:
        """Finish with ``result``: PNG ``bytes`` as ``image/png``, :class:`JSONText` as it
        is, a pydantic model as its JSON (pydantic's core), anything else as JSON."""
        if isinstance(result, bytes):
            self.set_header("Cache-Control", "no-store")
            self.finish(result, set_content_type="image/png")
        elif isinstance(result, JSONText):
            self.finish(str(result))
        elif isinstance(result, BaseModel):
            self.finish(result.model_dump_json())
        else:
            self.finish(json.dumps(result))

    def int_argument(self, name: str, default: int, low: int, high: int) -> int:
        """The query argument ``name`` as an int in ``[low, high]`` (INVALID_PARAMETER)."""
        text = self.get_query_argument(name, None)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise PromethiumError.invalid(f"{name}={text!r} is not an integer",
                                          hint=f"pass a whole number in [{low}, {high}]") from None
        if not low <= value <= high:
            raise PromethiumError.invalid(f"{name}={value} is outside [{low}, {high}]",
                                          hint=f"pass a whole number in [{low}, {high}]")
        return value

    @property
    def server_root(self) -> str:
        """The Jupyter server's ``root_dir``: no path outside it is read."""
        return self.settings["server_root_dir"]

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """A :class:`PromethiumError` is the user's, not the server's: one line, no
        traceback."""
        if isinstance(value, PromethiumError):
            self.log.info("%s %s: %s", self.request.method, self.request.path, value)
        else:
            super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Unexpected exceptions also answer the envelope (code ``PL-INT-001``), never a
        traceback. Authentication and other ``tornado.web.HTTPError`` answers keep Jupyter's
        form."""
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        if exc is None or isinstance(exc, tornado.web.HTTPError):
            super().write_error(status_code, **kwargs)
            return
        if not isinstance(exc, PromethiumError):
            exc = PromethiumError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}",
                                  hint="see the Jupyter server log for the traceback")
        self.set_status(http_status(exc))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(exc.to_dict()))


def _info() -> dict[str, Any]:
    from promethium_lab.core.config import get_config
    from promethium_lab.core.version import __version__
    from promethium_lab.server.models import Info

    return Info(version=__version__, data_dir=str(get_config().data_dir),
                python=sys.version.split()[0]).to_dict()


class InfoHandler(PromethiumAPIHandler):
    """``GET promethium/info``: version of promethium_lab, its data dir, Python version."""

    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(_info)


class _ContentsHandler(PromethiumAPIHandler):
    """Routes that read files under the server root (Jupyter's ``contents`` permission)."""

    auth_resource = "contents"


class DatasetsHandler(_ContentsHandler):
    """``GET promethium/datasets?root=<dir>``: datasets under a folder of the server root."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        limits = self.settings.get("promethium_lab", {})
        await self.answer(scan_datasets, self.server_root, self.get_query_argument("root", ""),
                          limits.get("max_depth", 3), limits.get("max_entries", 2000))


class DatasetSummaryHandler(_ContentsHandler):
    """``GET promethium/datasets/summary?path=``: geometry, live/absent traces, time axis,
    headers digest of one dataset (headers only; see :func:`summarize`)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(summarize, self.server_root, self.get_query_argument("path", ""))


#: query arguments of the dataset preview that are not trace-dim labels
_PREVIEW_ARGS = frozenset({"path", "width", "height", "clip", "axes"})


class DatasetPreviewHandler(_ContentsHandler):
    """``GET promethium/datasets/preview.png?path=&inline=&width=&height=&clip=&axes=``: a
    section of a dataset as a PNG, one pixel per trace and sample up to ``width × height``
    (``axes=1``: a ``width × height`` figure with trace and time axes)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        width = self.int_argument("width", 1200, 16, 4096)
        height = self.int_argument("height", 800, 16, 4096)
        clip = self.int_argument("clip", 99, 50, 100)
        axes = bool(self.int_argument("axes", 0, 0, 1))
        selection = {name: self.int_argument(name, 0, -(2**31), 2**31 - 1)
                     for name in self.request.query_arguments
                     if name not in _PREVIEW_ARGS and not name.startswith("_")
                     and not name.isdigit()}  # a client's cache-buster (JupyterLab's)
        await self.answer(section_preview, self.server_root, self.get_query_argument("path", ""),
                          width=width, height=height, clip=float(clip), selection=selection,
                          axes=axes)


class ModelsHandler(_ContentsHandler):
    """``GET promethium/models``: every model version with its lineage."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        from promethium_lab.server.registry import model_list

        await self.answer(model_list)


class ModelHandler(_ContentsHandler):
    """``GET promethium/models/<name>`` (or ``<name>:vN``): one model, all its versions."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        from promethium_lab.server.registry import model_detail

        await self.answer(model_detail, name)


class WorkflowsHandler(PromethiumAPIHandler):
    """``GET promethium/workflows``: every job kind and its parameters' JSON Schema."""

    auth_resource = "kernels"

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        from promethium_lab.server.registry import workflow_list

        await self.answer(workflow_list)
