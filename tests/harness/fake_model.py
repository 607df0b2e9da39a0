"""A scripted fake of the OpenAI Responses streaming API, on 127.0.0.1.

Only the *model* is faked: codex is configured (``codex_home.py``) with a
custom provider whose ``base_url`` is ``FakeModel.url``, and POSTs every
sampling request to ``<url>/responses``. The answer is chosen by a marker word
in the prompt (see ``model_scripts.py``) and streamed as SSE
(``event: <type>\\ndata: <json>\\n\\n``), chunked, then the connection closes.

Lifecycle: the server runs its own asyncio loop in a daemon thread, so it keeps
answering whatever the test's own loop is doing (blocking calls, sync tests).
``start()`` returns once the port is bound; ``stop()`` closes the listener,
cancels in-flight streams and joins the thread. Both are idempotent; use it as
a (sync or async) context manager.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from types import TracebackType
from typing import Any

from tests.harness.loop_teardown import ConnectionLedger
from tests.harness.model_scripts import SCRIPTS, Reply, Script, parse_prompt, pick_marker

HOST = "127.0.0.1"
START_TIMEOUT_S = 5.0  # binding a loopback port takes milliseconds
STOP_TIMEOUT_S = 5.0  # thread join after cancelling in-flight streams
READ_TIMEOUT_S = 10.0  # a client that stalls mid-request is dropped
MAX_HEADER_BYTES = 64 * 1024  # request line + headers
MAX_BODY_BYTES = 256 * 1024 * 1024  # codex re-sends the whole history every turn
POLL_INTERVAL_S = 0.01  # wait_for_requests polling


class FakeModel:
    """The fake model server; ``url`` is the provider base_url (ends with /v1)."""

    def __init__(self) -> None:
        self.scripts: dict[str, Script] = dict(SCRIPTS)
        self._requests: list[dict[str, Any]] = []
        self._headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._ledger = ConnectionLedger()
        self._serve_task: asyncio.Task[Any] | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = 0

    # -- public API -------------------------------------------------------

    @property
    def url(self) -> str:
        """Provider base_url, e.g. ``http://127.0.0.1:41234/v1``."""
        return f"http://{HOST}:{self.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Bodies of every POST /v1/responses so far (a copy, oldest first)."""
        with self._lock:
            return list(self._requests)

    def forget_requests(self) -> None:
        """Drop the recorded bodies and headers (a soak's own memory must not grow)."""
        with self._lock:
            self._requests.clear()
            self._headers.clear()

    @property
    def request_headers(self) -> list[dict[str, str]]:
        """Headers (lower-cased names) of those requests, same order."""
        with self._lock:
            return list(self._headers)

    def add_script(self, marker: str, script: Script) -> None:
        """Register (or replace) the script for a marker word (lower case)."""
        self.scripts[marker.lower()] = script

    async def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` requests arrived; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake model got {len(self.requests)} of {count} requests")
            await asyncio.sleep(POLL_INTERVAL_S)
        return self.requests

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="fake-model", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._error is not None:
            raise RuntimeError(f"fake model did not start: {self._error!r}")

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(STOP_TIMEOUT_S)
        thread.join(STOP_TIMEOUT_S)
        self._thread = None

    def __enter__(self) -> FakeModel:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeModel:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- server thread ----------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start() instead of a thread traceback
            self._error = exc
            self._ready.set()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        self._serve_task = asyncio.current_task()
        self._server = await self._ledger.start_server(self._on_connect, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopped.wait()

    async def _shutdown(self) -> None:
        if self._server is not None:
            await self._ledger.stop_server(self._server)
        # In-flight streams are cancelled at once (grace 0); connections accepted
        # meanwhile are closed too, so none outlives the loop (loop_teardown.py).
        keep = [self._serve_task] if self._serve_task is not None else []
        await self._ledger.close_all(0, keep=keep)
        if self._server is not None:
            await self._server.wait_closed()
        self._stopped.set()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            pass  # client went away or sent garbage: nothing to answer
        except asyncio.CancelledError:
            pass  # stop(): end quietly (asyncio would log a cancelled connection callback)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
        if len(head) > MAX_HEADER_BYTES:
            raise ValueError("headers too large")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        raw = await asyncio.wait_for(_read_body(reader, headers), READ_TIMEOUT_S)
        if method != "POST" or path.split("?")[0].rstrip("/") != "/v1/responses":
            await _send_error(writer, 404, f"no route {method} {path}")
            return
        body = json.loads(raw or b"{}")
        with self._lock:
            seq = len(self._requests)
            self._requests.append(body)
            self._headers.append(headers)
        prompt = parse_prompt(body, seq)
        reply = self.scripts[pick_marker(prompt.text, self.scripts)](prompt)
        await _send_reply(writer, reply)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size + 2))
            parts[-1] = parts[-1][:-2]
            if sum(map(len, parts)) > MAX_BODY_BYTES:
                raise ValueError("body too large")
    length = int(headers.get("content-length", "0"))
    if length > MAX_BODY_BYTES:
        raise ValueError("body too large")
    return await reader.readexactly(length)


async def _send_error(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    body = json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
    writer.write(
        f"HTTP/1.1 {status} Error\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()


async def _send_reply(writer: asyncio.StreamWriter, reply: Reply) -> None:
    if reply.status != 200:
        await _send_error(writer, reply.status, reply.error_message or "error")
        return
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    for event in reply.events:
        if isinstance(event, float | int):
            await writer.drain()
            await asyncio.sleep(event)
            continue
        data = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
        writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
