"""``GET /health``: liveness for anyone on the Host allowlist, detail only for trusted callers.

The public answer says whether the companion serves and what state the
app-server child is in (``ok``, ``service``, ``version``, ``appServerState``,
``appServer.state``). The detail (generation, restarts, ``lastError``,
``lastStderr`` with paths such as CODEX_HOME, retry timing) goes only to a
caller that sent a valid device token, or to a loopback peer that did not come
through a proxy: ``tailscale serve`` (and any reverse proxy) connects from
loopback too, so a loopback request carrying forwarding or Tailscale identity
headers is treated as remote (issue 9.11; ``locality.classify`` decides). The
headers are never used to *grant* anything (SEC-18), only to withhold detail.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request

from codexremote import __version__
from codexremote.api.auth import MAX_TOKEN_CHARS, FailureLimiter, client_key, request_caller

Verifier = Callable[[str], Awaitable[str | None]]


def health_router(
    app_server_health: Callable[[], dict[str, Any]],
    started_at: float,
    verify_token: Verifier,
    token_limiter: FailureLimiter,
) -> APIRouter:
    router = APIRouter()

    async def has_valid_token(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header[:7].lower() != "bearer ":
            return False
        token = header[7:].strip()
        if not token or len(token) > MAX_TOKEN_CHARS:
            return False
        if await verify_token(token) is not None:
            return True
        # /health answers anyway (publicly), but a wrong token still counts as a
        # guess towards the address's lock-out on the guarded routes.
        token_limiter.record_failure(client_key(request))
        return False

    @router.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        app_server = app_server_health()
        body: dict[str, Any] = {
            "ok": True,
            "appServerState": app_server["state"],
            "service": "codexremote",
            "version": __version__,
        }
        if request_caller(request).local or await has_valid_token(request):
            body["uptimeSeconds"] = round(time.monotonic() - started_at, 1)
            body["appServer"] = app_server
        else:
            body["appServer"] = {"state": app_server["state"]}
        return body

    return router
