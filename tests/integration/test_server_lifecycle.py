"""REL-07 (pings) and REL-13 (ordered shutdown) with the server `serve` runs."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from pathlib import Path

from websockets.asyncio.client import connect

from codexremote.app import build_services, create_app
from codexremote.server import CompanionServer, uvicorn_config
from codexremote.settings import Settings
from tests.harness.processes import fake_app_server_launcher, free_port


async def start(tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    settings = Settings(port=free_port(), state_dir=tmp_path / "s", codex_home=tmp_path / "ch")
    services = build_services(settings, launcher=fake_app_server_launcher())
    token = services.devices.issue("phone").token
    server = CompanionServer(
        uvicorn_config(create_app(services), settings, **overrides), services.hub
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    assert await services.supervisor.wait_ready(10)
    return settings, services, token, server, task


async def test_rel13_stream_clients_get_1001_before_the_child_stops(tmp_path: Path) -> None:
    settings, services, token, server, task = await start(tmp_path)
    ws = await connect(
        f"ws://127.0.0.1:{settings.port}/v1/stream?chatId=T",
        additional_headers={"Authorization": f"Bearer {token}"},
    )
    await asyncio.sleep(0.1)
    server.should_exit = True
    await asyncio.wait_for(ws.wait_closed(), 5)
    state_at_close = services.supervisor.state
    await asyncio.wait_for(task, 10)
    assert ws.close_code == 1001
    assert state_at_close == "ready"  # the child was stopped only afterwards
    assert services.supervisor.state == "stopped"


async def test_rel07_a_socket_that_never_answers_pings_is_closed(tmp_path: Path) -> None:
    settings, _services, token, server, task = await start(
        tmp_path, ws_ping_interval=0.2, ws_ping_timeout=0.2
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", settings.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /v1/stream?chatId=T HTTP/1.1\r\nHost: 127.0.0.1:{settings.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 5)
    assert b" 101 " in status
    started = time.monotonic()
    while await asyncio.wait_for(reader.read(4096), 5):  # pings arrive; we never pong
        pass
    assert time.monotonic() - started < 3
    writer.close()
    server.should_exit = True
    await asyncio.wait_for(task, 10)
