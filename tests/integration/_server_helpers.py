"""Helpers of the server extension's tests (``jp_fetch``)."""

from __future__ import annotations

import json
from typing import Any

from tornado.httpclient import HTTPClientError


async def fetch(jp_fetch, *parts: str, **kwargs) -> tuple[int, Any]:
    """``(status, body)`` of a request, refusals included; a JSON body parsed, any other
    (a PNG) as bytes."""
    try:
        response = await jp_fetch(*parts, **kwargs)
    except HTTPClientError as err:
        response = err.response
    body = response.body
    if response.headers.get("Content-Type", "").startswith("application/json"):
        body = json.loads(body)
    return response.code, body
