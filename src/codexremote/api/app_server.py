"""``POST /v1/app-server/restart``: restart the codex app-server child from the phone.

Additive route (our clients; the original app has none). Device token
required; the body is empty or ``{}``. It restarts a ``dead`` child at once
(resetting the failure count) as well as a running one: in-flight requests then
fail typed and open approvals expire, as on a crash (REL-02). It answers once
the new child is ready or after the supervisor's restart wait, with the state
it reached, so a failing child honestly reads ``dead``/``restarting``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from codexremote.api.common import Envelope, read_object
from codexremote.errors import BadRequest

if TYPE_CHECKING:
    from codexremote.codex.supervisor import AppServerSupervisor


class RestartResult(BaseModel):
    state: str = Field(description="starting, restarting, ready, dead or stopped")
    generation: int = Field(description="Number of the child now running (or being started)")


def app_server_router(
    supervisor: AppServerSupervisor, require_device: Callable[[Request], Awaitable[str]]
) -> APIRouter:
    router = APIRouter(
        prefix="/v1/app-server", dependencies=[Depends(require_device)], tags=["app-server"]
    )

    @router.post("/restart", response_model=Envelope[RestartResult])
    async def restart(request: Request) -> Any:
        body = await read_object(request)
        if body:
            raise BadRequest("Expected an empty body or {}")
        await supervisor.restart()
        return {"data": restart_result(supervisor)}

    return router


def restart_result(supervisor: AppServerSupervisor) -> dict[str, Any]:
    return {"state": supervisor.state, "generation": supervisor.generation}
