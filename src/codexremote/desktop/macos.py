"""Bring Codex Desktop to a chat on macOS with plain system commands (wire-api.md 10).

Steps, each command with its own timeout (SIGKILL of its process group):

1. activate the running app (``osascript`` ACTIVATE_SCRIPT, no waiting);
2. if that failed: ``open <app path>`` / ``open -b <bundle>`` / ``open -a <name>``,
   sleep ``delay``, activate again waiting up to 4 s for it to run; if that
   fails too the sync stops as ``failed``;
3. sleep ``delay``;
4. deep link ``open [-b <bundle>] codex://threads/<percent-encoded id>``; on
   success the status is ``deeplink_opened_chat`` and it sleeps
   max(4 x delay, 0.9 s);
5. deep link opened and reason ``message_sent``: Cmd+Down x6 ("reveal latest");
6. deep link failed: the sidebar selection script (titles as arguments);
7. deep link failed and reason ``message_sent``: Cmd+R, wait, select again
   (``reload_selected_chat`` when it then finds the chat).

It never quits the app and never runs ``codex app <workspace>`` (that can open
a new empty chat in the visible app). Commands are argv lists, never a shell;
the programs are the fixed system paths below. The command runner is the seam
to the OS, so tests can check the exact argv without a Mac.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from codexremote.desktop.applescript import (
    ACTIVATE_SCRIPT,
    ARGV_SENTINEL,
    RELOAD_SCRIPT,
    REVEAL_SCRIPT,
    SELECT_SCRIPT,
)
from codexremote.desktop.models import (
    CHAT_SHOWN,
    DesktopSyncRequest,
    DesktopSyncResult,
    SelectionStatus,
)
from codexremote.pairing.commands import CommandRunner, run_command

log = logging.getLogger("codexremote.desktop")

OSASCRIPT = "/usr/bin/osascript"  # fixed system paths: no PATH lookup to hijack
OPEN = "/usr/bin/open"
DEEP_LINK_PREFIX = "codex://threads/"

DEFAULT_APP_NAME = "Codex"
DEFAULT_DELAY_S = 0.25  # CODEX_DESKTOP_SYNC_DELAY_MS of the original
DEFAULT_COMMAND_TIMEOUT_S = 5.0  # CODEX_DESKTOP_SYNC_COMMAND_TIMEOUT_MS of the original
MIN_SETTLE_S = 0.9  # after a deep link or Cmd+R: max(4 x delay, this)
SETTLE_DELAY_FACTOR = 4
ACTIVATE_POLL_STEPS = 20  # second activation waits up to 20 x 0.2 s = 4 s for the app
REVEAL_PRESSES_DEEPLINK = 6  # Cmd+Down presses after a deep link (message_sent)
REVEAL_PRESSES_SELECTION = 4  # Cmd+Down presses after a sidebar selection (message_sent)
MAX_TITLE_CHARS = 500  # a sidebar label is far shorter; bounds the argv
MAX_ERROR_CHARS = 200  # one line of stderr in an error string

Sleep = Callable[[float], Awaitable[None]]


def deep_link(chat_id: str) -> str:
    return DEEP_LINK_PREFIX + quote(chat_id, safe="")


def _argument(text: str | None) -> str:
    """A script argument: "" for unknown, no NUL (exec refuses it), bounded."""
    if text is None:
        return ""
    return text.replace("\x00", "").strip()[:MAX_TITLE_CHARS]


@dataclass
class _Outcome:
    ok: bool
    output: str = ""
    error: str = ""


@dataclass
class _Attempt:
    """What one sync ran and what went wrong, turned into the result at the end."""

    request: DesktopSyncRequest
    commands: list[list[str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def redact(self, text: str) -> str:
        """Titles may be a user's first message: keep them out of error strings."""
        for secret in (
            self.request.chat_title,
            self.request.project_title,
            self.request.fallback_chat_title,
        ):
            value = _argument(secret)
            if len(value) >= 3:
                text = text.replace(value, "<title>")
        return text

    def result(self, selection: SelectionStatus | None) -> DesktopSyncResult:
        ok = not self.errors
        return DesktopSyncResult(
            attempted=True,
            status="synced" if ok else "failed",
            reason=None if ok else self.errors[0],
            refreshed=ok,
            selection_status=selection,
            errors=list(self.errors),
            commands=[list(argv) for argv in self.commands],
            notes=list(self.notes),
            elapsed_s=time.monotonic() - self.started,
        )


