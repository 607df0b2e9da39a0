"""Device-token auth for REST routes (SEC-04, SEC-05, SEC-18).

Every router except the allowlisted public ones is built with
``dependencies=[Depends(require_device)]``; a test enumerates the app's routes
and fails on any route that is neither guarded nor on :data:`PUBLIC_PATHS`.
Error strings follow the original companion (wire-api.md 3). Failed tokens are
rate-limited per client address (429 + Retry-After); valid tokens never are,
and neither are tokens of revoked devices (issue 14 A3): they keep getting 401,
which is what makes the original app ask to pair again.
Client addresses come from the socket, never from forwarding headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import Request

from codexremote.errors import Unauthorized
from codexremote.locality import Caller, classify

PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/v1/pairing/request",
        "/v1/pairing/confirm",
        "/",
        "/app/{path:path}",
        "/manifest.webmanifest",
        "/sw.js",
        "/v1/openapi.json",  # documents the API only (no data); Host allowlist still applies
    }
)
# Routes that check the device token themselves: the stream takes it from the
# upgrade's Authorization header or from its first message (browsers cannot set
# headers on a WebSocket), so it cannot use the REST dependency.
SELF_AUTHENTICATED_PATHS = frozenset({"/v1/stream"})
MAX_TOKEN_CHARS = 256


class FailureLimiter(Protocol):
    def check(self, key: str) -> None:
        """Raise TooManyRequests while ``key`` is locked out."""

    def record_failure(self, key: str) -> None: ...


Verifier = Callable[[str], Awaitable[str | None]]  # token → device id (None: unknown/revoked)
RevokedCheck = Callable[[str], bool]  # token → was it a device's token until a revoke?


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def request_caller(request: Request) -> Caller:
    """Local or remote, decided once by the Perimeter (which stores it in the scope);
    computed here for an app built without it."""
    known = request.scope.get("state", {}).get("caller")
    if isinstance(known, Caller):
        return known
    return classify(client_key(request), request.scope.get("headers", []))


def device_dependency(
    verify: Verifier, limiter: FailureLimiter, was_revoked: RevokedCheck
) -> Callable[[Request], Awaitable[str]]:
    async def require_device(request: Request) -> str:
        header = request.headers.get("authorization")
        if header is None or not header[:7].lower() == "bearer ":
            raise Unauthorized("Missing bearer token")
        token = header[7:].strip()
        if not token:
            raise Unauthorized("Invalid bearer token")
        device_id = await verify(token) if len(token) <= MAX_TOKEN_CHARS else None
        if device_id is None and len(token) <= MAX_TOKEN_CHARS and was_revoked(token):
            raise Unauthorized("Invalid token")  # not a guess: no limiter (issue 14 A3)
        if device_id is None:
            # The limiter is consulted only for failed tokens: a valid token is never
            # locked out by someone else's failures from the same address (behind
            # `tailscale serve` every phone is 127.0.0.1, and the original app keeps
            # polling with a revoked token), while guessing still ends in 429.
            key = client_key(request)
            limiter.check(key)
            limiter.record_failure(key)
            raise Unauthorized("Invalid token")
        request.state.device_id = device_id
        return device_id

    require_device.__name__ = "require_device"
    return require_device
