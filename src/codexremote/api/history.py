"""History routes (wire-api.md 4.11, 4.12, 7) plus cursor paging for our own clients.

The original app cannot page, so ``timeline`` returns the whole chat. Approvals
that were auto-accepted by an allow appear as completed activity rows (kinds
from the app's closed enum), and in full under the additive ``autoAccepted``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from codexremote.approvals.service import ApprovalService
from codexremote.chats.service import ChatService
from codexremote.history.models import Activity
from codexremote.history.timeline import HistoryService

DEFAULT_PAGE_SIZE = 50
ROW_KINDS = {"command": "running_command", "fileChange": "file_edited"}


def auto_accept_rows(approvals: ApprovalService, chat_id: str) -> list[Activity]:
    rows = []
    for row in approvals.auto_accepted(chat_id):
        approval = row.approval
        matched = row.matched.to_wire()
        scope = "always" if matched.get("scope") == "always" else "this chat"
        seconds = int(row.at / 1000)
        rows.append(
            Activity(
                id=f"auto-approval:{approval.id}",
                itemId=f"auto-approval:{approval.id}",
                kind=ROW_KINDS.get(approval.kind, "running_command"),  # type: ignore[arg-type]
                title=f"Auto-approved ({scope})",
                detail=approval.summary[:500],
                createdAt=seconds,
                updatedAt=seconds,
                state="completed",
            )
        )
    return rows


def history_router(
    history: HistoryService,
    chats: ChatService,
    approvals: ApprovalService,
    require_device: Callable[[Request], Awaitable[str]],
) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_device)], tags=["history"])

    @router.get("/chats/{chat_id}/timeline")
    async def timeline(chat_id: str) -> dict[str, Any]:
        await chats.require_chat(chat_id)
        result = await history.timeline(chat_id)
        data = result.to_wire()
        extra = auto_accept_rows(approvals, chat_id)
        if extra:
            activities = data["activities"] + [a.model_dump(exclude_none=True) for a in extra]
            activities.sort(key=lambda a: (a["createdAt"], a["id"]))
            data["activities"] = activities
            data["autoAccepted"] = [row.to_wire() for row in approvals.auto_accepted(chat_id)]
        return {"data": data}

    @router.get("/chats/{chat_id}/messages")
    async def messages(chat_id: str) -> dict[str, Any]:
        await chats.require_chat(chat_id)
        found = await history.messages(chat_id)
        return {"data": [m.model_dump(exclude_none=True) for m in found]}

    @router.get("/chats/{chat_id}/history")
    async def page(
        chat_id: str,
        cursor: str | None = Query(None, max_length=512),
        limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=200),
    ) -> dict[str, Any]:
        await chats.require_chat(chat_id)
        result = await history.page(chat_id, cursor, limit)
        return {"data": result.to_wire()}

    return router
