"""A real companion (uvicorn on 127.0.0.1, free port) driving the real app-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from codexremote.app import Services, build_services, create_app
from codexremote.launcher import app_server_launcher
from codexremote.settings import Settings
from tests.harness.processes import free_port

__all__ = ["Companion", "free_port", "start_companion"]

STARTUP_TIMEOUT_S = 30.0


@dataclass
class Companion:
    services: Services
    base_url: str
    port: int
    token: str
    device_id: str
    client: httpx.AsyncClient

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.auth(), **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.client.post(path, headers=self.auth(), json=body, **kw)


async def start_companion(settings: Settings, services: Services) -> tuple[uvicorn.Server, Any]:
    config = uvicorn.Config(
        create_app(services),
        host="127.0.0.1",
        port=settings.port,
        log_config=None,
        access_log=False,
        ws_per_message_deflate=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(int(STARTUP_TIMEOUT_S / 0.02)):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "companion did not start"
    assert await services.supervisor.wait_ready(STARTUP_TIMEOUT_S), services.supervisor.health()
    return server, task


@pytest.fixture
async def companion(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> AsyncIterator[Companion]:
    port = free_port()
    settings = Settings(port=port, state_dir=tmp_path / "state", codex_home=codex_home)
    services = build_services(settings, launcher=app_server_launcher(str(codex_bin), codex_env))
    issued = services.devices.issue("test phone")
    server, task = await start_companion(settings, services)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield Companion(services, base, port, issued.token, issued.device_id, client)
    server.should_exit = True
    await asyncio.wait_for(task, 15)
