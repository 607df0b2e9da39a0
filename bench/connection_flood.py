"""Benchmark: a paired phone during a connection flood (issue 9, defect 2; SEC-19/SEC-20).

Before the connection guard, sockets that connected and sent nothing were held
forever: at the open-file limit every client timed out and the companion burned a
core writing ~140 MB of log in 30 s. This runs the real ``codexremote serve``
(real codex app-server; the model provider points at an unused loopback port, no
turn runs) with a hard open-file limit of ``--fd-limit``, and for ``--seconds``
keeps ``--silent`` sockets that send nothing and ``--trickle`` sockets that
trickle their headers coming back 1 s after each close, plus a burst of
``--burst`` held sockets a quarter in. Meanwhile a paired phone polls REST (kept
alive, and a new connection every 10th call), pings its stream and opens new
native and browser streams (``tests/harness/flood.py``).

Targets: every phone request answered; log growth < 1 MB per 30 s; companion CPU
< 50 % of one core.

Usage: ``.venv/bin/python -m bench.connection_flood [--seconds 30] [--fd-limit 1024]``
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

if not __package__:  # `python bench/<name>.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import NPM_CODEX, REPO_ROOT, cpu_seconds, free_port, machine_line, verdict
from codexremote.pairing.device_store import DeviceStore
from tests.harness.codex_home import codex_env, make_codex_home
from tests.harness.flood import ms, run_flood

COMPANION = REPO_ROOT / ".venv" / "bin" / "codexremote"
READY_TIMEOUT_S = 30.0
TARGET_LOG_BYTES_PER_30S = 1_000_000
TARGET_CPU_SHARE = 0.5


def start(root: Path, fd_limit: int) -> tuple[subprocess.Popen[bytes], int, str, Path]:
    codex_home = make_codex_home(root / "codex_home", f"http://127.0.0.1:{free_port()}/v1")
    token = DeviceStore(root / "state").issue("bench phone").token
    port, log_path = free_port(), root / "serve.log"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(COMPANION), "serve", "--port", str(port), "--state-dir", str(root / "state"),
                "--codex-home", str(codex_home), "--codex-bin", str(NPM_CODEX),
                "--confirmer", "socket",
            ],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            env=codex_env(codex_home, root / "home"), preexec_fn=limit,
        )  # fmt: skip
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if (
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json().get("appServerState")
                == "ready"
            ):
                return process, port, token, log_path
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"serve did not become ready; see {log_path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--fd-limit", type=int, default=1024)
    parser.add_argument("--silent", type=int, default=300)
    parser.add_argument("--trickle", type=int, default=20)
    parser.add_argument("--burst", type=int, default=1200)
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
        process, port, token, log_path = start(Path(tmp), args.fd_limit)
        try:
            log_before, cpu_before = log_path.stat().st_size, cpu_seconds(process.pid)
            phone, attack = asyncio.run(
                run_flood(
                    port, token, silent=args.silent, trickle=args.trickle, burst=args.burst,
                    seconds=args.seconds,
                )
            )  # fmt: skip
            time.sleep(0.3)
            log_growth = log_path.stat().st_size - log_before
            cpu = cpu_seconds(process.pid) - cpu_before
            alive = process.poll() is None
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    served = phone.statuses == {200} and all(phone.browser_auth_ok) and alive
    per_30s = log_growth * 30 / args.seconds
    closes = attack.closed_after
    print(
        f"flood: {args.silent} silent + {args.trickle} trickling sockets for {args.seconds:.0f} s,"
        f" burst {args.burst} ({attack.burst_connected} connected),"
        f" companion fd limit {args.fd_limit}\n"
        f"phone REST kept-alive    {ms(phone.rest)}\n"
        f"phone REST new conn.     {ms(phone.fresh)}\n"
        f"stream handshake         {ms(phone.stream_connects)}\n"
        f"stream ping              {ms(phone.pings)}\n"
        f"hostile closed           {len(closes)}, median "
        f"{statistics.median(closes) if closes else 0:.2f} s after connecting; "
        f"connect failures {attack.connect_failures}\n"
        f"phone served             {sorted(phone.statuses)}: {verdict(served)}\n"
        f"log growth               {log_growth} B ({per_30s:.0f} B per 30 s): "
        f"{verdict(per_30s < TARGET_LOG_BYTES_PER_30S)}\n"
        f"companion CPU            {cpu:.1f} s ({cpu / args.seconds:.0%} of a core): "
        f"{verdict(cpu / args.seconds < TARGET_CPU_SHARE)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
