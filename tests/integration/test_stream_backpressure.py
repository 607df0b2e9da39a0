"""REL-05/REL-07/SEC-10: a slow stream client is dropped without slowing the others."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from codexremote.api.stream import CLIENT_QUEUE_MAX
from codexremote.app import BAD_TOKEN_LIMIT_PER_MINUTE, Services, build_services
from codexremote.settings import Settings
from tests.harness.processes import fake_app_server_launcher, rss_mb
from tests.integration.conftest import free_port, start_companion


@pytest.fixture
async def light_companion(tmp_path: Path) -> AsyncIterator[tuple[Services, int, str]]:
    """A real companion whose child is the small fake app-server (no model needed)."""

    port = free_port()
    settings = Settings(port=port, state_dir=tmp_path / "state", codex_home=tmp_path / "ch")
    services = build_services(settings, launcher=fake_app_server_launcher())
    token = services.devices.issue("phone").token
    server, task = await start_companion(settings, services)
    yield services, port, token
    server.should_exit = True
    await asyncio.wait_for(task, 15)


async def test_rel05_slow_client_is_dropped_and_others_get_everything(
    light_companion: tuple[Services, int, str],
) -> None:
    services, port, token = light_companion
    headers = {"Authorization": f"Bearer {token}"}
    url = f"ws://127.0.0.1:{port}/v1/stream"
    slow = await connect(url, additional_headers=headers, max_queue=1)
    fast = await connect(url, additional_headers=headers, max_size=None)
    await asyncio.sleep(0.1)
    assert len(services.hub.clients) == 2
    total = CLIENT_QUEUE_MAX * 3
    received: list[int] = []

    async def read_all() -> None:
        while len(received) < total:
            frame = json.loads(await fast.recv())
            received.append(frame["payload"]["n"])

    reader = asyncio.create_task(read_all())
    before = rss_mb()
    pad = "x" * 512
    for n in range(total):
        services.bus.publish("message_delta", "T", {"n": n, "delta": pad, "itemId": "I"})
        if n % 100 == 0:
            await asyncio.sleep(0.01)  # ~10k events/s: ten times app-server's busiest rate
    await asyncio.wait_for(reader, 60)
    assert received == list(range(total))
    deadline = time.monotonic() + 10
    while len(services.hub.clients) > 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert len(services.hub.clients) == 1, "the slow client should have been dropped"
    growth = rss_mb() - before
    print(f"\nT12 client that never reads: dropped at the queue cap, RSS growth {growth:.1f} MB")
    assert growth < 50, f"RSS grew {growth:.1f} MB"
    await fast.close()
    slow.transport.abort()


async def test_sec10_first_message_auth_and_bad_frames(
    light_companion: tuple[Services, int, str],
) -> None:
    services, port, token = light_companion
    url = f"ws://127.0.0.1:{port}/v1/stream?chatId=T"
    # A browser: no header, token in the first message.
    ws = await connect(url)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    await asyncio.sleep(0.1)
    services.bus.publish("turn_started", "T", {"turnId": "U"})
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["event"] == "turn_started" and frame["chatId"] == "T"
    # Garbage after auth is ignored; the socket keeps working.
    await ws.send("not json")
    await ws.send(json.dumps({"type": "resume", "lastSeq": 1, "extra": True}))
    services.bus.publish("turn_completed", "T", {"turnId": "U"})
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["event"] == "turn_completed"
    await ws.close()
    # A wrong token in the first message closes with 1008.
    bad = await connect(url)
    await bad.send(json.dumps({"type": "auth", "token": "0" * 64}))
    await asyncio.wait_for(bad.wait_closed(), 5)
    assert bad.close_code == 1008
    # Not an auth message at all: closed too.
    junk = await connect(url)
    await junk.send(json.dumps({"type": "auth", "token": token, "smuggled": 1}))
    await asyncio.wait_for(junk.wait_closed(), 5)
    assert junk.close_code == 1008


async def test_rel06_resync_when_gap_is_too_old(light_companion: tuple[Services, int, str]) -> None:
    services, port, token = light_companion
    for n in range(5):
        services.bus.publish("message_delta", "T", {"n": n, "delta": "x", "itemId": "I"})
    headers = {"Authorization": f"Bearer {token}"}
    # A seq from the future (another companion run) cannot be replayed.
    ws = await connect(
        f"ws://127.0.0.1:{port}/v1/stream?chatId=T&lastSeq=999999", additional_headers=headers
    )
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["event"] == "resync" and frame["chatId"] == "T"
    assert isinstance(frame["timestamp"], int) and "payload" in frame
    await ws.close()
    # A recent seq replays exactly the gap.
    first = services.bus.last_seq - 2
    ws = await connect(
        f"ws://127.0.0.1:{port}/v1/stream?chatId=T&lastSeq={first}", additional_headers=headers
    )
    frames = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(2)]
    assert [f["seq"] for f in frames] == [first + 1, first + 2]
    await ws.close()


async def test_sec10_first_message_auth_is_capped_and_rate_limited(
    light_companion: tuple[Services, int, str],
) -> None:
    from codexremote.api.stream import MAX_UNAUTHENTICATED_SOCKETS

    services, port, token = light_companion
    url = f"ws://127.0.0.1:{port}/v1/stream?chatId=T"
    # Sockets that never authenticate: only so many may wait at once; a newcomer
    # takes the place of the one that has waited longest (issue 9, defect 7).
    waiting = [await connect(url) for _ in range(MAX_UNAUTHENTICATED_SOCKETS)]
    await asyncio.sleep(0.1)
    assert services.hub.unauthenticated == MAX_UNAUTHENTICATED_SOCKETS
    newcomer = await connect(url)
    await asyncio.wait_for(waiting[0].wait_closed(), 5)
    assert waiting[0].close_code == 1013
    assert services.hub.unauthenticated == MAX_UNAUTHENTICATED_SOCKETS
    for ws in [*waiting, newcomer]:
        await ws.close()
    await asyncio.sleep(0.1)
    assert services.hub.unauthenticated == 0
    # Bad tokens: REST's rule (close 1008), then 1013 once the address is over the limit.
    codes = []
    for _ in range(BAD_TOKEN_LIMIT_PER_MINUTE + 2):
        bad = await connect(url)
        await bad.send(json.dumps({"type": "auth", "token": "f" * 64}))
        await asyncio.wait_for(bad.wait_closed(), 5)
        codes.append(bad.close_code)
    assert codes == [1008] * BAD_TOKEN_LIMIT_PER_MINUTE + [1013, 1013]
    # A native client with a valid header token is not locked out by that.
    ok = await connect(url, additional_headers={"Authorization": f"Bearer {token}"})
    services.bus.publish("turn_started", "T", {"turnId": "U"})
    assert json.loads(await asyncio.wait_for(ok.recv(), 5))["event"] == "turn_started"
    await ok.close()
