"""Crafted bodies against the real uvicorn server (issue 9.3): hang-ups and deep JSON."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from codexremote.app import build_services
from codexremote.settings import Settings
from tests.harness.processes import fake_app_server_launcher
from tests.integration.conftest import free_port, start_companion

pytestmark = pytest.mark.integration


async def raw_exchange(port: int, head: bytes, body: bytes, *, hang_up: bool) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + body)
    await writer.drain()
    if hang_up:
        writer.close()  # mid-body: Content-Length promised more
        await writer.wait_closed()
        return b""
    answer = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    await writer.wait_closed()
    return answer


async def test_sec16_real_server_hang_up_and_deep_json_log_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    settings = Settings(port=port, state_dir=tmp_path / "state", codex_home=tmp_path / "ch")
    services = build_services(settings, launcher=fake_app_server_launcher())
    token = services.devices.issue("phone").token
    server, task = await start_companion(settings, services)
    try:
        for path, auth in (
            ("/v1/pairing/confirm", b""),
            ("/v1/chats", f"Authorization: Bearer {token}\r\n".encode()),
        ):
            head = (
                (
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 5000\r\n"
                ).encode()
                + auth
                + b"\r\n"
            )
            for _ in range(20):
                await raw_exchange(port, head, b'{"text": "half', hang_up=True)
            deep = b"[" * 1000 + b"]" * 1000
            head_deep = head.replace(b"5000", str(len(deep)).encode())
            answer = await raw_exchange(port, head_deep, deep, hang_up=False)
            assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
            assert b'"code":"json_too_deep"' in answer
        await asyncio.sleep(0.2)  # let the server finish the hung-up requests
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert "Traceback" not in record.getMessage()
        assert record.levelno < logging.ERROR, record.getMessage()
