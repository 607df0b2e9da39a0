"""T13 / REL-06 / REL-07: the phone's network drops for 5 s and for 60 s during a turn.

Between the phone and the companion (the serve path's uvicorn config, the real
app-server) sits a loopback proxy *process* that stops forwarding for that long
(no FIN, no RST). 5 s is shorter than the companion's ping timeout: the socket
survives and the buffered frames arrive after the drop. 60 s is longer: the
companion closes the socket (its 20 s ping, then 20 s without a pong) and the
phone reconnects with ``lastSeq``. Either way no event is lost or duplicated:
the seqs the phone saw are contiguous and its deltas spell the final answer,
which is also in the rollout (timeline).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from codexremote.app import build_services, create_app
from codexremote.launcher import app_server_launcher
from codexremote.server import CompanionServer, uvicorn_config
from codexremote.settings import Settings
from tests.harness.blackhole_proxy import BlackholeProxy
from tests.harness.model_scripts import SLOW_DELTA_INTERVAL_S, slow_answer_text
from tests.integration.conftest import Companion, free_port

pytestmark = pytest.mark.integration

DELTAS = 200  # 10 s of answer at 50 ms a delta: the drop starts early in the turn
DETECTION_LIMIT_S = 60.0  # how long to wait for the companion to notice a dead socket


@pytest.fixture
async def served(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> AsyncIterator[Companion]:
    """The companion as `serve` runs it (ping 20 s / 20 s), driving the real app-server."""
    settings = Settings(port=free_port(), state_dir=tmp_path / "state", codex_home=codex_home)
    services = build_services(settings, launcher=app_server_launcher(str(codex_bin), codex_env))
    issued = services.devices.issue("phone")
    server = CompanionServer(uvicorn_config(create_app(services), settings), services.hub)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    assert await services.supervisor.wait_ready(30)
    base = f"http://127.0.0.1:{settings.port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield Companion(services, base, settings.port, issued.token, issued.device_id, client)
    server.should_exit = True
    await asyncio.wait_for(task, 15)


class Phone:
    """A native client behind the proxy: bearer header, ``chatId``, resumes with lastSeq."""

    def __init__(self, companion: Companion, proxy_port: int, chat_id: str) -> None:
        self.companion, self.proxy_port, self.chat_id = companion, proxy_port, chat_id
        self.frames: list[dict[str, Any]] = []
        self.reconnects = 0
        self.failed_attempts = 0  # reconnects that timed out while the network was down

    async def connect(self) -> ClientConnection:
        url = f"ws://127.0.0.1:{self.proxy_port}/v1/stream?chatId={self.chat_id}"
        if self.frames:
            url += f"&lastSeq={self.frames[-1]['seq']}"
        return await connect(url, additional_headers=self.companion.auth(), max_size=None)

    async def read_turn(self, ws: ClientConnection, turn_id: str) -> ClientConnection:
        """Frames until ``turn_id`` completes, reconnecting whenever the socket dies."""
        while True:
            try:
                while True:
                    frame = json.loads(await ws.recv())
                    self.frames.append(frame)
                    done = frame["event"] == "turn_completed"
                    if done and frame["payload"]["turn"]["id"] == turn_id:
                        return ws
            except ConnectionClosed:
                ws = await self.reconnect()

    async def reconnect(self) -> ClientConnection:
        """Like the app: retry every second until the network is back."""
        self.reconnects += 1
        while True:
            try:
                return await self.connect()
            except (TimeoutError, OSError, ConnectionClosed):
                self.failed_attempts += 1
                await asyncio.sleep(1.0)


async def detected_after(companion: Companion, started: float) -> float | None:
    """Seconds until the companion dropped every stream socket (None: it never did)."""
    while time.monotonic() - started < DETECTION_LIMIT_S:
        if not companion.services.hub.clients:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return None


async def drop_during_a_turn(companion: Companion, git_repo: Path, drop_s: float) -> None:
    created = await companion.client.post(
        "/v1/chats", json={"cwd": str(git_repo)}, headers=companion.auth()
    )
    chat_id = created.json()["data"]["id"]
    async with BlackholeProxy(companion.port) as proxy:
        phone = Phone(companion, proxy.port, chat_id)
        ws = await phone.connect()
        sent = await companion.client.post(
            f"/v1/chats/{chat_id}/messages",
            json={"text": f"slow-answer {DELTAS}"},
            headers=companion.auth(),
        )
        turn_id = sent.json()["data"]["turnId"]
        while not any(f["event"] == "message_delta" for f in phone.frames):
            phone.frames.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        await proxy.drop(drop_s)
        started = time.monotonic()
        detection = asyncio.create_task(detected_after(companion, started))
        reading = asyncio.create_task(phone.read_turn(ws, turn_id))
        await proxy.restored()
        restored_s = time.monotonic() - started
        ws = await asyncio.wait_for(reading, 60)
        caught_up_s = time.monotonic() - started
        detected_s = await detection if drop_s > 30 else None
        detection.cancel()
        await ws.close()

    seqs = [f["seq"] for f in phone.frames]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "events lost or duplicated"
    text = "".join(f["payload"]["delta"] for f in phone.frames if f["event"] == "message_delta")
    expected = slow_answer_text(DELTAS)
    assert text == expected
    timeline = await companion.client.get(f"/v1/chats/{chat_id}/timeline", headers=companion.auth())
    assert timeline.json()["data"]["messages"][-1]["text"] == expected
    if drop_s > 30:
        assert detected_s is not None and phone.reconnects >= 1
    else:
        assert phone.reconnects == 0
    print(
        f"\nT13 drop {drop_s:.0f} s during a {DELTAS * SLOW_DELTA_INTERVAL_S:.0f} s turn: "
        f"{len(seqs)} events, 0 lost, 0 duplicated, reconnects {phone.reconnects} "
        f"({phone.failed_attempts} attempts failed during the drop), "
        f"companion closed the dead socket after "
        f"{'-' if detected_s is None else f'{detected_s:.1f} s'}, forwarding back at "
        f"{restored_s:.1f} s, phone caught up at {caught_up_s:.1f} s"
    )


@pytest.mark.timeout(120)
async def test_rel06_t13_network_drop_of_5_s_loses_nothing(
    served: Companion, git_repo: Path
) -> None:
    await drop_during_a_turn(served, git_repo, 5.0)


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_rel07_t13_network_drop_of_60_s_closes_and_resumes_without_loss(
    served: Companion, git_repo: Path
) -> None:
    await drop_during_a_turn(served, git_repo, 60.0)
