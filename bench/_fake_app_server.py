"""A scripted stand-in for ``codex app-server`` used by the benchmarks (stdlib only).

Same wire format as the real one (newline-delimited JSON, no ``jsonrpc`` member).
Configured by environment variables:

* ``BENCH_THREADS`` / ``BENCH_PROJECTS``: ``thread/list`` serves that many
  synthetic threads spread over that many cwds, newest first, paginated with
  ``limit``/``cursor``/``nextCursor`` (real protocol shapes, times in seconds).
* ``BENCH_EXTRA_THREAD``: one more thread id (e.g. the one whose rollout a
  benchmark generated); ``thread/read`` knows every listed thread.
* ``BENCH_EMIT_THREAD``, ``BENCH_EMIT_RATE`` (events/s), ``BENCH_EMIT_SECONDS``,
  ``BENCH_TRIGGER_FILE``, ``BENCH_DONE_FILE``: once the trigger file exists,
  emit ``item/agentMessage/delta`` notifications at a fixed rate, each carrying
  its sequence number ``n`` and ``emittedAtNs`` (``time.monotonic_ns()`` taken
  just before the pipe write: CLOCK_MONOTONIC is shared by every process on the
  machine), then write the number emitted to the done file.

Answers ``initialize``; anything unknown gets ``{}``. Exits 0 on stdin EOF.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

TRIGGER_POLL_S = 0.002  # how often the emitter looks for the trigger file
BASE_UPDATED_AT = 1_773_000_000  # seconds; thread i is i minutes older than thread 0
DEFAULT_LIMIT = 25
SESSIONS = "/home/bench/.codex/sessions"  # only for the thread objects' `path`

_write_lock = threading.Lock()


def write(message: dict[str, Any]) -> None:
    line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
    with _write_lock:
        os.write(1, line)


def synthetic_threads(count: int, projects: int, extra: str | None = None) -> list[dict[str, Any]]:
    """``count`` threads over ``projects`` cwds, newest first (``extra`` first of all)."""
    projects = max(1, projects)
    threads = []
    if extra:
        threads.append(_thread(extra, "/home/bench/projects/history-project", 0, "History chat"))
    for i in range(count):
        thread_id = f"019c{i:04x}-0000-7000-8000-{i:012x}"
        cwd = f"/home/bench/projects/project-{i % projects:02d}"
        name = None if i % 3 else f"Chat {i}: refactor module {i % 17}"
        threads.append(_thread(thread_id, cwd, i + 1, name))
    return threads


def _thread(thread_id: str, cwd: str, age: int, name: str | None) -> dict[str, Any]:
    updated = BASE_UPDATED_AT - 60 * age
    return {
        "id": thread_id,
        "sessionId": thread_id,
        "path": f"{SESSIONS}/2026/03/08/rollout-2026-03-08T10-00-00-{thread_id}.jsonl",
        "cwd": cwd,
        "name": name,
        "preview": f"Please look at the failing test in module {age % 17} and fix it, then "
        "explain what went wrong",
        "createdAt": updated - 3600,
        "updatedAt": updated,
        "status": {"type": "notLoaded"},
        "historyMode": "paginated",
        "source": "vscode",
        "originator": "codexremote",
        "modelProvider": "openai",
        "cliVersion": "0.169.0",
        "gitInfo": {"sha": "0" * 40, "branch": "main", "originUrl": None},
        "turns": [],
    }


class Server:
    def __init__(self, threads: list[dict[str, Any]] | None = None) -> None:
        self.threads = (
            threads
            if threads is not None
            else synthetic_threads(
                int(os.environ.get("BENCH_THREADS", "0")),
                int(os.environ.get("BENCH_PROJECTS", "1")),
                os.environ.get("BENCH_EXTRA_THREAD"),
            )
        )
        self.by_id = {t["id"]: t for t in self.threads}
        self.initialized = False

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "initialize":
            self.initialized = True
            start_emitter()
            return {
                "userAgent": "codexremote/0.169.0 (bench fake app-server)",
                "codexHome": os.environ.get("CODEX_HOME", ""),
                "platformFamily": "unix",
                "platformOs": "linux",
            }
        if method == "thread/list":
            return self.thread_list(params)
        if method == "thread/read":
            thread = self.by_id.get(str(params.get("threadId")))
            return {"thread": thread} if thread is not None else None
        return {}

    def thread_list(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = int(params.get("limit") or DEFAULT_LIMIT)
        start = int(params.get("cursor") or 0)
        page = self.threads[start : start + limit]
        end = start + len(page)
        return {
            "data": page,
            "nextCursor": str(end) if end < len(self.threads) else None,
            "backwardsCursor": None,
            "readStates": {},
        }

    def serve(self) -> None:
        for raw in sys.stdin.buffer:
            if not raw.strip():
                continue
            message = json.loads(raw)
            if "id" not in message or "method" not in message:
                continue  # a notification (initialized) or a response
            result = self.answer(message["method"], message.get("params") or {})
            if result is None:
                error = {"code": -32600, "message": "thread not found"}
                write({"id": message["id"], "error": error})
            else:
                write({"id": message["id"], "result": result})


def start_emitter() -> None:
    thread_id = os.environ.get("BENCH_EMIT_THREAD")
    if thread_id:
        threading.Thread(target=emit, args=(thread_id,), daemon=True).start()


def emit(thread_id: str) -> None:
    rate = float(os.environ.get("BENCH_EMIT_RATE", "1000"))
    seconds = float(os.environ.get("BENCH_EMIT_SECONDS", "10"))
    trigger = os.environ.get("BENCH_TRIGGER_FILE", "")
    done = os.environ.get("BENCH_DONE_FILE", "")
    while trigger and not os.path.exists(trigger):
        time.sleep(TRIGGER_POLL_S)
    total = int(rate * seconds)
    interval_ns = int(1e9 / rate)
    start = time.monotonic_ns()
    for n in range(total):
        due = start + n * interval_ns
        wait = due - time.monotonic_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
        params = {
            "threadId": thread_id,
            "turnId": "bench-turn",
            "itemId": "bench-item",
            "delta": f"w{n} ",
            "n": n,
            "emittedAtNs": time.monotonic_ns(),
        }
        write({"method": "item/agentMessage/delta", "params": params})
    elapsed = (time.monotonic_ns() - start) / 1e9
    if done:
        with open(done + ".tmp", "w") as handle:
            json.dump({"emitted": total, "seconds": elapsed}, handle)
        os.replace(done + ".tmp", done)


if __name__ == "__main__":
    Server().serve()
