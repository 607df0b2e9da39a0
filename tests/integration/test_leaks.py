"""REL-12 / T18: fds, threads and child processes return to baseline."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest
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


SUPERVISOR_CYCLES = [30, pytest.param(100, marks=pytest.mark.slow)]  # T18: 100
WS_CYCLES = [300, pytest.param(1_000, marks=pytest.mark.slow)]  # T18: 1,000


@pytest.mark.parametrize("cycles", SUPERVISOR_CYCLES)
async def test_rel12_supervisor_start_stop_cycles_leak_nothing(cycles: int) -> None:
    async def cycle() -> None:
        supervisor = AppServerSupervisor(fake_app_server_launcher())
        await supervisor.start()
        assert await supervisor.wait_ready(10)
        await supervisor.request("thread/start", {"cwd": "/"})
        await supervisor.stop()

    await cycle()  # warm up lazily created resources (child watcher, thread pool)
    fds, threads, children = open_fds(), threading.active_count(), child_pids()
    started = time.perf_counter()
    for _ in range(cycles):
        await cycle()
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.2)
    after = open_fds(), threading.active_count(), child_pids()
    print(
        f"\nT18 {cycles} child start/stop cycles in {elapsed:.1f} s: fds {fds} -> {after[0]}, "
        f"threads {threads} -> {after[1]}, children {len(children)} -> {len(after[2])}"
    )
    assert after[0] <= fds + TOLERANCE
    assert after[1] <= threads + TOLERANCE
    assert after[2] <= children


@pytest.mark.parametrize("cycles", WS_CYCLES)
async def test_rel12_websocket_connect_disconnect_cycles_leak_nothing(
    light_companion: tuple[Services, int, str],  # noqa: F811
    cycles: int,
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
    threads, children = threading.active_count(), child_pids()
    started = time.perf_counter()
    for _ in range(cycles):
        await cycle()
    elapsed = time.perf_counter() - started
    for _ in range(50):
        if not services.hub.clients:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    assert services.hub.clients == set()
    assert services.bus.subscriber_count == subscribers
    print(
        f"\nT18 {cycles} WebSocket connect/disconnect cycles in {elapsed:.1f} s: fds {fds} -> "
        f"{open_fds()}, threads {threads} -> {threading.active_count()}, children "
        f"{len(children)} -> {len(child_pids())}"
    )
    assert open_fds() <= fds + TOLERANCE
    assert threading.active_count() <= threads + TOLERANCE
    assert child_pids() <= children
