"""Benchmark: newest history page vs rollout size, and the full timeline of a small chat.

Generates synthetic codex rollouts (~1 MB, ~100 MB, ~300 MB by default) with a
realistic record mix (user turns, commentary and final answers, reasoning,
exec_command calls with a few KiB of output and their item records, apply_patch
calls, token counts), then, in one child process per file (so peak RSS belongs
to that file alone):

* times ``HistoryService.page(chat, None, 50)`` (first call, then median of 5),
* times walking the 10 newest pages,
* reports peak RSS (``resource.getrusage``) after paging, next to the RSS of the
  bare interpreter with the package imported,
* for the smallest file, times the full forward ``timeline`` (median of 5,
  fresh service each time, i.e. no incremental cache).

Usage::

    .venv/bin/python bench/history_paging.py [--sizes 1,100,300] [--out DIR] [--keep]

Files go to ``bench/out/`` (git-ignored) and are deleted at the end unless
``--keep``. ``--forward-all`` also times the full timeline of every file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WRITE_BUFFER_BYTES = 8 * 1024 * 1024  # flush generated lines in buffers of this size
BASE_TS = 1773011040.0
FILLER = (
    "drwxr-xr-x  5 dev dev  4096 Mar  8 23:04 src\n"
    "-rw-r--r--  1 dev dev  1234 Mar  8 23:04 README.md\n"
    "tests/test_app.py::test_ok PASSED\n"
    "error: could not compile `demo` due to previous error\n"
)


def _iso(ts: float) -> str:
    return (
        datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _output(n: int, size: int) -> str:
    body = (FILLER * (size // len(FILLER) + 1))[:size]
    return (
        f"Chunk ID: {n:06x}\nWall time: 0.0{n % 10} seconds\nProcess exited with code 0\n"
        f"Original token count: {size // 4}\nOutput:\n{body}"
    )


def _turn(chat: str, turn: int, ts: float) -> tuple[list[dict[str, Any]], float]:
    """The records of one turn (roughly 25 KB of JSON)."""
    recs: list[dict[str, Any]] = []
    turn_id = f"turn-{turn}"

    def add(typ: str, payload: dict[str, Any], step: float = 0.3) -> None:
        nonlocal ts
        ts += step
        recs.append({"timestamp": _iso(ts), "ordinal": 0, "type": typ, "payload": payload})

    add("turn_context", {"turn_id": turn_id, "cwd": "/Users/example/project", "model": "gpt-5"})
    add("event_msg", {"type": "task_started", "turn_id": turn_id, "started_at": int(ts)})
    text = f"Turn {turn}: please fix the failing test in module {turn % 17} and explain why."
    add("response_item", {"type": "message", "role": "user",
                          "content": [{"type": "input_text", "text": text}]})  # fmt: skip
    add("event_msg", {"type": "item_completed", "thread_id": chat, "turn_id": turn_id,
                      "item": {"type": "UserMessage", "id": f"u{turn}",
                               "content": [{"type": "text", "text": text}]}})  # fmt: skip
    note = f"Looking at module {turn % 17}. " * 8
    add("event_msg", {"type": "item_completed", "item": {"type": "AgentMessage", "id": f"c{turn}",
        "content": [{"type": "Text", "text": note}], "phase": "commentary"}})  # fmt: skip
    add("response_item", {"type": "message", "role": "assistant", "id": f"c{turn}",
        "phase": "commentary", "content": [{"type": "output_text", "text": note}]})  # fmt: skip
    add("response_item", {"type": "reasoning", "summary": [{"type": "summary_text",
        "text": "**Plan** " * 40}], "encrypted_content": "gAAAA" + "x" * 1500})  # fmt: skip
    for k in range(3):
        call = f"call_{turn}_{k}"
        out = _output(turn * 10 + k, 3000)
        args = json.dumps({"cmd": f"rg -n test_{k} src", "yield_time_ms": 1000})
        add("response_item", {"type": "function_call", "name": "exec_command", "call_id": call,
                              "arguments": args})  # fmt: skip
        add("event_msg", {"type": "item_completed", "item": {"type": "CommandExecution",
            "id": call, "command": ["/bin/bash", "-lc", f"rg -n test_{k} src"],
            "aggregated_output": out, "exit_code": 0, "status": "completed"}}, 1.0)  # fmt: skip
        add("response_item", {"type": "function_call_output", "call_id": call, "output": out})
        add("event_msg", {"type": "token_count", "info": {"total_token_usage": {
            "input_tokens": 1000 * turn, "output_tokens": 50 * turn}}})  # fmt: skip
    if turn % 2 == 0:
        call = f"patch_{turn}"
        lines = "\n".join(f"+    value_{i} = compute({i})" for i in range(30))
        patch = (f"*** Begin Patch\n*** Update File: src/mod_{turn % 17}.py\n@@ def f():\n"
                 f"-    return None\n{lines}\n*** End Patch\n")  # fmt: skip
        add("response_item", {"type": "custom_tool_call", "name": "apply_patch", "call_id": call,
                              "input": patch})  # fmt: skip
        changes = {f"src/mod_{turn % 17}.py": {"type": "update"}}
        add("event_msg", {"type": "item_completed", "item": {"type": "FileChange", "id": call,
            "changes": changes, "status": "completed"}})  # fmt: skip
        add("response_item", {"type": "custom_tool_call_output", "call_id": call,
                              "output": "Exit code: 0\nOutput:\nSuccess.\n"})  # fmt: skip
    answer = f"Fixed module {turn % 17}: the test expected a sorted list. " * 12
    add("event_msg", {"type": "item_completed", "item": {"type": "AgentMessage", "id": f"f{turn}",
        "content": [{"type": "Text", "text": answer}], "phase": "final_answer"}}, 2.0)  # fmt: skip
    add("response_item", {"type": "message", "role": "assistant", "id": f"f{turn}",
        "phase": "final_answer", "content": [{"type": "output_text", "text": answer}]})  # fmt: skip
    add("event_msg", {"type": "task_complete", "turn_id": turn_id, "duration_ms": 9000})
    return recs, ts + 30


def generate(sessions: Path, chat: str, target_bytes: int) -> Path:
    """Write a rollout of about ``target_bytes``; returns its path."""
    path = sessions / "2026" / "03" / "08" / f"rollout-2026-03-08T23-04-00-{chat}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"id": chat, "cwd": "/Users/example/project", "cli_version": "0.169.0"}
    meta = {"timestamp": _iso(BASE_TS), "ordinal": 0, "type": "session_meta", "payload": payload}
    written = 0
    ts = BASE_TS
    turn = 0
    ordinal = 1
    with path.open("wb", buffering=0) as handle:
        buffer: list[bytes] = [json.dumps(meta, separators=(",", ":")).encode() + b"\n"]
        pending = len(buffer[0])
        while written + pending < target_bytes:
            records, ts = _turn(chat, turn, ts)
            turn += 1
            for record in records:
                record["ordinal"] = ordinal
                ordinal += 1
                line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
                buffer.append(line)
                pending += len(line)
            if pending >= WRITE_BUFFER_BYTES:
                handle.write(b"".join(buffer))
                written += pending
                buffer, pending = [], 0
        handle.write(b"".join(buffer))
    return path


# -- measuring (child process) -----------------------------------------------------


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _measure(
    sessions: Path, chat: str, repeat: int, limit: int, forward: bool
) -> dict[str, Any]:
    from codexremote.history import HistoryService, LiveActivities

    baseline = _rss_mib()
    svc = HistoryService(sessions, LiveActivities())
    start = time.perf_counter()
    page = await svc.page(chat, None, limit)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        page = await svc.page(chat, None, limit)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    cursor: str | None = None
    pages = 0
    for _ in range(10):
        current = await svc.page(chat, cursor, limit)
        pages += 1
        cursor = current.nextCursor
        if cursor is None:
            break
    walk = time.perf_counter() - start
    result: dict[str, Any] = {
        "items": len(page.items),
        "first_s": first,
        "median_s": statistics.median(times),
        "walk10_s": walk,
        "walk_pages": pages,
        "rss_baseline_mib": baseline,
        "rss_peak_paging_mib": _rss_mib(),
    }
    if forward:
        fwd = []
        for _ in range(repeat):
            fresh = HistoryService(sessions, LiveActivities())
            start = time.perf_counter()
            timeline = await fresh.timeline(chat)
            fwd.append(time.perf_counter() - start)
        result["timeline_median_s"] = statistics.median(fwd)
        result["timeline_messages"] = len(timeline.messages)
        result["timeline_activities"] = len(timeline.activities)
        result["rss_peak_after_timeline_mib"] = _rss_mib()
    return result


def _child(argv: list[str]) -> None:
    sessions, chat, repeat, limit, forward = argv
    result = asyncio.run(_measure(Path(sessions), chat, int(repeat), int(limit), forward == "1"))
    print(json.dumps(result))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,300", help="rollout sizes in MB")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--keep", action="store_true", help="keep the generated rollouts")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument(
        "--forward-all", action="store_true", help="time the full timeline of every file"
    )
    args = parser.parse_args()
    sessions = args.out / "sessions"
    sizes = [float(s) for s in args.sizes.split(",")]
    files: list[tuple[float, str, Path]] = []
    try:
        for size in sizes:
            chat = str(uuid.uuid4())
            start = time.perf_counter()
            path = generate(sessions, chat, int(size * 1_000_000))
            took = time.perf_counter() - start
            lines = sum(1 for _ in path.open("rb"))
            print(
                f"generated {path.stat().st_size / 1e6:7.1f} MB, {lines:7d} lines in {took:5.1f} s"
            )
            files.append((size, chat, path))
        print()
        print(f"newest page, limit {args.limit} (median of {args.repeat}; first call incl. locate)")
        smallest = min(sizes)
        for size, chat, path in files:
            forward = "1" if (args.forward_all or size == smallest) else "0"
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(sessions), chat, str(args.repeat),
                 str(args.limit), forward],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            r = json.loads(proc.stdout)
            print(
                f"  {path.stat().st_size / 1e6:7.1f} MB: median {r['median_s'] * 1000:7.2f} ms, "
                f"first {r['first_s'] * 1000:7.2f} ms, {r['items']} items; "
                f"10 pages {r['walk10_s'] * 1000:7.1f} ms; "
                f"peak RSS {r['rss_peak_paging_mib']:.1f} MiB "
                f"(interpreter+imports {r['rss_baseline_mib']:.1f} MiB)"
            )
            if "timeline_median_s" in r:
                print(
                    f"           full timeline: median {r['timeline_median_s'] * 1000:8.1f} ms "
                    f"({r['timeline_messages']} messages, {r['timeline_activities']} activities; "
                    f"peak RSS {r['rss_peak_after_timeline_mib']:.1f} MiB)"
                )
    finally:
        if not args.keep:
            for _, _, path in files:
                path.unlink(missing_ok=True)
            shutil.rmtree(sessions, ignore_errors=True)


if __name__ == "__main__":
    main()
