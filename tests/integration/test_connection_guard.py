"""SEC-19 connection guard and SEC-13 stream query strings, with the server `serve` runs.

In-process: ``CompanionServer`` with ``uvicorn_config`` (the guarded protocols),
the fake app-server as child, short deadlines so each test takes about a second.
The flood against a real ``codexremote serve`` is in test_connection_flood.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from codexremote.app import Services, build_services, create_app
from codexremote.cli.serve import PROTOCOL_LOGGER, keep_tokens_out_of_logs
from codexremote.connguard import GRACE_S, ConnectionGuard
from codexremote.server import CompanionServer, uvicorn_config
from codexremote.settings import Settings
from tests.harness.processes import fake_app_server_launcher, free_port

pytestmark = pytest.mark.integration

DEADLINE_S = 1.0  # header and body-idle deadline of these tests (the default is 5 s / 10 s)
WAIT_S = 10 * DEADLINE_S  # how long a test waits for the server to act before failing


@dataclass
class Guarded:
    services: Services
    guard: ConnectionGuard
    port: int
    token: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@asynccontextmanager
async def guarded_companion(tmp_path: Path, guard: ConnectionGuard) -> AsyncIterator[Guarded]:
    settings = Settings(port=free_port(), state_dir=tmp_path / "s", codex_home=tmp_path / "ch")
    services = build_services(settings, launcher=fake_app_server_launcher())
    token = services.devices.issue("phone").token
    server = CompanionServer(uvicorn_config(create_app(services), settings, guard), services.hub)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    assert await services.supervisor.wait_ready(10)
    try:
        yield Guarded(services, guard, settings.port, token)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def short_guard(**kw: int) -> ConnectionGuard:
    return ConnectionGuard(header_timeout_s=DEADLINE_S, body_idle_timeout_s=DEADLINE_S, **kw)


async def closed_after(reader: asyncio.StreamReader, started: float) -> float:
    """Seconds from ``started`` until the server closed the socket (EOF or reset)."""
    try:
        while await asyncio.wait_for(reader.read(65536), WAIT_S):
            pass
    except ConnectionResetError:
        pass
    return time.perf_counter() - started


async def test_sec19_a_silent_socket_is_closed_at_the_header_deadline(tmp_path: Path) -> None:
    async with guarded_companion(tmp_path, short_guard()) as companion:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", companion.port)
        elapsed = await closed_after(reader, started)
        writer.close()
        assert elapsed >= DEADLINE_S
        assert companion.guard.stats.timed_out == 1
        assert companion.guard.total == 0
        print(f"\nSEC-19 silent socket closed after {elapsed:.2f} s (deadline {DEADLINE_S} s)")


async def test_sec19_trickled_headers_are_closed_at_the_header_deadline(tmp_path: Path) -> None:
    async with guarded_companion(tmp_path, short_guard()) as companion:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", companion.port)

        async def trickle() -> None:
            for byte in b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 1000:
                writer.write(bytes([byte]))
                await asyncio.sleep(DEADLINE_S / 20)  # a byte keeps arriving, the request never

        trickler = asyncio.create_task(trickle())
        elapsed = await closed_after(reader, started)
        trickler.cancel()
        writer.close()
        assert elapsed >= DEADLINE_S
        assert companion.guard.stats.timed_out == 1
        print(f"\nSEC-19 trickled headers closed after {elapsed:.2f} s")


async def test_sec19_a_stalled_body_is_closed_and_complete_ones_are_served(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with guarded_companion(tmp_path, short_guard()) as companion:
        head = (
            "POST /v1/pairing/confirm HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", companion.port)
        writer.write(head.encode() + b'{"a": ')  # 6 of 100 bytes, then nothing
        started = time.perf_counter()
        elapsed = await closed_after(reader, started)
        writer.close()
        assert elapsed >= DEADLINE_S
        assert companion.guard.stats.timed_out == 1
        assert "Traceback" not in caplog.text and "unhandled error" not in caplog.text
        # A kept-alive connection idle for less than uvicorn's keep-alive timeout but
        # longer than the header deadline still gets its next request served: the
        # deadline starts with the request's first byte.
        async with httpx.AsyncClient(base_url=companion.base_url) as client:
            assert (await client.get("/health")).status_code == 200
            await asyncio.sleep(DEADLINE_S * 1.5)
            assert (await client.get("/v1/projects", headers=companion.auth())).status_code == 200
        assert companion.guard.stats.timed_out == 1
        print(f"\nSEC-19 stalled body closed after {elapsed:.2f} s")


async def test_sec19_silent_sockets_cannot_starve_a_paired_client(tmp_path: Path) -> None:
    guard = ConnectionGuard(max_total=16, max_per_client=8)  # default deadlines: caps only
    async with guarded_companion(tmp_path, guard) as companion:
        silent = [await asyncio.open_connection("127.0.0.1", companion.port) for _ in range(40)]
        async with httpx.AsyncClient(base_url=companion.base_url) as client:
            response = await client.get("/v1/projects", headers=companion.auth())
            assert response.status_code == 200
        stream = await connect(companion.ws_url, additional_headers=companion.auth())
        # More silent sockets: an open stream is never the one that gives way.
        silent += [await asyncio.open_connection("127.0.0.1", companion.port) for _ in range(40)]
        await asyncio.sleep(3 * GRACE_S)  # the caps are enforced past the grace period
        await asyncio.wait_for(await stream.ping(), 5)
        companion.services.bus.publish("turn_started", "T", {"turnId": "U"})
        assert json.loads(await asyncio.wait_for(stream.recv(), 5))["event"] == "turn_started"
        assert guard.count("127.0.0.1") <= guard.max_per_client
        assert guard.stats.evicted >= 80 - guard.max_per_client
        await stream.close()
        for _, writer in silent:
            writer.close()
        print(f"\nSEC-19 guard after 80 silent sockets: {guard.stats}")


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def raw_get(port: int, extra_headers: str) -> Connection:
    """A kept-alive connection that has been answered once."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra_headers}\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
    length = int({k.lower(): v for k, v in fields.items()}[b"content-length"])
    await reader.readexactly(length)
    return reader, writer


