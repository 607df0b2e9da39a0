"""Desktop dialogs that ask the person at this computer (SEC-08).

``MacOSDialogConfirmer`` runs ``osascript`` with a constant AppleScript whose
``on run argv`` handler receives the prompt text as a separate argument. The
device name therefore never becomes AppleScript source, so no quote or
backslash in it can break out of a string literal (stronger than escaping,
which the original did). The first argument after the script is the prompt,
which starts with constant text, so osascript's option parser stops before it.

``LinuxDialogConfirmer`` runs ``zenity --question`` (``--no-markup``, so the
name is not Pango markup) or ``kdialog --yesno`` when a display exists.

Both default to "Decline" (an accidental Enter does not pair) and report a
dialog that gave up, closed without a choice, or could not open as
:class:`NoAnswer`, so another channel can still answer.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping

from codexremote.pairing.commands import CommandRunner, run_command
from codexremote.pairing.confirmation import ConfirmationRequest, NoAnswer

DIALOG_TITLE = "codex-remote pairing"
DEFAULT_DIALOG_TIMEOUT_S = 18.0  # dialogs give up on their own after this (settings override)
DIALOG_GRACE_S = 2.0  # extra time before the runner kills a dialog that did not give up
ZENITY_TIMEOUT_EXIT = 5  # zenity's exit status when --timeout expires
APPLESCRIPT_USER_CANCELED = "-128"  # error number when the cancel button is pressed

Which = Callable[[str], "str | None"]


def _prompt(request: ConfirmationRequest) -> str:
    return "\n".join(request.prompt_lines())


class MacOSDialogConfirmer:
    """``display dialog`` through osascript on macOS."""

    name = "macos-dialog"

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_DIALOG_TIMEOUT_S,
        runner: CommandRunner = run_command,
        platform: str = sys.platform,
        which: Which = shutil.which,
    ) -> None:
        self._timeout_s = timeout_s
        self._runner = runner
        self._platform = platform
        self._which = which

    def unavailable_reason(self) -> str | None:
        if self._platform != "darwin":
            return f"the macOS dialog needs macOS (this is {self._platform})"
        if self._which("osascript") is None:
            return "osascript is not on PATH"
        return None

    def argv(self, request: ConfirmationRequest) -> list[str]:
        give_up = max(1, int(self._timeout_s))
        script = (
            "display dialog (item 1 of argv)"
            f' with title "{DIALOG_TITLE}"'
            ' buttons {"Decline", "Allow"} default button "Decline" cancel button "Decline"'
            f" giving up after {give_up} with icon caution"
        )
        program = self._which("osascript") or "osascript"
        return [program, "-e", "on run argv", "-e", script, "-e", "end run", _prompt(request)]

    async def confirm(self, request: ConfirmationRequest) -> bool:
        reason = self.unavailable_reason()
        if reason is not None:
            raise NoAnswer(reason)
        result = await self._runner(self.argv(request), self._timeout_s + DIALOG_GRACE_S)
        return parse_osascript_answer(result.returncode, result.stdout, result.stderr)


def parse_osascript_answer(returncode: int | None, stdout: str, stderr: str) -> bool:
    """Allow only on ``button returned:Allow`` without ``gave up:true``."""
    if returncode == 0:
        if "gave up:true" in stdout:
            raise NoAnswer("the dialog gave up")
        return "button returned:Allow" in stdout
    if returncode is not None and APPLESCRIPT_USER_CANCELED in stderr:
        return False  # "Decline" is the cancel button
    raise NoAnswer(f"osascript failed: {stderr.strip()[:200] or returncode}")


class LinuxDialogConfirmer:
    """``zenity --question`` or ``kdialog --yesno`` on a Linux desktop."""

    name = "linux-dialog"

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_DIALOG_TIMEOUT_S,
        runner: CommandRunner = run_command,
        platform: str = sys.platform,
        env: Mapping[str, str] | None = None,
        which: Which = shutil.which,
    ) -> None:
        self._timeout_s = timeout_s
        self._runner = runner
        self._platform = platform
        self._env = env if env is not None else os.environ
        self._which = which

    def tool(self) -> str | None:
        """The dialog program to use (zenity preferred), or None."""
        for candidate in ("zenity", "kdialog"):
            if self._which(candidate) is not None:
                return candidate
        return None

    def unavailable_reason(self) -> str | None:
        if not self._platform.startswith("linux"):
            return f"the Linux dialog needs Linux (this is {self._platform})"
        if not (self._env.get("DISPLAY") or self._env.get("WAYLAND_DISPLAY")):
            return "no graphical display (DISPLAY and WAYLAND_DISPLAY are unset)"
        if self.tool() is None:
            return "neither zenity nor kdialog is on PATH"
        return None

    def argv(self, request: ConfirmationRequest) -> list[str]:
        text = _prompt(request)
        tool = self.tool()
        if tool == "kdialog":
            # kdialog guesses rich text from tags; keep a name like "<b>" literal.
            text = text.replace("<", "\u2039").replace(">", "\u203a")
            return kdialog_argv(self._which(tool) or tool, text)
        return zenity_argv(self._which("zenity") or "zenity", text, max(1, int(self._timeout_s)))

    async def confirm(self, request: ConfirmationRequest) -> bool:
        reason = self.unavailable_reason()
        if reason is not None:
            raise NoAnswer(reason)
        result = await self._runner(self.argv(request), self._timeout_s + DIALOG_GRACE_S)
        if result.returncode == 0:
            return True
        if result.returncode == 1:
            return False  # Decline (or the window was closed: deny to be safe)
        if result.returncode == ZENITY_TIMEOUT_EXIT or result.timed_out:
            raise NoAnswer("the dialog gave up")
        raise NoAnswer(f"dialog exited with {result.returncode}")


def zenity_argv(program: str, text: str, timeout_s: int) -> list[str]:
    return [
        program,
        "--question",
        f"--title={DIALOG_TITLE}",
        "--no-markup",
        f"--text={text}",
        "--ok-label=Allow",
        "--cancel-label=Decline",
        "--default-cancel",
        f"--timeout={timeout_s}",
    ]


def kdialog_argv(program: str, text: str) -> list[str]:
    return [
        program,
        "--title",
        DIALOG_TITLE,
        "--yes-label",
        "Allow",
        "--no-label",
        "Decline",
        "--yesno",
        text,
    ]
