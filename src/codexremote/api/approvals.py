"""Approval routes (wire-api.md 4.14, 4.18, 6): transport only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from codexremote.api.common import idempotent, read_object
from codexremote.approvals.service import ApprovalService
from codexremote.chats.service import ChatService, validate_chat_id
from codexremote.errors import BadRequest, NotFound
from codexremote.idempotency import IdempotencyKeys, checked_key

MAX_DECISION_CHARS = 64


def approvals_router(
    approvals: ApprovalService,
    chats: ChatService,
    require_device: Callable[[Request], Awaitable[str]],
    keys: IdempotencyKeys,
) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_device)], tags=["approvals"])

    @router.get("/chats/{chat_id}/pending-approval")
    async def pending_approval(chat_id: str) -> dict[str, Any]:
        validate_chat_id(chat_id)
        newest = approvals.newest_for_chat(chat_id)
        if newest is None:
            await chats.require_chat(chat_id)  # unknown chat → 404 (the app reads it as none)
        return {"data": newest.to_wire() if newest is not None else None}

    @router.get("/approvals")
    async def list_open(chat_id: str | None = Query(None, alias="chatId")) -> dict[str, Any]:
        if chat_id is not None:
            validate_chat_id(chat_id)
            items = approvals.open_for_chat(chat_id)
        else:
            items = approvals.all_open()
        return {"data": [item.to_wire() for item in items]}

    @router.get("/approvals/auto-accepted")
    async def auto_accepted(chat_id: str = Query(..., alias="chatId")) -> dict[str, Any]:
        validate_chat_id(chat_id)
        return {"data": [row.to_wire() for row in approvals.auto_accepted(chat_id)]}

    @router.get("/approvals/always-allow")
    async def always_allow() -> dict[str, Any]:
        return {"data": [entry.to_wire() for entry in approvals.always_allow.list()]}

    @router.delete("/approvals/always-allow/{scope_key:path}")
    async def forget_always_allow(scope_key: str) -> dict[str, Any]:
        if len(scope_key) > 256 or not approvals.always_allow.forget(scope_key):
            raise NotFound("No always-allow entry with that key")
        return {"ok": True}

    @router.post("/approvals/{approval_id}")
    async def decide(approval_id: str, request: Request) -> dict[str, Any]:
        body = await read_object(request)
        checked_key(body.get("idempotencyKey"))
        decision = body.get("decision")
        if not isinstance(decision, str) or not decision or len(decision) > MAX_DECISION_CHARS:
            raise BadRequest("Expected decision to be a non-empty string")
        if len(approval_id) > 128:
            raise NotFound("Approval request not found")

        async def answer() -> dict[str, Any]:
            await approvals.decide(approval_id, decision)
            return {"ok": True}

        return await idempotent(keys, request, body, answer)

    return router
