"""Ask on the companion's own terminal (SEC-08).

Only offered when stdin is a TTY. The prompt goes to stderr (next to the
companion's log) and the answer is read from stdin without blocking the event
loop: ``loop.add_reader`` on the terminal fd, or, where the selector cannot
poll it (macOS kqueue refuses some tty devices), a worker thread that polls
with ``select`` in short slices so it stops promptly when the request ends.
One prompt is shown at a time; "y"/"yes" allows, "n"/"no"/empty denies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from codexremote.pairing.confirmation import ConfirmationRequest, NoAnswer

READ_CHUNK = 4096  # bytes read per wake-up (a canonical-mode tty delivers whole lines)
MAX_ANSWER_BYTES = 1024  # a longer "line" is discarded
THREAD_POLL_S = 0.2  # fallback reader: how often it checks whether it should stop


class TerminalConfirmer:
    """A y/N prompt on this process's terminal."""

    name = "terminal"

    def __init__(self, *, input_fd: int | None = None, output: TextIO | None = None) -> None:
        self._fd = input_fd
        self._output = output
        self._lock = asyncio.Lock()

    def _input_fd(self) -> int | None:
        if self._fd is not None:
            return self._fd
        try:
            return sys.stdin.fileno() if sys.stdin is not None else None
        except (ValueError, OSError):
            return None

    def unavailable_reason(self) -> str | None:
        fd = self._input_fd()
        if fd is None or not os.isatty(fd):
            return "stdin is not a terminal"
        return None

    async def confirm(self, request: ConfirmationRequest) -> bool:
        reason = self.unavailable_reason()
        fd = self._input_fd()
        if reason is not None or fd is None:
            raise NoAnswer(reason or "no terminal")
        async with self._lock:
            self._write("\n" + "\n".join(request.prompt_lines()) + "\nAllow? [y/N] ")
            try:
                while True:
                    answer = (await _read_line(fd)).strip().lower()
                    if answer in ("y", "yes"):
                        self._write("Allowed.\n")
                        return True
                    if answer in ("", "n", "no"):
                        self._write("Declined.\n")
                        return False
                    self._write("Please answer y or n: ")
            except asyncio.CancelledError:
                self._write("\n(pairing request answered elsewhere or timed out)\n")
                raise

    def _write(self, text: str) -> None:
        out = self._output if self._output is not None else sys.stderr
        with contextlib.suppress(OSError, ValueError):
            out.write(text)
            out.flush()


async def _read_line(fd: int) -> str:
    """One line from ``fd``; NoAnswer on end of input."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()
    buffer = bytearray()

    def on_data(chunk: bytes) -> None:
        if done.done():
            return
        if not chunk:
            done.set_exception(NoAnswer("the terminal closed"))
            return
        buffer.extend(chunk)
        if b"\n" in buffer:
            line = bytes(buffer.split(b"\n", 1)[0])
            done.set_result(line.decode("utf-8", errors="replace"))
        elif len(buffer) > MAX_ANSWER_BYTES:
            buffer.clear()

    def on_readable() -> None:
        try:
            on_data(os.read(fd, READ_CHUNK))
        except BlockingIOError:
            return
        except OSError as exc:
            if not done.done():
                done.set_exception(NoAnswer(f"cannot read the terminal: {exc}"))

    try:
        loop.add_reader(fd, on_readable)
    except (OSError, ValueError, NotImplementedError):
        return await _read_in_thread(fd, loop, done, on_data)
    try:
        return await done
    finally:
        loop.remove_reader(fd)


async def _read_in_thread(
    fd: int,
    loop: asyncio.AbstractEventLoop,
    done: asyncio.Future[str],
    on_data: Callable[[bytes], None],
) -> str:
    """Fallback reader: ``select`` in short slices so the thread ends with the request."""
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                readable, _, _ = select.select([fd], [], [], THREAD_POLL_S)
                chunk = os.read(fd, READ_CHUNK) if readable else None
            except OSError:
                chunk = b""
            if chunk is not None and not stop.is_set():
                loop.call_soon_threadsafe(on_data, chunk)
                if not chunk:
                    return

    worker = threading.Thread(target=poll, name="terminal-confirm", daemon=True)
    worker.start()
    try:
        return await done
    finally:
        stop.set()
