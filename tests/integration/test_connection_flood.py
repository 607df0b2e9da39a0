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

from codexremote.pairing.device_store import DeviceStore
from tests.harness.codex_home import codex_env as build_codex_env
from tests.harness.codex_home import make_codex_home
from tests.harness.fake_model import FakeModel
from tests.harness.flood import ms, run_flood
from tests.harness.processes import free_port

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CODEXREMOTE = REPO_ROOT / ".venv" / "bin" / "codexremote"
FD_LIMIT = 1024  # the companion's hard RLIMIT_NOFILE (a common Linux default)
SILENT = 300  # sockets that send nothing, reconnecting whenever the companion closes them
TRICKLE = 20  # sockets that send their headers a byte at a time, never finishing
BURST = 1200  # sockets opened at once mid-attack and held: more than FD_LIMIT
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
    """A soft limit of 256 (macOS's default) that serve must raise to the hard one."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, FD_LIMIT))


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


async def test_sec19_paired_phone_is_served_during_a_connection_flood(flooded: Flooded) -> None:
    log_before, cpu_before = flooded.log_bytes(), flooded.cpu_seconds()
    phone, attack = await run_flood(
        flooded.port, flooded.token, silent=SILENT, trickle=TRICKLE, burst=BURST, seconds=ATTACK_S
    )
    await asyncio.sleep(0.3)  # the last log lines reach the file
    log_growth = flooded.log_bytes() - log_before
    cpu = flooded.cpu_seconds() - cpu_before
    log_text = flooded.log_path.read_text()

    assert phone.statuses == {200}
    assert phone.browser_auth_ok and all(phone.browser_auth_ok)
    assert phone.stream_connects and phone.pings
    assert flooded.process.poll() is None
    assert attack.closed_after, "the companion never closed a hostile socket"
    assert f"open-file limit {FD_LIMIT} (was 256)" in log_text
    assert "out of system resource" not in log_text and "Traceback" not in log_text
    assert log_growth < LOG_BUDGET_BYTES, log_text[-4000:]
    print(
        f"\nSEC-19 flood ({SILENT} silent + {TRICKLE} trickling sockets reconnecting, burst of "
        f"{BURST} with {attack.burst_connected} connected; companion fd limit {FD_LIMIT}; "
        f"{ATTACK_S:.0f} s):"
        f"\n  phone REST (kept-alive): {ms(phone.rest)}"
        f"\n  phone REST (new connection): {ms(phone.fresh)}"
        f"\n  stream handshake: {ms(phone.stream_connects)}\n  stream ping: {ms(phone.pings)}"
        f"\n  hostile sockets closed by the companion: {len(attack.closed_after)}, median "
        f"{statistics.median(attack.closed_after):.2f} s after connecting; connect failures "
        f"{attack.connect_failures}\n  log growth {log_growth} bytes; companion CPU {cpu:.1f} s"
    )
