"""Small helpers shared by route modules: the data envelope, strict JSON bodies,
idempotency keys of action bodies, large JSON answers gzip-compressed off the loop."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from codexremote.api.json_body import INCOMPLETE, parse_json, parsed_body
from codexremote.errors import BadRequest, NotFound
from codexremote.idempotency import IdempotencyKeys, checked_key

T = TypeVar("T")
GZIP_MIN_BYTES = 8 * 1024  # below this the header overhead and CPU are not worth it
GZIP_LEVEL = 5  # 5,000 drawer rows: 1.75 MB → 76 KB in ~8 ms (level 9: 65 KB in ~29 ms)
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


async def idempotent(
    keys: IdempotencyKeys,
    request: Request,
    body: dict[str, Any],
    action: Callable[[], Awaitable[T]],
) -> T:
    """Run a route's action under the body's ``idempotencyKey`` for this device."""
    key = checked_key(body.get("idempotencyKey"))
    device = getattr(request.state, "device_id", "") or ""
    return await keys.run(device, key, f"{request.method} {request.url.path}", action)


def accepts_gzip(header: str | None) -> bool:
    """``Accept-Encoding`` names gzip (or ``*``) without ``q=0``."""
    if not header:
        return False
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() not in ("gzip", "*"):
            continue
        q = params.strip()
        if q.startswith("q="):
            try:
                if float(q[2:]) <= 0:
                    continue
            except ValueError:
                continue
        return True
    return False


def _encode(payload: Any, compress: bool) -> tuple[bytes, bool]:
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    raw = body.encode("utf-8")
    if compress and len(raw) >= GZIP_MIN_BYTES:
        return gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0), True
    return raw, False


async def large_json(request: Request, payload: Any) -> Response:
    """A big JSON answer (the drawer's thousands of rows), serialised and, when the
    client accepts it, gzip-compressed in a worker thread so the loop stays free.

    gzip on these answers is safe from BREACH-style attacks: they carry no secret
    (tokens appear only in the pairing answer, which is never compressed)."""
    compress = accepts_gzip(request.headers.get("accept-encoding"))
    body, compressed = await asyncio.to_thread(_encode, payload, compress)
    headers = {"Vary": "Accept-Encoding"}
    if compressed:
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)
