"""Small helpers shared by route modules: the data envelope and tolerant JSON bodies."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel

from codexremote.errors import BadRequest, NotFound

T = TypeVar("T")
PROJECT_ID_PATTERN = re.compile(r"^[0-9a-f]{12}$")


class Envelope(BaseModel, Generic[T]):
    """Data routes answer ``{"data": ...}`` (wire-api.md 1.3)."""

    data: T


async def read_json(request: Request) -> Any:
    """The request body as JSON; an empty body is ``{}`` (the original app sends
    ``Content-Type: application/json`` with no body to activate/stop)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Request body is not valid JSON") from None


async def read_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("Expected a JSON object")
    return body


async def read_large_object(request: Request) -> dict[str, Any]:
    """Like :func:`read_object` for the routes with big bodies (dictation's 40 MB of
    base64, the phone's debug log): the JSON is parsed in a worker thread, off the loop."""
    raw = await request.body()
    try:
        body = await asyncio.to_thread(json.loads, raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("Expected a JSON object")
    return body


def checked_project_id(project_id: str) -> str:
    if not PROJECT_ID_PATTERN.match(project_id):
        raise NotFound("Project not found")
    return project_id
