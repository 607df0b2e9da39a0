"""The seam at the child process: a line transport.

``StdioTransport`` talks to a spawned ``codex app-server`` over its stdin/stdout;
``MemoryTransport`` is an in-process pair for unit tests of the dispatcher.

Framing (REL-04): one JSON object per ``\\n``-terminated line. Lines longer than
``MAX_LINE_BYTES`` are discarded up to their newline and counted, so a huge or
endless line can neither kill the reader nor grow memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Protocol

log = logging.getLogger("codexremote.codex")

MAX_LINE_BYTES = 32 * 1024 * 1024  # big diffs and command output arrive as one line
READ_CHUNK_BYTES = 256 * 1024
STDERR_TAIL_LINES = 50  # kept for /health when the child is dead
STDIN_CLOSE_GRACE_S = 2.0  # REL-03: after closing stdin, wait this long for a clean exit
TERM_GRACE_S = 2.0  # REL-03: after SIGTERM to the process group, wait before SIGKILL
EXIT_POLL_S = 0.1  # REL-01: child exit is noticed within this (well under 1 s)


class Transport(Protocol):
    async def send(self, line: bytes) -> None: ...

    async def receive(self) -> bytes | None:
        """Next complete line without its newline, or None at end of stream."""
        ...

    async def close(self) -> None: ...

    async def wait_exit(self) -> int | None:
        """Return when the peer is gone (child exited); its exit code if known."""
        ...


class LineFramer:
    """Splits a byte stream into bounded lines; counts the oversize ones it drops."""

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self.oversize_lines = 0
        self._buffer = bytearray()
        self._discarding = False
        self._ready: deque[bytes] = deque()

    def feed(self, chunk: bytes) -> None:
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            self._append(chunk[start:] if newline < 0 else chunk[start:newline])
            if newline < 0:
                return
            if self._discarding:
                self._discarding = False
            else:
                self._ready.append(bytes(self._buffer))
            self._buffer.clear()
            start = newline + 1

    def _append(self, piece: bytes) -> None:
        if self._discarding or not piece:
            return
        if len(self._buffer) + len(piece) > self.max_line:
            self._buffer.clear()
            self._discarding = True
            self.oversize_lines += 1
            log.warning("app-server sent a line over %d bytes; skipped", self.max_line)
            return
        self._buffer += piece

    def pop(self) -> bytes | None:
        return self._ready.popleft() if self._ready else None


class StdioTransport:
    """A spawned child speaking newline-delimited JSON on stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.framer = LineFramer()
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        self._write_lock = asyncio.Lock()

    @classmethod
    async def spawn(
        cls, argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None
    ) -> StdioTransport:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,  # own process group: shutdown reaches grandchildren
            limit=READ_CHUNK_BYTES,
        )
        return cls(process)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def send(self, line: bytes) -> None:
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            raise ConnectionResetError("app-server stdin is closed")
        async with self._write_lock:
            stdin.write(line + b"\n")
            await stdin.drain()

    async def receive(self) -> bytes | None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            line = self.framer.pop()
            if line is not None:
                return line
            chunk = await stdout.read(READ_CHUNK_BYTES)
            if not chunk:
                return None
            self.framer.feed(chunk)

    async def _drain_stderr(self) -> None:
        stderr = self.process.stderr
        if stderr is None:
            return
        framer = LineFramer(max_line=64 * 1024)
        while True:
            chunk = await stderr.read(READ_CHUNK_BYTES)
            if not chunk:
                return
            framer.feed(chunk)
            while (raw := framer.pop()) is not None:
                text = raw.decode("utf-8", "replace").rstrip()
                if text:
                    self.stderr_tail.append(text)
                    log.debug("app-server stderr: %s", text)

    async def close(self) -> None:
        """Close stdin, then SIGTERM, then SIGKILL the whole process group (REL-03)."""
        process = self.process
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        if not await self._wait(STDIN_CLOSE_GRACE_S):
            self._signal_group(signal.SIGTERM)
            if not await self._wait(TERM_GRACE_S):
                self._signal_group(signal.SIGKILL)
                await self._wait(TERM_GRACE_S)
        # The group may hold grandchildren even after the leader exited.
        self._signal_group(signal.SIGKILL)
        self._stderr_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._stderr_task

    async def wait_exit(self) -> int | None:
        # Poll the return code: ``Process.wait()`` also waits for the pipes to close,
        # which a surviving grandchild (e.g. the native binary behind the npm
        # launcher) can hold open for ever.
        while self.process.returncode is None:  # noqa: ASYNC110
            await asyncio.sleep(EXIT_POLL_S)
        return self.process.returncode

    async def _wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.wait_exit(), timeout)
        except TimeoutError:
            return False
        return True

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)


class MemoryTransport:
    """One end of an in-memory line pipe; see :func:`memory_pair`."""

    def __init__(self, inbox: asyncio.Queue[bytes | None], outbox: asyncio.Queue[bytes | None]):
        self._inbox = inbox
        self._outbox = outbox
        self.closed = False
        self._exited = asyncio.Event()

    async def send(self, line: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("transport closed")
        await self._outbox.put(line)

    async def receive(self) -> bytes | None:
        return await self._inbox.get()

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._exited.set()
            await self._outbox.put(None)

    async def wait_exit(self) -> int | None:
        await self._exited.wait()
        return None


def memory_pair() -> tuple[MemoryTransport, MemoryTransport]:
    a_to_b: asyncio.Queue[bytes | None] = asyncio.Queue()
    b_to_a: asyncio.Queue[bytes | None] = asyncio.Queue()
    return MemoryTransport(b_to_a, a_to_b), MemoryTransport(a_to_b, b_to_a)
