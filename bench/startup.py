"""Benchmark: companion start-up to a ready app-server, against bare ``codex app-server``.

Target (issue): time from launching ``codexremote serve`` to ``/health`` reporting
``appServer.state == "ready"`` at most 1.5x the time from launching bare
``codex app-server`` to its ``initialize`` response (medians of 10, same run);
companion RSS when idle under 80 MB.

Each round launches, alternately, the real ``.venv/bin/codexremote serve`` (a
subprocess; ``/health`` polled every 10 ms over loopback) and bare ``codex
app-server`` (``initialize`` written at once, timed to its response line), with
the same environment and the same CODEX_HOME, **reused** across rounds (one
untimed warm-up launch of each first; codex writes its state files then). The
config points the model provider at an unused loopback port (no turn runs).
Both are measured with the npm launcher (``node`` + the native binary) and with
the native binary directly. RSS (``/proc/<pid>/status`` VmRSS) is read after
the companion has been idle ~2 s: the Python process alone, and with its
children (launcher + codex).

Usage: ``.venv/bin/python -m bench.startup [--rounds 10] [--launcher both|npm|native]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

if not __package__:  # `python bench/<name>.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    NATIVE_CODEX,
    NPM_CODEX,
    REPO_ROOT,
    descendants,
    free_port,
    machine_line,
    median,
    reap,
    rss_mib,
    table,
    verdict,
)
from tests.harness.codex_home import codex_env, make_codex_home

COMPANION = REPO_ROOT / ".venv" / "bin" / "codexremote"
TARGET_RATIO = 1.5
TARGET_RSS_MB = 80.0
POLL_S = 0.01  # /health poll interval
READY_TIMEOUT_S = 30.0
IDLE_S = 2.0  # idle time before reading RSS
STOP_TIMEOUT_S = 10.0
IMPORT_SAMPLES = 5


@dataclass
class Variant:
    name: str
    codex_bin: Path
    companion_s: list[float] = field(default_factory=list)
    listen_s: list[float] = field(default_factory=list)  # first /health answer
    bare_s: list[float] = field(default_factory=list)
    stop_s: list[float] = field(default_factory=list)
    rss_python_mib: float = 0.0
    rss_tree_mib: float = 0.0
    rss_bare_mib: float = 0.0


def time_companion(
    variant: Variant, env: dict[str, str], codex_home: Path, state: Path, log: Path, idle: bool
) -> tuple[float, float, float, float, float]:
    """(ready s, listening s, stop s, python RSS MiB, tree RSS MiB); RSS only when idle."""
    port = free_port()
    argv = [
        str(COMPANION), "serve", "--port", str(port), "--codex-bin", str(variant.codex_bin),
        "--codex-home", str(codex_home), "--state-dir", str(state), "--log-level", "warning",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/health"
    with log.open("ab") as err, httpx.Client(timeout=1.0) as client:
        start = time.monotonic()
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)
        listening = ready = 0.0
        tree: list[int] = []
        try:
            while time.monotonic() - start < READY_TIMEOUT_S:
                try:
                    body = client.get(url).json()
                except httpx.TransportError:
                    body = None
                now = time.monotonic() - start
                if body is not None:
                    listening = listening or now
                    if body.get("appServer", {}).get("state") == "ready":
                        ready = now
                        break
                if process.poll() is not None:
                    raise RuntimeError(f"companion exited early; see {log}")
                time.sleep(POLL_S)
            if not ready:
                raise RuntimeError(f"companion not ready in {READY_TIMEOUT_S} s; see {log}")
            rss_py = rss_tree = 0.0
            tree = descendants(process.pid)
            if idle:
                time.sleep(IDLE_S)
                tree = descendants(process.pid)
                rss_py = rss_mib(process.pid)
                rss_tree = rss_py + sum(rss_mib(p) for p in tree)
            stop_start = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.wait(STOP_TIMEOUT_S)
            stopped = time.monotonic() - stop_start
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            leftovers = reap(tree)
            if leftovers:
                print(f"warning: companion left pids {leftovers} behind (killed)")
    return ready, listening, stopped, rss_py, rss_tree


def time_bare(codex_bin: Path, env: dict[str, str], idle: bool) -> tuple[float, float]:
    """(seconds to the initialize response, app-server RSS MiB when idle)."""
    request = {
        "id": 1,
        "method": "initialize",
        "params": {
            "clientInfo": {"name": "bench", "title": "bench", "version": "0"},
            "capabilities": {"experimentalApi": True},
        },
    }
    start = time.monotonic()
    process = subprocess.Popen(
        [str(codex_bin), "app-server"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdin is not None and process.stdout is not None
    tree: list[int] = []
    try:
        process.stdin.write(json.dumps(request).encode() + b"\n")
        process.stdin.flush()
        took = 0.0
        for line in process.stdout:
            message = json.loads(line)
            if message.get("id") == 1:
                took = time.monotonic() - start
                break
        if not took:
            raise RuntimeError("bare app-server exited before answering initialize")
        rss = 0.0
        tree = descendants(process.pid)
        if idle:
            time.sleep(IDLE_S)
            tree = descendants(process.pid)
            rss = rss_mib(process.pid) + sum(rss_mib(p) for p in tree)
        process.stdin.close()
        process.wait(STOP_TIMEOUT_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()
        reap(tree)
    return took, rss


PHASES_SCRIPT = """
import json, sys, time
t0 = time.monotonic()
import codexremote.cli, codexremote.cli.serve, codexremote.app, codexremote.server
t1 = time.monotonic()
from pathlib import Path
from codexremote.app import build_services, create_app
from codexremote.settings import Settings
root = Path(sys.argv[1])
settings = Settings(port=0, codex_bin=sys.argv[2], codex_home=root / "codex_home",
                    state_dir=root / "phase-state")
