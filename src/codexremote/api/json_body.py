"""One strict JSON reader for every request body, and the middleware that applies it.

Why a middleware: a body is untrusted bytes, and a route may read it by
``read_json`` or let FastAPI parse it into a pydantic model. Python's ``json``
accepts what later code cannot handle: nesting deep enough to raise
``RecursionError`` (depth ~1,000 answered 500 and logged a traceback), lone
surrogates such as ``"\\ud800"`` that make the first UTF-8 encode (a response,
a file, an HMAC) fail, and ``NaN``/``Infinity`` that a JSON response cannot
carry. :class:`JsonBodyGuard` checks every JSON body once, before any route
runs, so no route can forget; a route that reads the body gets the parsed
value without parsing it again.

The parser is pydantic-core's (jiter), already a dependency: it refuses lone
surrogates, ``NaN``/``Infinity`` and nesting beyond its own recursion limit
(:data:`MAX_DEPTH`) with a ``ValueError``, in linear time, without recursion
in Python. A client that hangs up mid-body gets a 400 nobody reads instead of
a ``ClientDisconnect`` traceback.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pydantic_core
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codexremote.api.errors import error_response
from codexremote.errors import BadRequest

MAX_DEPTH = 200  # jiter's recursion limit: deeper documents fail with "recursion limit exceeded"
PARSED_KEY = "codexremote.json_body"  # scope key holding the already parsed body
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # the methods whose bodies the Perimeter caps
# Bodies larger than this (dictation's 40 MB of base64, attachments) are parsed in a
# worker thread: ~0.1 s per 16 MiB would otherwise stall every other client.
OFF_LOOP_BYTES = 1024 * 1024

NOT_JSON = "Request body is not valid JSON"
TOO_DEEP = f"Request body is nested too deeply (at most {MAX_DEPTH} levels)"
BAD_UNICODE = "Request body contains an invalid Unicode escape (a lone surrogate)"
INCOMPLETE = "Request body ended before it was complete"


def parse_json(raw: bytes) -> Any:
    """The body as JSON; an empty body is ``{}`` (the original app sends
    ``Content-Type: application/json`` with no body to activate/stop).

    Raises BadRequest for anything that is not strict JSON (module docstring).
    """
    if not raw.strip():
        return {}
    try:
        return pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        reason = str(exc)
        if "recursion limit" in reason:
            raise BadRequest(TOO_DEEP, code="json_too_deep") from None
        if "surrogate" in reason or "hex escape" in reason:
            raise BadRequest(BAD_UNICODE, code="json_invalid_unicode") from None
        raise BadRequest(NOT_JSON) from None  # code bad_request, as before


def parsed_body(scope: Scope) -> tuple[bool, Any]:
    """(whether the guard already parsed this request's body, the value)."""
    if PARSED_KEY in scope:
        return True, scope[PARSED_KEY]
    return False, None


class JsonBodyGuard:
    """ASGI middleware: reads each JSON request body completely, checks it with
    :func:`parse_json` and answers 400 itself when it is not acceptable; else
    hands the route the same bytes (and the parsed value in the scope).

    It runs inside the Perimeter, so the body is already capped (413) and
    non-JSON content types are already refused (415).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                await _reject(scope, send, BadRequest(INCOMPLETE, code="incomplete_body"))
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        try:
            if len(raw) > OFF_LOOP_BYTES:
                scope[PARSED_KEY] = await asyncio.to_thread(parse_json, raw)
            else:
                scope[PARSED_KEY] = parse_json(raw)
        except BadRequest as exc:
            await _reject(scope, send, exc)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()  # after the body: wait for the disconnect as usual

        await self.app(scope, replay, send)


async def _reject(scope: Scope, send: Send, exc: BadRequest) -> None:
    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await error_response(exc.status, exc.message, exc.code)(scope, no_body, send)
