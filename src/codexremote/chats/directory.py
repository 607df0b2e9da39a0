"""The drawer's source of truth: every app-server thread, in memory.

Filled by a full paginated ``thread/list`` (all pages, not only the first) and
then kept fresh by notifications (``thread/started``, name/status/archive
changes, turn activity), so ``GET /v1/projects`` and ``GET /v1/chats`` answer
from memory. A full re-list runs again when the cache is older than
``RELIST_INTERVAL_S`` (in the background; readers never wait for it once warm)
and after every app-server restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from codexremote.chats.models import ChatThread, Project
from codexremote.ids import UNKNOWN_CWD, project_id_for_cwd

log = logging.getLogger("codexremote.chats")

LIST_PAGE_SIZE = 200
MAX_LIST_PAGES = 500  # 100,000 threads; a guard against a cursor loop
RELIST_INTERVAL_S = 60.0

Requester = Callable[[str, dict[str, Any]], Awaitable[Any]]


@dataclass
class ThreadInfo:
    id: str
    cwd: str
    name: str | None
    preview: str
    created_at: int
    updated_at: int
    status: str | None = None
    archived: bool = False
    project_id: str = ""  # sha256 of cwd, computed once (the drawer lists thousands)

    def __post_init__(self) -> None:
        if not self.project_id:
            self.project_id = project_id_for_cwd(self.cwd)

    def row(self) -> dict[str, Any]:
        """The wire ``ChatThread`` as a plain dict (no model validation on the hot path)."""
        title = (self.name or "").strip() or self.preview.strip() or "Untitled chat"
        return {
            "id": self.id,
            "projectId": self.project_id,
            "title": title[:200],
            "preview": self.preview,
            "updatedAt": self.updated_at or self.created_at,
            "cwd": self.cwd,
            "status": self.status,
        }

    def chat(self) -> ChatThread:
        return ChatThread(**self.row())


def _seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    # Never let milliseconds leak into a seconds field (wire-api.md 13).
    return int(value / 1000) if value > 10_000_000_000 else int(value)


def thread_info(raw: dict[str, Any]) -> ThreadInfo | None:
    thread_id = raw.get("id")
    if not isinstance(thread_id, str) or not thread_id:
        return None
    cwd = raw.get("cwd")
    status = raw.get("status")
    name = raw.get("name")
    preview = raw.get("preview")
    return ThreadInfo(
        id=thread_id,
        cwd=cwd if isinstance(cwd, str) and cwd else UNKNOWN_CWD,
        name=name if isinstance(name, str) else None,
        preview=preview if isinstance(preview, str) else "",
        created_at=_seconds(raw.get("createdAt")),
        updated_at=_seconds(raw.get("updatedAt")) or _seconds(raw.get("createdAt")),
        status=status.get("type") if isinstance(status, dict) else None,
    )


def project_title(cwd: str) -> str:
    if cwd == UNKNOWN_CWD:
        return "No Project"
    return PurePath(cwd).name or cwd


class ChatDirectory:
    def __init__(self, request: Requester) -> None:
        self._request = request
        self._threads: dict[str, ThreadInfo] = {}
        self._known_projects: dict[str, str] = {}  # project id → cwd, never forgotten
        self._listed_at: float | None = None
        self._relist_lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    # -- loading -----------------------------------------------------------
    async def ensure_loaded(self) -> None:
        if self._listed_at is None:
            await self.relist()
        elif time.monotonic() - self._listed_at > RELIST_INTERVAL_S:
            self._relist_in_background()

    def _relist_in_background(self) -> None:
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._quiet_relist())

    async def _quiet_relist(self) -> None:
        with contextlib.suppress(Exception):
            await self.relist()

    async def relist(self) -> None:
        async with self._relist_lock:
            seen: dict[str, ThreadInfo] = {}
            cursor: str | None = None
            for _ in range(MAX_LIST_PAGES):
                params: dict[str, Any] = {"limit": LIST_PAGE_SIZE, "sortKey": "updated_at"}
                if cursor:
                    params["cursor"] = cursor
                result = await self._request("thread/list", params)
                for raw in result.get("data", []) if isinstance(result, dict) else []:
                    if isinstance(raw, dict) and (info := thread_info(raw)) is not None:
                        seen[info.id] = info
                next_cursor = result.get("nextCursor") if isinstance(result, dict) else None
                if not isinstance(next_cursor, str) or not next_cursor or next_cursor == cursor:
                    break
                cursor = next_cursor
            for info in seen.values():
                old = self._threads.get(info.id)
                if old is not None and old.status and info.status in (None, "notLoaded"):
                    info.status = old.status
                self._threads[info.id] = info
                self._known_projects[info.project_id] = info.cwd
            self._listed_at = time.monotonic()

    def mark_stale(self) -> None:
        self._listed_at = None if not self._threads else 0.0

    # -- notifications -----------------------------------------------------
    def on_notification(self, method: str, params: dict[str, Any]) -> None:
        if method == "thread/started":
            raw = params.get("thread")
            if isinstance(raw, dict):
                self.upsert(raw)
            return
        thread_id = params.get("threadId")
        if not isinstance(thread_id, str):
            return
        info = self._threads.get(thread_id)
        if info is None:
            return
        if method == "thread/name/updated":
            name = params.get("threadName", params.get("name"))
            info.name = name if isinstance(name, str) else info.name
        elif method == "thread/status/changed":
            status = params.get("status")
            if isinstance(status, dict) and isinstance(status.get("type"), str):
                info.status = status["type"]
        elif method in ("thread/archived", "thread/deleted"):
            info.archived = True
        elif method == "thread/unarchived":
            info.archived = False
        elif method in ("turn/started", "turn/completed"):
            info.updated_at = max(info.updated_at, int(time.time()))

    def upsert(self, raw: dict[str, Any]) -> ChatThread | None:
        info = thread_info(raw)
        if info is None:
            return None
        old = self._threads.get(info.id)
        if old is not None:
            info.updated_at = max(info.updated_at, old.updated_at)
            info.name = info.name or old.name
            info.preview = info.preview or old.preview
        self._threads[info.id] = info
        self._known_projects[info.project_id] = info.cwd
        return info.chat()

    def note_title(self, chat_id: str, title: str) -> None:
        """After a send: a placeholder title becomes the message text (wire-api 4.15)."""
        info = self._threads.get(chat_id)
        if info is None:
            return
        info.updated_at = max(info.updated_at, int(time.time()))
        current = (info.name or info.preview).strip().lower()
        if current in ("", "untitled chat", "new thread") and title:
            info.preview = title

    # -- reads -------------------------------------------------------------
    def get(self, chat_id: str) -> ThreadInfo | None:
        return self._threads.get(chat_id)

    def cwd_for_project(self, project_id: str) -> str | None:
        return self._known_projects.get(project_id)

    def projects(self) -> list[Project]:
        latest: dict[str, int] = {}
        counts: dict[str, int] = {}
        for info in self._threads.values():
            if info.archived:
                continue
            latest[info.cwd] = max(latest.get(info.cwd, 0), info.updated_at or info.created_at)
            counts[info.cwd] = counts.get(info.cwd, 0) + 1
        for cwd in self._known_projects.values():
            latest.setdefault(cwd, 0)
        projects = [
            Project(
                id=project_id_for_cwd(cwd),
                cwd=cwd,
                title=project_title(cwd),
                lastUpdatedAt=updated,
                chatCount=counts.get(cwd, 0),
            )
            for cwd, updated in latest.items()
        ]
        projects.sort(key=lambda p: (-p.lastUpdatedAt, p.title.lower()))
        return projects

    def chats(self, project_id: str | None) -> list[ChatThread]:
        return [ChatThread(**row) for row in self.chat_rows(project_id)]

    def chat_rows(self, project_id: str | None) -> list[dict[str, Any]]:
        """Newest first; plain dicts for the drawer's hot path."""
        rows = [
            info.row()
            for info in self._threads.values()
            if not info.archived and (project_id is None or info.project_id == project_id)
        ]
        rows.sort(key=lambda row: (-row["updatedAt"], row["id"]))
        return rows

    def remember_project(self, cwd: str) -> None:
        self._known_projects[project_id_for_cwd(cwd)] = cwd
