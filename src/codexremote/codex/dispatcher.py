"""JSON-RPC over a line transport: the one place that owns request-id correlation.

Lifecycle: ``run()`` reads until the transport ends; then every in-flight
request fails with :class:`AppServerGone` (REL-02) and every server request that
was not answered becomes unanswerable. A malformed line is logged, counted and
skipped (REL-04); it never stops the reader.

app-server's wire format has no ``"jsonrpc"`` member: requests ``{id, method,
params}``, responses ``{id, result}`` / ``{id, error}``, notifications
``{method, params}``. Server→client requests use ids from the server's own
counter, separate from ours.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from codexremote.codex.errors import AppServerError, AppServerGone, RequestTimeout
from codexremote.codex.transport import Transport
from codexremote.errors import Gone

log = logging.getLogger("codexremote.codex")

DEFAULT_REQUEST_TIMEOUT_S = 30.0  # generous: thread/resume of a 1,500-turn thread took 5 s


@dataclass(frozen=True)
class IncomingRequest:
    """A request app-server sent to us (approvals, elicitations, ...)."""

    request_id: int | str
    method: str
    params: dict[str, Any]
    generation: int


NotificationHandler = Callable[[str, dict[str, Any]], None]
ServerRequestHandler = Callable[[IncomingRequest], Awaitable[None]]


@dataclass
class DispatcherStats:
    malformed_lines: int = 0
    notifications: int = 0
    server_requests: int = 0
    unmatched_responses: int = 0


class Dispatcher:
    def __init__(
        self,
        transport: Transport,
        *,
        generation: int,
        on_notification: NotificationHandler,
        on_server_request: ServerRequestHandler,
    ) -> None:
        self.transport = transport
        self.generation = generation
        self._on_notification = on_notification
        self._on_server_request = on_server_request
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._open_server_requests: set[int | str] = set()
        self._closed = False
        self.stats = DispatcherStats()

    @property
    def closed(self) -> bool:
        return self._closed

    async def run(self) -> None:
        try:
            while True:
                line = await self.transport.receive()
                if line is None:
                    return
                if line.strip():
                    self._handle_line(line)
        finally:
            self._close("app-server connection closed")

    def _handle_line(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            self._malformed(line)
            return
        if not isinstance(message, dict):
            self._malformed(line)
            return
        method = message.get("method")
        msg_id = message.get("id")
        if isinstance(method, str):
            params = message.get("params")
            params = params if isinstance(params, dict) else {}
            if msg_id is None:
                self.stats.notifications += 1
                self._safe_call(self._on_notification, method, params)
            elif isinstance(msg_id, int | str):
                self._deliver_server_request(msg_id, method, params)
            else:
                self._malformed(line)
            return
        if isinstance(msg_id, int) and ("result" in message or "error" in message):
            self._resolve(msg_id, message)
            return
        self._malformed(line)

    def _malformed(self, line: bytes) -> None:
        self.stats.malformed_lines += 1
        log.warning("skipped a malformed app-server line (%d bytes)", len(line))

    def _safe_call(self, handler: NotificationHandler, method: str, params: dict[str, Any]) -> None:
        try:
            handler(method, params)
        except Exception:
            log.exception("notification handler failed for %s", method)

    def _deliver_server_request(
        self, msg_id: int | str, method: str, params: dict[str, Any]
    ) -> None:
        self.stats.server_requests += 1
        self._open_server_requests.add(msg_id)
        request = IncomingRequest(msg_id, method, params, self.generation)

        async def deliver() -> None:
            try:
                await self._on_server_request(request)
            except Exception:
                log.exception("server request handler failed for %s", method)

        asyncio.get_running_loop().create_task(deliver())

    def _resolve(self, msg_id: int, message: dict[str, Any]) -> None:
        future = self._pending.pop(msg_id, None)
        if future is None or future.done():
            self.stats.unmatched_responses += 1
            return
        error = message.get("error")
        if error is not None:
            err = error if isinstance(error, dict) else {"message": str(error)}
            code = err.get("code")
            future.set_exception(
                AppServerError(
                    str(err.get("message") or "app-server error"),
                    rpc_code=code if isinstance(code, int) else None,
                    data=err.get("data"),
                )
            )
        else:
            future.set_result(message.get("result"))

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        if self._closed:
            raise AppServerGone("app-server is not running")
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        payload: dict[str, Any] = {"id": msg_id, "method": method}
        if params is not None:
            payload["params"] = params
        try:
            await self.transport.send(_encode(payload))
        except (ConnectionError, OSError) as exc:
            self._pending.pop(msg_id, None)
            raise AppServerGone("app-server is not running") from exc
        try:
            return await asyncio.wait_for(future, timeout or DEFAULT_REQUEST_TIMEOUT_S)
        except TimeoutError as exc:
            raise RequestTimeout(f"app-server did not answer {method} in time") from exc
        finally:
            self._pending.pop(msg_id, None)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        payload: dict[str, Any] = {"method": method}
        if params is not None:
            payload["params"] = params
        try:
            await self.transport.send(_encode(payload))
        except (ConnectionError, OSError) as exc:
            raise AppServerGone("app-server is not running") from exc

    async def respond(self, request: IncomingRequest, result: Any) -> None:
        """Answer a server request exactly once, and only on the connection that sent it."""
        await self._answer(request, {"id": request.request_id, "result": result})

    async def respond_error(self, request: IncomingRequest, code: int, message: str) -> None:
        body = {"id": request.request_id, "error": {"code": code, "message": message}}
        await self._answer(request, body)

    async def _answer(self, request: IncomingRequest, body: dict[str, Any]) -> None:
        if request.generation != self.generation or self._closed:
            raise Gone("Approval is no longer pending: app-server restarted")
        if request.request_id not in self._open_server_requests:
            raise Gone("This request was already answered")
        self._open_server_requests.discard(request.request_id)
        try:
            await self.transport.send(_encode(body))
        except (ConnectionError, OSError) as exc:
            raise Gone("Approval is no longer pending: app-server exited") from exc

    def _close(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._open_server_requests.clear()
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(AppServerGone(reason))

    def fail_pending(self, reason: str) -> None:
        """Called by the supervisor when it sees the child exit before the pipe closes."""
        self._close(reason)


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
