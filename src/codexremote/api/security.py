"""Perimeter middleware (pure ASGI, runs before routing).

* SEC-02 Host allowlist on every request and WebSocket handshake → 421.
* SEC-03 exact Origin check on WebSocket handshakes and state-changing requests;
  requests without an Origin (native clients, curl) pass. ``Sec-Fetch-Site:
  cross-site`` → 403. Malformed Origin → 403, never 500.
* SEC-16 body limits (413) and JSON-only bodies on POST/PUT/PATCH (415); an empty
  body is fine whatever its content type (the original app posts empty bodies
  with ``Content-Type: application/json`` to ``/activate`` and ``/stop``).
* SEC-12/T21 security headers on every response; ``no-store`` on API responses.
* SEC-13 an access log that prints the path only: never a query string, header,
  token or body.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codexremote.locality import classify

access_log = logging.getLogger("codexremote.access")

DEFAULT_BODY_LIMIT = 1024 * 1024  # SEC-16
# The original app sends photos and text files with a message, and base64 audio for
# dictation (wire-api.md 4.15, 9): those routes get larger limits (the wire contract wins).
# The original companion took message bodies up to 40 MB (photos and files as base64).
ATTACHMENT_BODY_LIMIT = 40 * 1024 * 1024
DICTATION_BODY_LIMIT = 40 * 1024 * 1024
# The phone's debug log: 4 MiB of NDJSON (docs/diagnostics.md), JSON-escaped quotes included.
DEVICE_LOG_BODY_LIMIT = 8 * 1024 * 1024
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
# SEC-12/T21: on every response, including the perimeter's own rejections and the
# 500 answer of the outermost error middleware (errors.py adds them there).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
)


def body_limit_for(path: str) -> int:
    if path == "/v1/dictation/transcribe":
        return DICTATION_BODY_LIMIT
    if path == "/v1/debug/ios-log":
        return DEVICE_LOG_BODY_LIMIT
    if path.startswith("/v1/chats/") and path.endswith(("/messages", "/steer")):
        return ATTACHMENT_BODY_LIMIT
    return DEFAULT_BODY_LIMIT


def loggable(path: str) -> str:
    """The decoded path with control characters escaped: a ``%0a`` in a URL must not
    forge a line of the access log."""
    return path if path.isprintable() else path.encode("unicode_escape").decode("ascii")


def split_host(value: str) -> tuple[str, int | None] | None:
    """``Host`` header → (lower-case hostname, port); None if malformed."""
    try:
        parts = urlsplit("//" + value)
        hostname = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not hostname or parts.path or parts.query or parts.username:
        return None
    return hostname.lower(), port


def _normal_hosts(hosts: Iterable[str]) -> set[str]:
    return {h.lower().strip("[]") for h in hosts if h}


class Perimeter:
    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Iterable[str],
        scheme: str,
        port: int,
        extra_hosts: Callable[[], Iterable[str]] | None = None,
        extra_origins: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        """``extra_hosts`` is read on every request: names known only after startup
        (the tailnet name put in pairing links) join the allowlist when known.
        ``extra_origins`` (exact ``scheme://host[:port]``) likewise: behind ``tailscale
        serve`` the page's origin is ``https://<name>.ts.net`` while we serve http."""
        self.app = app
        self._static_hosts = _normal_hosts((*LOOPBACK_HOSTS, *allowed_hosts))
        self._extra_hosts = extra_hosts
        self._extra_origins = extra_origins
        self.scheme = scheme
        self.port = port

    @property
    def allowed_hosts(self) -> set[str]:
        if self._extra_hosts is None:
            return self._static_hosts
        return self._static_hosts | _normal_hosts(self._extra_hosts())

    def allowed_origins(self, host_port: int | None) -> set[str]:
        ports = {self.port, host_port} - {None}
        origins = set()
        for host in self.allowed_hosts:
            shown = f"[{host}]" if ":" in host else host
            for port in ports:
                origins.add(f"{self.scheme}://{shown}:{port}")
            default = 443 if self.scheme == "https" else 80
            if default in ports:
                origins.add(f"{self.scheme}://{shown}")
        if self._extra_origins is not None:
            origins.update(self._extra_origins())
        return origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        # One decision per request, read by every route that asks (locality.py).
        scope.setdefault("state", {})["caller"] = classify(
            client[0] if client else None, scope["headers"]
        )
        is_ws = scope["type"] == "websocket"
        method = "GET" if is_ws else scope["method"]
        path: str = scope["path"]
        started = time.perf_counter()

        host = split_host(headers.get("host", ""))
        if host is None or host[0] not in self.allowed_hosts:
            await self._reject(scope, receive, send, 421, "Host not allowed", "misdirected_request")
            return
        if (is_ws or method in STATE_CHANGING) and not self._origin_ok(headers, host[1]):
            await self._reject(scope, receive, send, 403, "Origin not allowed", "bad_origin")
            return
        if is_ws:
            await self.app(scope, receive, send)
            access_log.info("WS %s", loggable(path))
            return

        if method in ("POST", "PUT", "PATCH"):
            limit = body_limit_for(path)
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > limit):
                await self._reject(scope, receive, send, 413, "Request body too large")
                return
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            has_body = length not in (None, "0") or "transfer-encoding" in headers  # chunked
            if has_body and content_type != "application/json":
                await self._reject(
                    scope, receive, send, 415, "Request body must be application/json"
                )
                return
            receive = _limited(receive, limit)

        trace_id = headers.get("x-codex-trace-id") or uuid.uuid4().hex[:16]
        status_holder: dict[str, int] = {}  # "status" once the response has started
        is_api = path.startswith("/v1/") or path == "/health"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                existing = {k.lower() for k, _ in message.get("headers", [])}
                # A route may set a stricter-or-different CSP of its own (the web shell
                # adds its ws origin to connect-src); two CSP headers would intersect.
                extra = [
                    *(h for h in SECURITY_HEADERS if h[0] not in existing),
                    (b"x-codex-trace-id", trace_id[:64].encode("latin-1", "replace")),
                ]
                if is_api and b"cache-control" not in existing:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except _BodyTooLarge:
            # A body without Content-Length ran over while the route read it.
            if "status" in status_holder:
                raise  # the route already answered; nothing sensible left to send
            status_holder["status"] = 413
            await self._reject(scope, receive, send, 413, "Request body too large", log=False)
        finally:
            access_log.info(
                "%s %s %s %.1fms",
                method,
                loggable(path),
                status_holder.get("status", 500),  # no answer: an error escaped the app
                (time.perf_counter() - started) * 1000,
            )

    def _origin_ok(self, headers: dict[str, str], host_port: int | None) -> bool:
        if headers.get("sec-fetch-site") == "cross-site":
            return False
        origin = headers.get("origin")
        if origin is None:
            return True  # native clients send no Origin
        return origin in self.allowed_origins(host_port)

    async def _reject(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        message: str,
        code: str | None = None,
        *,
        log: bool = True,
    ) -> None:
        codes = {413: "payload_too_large", 415: "unsupported_media_type"}
        body = json.dumps({"error": message, "code": code or codes.get(status, "error")}).encode()
        if scope["type"] == "websocket":
            # Deny before accept: an HTTP answer via the denial-response extension
            # where supported, else a plain close (the handshake fails either way).
            if "websocket.http.response" in scope.get("extensions", {}):
                await send(_start(status, len(body), "websocket.http.response.start"))
                await send({"type": "websocket.http.response.body", "body": body})
            else:
                await send({"type": "websocket.close", "code": 1008})
            access_log.info("WS %s %s", loggable(scope["path"]), status)
            return
        await send(_start(status, len(body), "http.response.start"))
        await send({"type": "http.response.body", "body": body})
        if log:
            access_log.info("%s %s %s", scope.get("method"), loggable(scope["path"]), status)


def _start(status: int, length: int, kind: str) -> Message:
    return {
        "type": kind,
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(length).encode()),
            (b"cache-control", b"no-store"),
            *SECURITY_HEADERS,
        ],
    }


class _BodyTooLarge(Exception):
    pass


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge
        return message

    return wrapped
