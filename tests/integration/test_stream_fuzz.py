"""T2 / SEC-10: generated bad frames on /v1/stream, against real uvicorn.

Frames (Hypothesis, derandomized): binary, invalid UTF-8 text, non-JSON text, JSON
with wrong types or unknown ``type``, over 64 KiB, and a burst of 10,000. The
documented answers (docs/stream.md): after auth anything but ``resume``/``ping`` is
ignored (the socket stays open), invalid UTF-8 closes 1007, over 64 KiB 1009, more
than 120 messages a minute 1008; as a first message anything but a valid ``auth``
closes 1008 (1013 once the address is over the bad-token limit). Meanwhile a
healthy client on the same companion receives every event in order; its latency
before and during the fuzz is printed (target: p99 within 2x).
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from codexremote.api.stream import MAX_INBOUND_PER_MINUTE
from codexremote.app import Services
from codexremote.cli.serve import keep_tokens_out_of_logs
from codexremote.connguard import ConnectionGuard
from tests.harness.stream_frames import CLOSE_WAIT_S, close_code, generated_frames, send_frame
from tests.integration.test_connection_guard import Guarded, guarded_companion

pytestmark = pytest.mark.integration

BURST = 10_000
PER_SOCKET = MAX_INBOUND_PER_MINUTE - 20  # ignorable frames per socket, under the rate limit
FIRST_MESSAGE_SAMPLE = 40
TICK_S = 0.01  # the healthy client's event period


class Healthy:
    """A native client (bearer header, chatId) timing every event from publish to receipt."""

    def __init__(self, services: Services, ws: ClientConnection) -> None:
        self.services, self.ws = services, ws
        self.sent = 0
        self.received: list[int] = []
        self.latency_ms: list[tuple[str, float]] = []
        self.phase = "baseline"

    async def publish(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.services.bus.publish(
                "turn_started", "T", {"n": self.sent, "t": time.perf_counter(), "p": self.phase}
            )
            self.sent += 1
            await asyncio.sleep(TICK_S)

    async def read(self) -> None:
        with pytest.raises(ConnectionClosed):
            while True:
                frame = json.loads(await self.ws.recv())
                payload = frame["payload"]
                self.received.append(payload["n"])
                self.latency_ms.append((payload["p"], (time.perf_counter() - payload["t"]) * 1e3))

    def figures(self, phase: str) -> tuple[float, float]:
        values = sorted(ms for p, ms in self.latency_ms if p == phase)
        return statistics.median(values), values[int(len(values) * 0.99) - 1]


@pytest.mark.timeout(300)
async def test_t2_sec10_bad_frames_get_their_documented_answer_and_spare_a_healthy_client(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    keep_tokens_out_of_logs()  # what `serve` installs on uvicorn's logger
    async with guarded_companion(tmp_path, ConnectionGuard()) as companion:
        await fuzz_stream(companion)
    # 0 crashes: no traceback and nothing logged as an error, by any handler.
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.exc_info][:3] == []
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def fuzz_stream(companion: Guarded) -> None:
    """The serve path's uvicorn config (64 KiB frames) and connection guard."""
    services, port, token = companion.services, companion.port, companion.token
    url = f"ws://127.0.0.1:{port}/v1/stream"
    auth = {"Authorization": f"Bearer {token}"}
    services.token_limiter.max_failures = 1_000_000  # first-message garbage counts as a guess
    frames = generated_frames()
    kinds = Counter(kind for kind, _ in frames)
    assert all(kinds[k] for k in ("binary", "bad_utf8", "not_json", "wrong_json", "oversize"))

    healthy = Healthy(services, await connect(f"{url}?chatId=T", additional_headers=auth))
    stop = asyncio.Event()
    reader = asyncio.create_task(healthy.read())
    publisher = asyncio.create_task(healthy.publish(stop))
    await asyncio.sleep(2.0)
    healthy.phase = "fuzz"
    answers: Counter[str] = Counter()
    started = time.perf_counter()

    # 1. Ignorable frames on authenticated sockets: each stays open (it still gets events).
    ignorable = [f for f in frames if f[0] in ("binary", "not_json", "wrong_json")]
    for i in range(0, len(ignorable), PER_SOCKET):
        ws = await connect(f"{url}?chatId=Z", additional_headers=auth)
        for kind, data in ignorable[i : i + PER_SOCKET]:
            await send_frame(ws, kind, data)
        services.bus.publish("turn_started", "Z", {"alive": True})
        frame = json.loads(await asyncio.wait_for(ws.recv(), CLOSE_WAIT_S))
        assert frame["payload"] == {"alive": True}
        answers["ignored, socket open"] += len(ignorable[i : i + PER_SOCKET])
        await ws.close()

    # 2. Frames that end the socket, after auth and as the first message.
    expected_close = {"bad_utf8": {1007}, "oversize": {1009}}
    closing = [f for f in frames if f[0] in expected_close]
    for kind, data in closing:
        ws = await connect(f"{url}?chatId=Z", additional_headers=auth)
        await send_frame(ws, kind, data)
        code = await close_code(ws)
        assert code in expected_close[kind], (kind, code)
        answers[f"{kind} -> {code}"] += 1
    first_expected = {"bad_utf8": {1007}, "oversize": {1009}, "binary": {1003}}
    for kind, data in frames[:FIRST_MESSAGE_SAMPLE]:
        ws = await connect(f"{url}?chatId=Z")  # browser style: auth must be the first message
        await send_frame(ws, kind, data)
        code = await close_code(ws)
        assert code in first_expected.get(kind, {1008, 1013}), (kind, code, data)
        answers[f"first message {kind} -> {code}"] += 1

    # 3. A burst of 10,000 messages: closed 1008 past the per-minute limit.
    ws = await connect(f"{url}?chatId=Z", additional_headers=auth)
    sent = 0
    try:
        for _ in range(BURST):
            await ws.send('{"type": "ping"}')
            sent += 1
    except ConnectionClosed:
        pass
    assert await close_code(ws) == 1008
    answers[f"burst of {BURST} -> 1008 after {MAX_INBOUND_PER_MINUTE}"] += 1
    fuzz_s = time.perf_counter() - started

    healthy.phase = "after"
    await asyncio.sleep(1.0)
    stop.set()
    await publisher
    await asyncio.sleep(0.3)
    await healthy.ws.close()
    await reader

    # The healthy client saw every event, in order, and the companion still serves.
    assert healthy.received == list(range(healthy.sent))
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200
    base50, base99 = healthy.figures("baseline")
    fuzz50, fuzz99 = healthy.figures("fuzz")
    total = len(ignorable) + len(closing) + FIRST_MESSAGE_SAMPLE + sent
    print(
        f"\nT2 stream fuzz: {total} frames ({dict(kinds)} generated, burst {sent} sent) in "
        f"{fuzz_s:.1f} s; answers {dict(answers)}; healthy client {len(healthy.received)} "
        f"events, latency p50/p99 baseline {base50:.2f}/{base99:.2f} ms, during fuzz "
        f"{fuzz50:.2f}/{fuzz99:.2f} ms (p99 ratio {fuzz99 / base99:.2f}, target <= 2)"
    )
