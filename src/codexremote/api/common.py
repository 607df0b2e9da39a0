"""Small helpers shared by route modules: the data envelope and strict JSON bodies."""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from codexremote.api.json_body import INCOMPLETE, parse_json, parsed_body
from codexremote.errors import BadRequest, NotFound

T = TypeVar("T")
PROJECT_ID_PATTERN = re.compile(r"^[0-9a-f]{12}$")


class Envelope(BaseModel, Generic[T]):
    """Data routes answer ``{"data": ...}`` (wire-api.md 1.3)."""

    data: T


async def read_json(request: Request) -> Any:
    """The request body as JSON; an empty body is ``{}`` (the original app sends
    ``Content-Type: application/json`` with no body to activate/stop).

    Normally the :class:`JsonBodyGuard` has parsed and checked it already; without
    the guard (a body on another method) the same strict parser runs here.
    """
    done, value = parsed_body(request.scope)
    if done:
        return value
    try:
        raw = await request.body()
    except ClientDisconnect:
        raise BadRequest(INCOMPLETE, code="incomplete_body") from None
    return parse_json(raw)


async def read_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("Expected a JSON object")
    return body


async def read_large_object(request: Request) -> dict[str, Any]:
    """:func:`read_object` for the routes with big bodies (dictation's 40 MB of base64,
    the phone's debug log): the JsonBodyGuard parses those in a worker thread."""
    return await read_object(request)


def checked_project_id(project_id: str) -> str:
    if not PROJECT_ID_PATTERN.match(project_id):
        raise NotFound("Project not found")
    return project_id
