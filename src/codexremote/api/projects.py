"""Session sheet routes: project context, narrow git, runtime config (wire-api.md 4.20-4.25)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from codexremote import gitops
from codexremote.api.common import checked_project_id, read_object
from codexremote.chats.service import ChatService
from codexremote.errors import BadRequest, CodexRemoteError
from codexremote.runtime_config import read_runtime_values, write_runtime_settings
from codexremote.settings import Settings

log = logging.getLogger("codexremote.api")

MAX_PATH_QUERY_CHARS = 4096


def projects_router(
    settings: Settings,
    chats: ChatService,
    require_device: Callable[[Request], Awaitable[str]],
) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_device)], tags=["projects"])

    async def project_cwd(project_id: str) -> Path:
        return Path(await chats.require_project_cwd(checked_project_id(project_id)))

    @router.get("/projects/{project_id}/context")
    async def context(project_id: str) -> dict[str, Any]:
        cwd = await project_cwd(project_id)
        data: dict[str, Any] = {
            "projectId": project_id,
            "cwd": str(cwd),
            "runtimeMode": "local",
            "approvalPolicy": None,
            "sandboxMode": None,
            "model": None,
            "modelReasoningEffort": None,
            "trustLevel": None,
        }
        try:
            values = await asyncio.to_thread(
                read_runtime_values, settings.codex_home, str(cwd), state_dir=settings.state_dir
            )
            data.update(values.model_dump())
        except CodexRemoteError as exc:
            data["configError"] = exc.message  # additive: the sheet still shows git
        data["git"] = (await gitops.git_context(cwd)).model_dump()
        return {"data": data}

    @router.get("/projects/{project_id}/git/branches")
    async def branches(project_id: str) -> dict[str, Any]:
        cwd = await project_cwd(project_id)
        return {"data": [b.model_dump() for b in await gitops.list_branches(cwd)]}

    @router.get("/projects/{project_id}/git/diff")
    async def diff(project_id: str, path: str | None = Query(None)) -> dict[str, Any]:
        cwd = await project_cwd(project_id)
        if path is not None and len(path) > MAX_PATH_QUERY_CHARS:
            raise BadRequest("Path is too long")
        wanted = path.strip() if path and path.strip() else None
        return {"data": (await gitops.diff(cwd, wanted)).model_dump()}

    @router.post("/projects/{project_id}/git/checkout")
    async def checkout(project_id: str, request: Request) -> dict[str, Any]:
        cwd = await project_cwd(project_id)
        body = await read_object(request)
        branch = body.get("branch")
        if not isinstance(branch, str):
            raise BadRequest("Branch name is required")
        return {"data": (await gitops.checkout(cwd, branch)).model_dump()}

    @router.post("/projects/{project_id}/git/commit")
    async def commit(project_id: str, request: Request) -> dict[str, Any]:
        cwd = await project_cwd(project_id)
        body = await read_object(request)
        message = body.get("message")
        if not isinstance(message, str):
            raise BadRequest("Commit message is required")
        result = await gitops.commit(cwd, message, run_hooks=settings.git_commit_hooks)
        return {"data": result.model_dump()}

    @router.patch("/runtime/config")
    async def runtime_config(request: Request) -> dict[str, Any]:
        body = await read_object(request)
        policy = body.get("approvalPolicy")
        sandbox = body.get("sandboxMode")
        values = await write_runtime_settings(
            settings.codex_home,
            approval_policy=policy if isinstance(policy, str) and policy else None,
            sandbox_mode=sandbox if isinstance(sandbox, str) and sandbox else None,
            state_dir=settings.state_dir,
        )
        return {"data": values.model_dump(exclude={"trustLevel"})}

    return router
