"""Run a short external command without a shell and without blocking the loop.

Confirmation dialogs (osascript, zenity, kdialog) and ``tailscale status`` go
through a :class:`CommandRunner`, so tests can check the exact argv a dialog
would run and feed captured output back. The default runner kills the child
on timeout or cancellation (with its process group), so an abandoned dialog
never lingers on screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

KILL_WAIT_S = 2.0  # how long to wait for a killed child to be reaped


@dataclass(frozen=True)
class CommandResult:
    returncode: int | None  # None: timed out (the child was killed)
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


class CommandRunner(Protocol):
    async def __call__(self, argv: Sequence[str], timeout_s: float) -> CommandResult: ...


async def run_command(argv: Sequence[str], timeout_s: float) -> CommandResult:
    """Run ``argv`` (no shell), return its output; kill it on timeout or cancel.

    Raises ``FileNotFoundError``/``PermissionError`` if the program cannot start.
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # own process group: a kill also reaches its children
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        await _kill(process)
        return CommandResult(None, "", "")
    except BaseException:
        await _kill(process)
        raise
    return CommandResult(
        process.returncode,
        out.decode("utf-8", errors="replace"),
        err.decode("utf-8", errors="replace"),
    )


async def _kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the child's whole process group (so no grandchild keeps the pipes
    open) and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.shield(process.wait()), KILL_WAIT_S)
