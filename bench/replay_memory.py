"""Benchmark: companion RSS over 100 turns of 1 MiB answers, no stream client connected.

Issue 9.4: thirty turns of 1 MiB answers took the companion from 53 to 158 MB,
held with no client connected, because the stream's replay buffer was bounded by
count only. Target: RSS flat once the byte-bounded buffer is full
(``stream_replay_mib``, 64 MiB by default).

Everything is real except the model: the companion's own services
(``build_services``: supervisor, relay, event bus) in this process drive the real
``codex app-server`` (``.tools``), which talks to the scripted fake model on
loopback. The model's ``mib-answer`` script streams a 1 MiB final answer in 64
deltas of 16 KiB; each turn runs in a fresh thread (so codex's context does not
grow). This process's VmRSS (the companion's memory; codex is a separate
process) is read after turns 10, 30, 50 and 100.

Usage: ``.venv/bin/python -m bench.replay_memory [--turns 100] [--replay-mib 64]``;
``--replay-mib 4096`` approximates the old count-only bound, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # `python bench/<name>.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import NPM_CODEX, machine_line, rss_mib, table, verdict
from codexremote.app import build_services
from codexremote.events.bus import StreamEvent
from codexremote.launcher import app_server_launcher
from codexremote.settings import Settings
from tests.harness.codex_home import codex_env, make_codex_home
from tests.harness.fake_model import FakeModel
from tests.harness.model_scripts import Prompt, Reply, message, stream

ANSWER_BYTES = 1024 * 1024
DELTAS = 64
SAMPLE_AT = (10, 30, 50, 100)
TURN_TIMEOUT_S = 60.0
FLAT_MB = 16.0  # "flat": less than this between turn 50 and the last turn


def mib_answer(p: Prompt) -> Reply:
    size = ANSWER_BYTES // DELTAS
    deltas = [(f"{p.seq}-{i} " * size)[:size] for i in range(DELTAS)]
    return stream(p, message(f"msg_{p.seq}_mib", deltas))


async def run(turns: int, replay_mib: int, root: Path) -> dict[int, float]:
    async with FakeModel() as model:
        model.add_script("mib-answer", mib_answer)
        codex_home = make_codex_home(root / "codex_home", model.url, mcp_demo=False)
        env = codex_env(codex_home, root / "home")
        repo = root / "repo"
        repo.mkdir()
        settings = Settings(
            state_dir=root / "state", codex_home=codex_home, stream_replay_mib=replay_mib
        )
        services = build_services(settings, launcher=app_server_launcher(str(NPM_CODEX), env))
        done: dict[str, asyncio.Event] = {}

        def on_event(event: StreamEvent) -> None:
            if event.event == "turn_completed" and event.chat_id in done:
                done[event.chat_id].set()

        services.bus.subscribe(on_event)
        supervisor = services.supervisor
        await supervisor.start()
        samples: dict[int, float] = {}
        try:
            assert await supervisor.wait_ready(30), supervisor.health()
            gc.collect()
            samples[0] = rss_mib(os.getpid())
            for turn in range(1, turns + 1):
                started = await supervisor.request("thread/start", {"cwd": str(repo)})
                thread_id = started["thread"]["id"]
                done[thread_id] = asyncio.Event()
                await supervisor.request(
                    "turn/start",
                    {"threadId": thread_id, "input": [{"type": "text", "text": "mib-answer"}]},
                )
                await asyncio.wait_for(done[thread_id].wait(), TURN_TIMEOUT_S)
                del done[thread_id]
                if turn in SAMPLE_AT or turn == turns:
                    gc.collect()
                    samples[turn] = rss_mib(os.getpid())
                    print(
                        f"  turn {turn}: RSS {samples[turn]:.0f} MiB, buffer "
                        f"{services.bus.buffered_bytes / 2**20:.1f} MiB in "
                        f"{services.bus.buffered_events} events",
                        flush=True,
                    )
        finally:
            await supervisor.stop()
        return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--replay-mib", type=int, default=64)
    args = parser.parse_args()
    print(__doc__.splitlines()[0] if __doc__ else "")
    print(machine_line())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        samples = asyncio.run(run(args.turns, args.replay_mib, Path(tmp)))
    elapsed = time.monotonic() - started
    last = max(samples)
    mid = 50 if 50 in samples else min(k for k in samples if k > 0)
    growth_late = samples[last] - samples[mid]
    rows = [
        [f"after turn {t}" if t else "ready, no turn yet", f"{mb:.0f} MiB"]
        for t, mb in sorted(samples.items())
    ]
    print(table(rows, ["companion RSS", "value"]))
    print(
        f"{args.turns} turns of 1 MiB answers in {elapsed:.0f} s (replay bound {args.replay_mib}"
        f" MiB): growth {samples[last] - samples[0]:.0f} MiB overall, {growth_late:.0f} MiB from"
        f" turn {mid} to {last} -> flat (< {FLAT_MB:.0f} MiB): {verdict(growth_late < FLAT_MB)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