async def test_sec19_behind_the_tailnet_proxy_each_forwarded_address_counts_apart(
    tmp_path: Path,
) -> None:
    guard = ConnectionGuard(max_total=64, max_per_client=3)  # default deadlines: caps only
    async with guarded_companion(tmp_path, guard) as companion:
        # tailscale serve connects from loopback and appends the peer to X-Forwarded-For.
        phone = "X-Forwarded-For: 100.64.0.7\r\nTailscale-User-Login: me@example.com\r\n"
        laptop = "X-Forwarded-For: 203.0.113.9, 100.64.0.8\r\n"
        phones = [await raw_get(companion.port, phone) for _ in range(3)]
        laptops = [await raw_get(companion.port, laptop) for _ in range(2)]
        assert guard.count("fwd:100.64.0.7") == 3
        assert guard.count("fwd:100.64.0.8") == 2
        assert guard.count("127.0.0.1") == 0
        # Silent loopback sockets fill loopback's own bucket, not the phones'.
        silent = [await asyncio.open_connection("127.0.0.1", companion.port) for _ in range(10)]
        await asyncio.sleep(3 * GRACE_S)  # the caps are enforced past the grace period
        assert guard.count("127.0.0.1") == 3
        assert guard.count("fwd:100.64.0.7") == 3
        # A 4th connection of the same tailnet peer is over its cap: closed unanswered.
        reader, writer = await asyncio.open_connection("127.0.0.1", companion.port)
        writer.write(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n{phone}\r\n".encode())
        assert await closed_after(reader, time.perf_counter()) < WAIT_S
        assert guard.count("fwd:100.64.0.7") == 3
        for _, w in [*phones, *laptops, *silent, (reader, writer)]:
            w.close()


async def test_sec13_stream_query_strings_are_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> None:
    """uvicorn's own '"WebSocket /v1/stream?..." [accepted]' line (issue 9, defect 5)."""
    caplog.set_level(logging.DEBUG)
    keep_tokens_out_of_logs()  # what `serve` does at start
    protocol_logger = logging.getLogger(PROTOCOL_LOGGER)
    request.addfinalizer(lambda: protocol_logger.setLevel(logging.NOTSET))
    async with guarded_companion(tmp_path, short_guard()) as companion:
        secret = companion.token
        accepted = await connect(
            f"{companion.ws_url}?token={secret}&chatId=x", additional_headers=companion.auth()
        )
        await asyncio.wait_for(await accepted.ping(), 5)
        await accepted.close()
        browser = await connect(f"{companion.ws_url}?token={secret}")
        await browser.send(json.dumps({"type": "auth", "token": "0" * 64}))
        await asyncio.wait_for(browser.wait_closed(), 5)
        with pytest.raises(InvalidStatus):  # refused before the upgrade (403)
            bad = {"Authorization": "Bearer x"}
            await connect(f"{companion.ws_url}?token={secret}", additional_headers=bad)
    ours = [r for r in caplog.records if not r.name.startswith(("websockets.client", "httpx"))]
    lines = [f"{r.name} {r.getMessage()}" for r in ours]
    assert any('"WebSocket /v1/stream" [accepted]' in line for line in lines), lines
    assert not [line for line in lines if secret in line or "token=" in line]
