"""A loopback HTTP proxy between the browser and the companion, for two test needs.

1. **Going offline for real.** Playwright's ``context.set_offline`` leaves open
   WebSockets alive in Chromium, and WebKitWebDriver has no such switch. ``cut()``
   closes every open connection (stream socket included) and refuses new ones
   (the browser sees a reset, as after a network change); ``restore()`` lets
   connections through again.
2. **An init script for WebKit.** Classic WebDriver cannot run a script before the
   page's own. With ``inject_probe`` the proxy adds ``<script src="/__probe__.js">``
   as the first element of the shell's ``<head>`` and serves that file itself,
   from the page's own origin, so the shell's CSP (``script-src 'self'``, not
   changed by the proxy) allows it like any shell script.

Each request is forwarded on its own upstream connection with ``Connection:
close`` and answered with ``Connection: close`` (simple and exact; browsers open
new connections as needed). A WebSocket upgrade is spliced byte for byte. The
Host header is kept, so the companion sees the proxy's ``127.0.0.1:<port>`` as the
page's origin, which its Host/Origin checks accept like any loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from tests.harness.loop_teardown import ConnectionLedger
from tests.harness.processes import free_port

MAX_HEAD_BYTES = 64 * 1024
PROBE_PATH = "/__probe__.js"
PROBE_TAG = b'<script src="/__probe__.js"></script>'
READ_CHUNK = 64 * 1024
STOP_GRACE_S = 2.0  # stop(): how long handlers get to end by themselves


class NetProxy:
    def __init__(self, upstream_port: int, *, inject_probe: str | None = None) -> None:
        """``inject_probe``: JavaScript served at /__probe__.js and loaded first by
        the shell document (None: the proxy changes nothing)."""
        self.upstream_port = upstream_port
        self.port = free_port()
        self.probe = inject_probe
        self.offline = False
        self.on_cut: Callable[[], None] | None = None  # e.g. the page guard's allowance
        self.connections = 0
        self._ledger = ConnectionLedger()  # every transport, until stop() closes it
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NetProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def cut(self) -> None:
        """Offline: close every connection now, refuse new ones."""
        if self.on_cut is not None:
            self.on_cut()
        self._call(self._cut())

    def restore(self) -> None:
        self.offline = False

    # --------------------------------------------------------------- internals
    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _start(self) -> None:
        self._server = await self._ledger.start_server(self._handle, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        """Close everything before the loop stops, so no transport or task is left
        for the garbage collector to complain about (loop_teardown.py): handlers get
        a moment to end by themselves (_cut aborted their sockets, and one accepted
        but not yet run sees `offline` and aborts its own), then whatever is left,
        task or transport, is cancelled or aborted."""
        if self._server is not None:
            await self._ledger.stop_server(self._server)
        await self._cut()
        await self._ledger.close_all(STOP_GRACE_S)
        if self._server is not None:
            await self._server.wait_closed()

    async def _cut(self) -> None:
        self.offline = True
        self._ledger.abort_all()  # both sides of every connection, streams included

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.offline:
            _abort(writer)
            return
        self.connections += 1
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            # stop(): end quietly; Python 3.11's start_server callback would log a
            # cancelled handler as an ERROR.
            _abort(writer)
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD_BYTES:
            return
        request_line, *header_lines = head[:-4].split(b"\r\n")
        method, target, _version = request_line.split(b" ", 2)
        headers = [line.split(b":", 1) for line in header_lines if b":" in line]
        names = {name.strip().lower(): value.strip() for name, value in headers}
        path = target.split(b"?", 1)[0]
        if self.probe is not None and method == b"GET" and path == PROBE_PATH.encode():
            await _answer(writer, self.probe.encode(), b"text/javascript; charset=utf-8")
            return
        upstream_reader, upstream_writer = await self._ledger.open_connection(
            "127.0.0.1", self.upstream_port
        )
        try:
            if names.get(b"upgrade", b"").lower() == b"websocket":
                upstream_writer.write(head)
                await _splice(reader, writer, upstream_reader, upstream_writer)
                return
            inject = self.probe is not None and method == b"GET" and path == b"/"
            kept = [
                (n, v)
                for n, v in headers
                if n.strip().lower() not in (b"connection", b"keep-alive")
                and not (inject and n.strip().lower() == b"accept-encoding")
            ]
            out = request_line + b"\r\n"
            out += b"".join(n + b":" + v + b"\r\n" for n, v in kept)
            out += b"Connection: close\r\n\r\n"
            upstream_writer.write(out)
            length = int(names.get(b"content-length", b"0") or 0)
            if length:
                upstream_writer.write(await reader.readexactly(length))
            await upstream_writer.drain()
            response = await upstream_reader.read()  # upstream closes after one answer
            if inject:
                response = _with_probe(response)
            writer.write(_closing(response))
            await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                upstream_writer.close()


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    with contextlib.suppress(Exception):
        transport.abort()


async def _answer(writer: asyncio.StreamWriter, body: bytes, content_type: bytes) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\nCache-Control: no-store\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    await writer.drain()


def _closing(response: bytes) -> bytes:
    """The upstream answer with ``Connection: close`` (the proxy serves one request)."""
    head, sep, body = response.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + sep + body


def _with_probe(response: bytes) -> bytes:
    head, sep, body = response.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0] or b"<head>" not in body:
        return response
    body = body.replace(b"<head>", b"<head>" + PROBE_TAG, 1)
    lines = [
        f"Content-Length: {len(body)}".encode()
        if line.lower().startswith(b"content-length:")
        else line
        for line in head.split(b"\r\n")
    ]
    return b"\r\n".join(lines) + sep + body


async def _splice(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while chunk := await source.read(READ_CHUNK):
                sink.write(chunk)
                await sink.drain()
        _abort(sink)

    await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))
