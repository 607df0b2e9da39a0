"""Benchmark: the drawer with 5,000 threads across 50 projects.

Target (issue): warm ``GET /v1/projects`` + ``GET /v1/chats`` under 100 ms.

The real companion (``bench/_companion_host.py``) runs in its own process with
``bench/_fake_app_server.py`` answering ``thread/list`` with 5,000 synthetic
threads over 50 cwds (real protocol shapes: id, cwd, name, preview, createdAt /
updatedAt in seconds, status {type}, paginated with limit/cursor/nextCursor).
This process calls the routes over real HTTP on loopback (httpx, keep-alive).
Cold = the very first ``GET /v1/projects`` (it triggers the full paginated
``thread/list``). Warm = every later call (answered from the directory cache):
50 rounds of ``/v1/projects``, ``/v1/chats`` (all) and ``/v1/chats?projectId=``.
The target is checked on projects + chats of the same round.

Usage: ``.venv/bin/python -m bench.drawer [--threads 5000] [--projects 50] [--rounds 50]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

if not __package__:  # `python bench/<name>.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    CompanionHost,
    cpu_seconds,
    machine_line,
    median,
    percentile,
    rss_mib,
    table,
    verdict,
)

TARGET_MS = 100.0
BREAKDOWN_SAMPLES = 20
HTTP_TIMEOUT_S = 60.0


def timed_get(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = client.get(path)
    took = (time.perf_counter() - start) * 1000
    response.raise_for_status()
    return took, response


def main() -> None:
    parser = argparse.ArgumentParser(description="drawer routes with many threads")
    parser.add_argument("--threads", type=int, default=5000)
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--profile", type=Path, help="cProfile the companion into this file")
    args = parser.parse_args()
    print(__doc__.splitlines()[0] if __doc__ else "")
    print(machine_line())
    fake_env = {"BENCH_THREADS": str(args.threads), "BENCH_PROJECTS": str(args.projects)}
    with tempfile.TemporaryDirectory(prefix="bench-drawer-") as tmp:
        host = CompanionHost(Path(tmp), fake_env, profile=args.profile).start()
        try:
            run(host, args)
        finally:
            killed = host.stop()
            if killed:
                print(f"warning: had to SIGKILL leftover pids {killed}")


def run(host: CompanionHost, args: argparse.Namespace) -> None:
    rss_before = rss_mib(host.pid)
    with httpx.Client(base_url=host.base_url, headers=host.auth(), timeout=HTTP_TIMEOUT_S) as c:
        cold_ms, cold = timed_get(c, "/v1/projects")
        projects = cold.json()["data"]
        project_id = projects[len(projects) // 2]["id"]
        chats_path = f"/v1/chats?projectId={project_id}"
        warm: dict[str, list[float]] = {"/v1/projects": [], "/v1/chats": [], chats_path: []}
        sizes: dict[str, tuple[int, int]] = {}
        cpu0 = cpu_seconds(host.pid)
        for _ in range(args.rounds):
            for path, samples in warm.items():
                took, response = timed_get(c, path)
                samples.append(took)
                sizes[path] = (len(response.json()["data"]), len(response.content))
        cpu = cpu_seconds(host.pid) - cpu0
    combined = [p + ch for p, ch in zip(warm["/v1/projects"], warm["/v1/chats"], strict=True)]
    rows = [
        [
            "cold GET /v1/projects (full thread/list)",
            f"{cold_ms:.1f} ms",
            "",
            f"{len(projects)} projects, {len(cold.content) / 1024:.0f} KiB",
            "",
        ]
    ]
    labels = {
        "/v1/projects": "warm GET /v1/projects",
        "/v1/chats": "warm GET /v1/chats (all)",
        chats_path: "warm GET /v1/chats?projectId=<one>",
    }
    for path, samples in warm.items():
        count, size = sizes[path]
        rows.append(
            [
                labels[path],
                f"{median(samples):.1f} ms",
                f"{percentile(samples, 95):.1f} ms",
                f"{count} items, {size / 1024:.0f} KiB",
                "",
            ]
        )
    ok_median = median(combined) < TARGET_MS
    ok = ok_median and percentile(combined, 95) < TARGET_MS
    rows.append(
        [
            "warm projects + chats (same round)",
            f"{median(combined):.1f} ms",
            f"{percentile(combined, 95):.1f} ms",
            f"target < {TARGET_MS:.0f} ms",
            f"median {verdict(ok_median)}, p95 {verdict(ok)}",
        ]
    )
    calls = args.rounds * len(warm)
    rows.append(["companion CPU per warm call", f"{cpu / calls * 1000:.1f} ms", "", "", ""])
    rows.append(
        [
            "companion RSS before / after",
            f"{rss_before:.1f} / {rss_mib(host.pid):.1f} MiB",
            "",
            "",
            "",
        ]
    )
    print(
        f"\n{args.threads} threads in {args.projects} projects; {args.rounds} warm rounds "
        "(median and p95), real HTTP on 127.0.0.1"
    )
    print(table(rows, ["figure", "median", "p95", "detail", "result"]))
    print(f"overall: median {verdict(ok_median)}; p95 {verdict(ok)}")
    breakdown(args.threads, args.projects, project_id)


def breakdown(threads: int, projects: int, project_id: str) -> None:
    """Where a warm call's time goes: the same directory and models, in this process."""
    from pydantic import TypeAdapter

    from bench._fake_app_server import Server, synthetic_threads
    from codexremote.api.common import Envelope
    from codexremote.chats.directory import ChatDirectory
    from codexremote.chats.models import ChatThread

    server = Server(synthetic_threads(threads, projects))

    async def request(method: str, params: dict[str, Any]) -> Any:
        return json.loads(json.dumps(server.answer(method, params)))

    directory = ChatDirectory(request)
    asyncio.run(directory.relist())
    envelope = TypeAdapter(Envelope[list[ChatThread]])
    wire = {"data": directory.chats(None)}

    def timed(action: Callable[[], object]) -> float:
        samples = []
        for _ in range(BREAKDOWN_SAMPLES):
            start = time.perf_counter()
            action()
            samples.append((time.perf_counter() - start) * 1000)
        return median(samples)

    rows = [
        ["directory.projects()", f"{timed(directory.projects):.1f} ms"],
        [
            "directory.chats(None) (5,000 ChatThread)",
            f"{timed(lambda: directory.chats(None)):.1f} ms",
        ],
        ["directory.chats(<one project>)", f"{timed(lambda: directory.chats(project_id)):.1f} ms"],
        [
            "Envelope[list[ChatThread]] validate + dump_json (all)",
            f"{timed(lambda: envelope.dump_json(envelope.validate_python(wire))):.1f} ms",
        ],
    ]
    print(f"\nin-process breakdown (median of {BREAKDOWN_SAMPLES}, this process)")
    print(table(rows, ["step", "median"]))


if __name__ == "__main__":
    main()
