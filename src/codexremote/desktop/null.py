"""The bridge used where desktop sync cannot or must not run.

It never pretends: every call reports ``skipped`` (or ``disabled``) with the
reason, e.g. "desktop sync needs macOS (this is linux)".
"""

from __future__ import annotations

from typing import Literal

from codexremote.desktop.models import DesktopSyncRequest, DesktopSyncResult, not_attempted


class NullDesktopBridge:
    def __init__(self, reason: str, *, status: Literal["skipped", "disabled"] = "skipped") -> None:
        self.reason = reason
        self.status: Literal["skipped", "disabled"] = status

    async def sync(self, request: DesktopSyncRequest) -> DesktopSyncResult:
        return not_attempted(self.status, self.reason)
