"""SEC-19/SEC-20 end to end: a paired phone is served while hostile connections hang.

Issue 9, defect 2: sockets that connect and send nothing were never timed out;
as many as the open-file limit allows made every client time out, and asyncio's
accept loop spun and logged ~140 MB in 30 s. Here a real ``codexremote serve``
(real codex app-server) runs with a hard open-file limit of ``FD_LIMIT`` while
``SILENT`` sockets that send nothing and ``TRICKLE`` sockets that trickle their
headers keep coming back, and a burst of ``BURST`` (more than the limit) holds
on; a paired phone uses REST and both stream styles meanwhile. Figures printed:
the phone's latencies, log bytes written, companion CPU time.
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from codexremote.pairing.device_store import DeviceStore
from tests.harness.codex_home import codex_env as build_codex_env
from tests.harness.codex_home import make_codex_home
from tests.harness.fake_model import FakeModel
from tests.harness.processes import free_port

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CODEXREMOTE = REPO_ROOT / ".venv" / "bin" / "codexremote"
FD_LIMIT = 1024  # the companion's hard RLIMIT_NOFILE (a common Linux default soft limit)
SILENT = 300  # sockets that send nothing, reconnecting whenever the companion closes them
TRICKLE = 20  # sockets that send their headers a byte every TRICKLE_INTERVAL_S
TRICKLE_INTERVAL_S = 0.2
BURST = 1200  # sockets opened at once mid-attack and held: more than FD_LIMIT
RECONNECT_S = 1.0  # hostile sockets come back this long after being closed
ATTACK_S = 12.0  # more than two header deadlines (5 s)
LOG_BUDGET_BYTES = 64 * 1024  # what the log may grow by during the attack
READY_TIMEOUT_S = 30.0


@dataclass
class Flooded:
    port: int
    token: str
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_bytes(self) -> int:
        return self.log_path.stat().st_size

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100  # utime + stime in clock ticks


def low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


@pytest.fixture
def flooded(tmp_path: Path, codex_bin: Path) -> Iterator[Flooded]:
    with FakeModel() as model:
        codex_home = make_codex_home(tmp_path / "codex_home", model.url)
        env = build_codex_env(codex_home, tmp_path / "home")
        issued = DeviceStore(tmp_path / "state").issue("test phone")
        port = free_port()
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    str(CODEXREMOTE), "serve", "--port", str(port), "--state-dir",
                    str(tmp_path / "state"), "--codex-home", str(codex_home), "--codex-bin",
                    str(codex_bin), "--confirmer", "socket",
                ],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
                preexec_fn=low_fd_limit,
            )  # fmt: skip
        served = Flooded(port, issued.token, log_path, process)
        try:
            wait_ready(served)
            yield served
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_ready(served: Flooded) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert served.process.poll() is None, served.log_path.read_text()
        try:
            health = httpx.get(f"{served.base_url}/health", timeout=2).json()
        except httpx.HTTPError:
            health = {}
        if health.get("appServerState") == "ready":
            return
        time.sleep(0.05)
    raise AssertionError(f"serve did not become ready:\n{served.log_path.read_text()}")


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
            return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 10)
        except (OSError, TimeoutError):
            self.connect_failures += 1
            return None

    async def hostile(self, trickle: bool) -> None:
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
        opened = await asyncio.gather(*(self._open() for _ in range(count)))
        self.held = [pair[1] for pair in opened if pair is not None]
        return len(self.held)


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms (n={len(ordered)})"
    )


async def test_sec19_paired_phone_is_served_during_a_connection_flood(flooded: Flooded) -> None:
    auth = {"Authorization": f"Bearer {flooded.token}"}
    ws_url = f"ws://127.0.0.1:{flooded.port}/v1/stream"
    log_before, cpu_before = flooded.log_bytes(), flooded.cpu_seconds()
    attack = Attack(flooded.port)
    attackers = [
        asyncio.create_task(attack.hostile(trickle=i < TRICKLE)) for i in range(SILENT + TRICKLE)
    ]
    started = time.perf_counter()
    rest: list[float] = []
    fresh: list[float] = []
    stream_connects: list[float] = []
    pings: list[float] = []
    statuses: set[int] = set()
    burst_task: asyncio.Task[int] | None = None
    stream = await connect(ws_url, additional_headers=auth)
    browser_ok = False
    async with httpx.AsyncClient(base_url=flooded.base_url, timeout=30) as phone:
        n = 0
        while time.perf_counter() - started < ATTACK_S:
            n += 1
            if burst_task is None and time.perf_counter() - started > ATTACK_S / 4:
                burst_task = asyncio.create_task(attack.burst(BURST))
            t = time.perf_counter()
            statuses.add((await phone.get("/v1/projects", headers=auth)).status_code)
            rest.append(time.perf_counter() - t)
            if n % 10 == 0:  # a new connection each time, as after the phone wakes up
                t = time.perf_counter()
                async with httpx.AsyncClient(base_url=flooded.base_url, timeout=30) as woke:
                    statuses.add((await woke.get("/v1/devices", headers=auth)).status_code)
                fresh.append(time.perf_counter() - t)
                t = time.perf_counter()
                await asyncio.wait_for(await stream.ping(), 30)
                pings.append(time.perf_counter() - t)
            if n % 25 == 0:  # a new stream, native (header) and browser (first message)
                t = time.perf_counter()
                native = await connect(f"{ws_url}?chatId=x", additional_headers=auth)
                stream_connects.append(time.perf_counter() - t)
                browser = await connect(ws_url)
                await browser.send(json.dumps({"type": "auth", "token": flooded.token}))
                await asyncio.sleep(0.5)  # a bad token would be closed by now (1008)
                await asyncio.wait_for(await browser.ping(), 30)
                browser_ok = browser.close_code is None
                await native.close()
                await browser.close()
            await asyncio.sleep(0.05)
    attack.stop.set()
    await asyncio.gather(*attackers)
    held = await burst_task if burst_task is not None else 0
    for writer in attack.held:
        writer.close()
    await stream.close()
    await asyncio.sleep(0.3)  # the last log lines reach the file
    log_growth = flooded.log_bytes() - log_before
    cpu = flooded.cpu_seconds() - cpu_before
    log_text = flooded.log_path.read_text()

    assert statuses == {200}
    assert browser_ok and stream_connects
    assert flooded.process.poll() is None
    assert attack.closed_after, "the companion never closed a hostile socket"
    assert "out of system resource" not in log_text and "Traceback" not in log_text
    assert log_growth < LOG_BUDGET_BYTES, log_text[-4000:]
    print(
        f"\nSEC-19 flood ({SILENT} silent + {TRICKLE} trickling sockets reconnecting, burst of "
        f"{BURST} with {held} connected; companion fd limit {FD_LIMIT}; {ATTACK_S:.0f} s):"
        f"\n  phone REST (kept-alive): {ms(rest)}\n  phone REST (new connection): {ms(fresh)}"
        f"\n  stream handshake: {ms(stream_connects)}\n  stream ping: {ms(pings)}"
        f"\n  hostile sockets closed by the companion: {len(attack.closed_after)}, median "
        f"{statistics.median(attack.closed_after):.2f} s after connecting; connect failures "
        f"{attack.connect_failures}\n  log growth {log_growth} bytes; companion CPU {cpu:.1f} s"
    )
