"""Typed failures of the app-server bridge; each maps to an HTTP status."""

from __future__ import annotations

from typing import Any

from codexremote.errors import BadGateway, ServiceUnavailable


class AppServerUnavailable(ServiceUnavailable):
    """No ready app-server child right now (starting, restarting or dead)."""

    code = "app_server_unavailable"


class AppServerGone(AppServerUnavailable):
    """The child exited (or the connection closed) while a request was in flight."""

    code = "app_server_gone"


class RequestTimeout(AppServerUnavailable):
    """The child did not answer within the request's timeout."""

    code = "app_server_timeout"


class AppServerError(BadGateway):
    """The child answered a request with a JSON-RPC error object."""

    def __init__(self, message: str, *, rpc_code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.rpc_code = rpc_code
        self.data = data


SERVER_OVERLOADED = -32001
