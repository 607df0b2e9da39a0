"""Shared helpers for the benchmarks: paths, ports, /proc readings, statistics, tables.

Every benchmark is bounded in time and cleans up after itself; the helpers here
never leave a process behind (``CompanionHost.stop`` and ``reap`` end only the
processes a benchmark started, by pid).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `python bench/x.py` puts only bench/ on sys.path
    sys.path.insert(0, str(REPO_ROOT))

BENCH_DIR = REPO_ROOT / "bench"
FAKE_APP_SERVER = BENCH_DIR / "_fake_app_server.py"
COMPANION_HOST = BENCH_DIR / "_companion_host.py"
NPM_CODEX = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "codex"
NATIVE_CODEX = (
    REPO_ROOT
    / ".tools/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
)
HOST_READY_TIMEOUT_S = 30.0  # companion host: spawn → uvicorn listening + app-server ready
HOST_STOP_TIMEOUT_S = 10.0  # SIGTERM → exit (uvicorn graceful shutdown + child stop)
KILL_WAIT_S = 5.0  # after SIGKILL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- /proc ------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """``VmRSS``/``VmHWM``/... of ``/proc/<pid>/status`` in KiB (empty if gone)."""
    values: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key.startswith("Vm") and rest.strip().endswith("kB"):
            values[key] = int(rest.split()[0])
    return values


def rss_mib(pid: int) -> float:
    return proc_status(pid).get("VmRSS", 0) / 1024


def hwm_mib(pid: int) -> float:
    return proc_status(pid).get("VmHWM", 0) / 1024


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces or parentheses: split after the last ')'.
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children, grandchildren, ...)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = _parent_of(int(entry))
            if parent is not None:
                parents.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def reap(pids: Iterable[int]) -> list[int]:
    """SIGKILL the given pids that are still alive; returns the ones that were."""
    alive = []
    for pid in pids:
        if Path(f"/proc/{pid}").exists():
            try:
                state = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if state[state.rindex(")") + 2] == "Z":  # a zombie is only waiting for its parent
                continue
            alive.append(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return alive


# -- statistics and output --------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(out)


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def machine_line() -> str:
    load = os.getloadavg()
    return (
        f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
        f"Python {sys.version.split()[0]}"
    )


# -- the companion in its own process ----------------------------------------------


class CompanionHost:
    """The real companion app (build_services + create_app + uvicorn) in a child process.

    The child (``bench/_companion_host.py``) drives ``bench/_fake_app_server.py``
    through the real supervisor, so the figures measured from this (client) process
    are the companion's alone: RSS and CPU via its pid, latency over loopback.
    """

    def __init__(
        self,
        workdir: Path,
        fake_env: Mapping[str, str],
        *,
        history_route: bool = False,
        profile: Path | None = None,
        stage_file: Path | None = None,
        web_dir: Path | None = None,
    ) -> None:
        self.workdir = workdir
        self.profile = profile
        self.stage_file = stage_file
        self.web_dir = web_dir
        self.port = free_port()
        self.fake_env = dict(fake_env)
        self.history_route = history_route
        self.process: subprocess.Popen[str] | None = None
        self.token = ""
        self.history_path = ""
        self.fake_pid: int | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> CompanionHost:
        codex_home = self.workdir / "codex_home"
        codex_home.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "PYTHONPATH": str(REPO_ROOT),
            **self.fake_env,
        }
        argv = [
            sys.executable,
            str(COMPANION_HOST),
            "--port",
            str(self.port),
            "--state-dir",
            str(self.workdir / "state"),
            "--codex-home",
            str(codex_home),
        ]
        if self.history_route:
            argv.append("--history-route")
        if self.stage_file is not None:
            argv += ["--stage-file", str(self.stage_file)]
        if self.profile is not None:
            argv += ["--profile", str(self.profile)]
        if self.web_dir is not None:
            argv += ["--web-dir", str(self.web_dir)]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, env=env
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + HOST_READY_TIMEOUT_S
        line = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line or line.startswith("{"):
                break
        if not line.startswith("{"):
            self.stop()
            raise RuntimeError("companion host did not become ready")
        info: dict[str, Any] = json.loads(line)
        self.token = info["token"]
        self.history_path = info.get("historyPath", "")
        self.fake_pid = info.get("appServerPid")
        return self

    def stop(self) -> list[int]:
        """SIGTERM (graceful: clients closed, child stopped), SIGKILL if needed.

        Returns the pids that had to be killed (should be empty).
        """
        process = self.process
        if process is None:
            return []
        tree = descendants(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(HOST_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(KILL_WAIT_S)
        if process.stdout is not None:
            process.stdout.close()
        self.process = None
        time.sleep(0.05)
        return reap(tree)

    def __enter__(self) -> CompanionHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
