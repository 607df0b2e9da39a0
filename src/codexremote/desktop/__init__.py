"""Desktop live-sync bridge: bring the visible Codex Desktop app to the chat the
phone is using (wire-api.md 10). macOS does it with ``osascript``/``open``;
everywhere else, or when disabled, a null bridge reports why it did nothing.

Typical wiring::

    desktop = DesktopSync(choose_bridge(enabled=True))
    chats = ChatService(..., on_activity=desktop.fire)
"""

from __future__ import annotations

import asyncio
import sys

from codexremote.desktop.coordinator import MAX_REMEMBERED_CHATS, DesktopSync
from codexremote.desktop.macos import (
    DEFAULT_APP_NAME,
    DEFAULT_COMMAND_TIMEOUT_S,
    DEFAULT_DELAY_S,
    MacOSDesktopBridge,
    Sleep,
)
from codexremote.desktop.models import (
    DesktopBridge,
    DesktopSyncRequest,
    DesktopSyncResult,
    SelectionStatus,
    SyncReason,
    SyncStatus,
    is_placeholder_title,
)
from codexremote.desktop.null import NullDesktopBridge
from codexremote.pairing.commands import CommandResult, CommandRunner, run_command

DISABLED_REASON = "disabled by setting"

__all__ = [
    "DISABLED_REASON",
    "MAX_REMEMBERED_CHATS",
    "CommandResult",
    "CommandRunner",
    "DesktopBridge",
    "DesktopSync",
    "DesktopSyncRequest",
    "DesktopSyncResult",
    "MacOSDesktopBridge",
    "NullDesktopBridge",
    "SelectionStatus",
    "SyncReason",
    "SyncStatus",
    "choose_bridge",
    "is_placeholder_title",
    "unsupported_reason",
]


def unsupported_reason(platform: str = sys.platform) -> str | None:
    """Why desktop sync cannot run on this platform, or None on macOS."""
    if platform == "darwin":
        return None
    return f"desktop sync needs macOS (this is {platform})"


def choose_bridge(
    enabled: bool,
    platform: str = sys.platform,
    *,
    app_name: str = DEFAULT_APP_NAME,
    bundle_id: str | None = None,
    app_path: str | None = None,
    delay_s: float = DEFAULT_DELAY_S,
    command_timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
    runner: CommandRunner = run_command,
    sleep: Sleep = asyncio.sleep,
) -> DesktopBridge:
    """The macOS bridge on macOS when enabled; otherwise a null bridge saying why."""
    if not enabled:
        return NullDesktopBridge(DISABLED_REASON, status="disabled")
    reason = unsupported_reason(platform)
    if reason is not None:
        return NullDesktopBridge(reason)
    return MacOSDesktopBridge(
        app_name=app_name,
        bundle_id=bundle_id,
        app_path=app_path,
        delay_s=delay_s,
        command_timeout_s=command_timeout_s,
        runner=runner,
        sleep=sleep,
    )
