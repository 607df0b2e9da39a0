"""``POST /v1/debug/ios-log`` (wire-api.md 4.6): the phone's debug log to the computer.

Transport only; ``diagnostics/device_log.py`` validates, bounds and writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from codexremote.api.common import Envelope, read_large_object
from codexremote.diagnostics import save_device_log


class DeviceLogRequest(BaseModel):
    contents: str = Field(
        pattern=r"\S", description="NDJSON lines, trimmed by the companion (at most 4 MiB)."
    )


class SavedLogData(BaseModel):
    path: str = Field(description="Where the log was written, for display.")
    bytes: int = Field(description="Size of the written file in bytes.")


def diagnostics_router(
    state_dir: Path, require_device: Callable[[Request], Awaitable[str]]
) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_device)], tags=["diagnostics"])

    @router.post(
        "/debug/ios-log",
        response_model=Envelope[SavedLogData],
        responses={
            400: {"description": "Debug log contents are required."},
            413: {"description": "The log is over the size limit."},
        },
    )
    async def ios_log(request: Request) -> Any:
        body = await read_large_object(request)
        saved = await asyncio.to_thread(save_device_log, state_dir, body.get("contents"))
        return {"data": {"path": saved.display_path(), "bytes": saved.bytes}}

    return router
