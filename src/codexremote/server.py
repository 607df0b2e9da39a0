"""The uvicorn server as the companion runs it (imported lazily: it pulls in the web stack).

* REL-13: on shutdown our stream clients get close 1001 ("going away") before
  uvicorn closes connections (1012) and before the lifespan stops the child.
* REL-07 / SEC-10: WebSocket pings, small inbound frames, no compression.
* SEC-19: connections pass the :mod:`codexremote.connguard` (header/body deadlines,
  per-client and total caps below the descriptor limit); uvicorn's own
  ``limit_concurrency`` stays off because it answers 503 to everyone once
  hostile sockets fill it.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn

from codexremote.api.stream import StreamHub
from codexremote.connguard import (
    ACCEPT_BACKLOG,
    ConnectionGuard,
    connection_cap,
    guarded_protocols,
)
from codexremote.fdlimit import open_file_limit
from codexremote.settings import Settings

WS_MAX_MESSAGE_BYTES = 64 * 1024  # SEC-10: inbound frames are tiny control messages
WS_PING_INTERVAL_S = 20.0  # REL-07: a ping every 20 s keeps idle sockets alive ...
WS_PING_TIMEOUT_S = 20.0  # ... and a socket whose pong does not come in 20 s is closed
GRACEFUL_SHUTDOWN_S = 3  # REL-13; the child gets the rest of the 4.5 s budget


def default_guard() -> ConnectionGuard:
    """A guard whose total cap fits the current open-file limit (raise it first)."""
    return ConnectionGuard(max_total=connection_cap(open_file_limit()))


def uvicorn_config(
    app: Any, settings: Settings, guard: ConnectionGuard | None = None, **overrides: Any
) -> uvicorn.Config:
    http_protocol, ws_protocol = guarded_protocols(guard or default_guard())
    options: dict[str, Any] = {
        "http": http_protocol,
        "ws": ws_protocol,
        "backlog": ACCEPT_BACKLOG,  # uvicorn's 2048 also multiplies asyncio's EMFILE storm
        "host": settings.host,
        "port": settings.port,
        "ssl_certfile": str(settings.tls_cert) if settings.tls_cert else None,
        "ssl_keyfile": str(settings.tls_key) if settings.tls_key else None,
        "access_log": False,  # SEC-13: our Perimeter logs paths without query strings
        "log_config": None,
        "server_header": False,
        "ws_max_size": WS_MAX_MESSAGE_BYTES,
        "ws_per_message_deflate": False,
        "ws_ping_interval": WS_PING_INTERVAL_S,
        "ws_ping_timeout": WS_PING_TIMEOUT_S,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        "proxy_headers": False,  # SEC-18: client addresses are never trusted from headers
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


class CompanionServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, hub: StreamHub) -> None:
        super().__init__(config)
        self.hub = hub

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.hub.close_all()  # 1001 to every stream client first (REL-13)
        await super().shutdown(sockets)
