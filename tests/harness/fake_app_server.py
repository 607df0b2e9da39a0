"""A fake ``codex app-server`` process for failure modes the real one can't show on demand.

Run as ``python tests/harness/fake_app_server.py`` (stdlib only). It speaks the
same line-delimited JSON-RPC as the real binary: ``initialize`` answers
``{userAgent, codexHome, platformFamily, platformOs}`` (calls before it get
-32600 "Not initialized"), ``thread/start`` returns a thread with an id,
``turn/start`` a turn with an id, anything else ``{}``. Stdin EOF -> exit 0.

Failure switches (environment variables; see docs/testing.md):

FAKE_FAIL_ON_START=1      print an error to stderr, exit 1 before reading stdin
FAKE_STARTUP_DELAY=<s>    sleep before reading stdin
FAKE_STDERR_SPAM=<n>      write n stderr lines before reading stdin ("1" = 20,000 lines)
FAKE_CRASH_AFTER=<n>      answer n requests; on the next one exit 1 without answering
FAKE_HANG=1               after answering initialize, never read or answer again
FAKE_FLOOD=1              after initialize, a thread writes notifications as fast as it
                          can (FAKE_FLOOD_LINES=<n> caps it) while requests are still answered
FAKE_OVERSIZE_LINE=<b>    after initialize, emit one valid notification line of b bytes
FAKE_GARBAGE_LINE=1       after initialize, emit one non-JSON line
FAKE_OVERLOADED=<n>       answer the first n non-initialize requests with -32001
FAKE_SERVER_REQUEST=1     after thread/start, send item/commandExecution/requestApproval (id 0);
                          on the answer send fake/serverRequestAnswered {result} and
                          serverRequest/resolved {threadId, requestId: 0}
FAKE_IGNORE_SIGTERM=1     ignore SIGTERM (only SIGKILL stops it)
FAKE_CHILD_PIDFILE=<path> spawn a ``sleep`` grandchild in our process group, write its pid
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

VERSION = "0.0.0-fake"
STDERR_SPAM_DEFAULT_LINES = 20_000  # ~2 MB: far more than a 64 KiB pipe buffer
GRANDCHILD_SLEEP_S = "600"  # the grandchild outlives any test unless it is killed
HANG_SLEEP_S = 3600.0

_out_lock = threading.Lock()


def env_int(name: str, default: int = 0) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def write_line(data: bytes) -> None:
    with _out_lock:
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.buffer.flush()


def send(message: dict[str, Any]) -> None:
    write_line(json.dumps(message).encode())


def notify(method: str, params: dict[str, Any]) -> None:
    send({"method": method, "params": params, "emittedAtMs": int(time.time() * 1000)})


def flood(limit: int) -> None:
    """Write notifications until ``limit`` (0 = forever) or stdout is gone."""
    n = 0
    try:
        while limit == 0 or n < limit:
            notify("fake/flood", {"n": n, "pad": "x" * 100})
            n += 1
    except (BrokenPipeError, OSError):
        os._exit(0)


def oversize_line(size: int) -> bytes:
    """A valid notification exactly ``size`` bytes long (newline excluded)."""
    head, tail = b'{"method":"fake/oversize","params":{"pad":"', b'"}}'
    return head + b"x" * max(size - len(head) - len(tail), 0) + tail


class FakeAppServer:
    def __init__(self) -> None:
        self.initialized = False
        self.requests = 0
        self.overloaded_left = env_int("FAKE_OVERLOADED")
        self.crash_after = env_int("FAKE_CRASH_AFTER", -1)
        self.threads = 0
        self.turns = 0
        self.awaiting_answer: str | None = None  # threadId of our pending server request

    def after_initialize(self) -> None:
        if size := env_int("FAKE_OVERSIZE_LINE"):
            write_line(oversize_line(size))
        if os.environ.get("FAKE_GARBAGE_LINE") == "1":
            write_line(b"this is not json {")
        if os.environ.get("FAKE_FLOOD") == "1":
            limit = env_int("FAKE_FLOOD_LINES")
            threading.Thread(target=flood, args=(limit,), daemon=True).start()
        if os.environ.get("FAKE_HANG") == "1":
            while True:
                time.sleep(HANG_SLEEP_S)

    def result_for(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "initialize":
            name = (params.get("clientInfo") or {}).get("name", "client")
            return {
                "userAgent": f"{name}/{VERSION} (fake)",
                "codexHome": os.environ.get("CODEX_HOME", ""),
                "platformFamily": "unix",
                "platformOs": sys.platform,
            }
        if method == "thread/start":
            self.threads += 1
            thread: dict[str, Any] = {
                "id": f"fake-thread-{self.threads}",
                "cwd": params.get("cwd"),
                "status": {"type": "idle"},
                "turns": [],
            }
            return {"thread": thread, "model": "fake-model", "cwd": params.get("cwd")}
        if method == "turn/start":
            self.turns += 1
            turn = {"id": f"fake-turn-{self.turns}", "status": "inProgress", "items": []}
            return {"turn": turn}
        return {}

    def on_request(self, request_id: Any, method: str, params: dict[str, Any]) -> None:
        self.requests += 1
        if self.crash_after >= 0 and self.requests > self.crash_after:
            sys.stderr.write(f"fake app-server: crashing on request {self.requests}\n")
            sys.stderr.flush()
            os._exit(1)
        if method != "initialize" and not self.initialized:
            send({"id": request_id, "error": {"code": -32600, "message": "Not initialized"}})
            return
        if method == "initialize" and self.initialized:
            send({"id": request_id, "error": {"code": -32600, "message": "Already initialized"}})
            return
        if method != "initialize" and self.overloaded_left > 0:
            self.overloaded_left -= 1
            send({"id": request_id, "error": {"code": -32001, "message": "Server overloaded"}})
            return
        result = self.result_for(method, params)
        send({"id": request_id, "result": result})
        if method == "initialize":
            self.initialized = True
            self.after_initialize()
        elif method == "thread/start" and os.environ.get("FAKE_SERVER_REQUEST") == "1":
            self.send_approval(result["thread"]["id"], params.get("cwd") or os.getcwd())

    def send_approval(self, thread_id: str, cwd: str) -> None:
        self.awaiting_answer = thread_id
        params = {
            "kind": "command",
            "threadId": thread_id,
            "turnId": "fake-turn-0",
            "itemId": "call_fake",
            "reason": "fake approval",
            "command": "/bin/bash -lc 'touch approved.txt'",
            "cwd": cwd,
            "commandActions": [{"type": "unknown", "command": "touch approved.txt"}],
            "availableDecisions": ["accept", "cancel"],
        }
        send({"id": 0, "method": "item/commandExecution/requestApproval", "params": params})

    def on_response(self, message: dict[str, Any]) -> None:
        if message.get("id") == 0 and self.awaiting_answer is not None:
            thread_id, self.awaiting_answer = self.awaiting_answer, None
            notify("fake/serverRequestAnswered", {"result": message.get("result")})
            notify("serverRequest/resolved", {"threadId": thread_id, "requestId": 0})

    def run(self) -> None:
        for raw in sys.stdin.buffer:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if "method" in message and "id" in message:
                self.on_request(message["id"], message["method"], message.get("params") or {})
            elif "method" not in message:
                self.on_response(message)


def main() -> None:
    if os.environ.get("FAKE_IGNORE_SIGTERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if pidfile := os.environ.get("FAKE_CHILD_PIDFILE"):
        quiet = subprocess.DEVNULL  # holds none of our pipes: only process-group cleanup matters
        child = subprocess.Popen(
            ["sleep", GRANDCHILD_SLEEP_S], stdin=quiet, stdout=quiet, stderr=quiet
        )
        with open(pidfile, "w") as f:
            f.write(str(child.pid))
    if os.environ.get("FAKE_FAIL_ON_START") == "1":
        sys.stderr.write("fake app-server: failed to start (FAKE_FAIL_ON_START)\n")
        sys.exit(1)
    if spam := env_int("FAKE_STDERR_SPAM"):
        lines = STDERR_SPAM_DEFAULT_LINES if spam == 1 else spam
        for i in range(lines):
            sys.stderr.write(f"fake app-server stderr spam line {i:08d} " + "." * 60 + "\n")
        sys.stderr.flush()
    if delay := os.environ.get("FAKE_STARTUP_DELAY"):
        time.sleep(float(delay))
    try:
        FakeAppServer().run()
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
