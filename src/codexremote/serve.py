"""``codexremote serve``: checks, then uvicorn with the companion app."""

from __future__ import annotations

import logging
import ssl
import sys

import uvicorn

from codexremote.app import build_services, create_app
from codexremote.launcher import CodexNotFound
from codexremote.netcheck import UnsafeBind, check_bind_policy, port_available
from codexremote.settings import Settings

log = logging.getLogger("codexremote")

WS_MAX_MESSAGE_BYTES = 64 * 1024  # SEC-10: inbound frames are tiny control messages
WS_PING_INTERVAL_S = 20.0  # REL-07
WS_PING_TIMEOUT_S = 20.0
GRACEFUL_SHUTDOWN_S = 3  # REL-13; the child gets the rest of the 4.5 s budget
# SEC-13: uvicorn hands this logger to `websockets`, which at DEBUG dumps every
# handshake header (``authorization: Bearer ...`` included) and every frame (the
# first-message auth carries the token). It never goes below INFO.
PROTOCOL_LOGGER = "uvicorn.error"


def _fail(message: str) -> int:
    print(f"codexremote: {message}", file=sys.stderr)
    return 2


def keep_tokens_out_of_logs() -> None:
    """Stop websockets' protocol dumps whatever --log-level says (SEC-13)."""
    logger = logging.getLogger(PROTOCOL_LOGGER)
    logger.setLevel(max(logging.INFO, logger.getEffectiveLevel()))


def tls_problem(settings: Settings) -> str | None:
    """Why the certificate/key pair cannot be served (uvicorn would print a traceback)."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            settings.tls_cert, settings.tls_key
        )
    except OSError as exc:  # ssl.SSLError included
        return (
            f"cannot use --tls-cert {settings.tls_cert} with --tls-key {settings.tls_key}: "
            f"{exc.strerror or exc}"
        )
    return None


def serve(settings: Settings) -> int:
    if (settings.tls_cert is None) != (settings.tls_key is None):
        return _fail("pass both --tls-cert and --tls-key, or neither")
    problem = tls_problem(settings)
    if problem:
        return _fail(problem)
    try:
        warning = check_bind_policy(
            settings.host, tls=settings.tls_enabled, insecure_http=settings.insecure_http
        )
    except UnsafeBind as exc:
        return _fail(str(exc))
    if warning:
        log.warning("%s", warning)
    try:
        services = build_services(settings)
    except CodexNotFound as exc:
        return _fail(str(exc))
    if not port_available(settings.host, settings.port):
        return _fail(f"port {settings.port} on {settings.host} is already in use (try --port)")
    services.announce_offer = True
    app = create_app(services)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        access_log=False,  # SEC-13: our Perimeter logs paths without query strings
        log_config=None,
        server_header=False,
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        ws_per_message_deflate=False,
        ws_ping_interval=WS_PING_INTERVAL_S,
        ws_ping_timeout=WS_PING_TIMEOUT_S,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        proxy_headers=False,  # SEC-18: client addresses are never trusted from headers
    )
    keep_tokens_out_of_logs()
    log.info("codexremote listening on %s://%s:%d", settings.scheme, settings.host, settings.port)
    uvicorn.Server(config).run()
    return 0
