"""Closing a loopback test server's connections for certain before its loop closes.

The harness servers (``fake_model``, the browser tests' ``netproxy``) run
``asyncio.start_server`` on a loop of their own thread. Stopping one while a
connection is half-born leaves a transport open, and when the garbage collector
later finds it (in whatever thread, during whatever test) it raises
``ResourceWarning: unclosed transport``, which pytest turns into an error of an
unrelated test. CI saw exactly that. Two ways it happens:

1. **An accept in flight meets ``Server.close()``.** asyncio accepts a socket in a
   reader callback and wraps it in a transport one task step later. On Python 3.11
   that step asserts the server is still open (``Server._attach``); after
   ``close()`` the assertion fails, asyncio drops the error silently, and the
   accepted socket is left inside a half-made transport nobody closes. Measured:
   hundreds per run when a client connects while the fake model stops.
   :meth:`ConnectionLedger.stop_server` stops listening first, lets accepts in
   flight finish, and only then closes the server.
2. **A connection whose handler has not run yet** when the loop stops. Every
   transport is recorded the moment the protocol sees it (before any handler code)
   and :meth:`ConnectionLedger.close_all` lets handlers finish (including ones
   created while it waits), cancels stragglers, aborts every transport still open
   and lets their close callbacks run.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
MAX_ROUNDS = 20  # rounds of "wait for tasks": new ones appear only from accepts in flight
CLOSE_TICKS = 3  # call_soon chains to let run: accept -> transport, abort -> close


class ConnectionLedger:
    """The transports one server touched; see the module docstring."""

    def __init__(self) -> None:
        self._transports: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()

    def track(self, transport: asyncio.BaseTransport) -> None:
        self._transports.add(transport)

    async def start_server(self, handler: Handler, host: str, port: int) -> asyncio.Server:
        """``asyncio.start_server`` whose every accepted transport is tracked from
        ``connection_made`` on, before the handler task exists."""
        loop = asyncio.get_running_loop()
        ledger = self

        class TrackedProtocol(asyncio.StreamReaderProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                ledger.track(transport)
                super().connection_made(transport)

        def factory() -> asyncio.StreamReaderProtocol:
            reader = asyncio.StreamReader(limit=2**16, loop=loop)
            return TrackedProtocol(reader, handler, loop=loop)

        return await loop.create_server(factory, host, port)

    async def open_connection(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(host, port)
        self.track(writer.transport)
        return reader, writer

    async def stop_server(self, server: asyncio.Server) -> None:
        """Stop accepting, let accepts already in flight become transports (tracked),
        then close the listener (reason 1 of the module docstring)."""
        loop = asyncio.get_running_loop()
        for sock in server.sockets:
            loop.remove_reader(sock.fileno())
        for _ in range(CLOSE_TICKS):  # accept callback -> task -> its first step
            await asyncio.sleep(0)
        server.close()

    def abort_all(self) -> None:
        for transport in list(self._transports):
            with contextlib.suppress(Exception):
                transport.abort()  # type: ignore[attr-defined]

    async def close_all(self, grace_s: float, *, keep: Iterable[asyncio.Task[Any]] = ()) -> None:
        """Let this loop's other tasks (but ``keep``) end within ``grace_s``, cancel
        the rest, then abort every transport still open. Call it after
        :meth:`stop_server`, so no new connection can add tasks meanwhile."""
        kept = {asyncio.current_task(), *keep}
        for _ in range(MAX_ROUNDS):
            others = [task for task in asyncio.all_tasks() if task not in kept]
            if not others:
                break
            _done, pending = await asyncio.wait(others, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.abort_all()
        for _ in range(CLOSE_TICKS):
            await asyncio.sleep(0)