app = create_app(build_services(settings))
t2 = time.monotonic()
print(json.dumps([t1 - t0, t2 - t1]))
"""


def phases(root: Path, codex_bin: Path) -> tuple[float, float, float]:
    """Medians of (interpreter start, imports, build_services + create_app) seconds."""
    starts, imports, builds = [], [], []
    for _ in range(IMPORT_SAMPLES):
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        starts.append(time.monotonic() - start)
        out = subprocess.run(
            [sys.executable, "-c", PHASES_SCRIPT, str(root), str(codex_bin)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        imported, built = json.loads(out)
        imports.append(imported)
        builds.append(built)
    return median(starts), median(imports), median(builds)


def main() -> None:
    parser = argparse.ArgumentParser(description="companion start-up vs bare app-server")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--launcher", choices=["both", "npm", "native"], default="both")
    args = parser.parse_args()
    print(__doc__.splitlines()[0] if __doc__ else "")
    print(machine_line())
    variants = []
    if args.launcher in ("both", "npm"):
        variants.append(Variant("npm launcher", NPM_CODEX))
    if args.launcher in ("both", "native"):
        variants.append(Variant("native binary", NATIVE_CODEX))
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        root = Path(tmp)
        unused = free_port()  # nothing listens there: no turn runs anyway
        codex_home = make_codex_home(
            root / "codex_home", f"http://127.0.0.1:{unused}/v1", mcp_demo=False
        )
        env = codex_env(codex_home, root / "home")
        log = root / "companion.log"
        for variant in variants:  # warm-up: codex creates its state files once
            time_bare(variant.codex_bin, env, idle=False)
            time_companion(variant, env, codex_home, root / "state", log, idle=False)
        for rnd in range(args.rounds):
            for variant in variants:
                idle = rnd == args.rounds - 1
                ready, listening, stopped, rss_py, rss_tree = time_companion(
                    variant, env, codex_home, root / "state", log, idle
                )
                bare, rss_bare = time_bare(variant.codex_bin, env, idle)
                variant.companion_s.append(ready)
                variant.listen_s.append(listening)
                variant.stop_s.append(stopped)
                variant.bare_s.append(bare)
                if idle:
                    variant.rss_python_mib, variant.rss_tree_mib = rss_py, rss_tree
                    variant.rss_bare_mib = rss_bare
        breakdown = phases(root, NATIVE_CODEX)
    report(variants, args.rounds, breakdown)


def report(variants: list[Variant], rounds: int, breakdown: tuple[float, float, float]) -> None:
    rows = []
    ok = True
    for v in variants:
        comp, bare = median(v.companion_s), median(v.bare_s)
        ratio = comp / bare
        ok = ok and ratio <= TARGET_RATIO and v.rss_python_mib < TARGET_RSS_MB
        rows += [
            [v.name, "bare app-server -> initialize response", f"{bare * 1000:.0f} ms", "", ""],
            [v.name, "companion -> /health answers", f"{median(v.listen_s) * 1000:.0f} ms", "", ""],
            [v.name, "companion -> /health appServer ready", f"{comp * 1000:.0f} ms", "", ""],
            [
                v.name,
                "ratio companion / bare",
                f"{ratio:.2f}x",
                f"<= {TARGET_RATIO}x",
                verdict(ratio <= TARGET_RATIO),
            ],
            [v.name, "companion SIGTERM -> exit", f"{median(v.stop_s) * 1000:.0f} ms", "", ""],
            [
                v.name,
                "companion RSS idle (python only)",
                f"{v.rss_python_mib:.1f} MiB",
                f"< {TARGET_RSS_MB:.0f} MB",
                verdict(v.rss_python_mib < TARGET_RSS_MB),
            ],
            [v.name, "companion + children RSS idle", f"{v.rss_tree_mib:.1f} MiB", "", ""],
            [v.name, "bare app-server RSS idle (+children)", f"{v.rss_bare_mib:.1f} MiB", "", ""],
        ]
    interpreter, imports, build = breakdown
    rows += [
        ["-", "breakdown: bare interpreter start", f"{interpreter * 1000:.0f} ms", "", ""],
        ["-", "breakdown: import cli + web stack", f"{imports * 1000:.0f} ms", "", ""],
        ["-", "breakdown: build_services + create_app", f"{build * 1000:.0f} ms", "", ""],
    ]
    print(f"\nmedians of {rounds} alternating rounds, CODEX_HOME reused (after 1 warm-up launch)")
    print(table(rows, ["codex", "figure", "measured", "target", "result"]))
    print(
        "note: serve spawns the app-server child before importing the web stack, so the "
        "child initialises during the imports; 'companion -> ready' is bounded below by the "
        "interpreter start + imports + app build (breakdown rows)."
    )
    print(f"overall: {verdict(ok)}")


if __name__ == "__main__":
    main()
