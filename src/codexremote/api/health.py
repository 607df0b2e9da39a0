"""``GET /health``: unauthenticated liveness, safe to show anyone on the allowlist."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from codexremote import __version__

if TYPE_CHECKING:
    from codexremote.app import Services


def health_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.get("/health")
    async def health() -> dict[str, Any]:
        app_server = services.supervisor.health()
        return {
            "ok": True,
            "appServerState": app_server["state"],
            "service": "codexremote",
            "version": __version__,
            "uptimeSeconds": round(time.monotonic() - services.started_at, 1),
            "appServer": app_server,
        }

    return router
