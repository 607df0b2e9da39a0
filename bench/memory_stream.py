"""Benchmark: companion memory with 20 stream clients while paging a 300 MB rollout.

Target (issue): companion RSS under 100 MB with 20 stream clients while serving
pages of the 300 MB rollout.

A ~300 MB rollout (``bench.history_paging.generate``: realistic record mix) is
written under a temp ``CODEX_HOME/sessions/2026/03/08/rollout-...-<id>.jsonl``.
The real companion (``bench/_companion_host.py``) runs in its own process; its
fake app-server knows that thread (``thread/list``/``thread/read``) and, while
the pages are read, emits ``item/agentMessage/delta`` on it at ``--rate``
events/s, so the 20 WebSocket clients (websockets library, subscribed to the
chat) are receiving. This process then reads ``--pages`` history pages, newest
first, following ``nextCursor``, over HTTP (the product route
``GET /v1/chats/{id}/history`` when it exists, else a bench-only route calling
``HistoryService.page`` inside the companion process). The companion's VmRSS is
sampled every 20 ms; VmHWM (lifetime peak) is read at the end.

Usage: ``.venv/bin/python -m bench.memory_stream [--size-mb 300] [--clients 20]
[--pages 30] [--limit 50] [--rate 200] [--timeline]``; ``--timeline`` then reads
one full ``/timeline`` of the same chat and reports its memory separately.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

if not __package__:  # `python bench/<name>.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    CompanionHost,
    hwm_mib,
    machine_line,
    median,
    percentile,
    rss_mib,
    table,
    verdict,
)
from bench.history_paging import generate

TARGET_MB = 100.0
SAMPLE_S = 0.02  # RSS sampling interval
HTTP_TIMEOUT_S = 60.0
SETTLE_S = 0.5  # after the clients connected


async def count_frames(ws: ClientConnection, counter: list[int]) -> None:
    try:
        async for _ in ws:
            counter[0] += 1
    except Exception:
        return


async def sample_rss(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(rss_mib(pid))
        await asyncio.sleep(SAMPLE_S)


async def measure(host: CompanionHost, chat: str, args: argparse.Namespace, go: Path) -> bool:
    url = f"{host.ws_url}?chatId={chat}"
    sockets = [
        await connect(url, additional_headers=host.auth(), compression=None)
        for _ in range(args.clients)
    ]
    counters = [[0] for _ in sockets]
    readers = [
        asyncio.create_task(count_frames(ws, n)) for ws, n in zip(sockets, counters, strict=True)
    ]
    await asyncio.sleep(SETTLE_S)
    idle_rss, idle_hwm = rss_mib(host.pid), hwm_mib(host.pid)
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(host.pid, samples, stop))
    path = host.history_path.replace("{chat_id}", chat)
    page_ms: list[float] = []
    items = 0
    cursor: str | None = None
    go.touch()  # the fake app-server starts emitting
    async with httpx.AsyncClient(
        base_url=host.base_url, headers=host.auth(), timeout=HTTP_TIMEOUT_S
    ) as client:
        for _ in range(args.pages):
            params: dict[str, str | int] = {"limit": args.limit}
            if cursor:
                params["cursor"] = cursor
            start = time.perf_counter()
            response = await client.get(path, params=params)
            page_ms.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
            data = response.json()["data"]
            items += len(data["items"])
            cursor = data.get("nextCursor")
            if not cursor:
                break
    await asyncio.sleep(0.2)
    stop.set()
    await sampler
    final_rss, peak_hwm = rss_mib(host.pid), hwm_mib(host.pid)
    for ws in sockets:
        await ws.close()
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    peak = max([*samples, final_rss])
    ok = peak < TARGET_MB and peak_hwm < TARGET_MB
    frames = [n[0] for n in counters]
    target = f"< {TARGET_MB:.0f} MB"
    page_times = f"{median(page_ms):.1f} / {percentile(page_ms, 95):.1f} / {max(page_ms):.1f} ms"
    rows = [
        ["history route", host.history_path, "", ""],
        ["pages read / items", f"{len(page_ms)} / {items}", "", ""],
        ["page time median / p95 / max", page_times, "", ""],
        ["stream frames per client (min-max)", f"{min(frames)}-{max(frames)}", "", ""],
        ["RSS idle, 20 clients connected", f"{idle_rss:.1f} MiB", "", ""],
        ["VmHWM before paging (start-up peak)", f"{idle_hwm:.1f} MiB", "", ""],
        ["peak sampled VmRSS while paging", f"{peak:.1f} MiB", target, verdict(peak < TARGET_MB)],
        [
            "VmHWM at end (lifetime peak)",
            f"{peak_hwm:.1f} MiB",
            target,
            verdict(peak_hwm < TARGET_MB),
        ],
        ["VmRSS at end", f"{final_rss:.1f} MiB", "", ""],
    ]
    print(table(rows, ["figure", "measured", "target", "result"]))
    print(f"overall: {verdict(ok)}")
    if args.timeline:
        await timeline_extra(host, chat)
    return ok


async def timeline_extra(host: CompanionHost, chat: str) -> None:
    """Not part of the target: one full ``/timeline`` (what the original app polls)."""
    before = rss_mib(host.pid)
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(host.pid, samples, stop))
    async with httpx.AsyncClient(
        base_url=host.base_url, headers=host.auth(), timeout=HTTP_TIMEOUT_S
    ) as client:
        start = time.perf_counter()
        response = await client.get(f"/v1/chats/{chat}/timeline")
        took = time.perf_counter() - start
        start = time.perf_counter()
        again = await client.get(f"/v1/chats/{chat}/timeline")
        took_again = time.perf_counter() - start
    stop.set()
    await sampler
    data = response.json().get("data", {}) if response.is_success else {}
    activities = len(data.get("activities", []))
    peak, after = max(samples, default=0.0), rss_mib(host.pid)
    rows = [
        ["GET /timeline status / time", f"{response.status_code} / {took:.2f} s"],
        ["second GET /timeline (cached parse)", f"{again.status_code} / {took_again:.2f} s"],
        ["messages / activities", f"{len(data.get('messages', []))} / {activities}"],
        ["response size", f"{len(response.content) / 1e6:.1f} MB"],
        ["RSS before / peak sampled / after", f"{before:.1f} / {peak:.1f} / {after:.1f} MiB"],
        ["VmHWM after", f"{hwm_mib(host.pid):.1f} MiB"],
    ]
    print("\nextra (no target): one full timeline of the same chat")
    print(table(rows, ["figure", "measured"]))


async def amain(args: argparse.Namespace) -> None:
    print(__doc__.splitlines()[0] if __doc__ else "")
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        chat = str(uuid.uuid4())
        start = time.perf_counter()
        rollout = generate(work / "codex_home" / "sessions", chat, int(args.size_mb * 1e6))
        size = rollout.stat().st_size / 1e6
        print(f"generated a {size:.1f} MB rollout in {time.perf_counter() - start:.1f} s")
        go = work / "go"
        fake_env = {
            "BENCH_EXTRA_THREAD": chat,
            "BENCH_THREADS": "0",
            "BENCH_EMIT_THREAD": chat if args.rate > 0 else "",
            "BENCH_EMIT_RATE": str(max(args.rate, 1)),
            "BENCH_EMIT_SECONDS": str(args.emit_seconds),
            "BENCH_TRIGGER_FILE": str(go),
        }
        host = CompanionHost(work, fake_env, history_route=True).start()
        try:
            print(
                f"{args.clients} stream clients, {args.pages} pages of {args.limit}, "
                f"deltas at {args.rate}/s on the chat while paging\n"
            )
            await measure(host, chat, args, go)
        finally:
            killed = host.stop()
            if killed:
                print(f"warning: had to SIGKILL leftover pids {killed}")


def main() -> None:
    parser = argparse.ArgumentParser(description="companion RSS while paging a big rollout")
    parser.add_argument("--size-mb", type=float, default=300.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--rate", type=int, default=200, help="stream events/s while paging")
    parser.add_argument("--emit-seconds", type=float, default=10.0)
    parser.add_argument(
        "--timeline", action="store_true", help="then also read one full /timeline (extra)"
    )
    asyncio.run(amain(parser.parse_args()))


if __name__ == "__main__":
    main()
