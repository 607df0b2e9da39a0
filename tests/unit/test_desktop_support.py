"""Test doubles for the desktop bridge tests: the OS seam and a timing-free sleep.

``RecordingRunner`` stands in for the operating system (osascript and open do
not exist on Linux): it records every argv the bridge runs and answers from a
per-command script of outcomes, defaulting to success.
"""

from __future__ import annotations

from collections.abc import Sequence

from codexremote.desktop.applescript import (
    ACTIVATE_SCRIPT,
    RELOAD_SCRIPT,
    REVEAL_SCRIPT,
    SELECT_SCRIPT,
)
from codexremote.desktop.macos import OPEN, OSASCRIPT
from codexremote.pairing.commands import CommandResult

SCRIPT_KINDS = {
    ACTIVATE_SCRIPT: "activate",
    REVEAL_SCRIPT: "reveal",
    RELOAD_SCRIPT: "reload",
    SELECT_SCRIPT: "select",
}
DEFAULT_OUTPUT = {
    "activate": "activated\n",
    "reveal": "revealed\n",
    "reload": "reloaded\n",
    "select": "selected_chat\n",
    "open_app": "",
    "deeplink": "",
}

Answer = CommandResult | BaseException


def kind_of(argv: Sequence[str]) -> str:
    if argv[0] == OSASCRIPT:
        return SCRIPT_KINDS[argv[2]]
    assert argv[0] == OPEN, argv
    return "deeplink" if argv[-1].startswith("codex://") else "open_app"


def ok(stdout: str = "") -> CommandResult:
    return CommandResult(0, stdout, "")


def fail(stderr: str, code: int = 1) -> CommandResult:
    return CommandResult(code, "", stderr)


TIMED_OUT = CommandResult(None, "", "")


class RecordingRunner:
    def __init__(self, answers: dict[str, list[Answer]] | None = None) -> None:
        self.answers = {kind: list(queue) for kind, queue in (answers or {}).items()}
        self.calls: list[list[str]] = []
        self.timeouts: list[float] = []

    async def __call__(self, argv: Sequence[str], timeout_s: float) -> CommandResult:
        argv = list(argv)
        self.calls.append(argv)
        self.timeouts.append(timeout_s)
        kind = kind_of(argv)
        queue = self.answers.get(kind)
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer
        return ok(DEFAULT_OUTPUT[kind])

    def kinds(self) -> list[str]:
        return [kind_of(argv) for argv in self.calls]


class RecordingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def assert_never_quits_or_opens_workspace(calls: list[list[str]]) -> None:
    """wire-api.md 10: never quit the app, never `codex app <workspace>`, no shell."""
    for argv in calls:
        assert argv[0] in (OSASCRIPT, OPEN)
        assert not any(part.lower().startswith("quit") for part in argv)
        assert "sh" not in argv[0].rsplit("/", 1)[-1]
    for script in SCRIPT_KINDS:
        assert "quit" not in script.lower()
        assert "do shell script" not in script
