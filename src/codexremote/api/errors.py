"""The single exception → JSON boundary: ``{"error": <message>, "code": <code>}``.

The original iOS app shows a string ``error`` verbatim and ignores other members
(wire-api.md 1.4), so ``code`` is additive. Stack traces never leave the process.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from codexremote.api.security import SECURITY_HEADERS
from codexremote.errors import CodexRemoteError, TooManyRequests

log = logging.getLogger("codexremote.api")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    421: "misdirected_request",
    422: "unprocessable",
    429: "rate_limited",
}


def error_response(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": message, "code": code or _STATUS_CODES.get(status, "error")}
    all_headers = {"Cache-Control": "no-store"}
    if status == 401:
        all_headers["WWW-Authenticate"] = "Bearer"
    all_headers.update(headers or {})
    return JSONResponse(body, status_code=status, headers=all_headers)


def _describe_validation(exc: RequestValidationError) -> str:
    errors: list[Any] = list(exc.errors())
    if not errors:
        return "Invalid request"
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    where = ".".join(loc)
    msg = str(first.get("msg", "invalid value"))
    if first.get("type") == "json_invalid":
        return "Request body is not valid JSON"
    return f"{where}: {msg}" if where else msg


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CodexRemoteError)
    async def domain_error(_request: Request, exc: CodexRemoteError) -> JSONResponse:
        headers = {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(max(1, int(exc.retry_after)))
        if exc.status >= 500:
            log.warning("request failed: %s (%s)", exc.code, exc.message)
        return error_response(exc.status, exc.message, exc.code, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, _describe_validation(exc), "validation_error")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "Not found"
        headers = dict(exc.headers or {})
        return error_response(exc.status_code, message, headers=headers)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(_request: Request, _exc: ClientDisconnect) -> JSONResponse:
        # The client left (or the connection guard closed it, SEC-19) while its body
        # was being read: nobody to answer, nothing went wrong here. No traceback.
        return error_response(400, "Client disconnected", "client_disconnected")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        request_id = uuid.uuid4().hex[:12]
        log.error("unhandled error %s: %s", request_id, type(exc).__name__, exc_info=exc)
        # This handler runs in the outermost middleware, outside the Perimeter that
        # adds the security headers to every other response (T21).
        headers = {k.decode(): v.decode() for k, v in SECURITY_HEADERS}
        headers["x-request-id"] = request_id
        return error_response(500, f"Internal error (request {request_id})", "internal", headers)
