"""A hostile connection flood and a paired phone, against a companion on loopback.

Shared by ``tests/integration/test_connection_flood.py`` (asserts behaviour) and
``bench/connection_flood.py`` (prints figures). No product code: raw sockets,
httpx and websockets, as an attacker and a phone would use them. The attacker
runs in its own process (``python -m tests.harness.flood PORT SILENT TRICKLE
BURST SECONDS``, prints its figures as JSON), as it would be in reality: in the
phone's event loop its hundreds of tasks would delay the phone's own requests.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import connect

TRICKLE_INTERVAL_S = 0.2  # a trickling socket sends one header byte this often
RECONNECT_S = 1.0  # hostile sockets come back this long after being closed
CONNECT_TIMEOUT_S = 10.0


class Attack:
    """Hostile sockets; counts how often and how fast the companion closed them."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = asyncio.Event()
        self.closed_after: list[float] = []  # seconds from connect to the companion's close
        self.connect_failures = 0
        self.held: list[asyncio.StreamWriter] = []

    async def _until_closed(self, reader: asyncio.StreamReader, opened: float) -> None:
        try:
            while await reader.read(4096):
                pass
        except OSError:
            pass
        self.closed_after.append(time.perf_counter() - opened)

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            return await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            self.connect_failures += 1
            return None

    async def hostile(self, trickle: bool) -> None:
        """Connect; send nothing (or trickle headers that never end); when the
        companion closes the socket, come back after ``RECONNECT_S``."""
        while not self.stop.is_set():
            opened = await self._open()
            if opened is None:
                await asyncio.sleep(RECONNECT_S)
                continue
            reader, writer = opened
            started = time.perf_counter()
            watcher = asyncio.create_task(self._until_closed(reader, started))
            stopper = asyncio.create_task(self.stop.wait())
            head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"x" * 10_000
            for byte in head if trickle else b"":
                if watcher.done() or self.stop.is_set():
                    break
                writer.write(bytes([byte]))
                await asyncio.sleep(TRICKLE_INTERVAL_S)
            await asyncio.wait({watcher, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            watcher.cancel()
            writer.close()
            if not self.stop.is_set():
                await asyncio.sleep(RECONNECT_S)

    async def burst(self, count: int) -> int:
        """Open ``count`` sockets at once and hold them; returns how many connected."""
        opened = await asyncio.gather(*(self._open() for _ in range(count)))
        self.held = [pair[1] for pair in opened if pair is not None]
        return len(self.held)

    def release(self) -> None:
        for writer in self.held:
            writer.close()


@dataclass
class PhoneFigures:
    statuses: set[int] = field(default_factory=set)
    rest: list[float] = field(default_factory=list)  # kept-alive connection
    fresh: list[float] = field(default_factory=list)  # a new connection each time
    stream_connects: list[float] = field(default_factory=list)
    pings: list[float] = field(default_factory=list)
    browser_auth_ok: list[bool] = field(default_factory=list)


@dataclass
class AttackFigures:
    closed_after: list[float]  # seconds from connect to the companion's close
    connect_failures: int
    burst_connected: int


async def attack_for(port: int, silent: int, trickle: int, burst: int, seconds: float) -> None:
    """The attacker process: prints its figures as one JSON line at the end."""
    attack = Attack(port)
    attackers = [
        asyncio.create_task(attack.hostile(trickle=i < trickle)) for i in range(silent + trickle)
    ]
    await asyncio.sleep(seconds / 4)
    held = await attack.burst(burst) if burst else 0
    await asyncio.sleep(seconds * 3 / 4)
    attack.stop.set()
    await asyncio.gather(*attackers)
    attack.release()
    figures = {"closed_after": attack.closed_after, "connect_failures": attack.connect_failures}
    print(json.dumps({**figures, "burst_connected": held}), flush=True)


async def run_flood(
    port: int, token: str, *, silent: int, trickle: int, burst: int, seconds: float
) -> tuple[PhoneFigures, AttackFigures]:
    """An attacker process with ``silent`` + ``trickle`` reconnecting hostile sockets
    for ``seconds`` and a burst of ``burst`` held sockets from a quarter in;
    meanwhile the phone polls REST, opens a new connection every 10th request, pings
    its stream and opens new native and browser streams every 25th."""
    auth = {"Authorization": f"Bearer {token}"}
    base_url, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/v1/stream"
    attacker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.harness.flood",
        *(str(v) for v in (port, silent, trickle, burst, seconds)),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    figures = PhoneFigures()
    try:
        await asyncio.sleep(min(1.0, seconds / 10))  # the attack is under way
        started = time.perf_counter()
        stream = await connect(ws_url, additional_headers=auth)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as phone:
            n = 0
            while time.perf_counter() - started < seconds * 0.85:
                n += 1
                t = time.perf_counter()
                figures.statuses.add((await phone.get("/v1/projects", headers=auth)).status_code)
                figures.rest.append(time.perf_counter() - t)
                if n % 10 == 0:  # as after the phone wakes up: a new connection
                    t = time.perf_counter()
                    async with httpx.AsyncClient(base_url=base_url, timeout=30) as woke:
                        answer = await woke.get("/v1/devices", headers=auth)
                    figures.statuses.add(answer.status_code)
                    figures.fresh.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    await asyncio.wait_for(await stream.ping(), 30)
                    figures.pings.append(time.perf_counter() - t)
                if n % 25 == 0:
                    await _new_streams(ws_url, token, figures)
                await asyncio.sleep(0.05)
        await stream.close()
        out, _ = await asyncio.wait_for(attacker.communicate(), seconds + 30)
    finally:
        if attacker.returncode is None:
            attacker.kill()
            await attacker.wait()
    result = json.loads(out.decode().strip().splitlines()[-1])
    return figures, AttackFigures(**result)


async def _new_streams(ws_url: str, token: str, figures: PhoneFigures) -> None:
    """A native (header) and a browser (first message) stream, both authenticated."""
    auth = {"Authorization": f"Bearer {token}"}
    t = time.perf_counter()
    native = await connect(f"{ws_url}?chatId=x", additional_headers=auth)
    figures.stream_connects.append(time.perf_counter() - t)
    browser = await connect(ws_url)
    await browser.send(json.dumps({"type": "auth", "token": token}))
    await asyncio.sleep(0.5)  # a bad token would have been closed by now (1008)
    await asyncio.wait_for(await browser.ping(), 30)
    figures.browser_auth_ok.append(browser.close_code is None)
    await native.close()
    await browser.close()


def ms(values: list[float]) -> str:
    if not values:
        return "n=0"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms (n={len(ordered)})"
    )


if __name__ == "__main__":
    port_, silent_, trickle_, burst_, seconds_ = sys.argv[1:6]
    asyncio.run(attack_for(int(port_), int(silent_), int(trickle_), int(burst_), float(seconds_)))
