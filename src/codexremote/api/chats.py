"""Drawer and chat routes (wire-api.md 4.7-4.17): transport only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from codexremote.api.common import (
    Envelope,
    checked_project_id,
    idempotent,
    large_json,
    read_object,
)
from codexremote.chats.models import (
    Activation,
    ChatThread,
    Project,
    RunState,
    SendResult,
    SteerResult,
    StopResult,
)
from codexremote.chats.service import RUN_STATE_ERROR, ChatService
from codexremote.errors import BadGateway, CodexRemoteError
from codexremote.idempotency import IdempotencyKeys


def chats_router(
    chats: ChatService,
    require_device: Callable[[Request], Awaitable[str]],
    keys: IdempotencyKeys,
    open_approvals: Callable[[], Mapping[str, int]],
) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_device)], tags=["chats"])

    @router.get("/projects", response_model=Envelope[list[Project]])
    async def list_projects() -> Any:
        await chats.directory.ensure_loaded()
        return {"data": chats.directory.projects()}

    @router.get("/chats", responses={200: {"model": Envelope[list[ChatThread]]}})
    async def list_chats(
        request: Request, project_id: str | None = Query(None, alias="projectId")
    ) -> Any:
        # An unknown (well-formed) project id lists no chats: the original app keeps
        # a selected project across refreshes, and an empty list serves it better
        # than an error alert when that project is gone.
        if project_id is not None:
            if not await chats.knows_project(checked_project_id(project_id)):
                return {"data": []}
        else:
            await chats.directory.ensure_loaded()
        # Thousands of rows: plain dicts, serialised once (the model documents the shape).
        return await large_json(request, {"data": chats.drawer_rows(project_id, open_approvals())})

    @router.post("/chats", status_code=201, response_model=Envelope[ChatThread])
    async def create_chat(request: Request) -> Any:
        body = await read_object(request)
        return {"data": await chats.create(body.get("cwd"), body.get("model"))}

    @router.post("/chats/{chat_id}/activate", response_model=Envelope[Activation])
    async def activate(chat_id: str) -> Any:
        return {"data": await chats.activate(chat_id)}

    @router.get("/chats/{chat_id}/run-state", response_model=Envelope[RunState])
    async def run_state(chat_id: str) -> Any:
        try:
            return {"data": await chats.run_state(chat_id)}
        except CodexRemoteError as exc:
            if exc.status >= 500 and RUN_STATE_ERROR not in exc.message:
                raise BadGateway(f"{RUN_STATE_ERROR}: {exc.message}", code=exc.code) from exc
            raise

    @router.post(
        "/chats/{chat_id}/messages",
        status_code=202,
        response_model=Envelope[SendResult],
    )
    async def send_message(chat_id: str, request: Request) -> Any:
        body = await read_object(request)
        return {"data": await idempotent(keys, request, body, lambda: chats.send(chat_id, body))}

    @router.post(
        "/chats/{chat_id}/steer",
        status_code=202,
        response_model=Envelope[SteerResult],
    )
    async def steer(chat_id: str, request: Request) -> Any:
        body = await read_object(request)
        return {"data": await idempotent(keys, request, body, lambda: chats.steer(chat_id, body))}

    @router.post(
        "/chats/{chat_id}/stop",
        response_model=Envelope[StopResult],
    )
    async def stop(chat_id: str, request: Request) -> Any:
        body = await read_object(request)  # the original app posts none: {}
        return {"data": await idempotent(keys, request, body, lambda: chats.stop(chat_id))}

    return router
