"""A minimal JSON-RPC stdio client for the harness's own tests.

It only proves the harness drives the real ``codex app-server``; the product's
bridge lives in ``src/codexremote/codex/``. Wire format: one JSON object per
line, no ``"jsonrpc"`` member. Client request ids count up from 1; the server's
own requests (approvals) arrive with ids from its separate counter.

Lifecycle: ``spawn`` starts the child in its own process group and a reader
task; every stdout line is routed to the waiting request future, the
server-request queue or the notification queue (all notifications are also kept
in ``notifications``). On EOF, pending requests fail with ``AppServerExited``.
``close`` closes stdin, waits, then SIGTERMs and finally SIGKILLs the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

LINE_LIMIT = 32 * 1024 * 1024  # stdout line cap: diffs and command output can be large
STDERR_KEEP = 1024 * 1024  # tail of stderr kept for failure messages
REQUEST_TIMEOUT_S = 15.0  # default wait for a response
WAIT_TIMEOUT_S = 15.0  # default wait for a notification / server request
EXIT_GRACE_S = 2.0  # after closing stdin, then again after SIGTERM
BAD_LINE_KEEP = 200  # bytes kept of each non-JSON stdout line

Message = dict[str, Any]


class RpcError(Exception):
    """The server answered a request with ``error``."""

    def __init__(self, method: str, error: Message) -> None:
        self.code = error.get("code")
        self.message = str(error.get("message", ""))
        self.data = error.get("data")
        super().__init__(f"{method}: {self.code} {self.message}")


class AppServerExited(ConnectionError):
    """The child closed stdout (exited) while we were waiting on it."""


class AppServerClient:
    """One ``codex app-server`` child process and its JSON-RPC conversation."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.notifications: list[Message] = []  # every notification, in arrival order
        self.bad_lines: list[bytes] = []  # stdout lines that were not a JSON object (skipped)
        self._notes: asyncio.Queue[Message] = asyncio.Queue()
        self._server_requests: asyncio.Queue[Message] = asyncio.Queue()
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self._next_id = 1
        self._stderr = bytearray()
        self._closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read_stdout())
        self._err_reader = asyncio.create_task(self._read_stderr())

    @classmethod
    async def spawn(
        cls,
        codex_bin: str | Path,
        env: dict[str, str],
        *,
        cwd: Path | None = None,
        args: Sequence[str] = ("app-server",),
    ) -> AppServerClient:
        proc = await asyncio.create_subprocess_exec(
            str(codex_bin),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            limit=LINE_LIMIT,
            start_new_session=True,  # own process group: close() can kill all of it
        )
        return cls(proc)

    @property
    def stderr_text(self) -> str:
        return self._stderr.decode(errors="replace")

    # -- requests ---------------------------------------------------------

    async def request(
        self, method: str, params: Message | None = None, *, timeout: float = REQUEST_TIMEOUT_S
    ) -> Any:
        """Send a request and return its ``result``; raise RpcError / AppServerExited."""
        if self._closed.is_set():
            raise AppServerExited(f"{method}: app-server already exited")
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, future)
        try:
            await self._send({"id": request_id, "method": method, "params": params or {}})
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)

    async def notify(self, method: str, params: Message | None = None) -> None:
        message: Message = {"method": method}
        if params is not None:
            message["params"] = params
        await self._send(message)

    async def respond(self, request_id: Any, result: Any) -> None:
        """Answer a server request (approval, elicitation)."""
        await self._send({"id": request_id, "result": result})

    async def initialize(self, client_name: str = "codexremote-tests") -> Message:
        result: Message = await self.request(
            "initialize",
            {
                "clientInfo": {"name": client_name, "title": "codexremote tests", "version": "0"},
                "capabilities": {"experimentalApi": True},
            },
        )
        await self.notify("initialized")
        return result

    # -- waiting for the server ------------------------------------------

    async def wait_for_notification(
        self,
        method: str,
        predicate: Callable[[Message], bool] | None = None,
        *,
        timeout: float = WAIT_TIMEOUT_S,
    ) -> Message:
        """Consume queued notifications until one matches ``method`` (and ``predicate``)."""

        async def find() -> Message:
            while True:
                note = await self._next(self._notes)
                if note.get("method") == method and (predicate is None or predicate(note)):
                    return note

        return await self._with_timeout(find(), timeout, f"notification {method}")

    async def next_server_request(self, *, timeout: float = WAIT_TIMEOUT_S) -> Message:
        """The next request the server sent us (``{id, method, params}``)."""
        return await self._with_timeout(
            self._next(self._server_requests), timeout, "a server request"
        )

    async def wait_for_turn(self, turn_id: str, *, timeout: float = WAIT_TIMEOUT_S) -> Message:
        """Wait for ``turn/completed`` of ``turn_id``; return its ``turn`` object."""
        note = await self.wait_for_notification(
            "turn/completed", lambda n: n["params"]["turn"]["id"] == turn_id, timeout=timeout
        )
        turn: Message = note["params"]["turn"]
        return turn

    def notes(self, method: str, **params: Any) -> list[Message]:
        """Received notifications of ``method`` whose params contain ``params``."""
        return [
            n["params"]
            for n in self.notifications
            if n.get("method") == method
            and all(n.get("params", {}).get(k) == v for k, v in params.items())
        ]

    async def _next(self, queue: asyncio.Queue[Message]) -> Message:
        if not queue.empty():
            return queue.get_nowait()
        getter = asyncio.ensure_future(queue.get())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            done, _ = await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (getter, closed):
                task.cancel()
        if getter in done and not getter.cancelled():
            return getter.result()
        if not queue.empty():
            return queue.get_nowait()
        raise AppServerExited(f"app-server exited (rc={self.proc.returncode})")

    async def _with_timeout(self, coro: Any, timeout: float, what: str) -> Message:
        try:
            result: Message = await asyncio.wait_for(coro, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no {what} within {timeout} s; stderr tail:\n{self.stderr_text[-2000:]}"
            ) from None
        return result

    # -- I/O --------------------------------------------------------------

    async def _send(self, message: Message) -> None:
        stdin = self.proc.stdin
        if stdin is None or stdin.is_closing():
            raise AppServerExited("stdin is closed")
        try:
            stdin.write(json.dumps(message).encode() + b"\n")
            await stdin.drain()
        except ConnectionError as exc:  # BrokenPipe / reset: the child is gone
            raise AppServerExited(f"cannot write to app-server: {exc}") from exc

    async def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                try:
                    line = await self.proc.stdout.readline()
                except ValueError:  # over LINE_LIMIT: asyncio dropped it, go on
                    self.bad_lines.append(b"<line over LINE_LIMIT>")
                    continue
                if not line:
                    break
                try:
                    message = json.loads(line)
                except ValueError:
                    message = None
                if isinstance(message, dict):
                    self._route(message)
                else:
                    self.bad_lines.append(line[:BAD_LINE_KEEP])
        finally:
            self._closed.set()
            for method, future in self._pending.values():
                if not future.done():
                    future.set_exception(AppServerExited(f"{method}: app-server exited"))

    def _route(self, message: Message) -> None:
        if "method" in message and "id" in message:
            self._server_requests.put_nowait(message)
        elif "method" in message:
            self.notifications.append(message)
            self._notes.put_nowait(message)
        elif message.get("id") in self._pending:
            method, future = self._pending[message["id"]]
            if future.done():
                return
            if "error" in message:
                future.set_exception(RpcError(method, message["error"]))
            else:
                future.set_result(message.get("result"))

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            self._stderr += chunk
            del self._stderr[:-STDERR_KEEP]

    async def close(self, grace_s: float = EXIT_GRACE_S) -> int:
        """Stop the child (stdin EOF, then SIGTERM, then SIGKILL to its group); return rc."""
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                await asyncio.wait_for(self.proc.wait(), grace_s)
                break
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, sig)
        rc = await self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers left in the group
        await asyncio.gather(self._reader, self._err_reader, return_exceptions=True)
        return rc

    async def __aenter__(self) -> AppServerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
