"""What a desktop sync is asked to do and what it reports (wire-api.md 10).

A sync is best effort and never raises: whatever happens ends up in a
:class:`DesktopSyncResult`, which the coordinator logs and keeps for
inspection. ``status`` says honestly what happened: ``synced`` only when the
visible app was brought to the chat, ``skipped``/``disabled`` (with the reason)
when nothing was tried, ``failed`` with error strings otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

SyncReason = Literal["chat_activated", "message_sent"]
SYNC_REASONS: tuple[SyncReason, ...] = ("chat_activated", "message_sent")

SyncStatus = Literal["synced", "skipped", "failed", "disabled"]
SelectionStatus = Literal[
    "deeplink_opened_chat",
    "selected_chat",
    "selected_project",
    "focused",
    "reload_selected_chat",
]
# The selection statuses that mean "the expected chat is on screen".
CHAT_SHOWN: frozenset[str] = frozenset(
    {"deeplink_opened_chat", "selected_chat", "reload_selected_chat"}
)

# Titles the drawer shows for a chat that has no real title yet (wire-api.md 4.15);
# selecting one of these in the sidebar would hit a random chat.
PLACEHOLDER_TITLES = frozenset({"", "untitled chat", "new thread"})


def is_placeholder_title(title: str | None) -> bool:
    return title is None or title.strip().lower() in PLACEHOLDER_TITLES


@dataclass(frozen=True)
class DesktopSyncRequest:
    chat_id: str
    reason: SyncReason
    cwd: str | None
    chat_title: str | None
    project_title: str | None
    fallback_chat_title: str | None = None


@dataclass(frozen=True)
class DesktopSyncResult:
    attempted: bool
    status: SyncStatus
    reason: str | None  # why it was skipped/disabled, or the first error
    refreshed: bool  # activated and no errors
    selection_status: SelectionStatus | None
    errors: list[str] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)  # argv actually run, in order
    notes: list[str] = field(default_factory=list)  # non-fatal steps that failed (fallbacks)
    elapsed_s: float = 0.0

    def to_log(self) -> dict[str, Any]:
        """The fields the original logged as ``desktop_sync_completed``; no titles or argv."""
        return {
            "attempted": self.attempted,
            "status": self.status,
            "reason": self.reason,
            "refreshed": self.refreshed,
            "workspaceOpened": False,  # we never open a workspace (wire-api.md 10)
            "selectionStatus": self.selection_status,
            "errors": list(self.errors),
            "commandCount": len(self.commands),
            "elapsedSeconds": round(self.elapsed_s, 3),
        }


def not_attempted(status: Literal["skipped", "disabled"], reason: str) -> DesktopSyncResult:
    return DesktopSyncResult(
        attempted=False, status=status, reason=reason, refreshed=False, selection_status=None
    )


class DesktopBridge(Protocol):
    """Brings the desktop Codex app to a chat. Implementations never raise."""

    async def sync(self, request: DesktopSyncRequest) -> DesktopSyncResult: ...
