"""Fire-and-forget desktop syncs for the chat actions (wire-api.md 4.10, 4.15, 10).

:class:`DesktopSync` remembers, per chat, its project cwd/title and chat title
(a bounded LRU) and turns ``fire(chat_id, reason)`` into a background
``bridge.sync(...)``. Lifecycle contract:

- ``fire`` is a plain function that returns at once and never raises, so it can
  be the ``ChatService`` activity hook; the HTTP answer never waits for it.
- One sync runs at a time (two would fight over the same window). A request
  fired while one runs is queued; a newer one replaces a queued one (only the
  latest chat matters to the person looking at the screen).
- Every result is logged (``desktop_sync_completed`` at info, or
  ``desktop_sync_skipped`` at info once, then debug) without titles or argv, and
  kept as ``last_result``.
- ``aclose()`` cancels a running sync (its command is killed) at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import PurePath

from codexremote.desktop.models import (
    SYNC_REASONS,
    DesktopBridge,
    DesktopSyncRequest,
    DesktopSyncResult,
    SyncReason,
    is_placeholder_title,
)
from codexremote.ids import UNKNOWN_CWD

log = logging.getLogger("codexremote.desktop")

MAX_REMEMBERED_CHATS = 1_000  # LRU bound on remembered chat labels (a few hundred bytes each)


@dataclass
class _ChatLabels:
    cwd: str | None
    chat_title: str | None
    project_title: str | None
    updated_at: float
    order: int  # tie-break: later remember wins


def _project_title(cwd: str | None) -> str | None:
    if not cwd or cwd == UNKNOWN_CWD:
        return None
    return PurePath(cwd).name or cwd


class DesktopSync:
    def __init__(self, bridge: DesktopBridge, *, max_chats: int = MAX_REMEMBERED_CHATS) -> None:
        if max_chats < 1:
            raise ValueError("max_chats must be at least 1")
        self.bridge = bridge
        self._max_chats = max_chats
        self._chats: OrderedDict[str, _ChatLabels] = OrderedDict()
        self._order = itertools.count()
        self._pending: DesktopSyncRequest | None = None
        self._worker: asyncio.Task[None] | None = None
        self._skip_logged = False
        self.last_result: DesktopSyncResult | None = None
        self.last_request: DesktopSyncRequest | None = None
        self.completed = 0  # syncs that returned a result
        self.superseded = 0  # queued requests replaced by a newer one

    # -- memory ------------------------------------------------------------
    def remember(
        self,
        chat_id: str,
        cwd: str | None,
        chat_title: str | None,
        *,
        project_title: str | None = None,
        updated_at: float | None = None,
    ) -> None:
        """Note a chat's labels (on create, list, activate, send). ``project_title``
        defaults to the cwd's last component; ``updated_at`` (epoch seconds) orders
        fallback candidates and defaults to the previous value, or now for a new chat."""
        cwd = cwd if cwd and cwd != UNKNOWN_CWD else None
        old = self._chats.pop(chat_id, None)
        if updated_at is None:
            updated_at = old.updated_at if old is not None else time.time()
        title = chat_title.strip() if chat_title else None
        if (
            is_placeholder_title(title)
            and old is not None
            and not is_placeholder_title(old.chat_title)
        ):
            title = old.chat_title  # never downgrade a real title to a placeholder
        self._chats[chat_id] = _ChatLabels(
            cwd=cwd,
            chat_title=title or None,
            project_title=project_title or _project_title(cwd),
            updated_at=updated_at,
            order=next(self._order),
        )
        while len(self._chats) > self._max_chats:
            self._chats.popitem(last=False)

    def labels(self, chat_id: str) -> tuple[str | None, str | None, str | None] | None:
        """(cwd, chat title, project title) remembered for a chat, or None."""
        found = self._chats.get(chat_id)
        if found is None:
            return None
        return found.cwd, found.chat_title, found.project_title

    def request_for(self, chat_id: str, reason: SyncReason) -> DesktopSyncRequest:
        labels = self._chats.get(chat_id)
        if labels is None:
            return DesktopSyncRequest(chat_id, reason, None, None, None)
        self._chats.move_to_end(chat_id)
        return DesktopSyncRequest(
            chat_id=chat_id,
            reason=reason,
            cwd=labels.cwd,
            chat_title=None if is_placeholder_title(labels.chat_title) else labels.chat_title,
            project_title=labels.project_title,
            fallback_chat_title=(
                self._fallback_title(chat_id, labels.cwd) if reason == "message_sent" else None
            ),
        )

    def _fallback_title(self, chat_id: str, cwd: str | None) -> str | None:
        """The most recently updated other chat of the same project with a real title."""
        if cwd is None:
            return None
        best: _ChatLabels | None = None
        for other_id, other in self._chats.items():
            if other_id == chat_id or other.cwd != cwd or is_placeholder_title(other.chat_title):
                continue
            if best is None or (other.updated_at, other.order) > (best.updated_at, best.order):
                best = other
        return best.chat_title if best is not None else None

    # -- firing ------------------------------------------------------------
    def fire(self, chat_id: str, reason: str) -> None:
        """Schedule a sync and return at once; never raises (the caller's request
        must not fail because the desktop could not be nudged)."""
        try:
            self._fire(chat_id, reason)
        except Exception:
            log.exception("desktop sync could not be scheduled")

    def _fire(self, chat_id: str, reason: str) -> None:
        if reason not in SYNC_REASONS:
            log.warning("desktop sync: unknown reason %r ignored", reason)
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            log.warning("desktop sync: no running event loop; %s not synced", chat_id)
            return
        sync_reason: SyncReason = "message_sent" if reason == "message_sent" else "chat_activated"
        if self._pending is not None:
            self.superseded += 1
            log.debug("desktop sync for %s superseded by %s", self._pending.chat_id, chat_id)
        self._pending = self.request_for(chat_id, sync_reason)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="desktop-sync")

    async def _drain(self) -> None:
        while self._pending is not None:
            request, self._pending = self._pending, None
            self.last_request = request
            result = await self._sync_one(request)
            self.last_result = result
            self.completed += 1
            self._log(request, result)

    async def _sync_one(self, request: DesktopSyncRequest) -> DesktopSyncResult:
        try:
            return await self.bridge.sync(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bridge bug must not kill the worker
            log.exception("desktop bridge raised")
            error = f"desktop bridge error: {type(exc).__name__}"
            return DesktopSyncResult(
                attempted=True,
                status="failed",
                reason=error,
                refreshed=False,
                selection_status=None,
                errors=[error],
            )

    def _log(self, request: DesktopSyncRequest, result: DesktopSyncResult) -> None:
        if not result.attempted:
            level = logging.DEBUG if self._skip_logged else logging.INFO
            self._skip_logged = True
            log.log(
                level,
                "desktop_sync_skipped chat=%s reason=%s status=%s why=%s",
                request.chat_id,
                request.reason,
                result.status,
                result.reason,
            )
            return
        log.info(
            "desktop_sync_completed chat=%s reason=%s %s",
            request.chat_id,
            request.reason,
            result.to_log(),
        )

    # -- lifecycle -----------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._worker is not None and not self._worker.done()

    async def wait_idle(self) -> None:
        """Wait until no sync runs or is queued (tests, `verify`)."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    async def aclose(self) -> None:
        """Drop a queued request and cancel a running sync (shutdown)."""
        self._pending = None
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
