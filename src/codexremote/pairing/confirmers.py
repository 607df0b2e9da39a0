"""Local confirmation channels and how the companion picks them (SEC-08).

Every channel implements :class:`~codexremote.pairing.confirmation.Confirmer`
plus ``name`` and ``unavailable_reason()``:

- :class:`MacOSDialogConfirmer` (osascript ``display dialog``, macOS)
- :class:`LinuxDialogConfirmer` (zenity / kdialog where a display exists)
- :class:`TerminalConfirmer` (y/N on the companion's own terminal)
- :class:`SocketConfirmer` (``codexremote devices approve|reject`` over the
  0600 control socket); always present, so a headless companion can pair.

:class:`CompositeConfirmer` shows a request on all of its channels at once
and takes the first *answer* (allow or deny); a channel that cannot answer
(``NoAnswer``) drops out; no answer before the timeout means deny.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from codexremote.pairing.commands import CommandRunner, run_command
from codexremote.pairing.confirmation import (
    ConfirmationRequest,
    Confirmer,
    ConfirmerUnavailable,
    NoAnswer,
)
from codexremote.pairing.control import SocketConfirmer
from codexremote.pairing.dialogs import (
    DEFAULT_DIALOG_TIMEOUT_S,
    LinuxDialogConfirmer,
    MacOSDialogConfirmer,
)
from codexremote.pairing.terminal import TerminalConfirmer

__all__ = [
    "Channel",
    "CompositeConfirmer",
    "ConfirmationRequest",
    "Confirmer",
    "ConfirmerUnavailable",
    "LinuxDialogConfirmer",
    "MacOSDialogConfirmer",
    "NoAnswer",
    "PlatformInfo",
    "SocketConfirmer",
    "TerminalConfirmer",
    "choose_confirmer",
]

log = logging.getLogger(__name__)

CONFIRMER_MODES = ("auto", "macos", "linux-dialog", "terminal", "socket")  # Settings.confirmer


class Channel(Confirmer, Protocol):
    name: str

    def unavailable_reason(self) -> str | None: ...


@dataclass(frozen=True)
class PlatformInfo:
    """What ``choose_confirmer`` looks at; tests pass their own."""

    platform: str
    env: Mapping[str, str]
    stdin_is_tty: bool
    which: Callable[[str], str | None] = shutil.which

    @classmethod
    def current(cls) -> PlatformInfo:
        try:
            tty = sys.stdin is not None and os.isatty(sys.stdin.fileno())
        except (ValueError, OSError):
            tty = False
        return cls(platform=sys.platform, env=dict(os.environ), stdin_is_tty=tty)


@dataclass
class CompositeConfirmer:
    """Asks on every channel at once; the first answer wins, the rest are cancelled."""

    channels: Sequence[Channel]
    timeout_s: float | None = None  # None: the caller (PairingManager) owns the timeout
    skipped: Mapping[str, str] = field(default_factory=dict)  # channel name -> why not used

    @property
    def channel_names(self) -> list[str]:
        return [channel.name for channel in self.channels]

    async def confirm(self, request: ConfirmationRequest) -> bool:
        tasks = [
            asyncio.create_task(channel.confirm(request), name=f"confirm-{channel.name}")
            for channel in self.channels
        ]
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout_s is None else loop.time() + self.timeout_s
        pending: set[asyncio.Task[bool]] = set(tasks)
        try:
            while pending:
                remaining = None if deadline is None else max(0.0, deadline - loop.time())
                done, pending = await asyncio.wait(
                    pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    return False  # timed out: reject
                for task in sorted(done, key=tasks.index):
                    if task.cancelled():
                        continue
                    error = task.exception()
                    if error is None:
                        return task.result() is True
                    log.info("confirmation channel %s gave no answer: %s", task.get_name(), error)
            raise NoAnswer("no confirmation channel could answer")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def choose_confirmer(
    mode: str,
    *,
    socket: SocketConfirmer,
    timeout_s: float = DEFAULT_DIALOG_TIMEOUT_S,
    platform: PlatformInfo | None = None,
    runner: CommandRunner = run_command,
) -> CompositeConfirmer:
    """Build the channels for ``Settings.confirmer``; the socket channel is always included.

    ``auto``: the macOS dialog on darwin, the Linux dialog where a display and
    zenity/kdialog exist, the terminal prompt when stdin is a TTY. An explicit
    mode whose channel cannot run here raises ConfirmerUnavailable(reason).
    """
    if mode not in CONFIRMER_MODES:
        raise ValueError(f"unknown confirmer {mode!r}; expected one of {CONFIRMER_MODES}")
    info = platform if platform is not None else PlatformInfo.current()
    candidates: dict[str, Channel] = {
        "macos": MacOSDialogConfirmer(
            timeout_s=timeout_s, runner=runner, platform=info.platform, which=info.which
        ),
        "linux-dialog": LinuxDialogConfirmer(
            timeout_s=timeout_s,
            runner=runner,
            platform=info.platform,
            env=info.env,
            which=info.which,
        ),
        "terminal": TerminalConfirmer(),
    }
    reasons = {
        "macos": candidates["macos"].unavailable_reason(),
        "linux-dialog": candidates["linux-dialog"].unavailable_reason(),
        "terminal": None if info.stdin_is_tty else "stdin is not a terminal",
    }
    wanted = list(candidates) if mode == "auto" else [] if mode == "socket" else [mode]
    channels: list[Channel] = []
    skipped: dict[str, str] = {}
    for key in wanted:
        reason = reasons[key]
        if reason is None:
            channels.append(candidates[key])
        elif mode == "auto":
            skipped[candidates[key].name] = reason
        else:
            raise ConfirmerUnavailable(f"confirmer {mode!r} cannot run here: {reason}")
    channels.append(socket)
    composite = CompositeConfirmer(channels, skipped=skipped)
    log.info("pairing confirmation via: %s", ", ".join(composite.channel_names))
    for name, reason in skipped.items():
        log.info("pairing confirmation channel %s not used: %s", name, reason)
    return composite
