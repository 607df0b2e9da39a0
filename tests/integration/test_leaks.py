"""REL-12 / T18: fds, threads and child processes return to baseline."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from websockets.asyncio.client import connect

from codexremote.app import Services
from codexremote.codex.supervisor import AppServerSupervisor
from tests.harness.processes import fake_app_server_launcher
from tests.integration.test_stream_backpressure import light_companion  # noqa: F401

TOLERANCE = 2


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def child_pids() -> set[int]:
    me = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == me and fields[0] != "Z":
                found.add(int(entry.name))
    return found


async def test_rel12_supervisor_start_stop_cycles_leak_nothing() -> None:
    async def cycle() -> None:
        supervisor = AppServerSupervisor(fake_app_server_launcher())
        await supervisor.start()
        assert await supervisor.wait_ready(10)
        await supervisor.request("thread/start", {"cwd": "/"})
        await supervisor.stop()

    await cycle()  # warm up lazily created resources (child watcher, thread pool)
    fds, threads, children = open_fds(), threading.active_count(), child_pids()
    for _ in range(30):
        await cycle()
    await asyncio.sleep(0.2)
    assert open_fds() <= fds + TOLERANCE
    assert threading.active_count() <= threads + TOLERANCE
    assert child_pids() <= children


async def test_rel12_websocket_connect_disconnect_cycles_leak_nothing(
    light_companion: tuple[Services, int, str],  # noqa: F811
) -> None:
    services, port, token = light_companion
    url = f"ws://127.0.0.1:{port}/v1/stream?chatId=T"
    headers = {"Authorization": f"Bearer {token}"}

    async def cycle() -> None:
        ws = await connect(url, additional_headers=headers)
        services.bus.publish("turn_started", "T", {"turnId": "U"})
        await asyncio.wait_for(ws.recv(), 5)
        await ws.close()

    for _ in range(5):
        await cycle()
    await asyncio.sleep(0.2)
    fds, subscribers = open_fds(), services.bus.subscriber_count
    for _ in range(300):
        await cycle()
    for _ in range(50):
        if not services.hub.clients:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    assert services.hub.clients == set()
    assert services.bus.subscriber_count == subscribers
    assert open_fds() <= fds + TOLERANCE
