"""Runs every benchmark once, one after the other, and prints their tables.

Usage: ``.venv/bin/python -m bench.run_all`` (about 3 minutes on the 2-core dev VM).
Each benchmark runs in its own interpreter so one's memory never shows in another's.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

if not __package__:  # `python bench/<name>.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO_ROOT

BENCHMARKS = ("startup", "stream_latency", "drawer", "memory_stream", "replay_memory")
PER_BENCH_TIMEOUT_S = 300  # each is designed to finish well within 2 minutes
INTERRUPT_GRACE_S = 20.0  # after SIGINT: time for a benchmark to stop its companion


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n===== bench.{name} =====", flush=True)
        start = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", f"bench.{name}"], cwd=REPO_ROOT)
        try:
            code = process.wait(PER_BENCH_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # SIGINT first: the benchmark's finally blocks stop the processes it started.
            process.send_signal(signal.SIGINT)
            try:
                code = process.wait(INTERRUPT_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
        print(f"===== bench.{name}: {time.monotonic() - start:.0f} s, exit {code}", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"benchmarks that did not run to completion: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