class MacOSDesktopBridge:
    def __init__(
        self,
        *,
        app_name: str = DEFAULT_APP_NAME,
        bundle_id: str | None = None,
        app_path: str | None = None,
        delay_s: float = DEFAULT_DELAY_S,
        command_timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
        runner: CommandRunner = run_command,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not app_name.strip():
            raise ValueError("app_name must not be empty")
        if app_path is not None and not app_path.startswith("/"):
            raise ValueError("app_path must be an absolute path, e.g. /Applications/Codex.app")
        if delay_s < 0 or command_timeout_s <= 0:
            raise ValueError("delay_s must be >= 0 and command_timeout_s > 0")
        self.app_name = app_name
        self.bundle_id = bundle_id or None
        self.app_path = app_path or None
        self.delay_s = delay_s
        self.command_timeout_s = command_timeout_s
        self._runner = runner
        self._sleep = sleep

    @property
    def settle_s(self) -> float:
        return max(SETTLE_DELAY_FACTOR * self.delay_s, MIN_SETTLE_S)

    # -- argv builders (pure, so tests and docs can show them) -------------
    def _script(self, script: str, *args: str) -> list[str]:
        return [OSASCRIPT, "-e", script, ARGV_SENTINEL, self.app_name, self.bundle_id or "", *args]

    def activate_argv(self, wait_steps: int) -> list[str]:
        return self._script(ACTIVATE_SCRIPT, str(wait_steps))

    def open_app_argv(self) -> list[str]:
        if self.app_path:
            return [OPEN, self.app_path]
        if self.bundle_id:
            return [OPEN, "-b", self.bundle_id]
        return [OPEN, "-a", self.app_name]

    def deep_link_argv(self, chat_id: str) -> list[str]:
        target = ["-b", self.bundle_id] if self.bundle_id else []
        return [OPEN, *target, deep_link(chat_id)]

    def reveal_argv(self, presses: int) -> list[str]:
        return self._script(REVEAL_SCRIPT, str(presses))

    def reload_argv(self) -> list[str]:
        return self._script(RELOAD_SCRIPT)

    def select_argv(self, request: DesktopSyncRequest, presses: int) -> list[str]:
        return self._script(
            SELECT_SCRIPT,
            _argument(request.project_title),
            _argument(request.chat_title),
            _argument(request.fallback_chat_title),
            str(presses),
        )

    # -- the sync ------------------------------------------------------------
    async def sync(self, request: DesktopSyncRequest) -> DesktopSyncResult:
        attempt = _Attempt(request)
        if not await self._activate(attempt):
            return attempt.result(None)
        await self._sleep(self.delay_s)
        message_sent = request.reason == "message_sent"
        linked = await self._run(attempt, self.deep_link_argv(request.chat_id), "deep link")
        if linked.ok:
            await self._sleep(self.settle_s)
            if message_sent:
                revealed = await self._run(
                    attempt, self.reveal_argv(REVEAL_PRESSES_DEEPLINK), "reveal latest"
                )
                if not revealed.ok:
                    attempt.errors.append(revealed.error)
            return attempt.result("deeplink_opened_chat")
        attempt.notes.append(linked.error)
        selection = await self._select_fallback(attempt, request, message_sent)
        if selection is not None and selection not in CHAT_SHOWN:
            attempt.errors.append(
                f"desktop refresh did not reveal the expected chat (status: {selection})"
            )
        return attempt.result(selection)

    async def _activate(self, attempt: _Attempt) -> bool:
        first = await self._run(attempt, self.activate_argv(0), "activate")
        if first.ok:
            return True
        attempt.notes.append(first.error)
        opened = await self._run(attempt, self.open_app_argv(), "open app")
        if not opened.ok:
            attempt.notes.append(opened.error)
        await self._sleep(self.delay_s)
        second = await self._run(attempt, self.activate_argv(ACTIVATE_POLL_STEPS), "activate")
        if second.ok:
            return True
        detail = opened.error if not opened.ok else second.error
        attempt.errors.append(f"could not activate {self.app_name}: {detail}")
        return False

    async def _select_fallback(
        self, attempt: _Attempt, request: DesktopSyncRequest, message_sent: bool
    ) -> SelectionStatus | None:
        """Steps 6-7: select in the sidebar; for a sent message also Cmd+R and re-select
        (a turn started by the companion's own app-server shows only after a reload)."""
        presses = REVEAL_PRESSES_SELECTION if message_sent else 0
        selection, error = await self._select(attempt, request, presses)
        if message_sent:
            reloaded = await self._run(attempt, self.reload_argv(), "reload (Cmd+R)")
            if reloaded.ok:
                await self._sleep(self.settle_s)
                again, again_error = await self._select(attempt, request, presses)
                if again is not None:
                    selection = "reload_selected_chat" if again == "selected_chat" else again
                    if error:
                        attempt.notes.append(error)  # the selection after the reload worked
                        error = ""
                elif again_error != error:
                    attempt.errors.append(again_error)
            else:
                attempt.errors.append(reloaded.error)
        if error:
            attempt.errors.insert(0, error)
        return selection

    async def _select(
        self, attempt: _Attempt, request: DesktopSyncRequest, presses: int
    ) -> tuple[SelectionStatus | None, str]:
        outcome = await self._run(attempt, self.select_argv(request, presses), "sidebar selection")
        if not outcome.ok:
            return None, outcome.error
        if outcome.output == "selected_chat":
            return "selected_chat", ""
        if outcome.output == "selected_project":
            return "selected_project", ""
        if outcome.output == "focused":
            return "focused", ""
        return None, "sidebar selection returned unexpected output"

    async def _run(self, attempt: _Attempt, argv: Sequence[str], what: str) -> _Outcome:
        """Run one command; every failure becomes a short, title-free message."""
        attempt.commands.append(list(argv))
        program = argv[0].rsplit("/", 1)[-1]
        try:
            result = await self._runner(argv, self.command_timeout_s)
        except OSError as exc:
            return _Outcome(False, error=f"{what}: could not run {program} ({exc.strerror or exc})")
        if result.timed_out:
            return _Outcome(
                False,
                error=f"{what}: {program} timed out after {self.command_timeout_s:g} s (killed)",
            )
        if result.returncode != 0:
            lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
            detail = attempt.redact(lines[0])[:MAX_ERROR_CHARS] if lines else ""
            suffix = f": {detail}" if detail else ""
            return _Outcome(False, error=f"{what} failed (exit {result.returncode}){suffix}")
        log.debug("desktop sync: %s ok", what)
        return _Outcome(True, output=result.stdout.strip())
