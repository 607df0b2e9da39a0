"""Process and port helpers shared by the tests (no product code)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from codexremote.codex.supervisor import Launcher
from codexremote.codex.transport import StdioTransport, Transport

FAKE_APP_SERVER = Path(__file__).resolve().parent / "fake_app_server.py"


def fake_app_server_launcher(**knobs: str) -> Launcher:
    """Spawns the fake app-server with failure knobs (see docs/testing.md)."""
    env = {**os.environ, **knobs}

    async def launch() -> Transport:
        return await StdioTransport.spawn([sys.executable, str(FAKE_APP_SERVER)], env)

    return launch


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()  # [state, ppid, ...]


def alive(pid: int) -> bool:
    """Running (a zombie counts as gone)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
