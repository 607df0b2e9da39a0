"""Builders for synthetic rollouts shared by the history tests (plus checks of the builders).

Records follow the codex 0.169.0 rollout line format (codex-app-server.md 6):
``{"timestamp", "ordinal", "type", "payload"}``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

CHAT = "019cd0a1-7c2e-7d3f-9a41-5b6c7d8e9f01"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rollouts"
BASE_TS = 1773011040.0  # 2026-03-08T23:04:00Z


def iso(ts: float) -> str:
    return (
        datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class Rollout:
    """Accumulates rollout lines; every helper appends complete JSON lines."""

    def __init__(self, start: float = BASE_TS) -> None:
        self.lines: list[str] = []
        self.ts = start
        self.counter = 0

    # -- low level ---------------------------------------------------------------
    def record(self, typ: str, payload: dict[str, Any], *, ts: float | bool | None = True) -> str:
        body: dict[str, Any] = {"ordinal": len(self.lines), "type": typ, "payload": payload}
        if ts is True:
            body["timestamp"] = iso(self.ts)
        elif isinstance(ts, float):
            body["timestamp"] = iso(ts)
        text = json.dumps(body, separators=(",", ":"))
        self.lines.append(text)
        return text

    def tick(self, seconds: float = 1.0) -> None:
        self.ts += seconds

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    # -- record kinds ------------------------------------------------------------
    def user(self, text: str, kind: str = "item") -> None:
        if kind in ("event", "both"):
            self.record("event_msg", {"type": "user_message", "message": text, "images": []})
        if kind in ("item", "both"):
            item = {"type": "UserMessage", "id": self.next_id("u"), "content": [
                {"type": "text", "text": text, "text_elements": []}]}  # fmt: skip
            self.record("event_msg", {"type": "item_completed", "thread_id": CHAT, "item": item})

    def assistant(self, text: str, phase: str | None = None) -> None:
        payload: dict[str, Any] = {
            "type": "message",
            "role": "assistant",
            "id": self.next_id("msg"),
            "content": [{"type": "output_text", "text": text}],
        }
        if phase is not None:
            payload["phase"] = phase
        item = {"type": "AgentMessage", "id": payload["id"], "content": [
            {"type": "Text", "text": text}], "phase": phase}  # fmt: skip
        self.record("event_msg", {"type": "item_completed", "thread_id": CHAT, "item": item})
        self.record("response_item", payload)

    def web_search(self, queries: list[str]) -> None:
        args = json.dumps({"search_query": [{"q": q} for q in queries]})
        call_id = self.next_id("call")
        self.record("response_item", {"type": "function_call", "name": "web.search_query",
                                      "call_id": call_id, "arguments": args})  # fmt: skip

    def mcp(self, server: str, tool: str) -> None:
        self.record("response_item", {"type": "function_call", "namespace": f"mcp__{server}",
                                      "name": tool, "call_id": self.next_id("call"),
                                      "arguments": "{}"})  # fmt: skip

    def patch(self, files: list[tuple[str, int, int]]) -> None:
        body = ["*** Begin Patch"]
        for path, add, rem in files:
            body.append(f"*** Update File: {path}")
            body.append("@@")
            body += ["-old"] * rem + ["+new"] * add
        body.append("*** End Patch")
        self.record("response_item", {"type": "custom_tool_call", "name": "apply_patch",
                                      "call_id": self.next_id("call"),
                                      "input": "\n".join(body) + "\n"})  # fmt: skip

    def exec_command(self, cmd: str, *, session: int | None = None, exit_code: int = 0) -> None:
        call_id = self.next_id("call")
        args = json.dumps({"cmd": cmd})
        self.record("response_item", {"type": "function_call", "name": "exec_command",
                                      "call_id": call_id, "arguments": args})  # fmt: skip
        self.tick(0.5)
        status = (
            f"Process running with session ID {session}"
            if session is not None
            else f"Process exited with code {exit_code}"
        )
        self.output(call_id, status, size=300)

    def write_stdin(self, session: int, *, exit_code: int | None) -> None:
        call_id = self.next_id("call")
        args = json.dumps({"session_id": session, "chars": ""})
        self.record("response_item", {"type": "function_call", "name": "write_stdin",
                                      "call_id": call_id, "arguments": args})  # fmt: skip
        self.tick(0.5)
        status = (
            f"Process running with session ID {session}"
            if exit_code is None
            else f"Process exited with code {exit_code}"
        )
        self.output(call_id, status)

    def output(self, call_id: str, status: str, size: int = 40) -> None:
        text = f"Chunk ID: x\nWall time: 0.5 seconds\n{status}\nOriginal token count: 1\nOutput:\n"
        self.record("response_item", {"type": "function_call_output", "call_id": call_id,
                                      "output": text + "o" * size})  # fmt: skip

    def compaction(self) -> None:
        self.record("compacted", {"message": "summary", "replacement_history": []})
        self.record("event_msg", {"type": "context_compacted"})

    def noise(self) -> None:
        self.record("event_msg", {"type": "token_count", "info": None})

    def raw(self, text: str) -> None:
        self.lines.append(text)

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text(), encoding="utf-8")
        return path


def session_path(sessions_dir: Path, chat_id: str = CHAT, day: str = "2026/03/08") -> Path:
    return sessions_dir / day / f"rollout-2026-03-08T23-04-06-{chat_id}.jsonl"


# -- random rollouts for property tests --------------------------------------------

_OPS = st.sampled_from(
    [
        "user_item", "user_event", "user_both", "user_repeat", "commentary", "final",
        "plain", "bad_phase", "search", "mcp", "patch", "exec_bg", "exec", "poll_running",
        "poll_exited", "compaction", "noise", "garbage", "blank", "no_timestamp",
    ]
)  # fmt: skip


@st.composite
def random_rollout(draw: st.DrawFn) -> Rollout:
    """A rollout mixing every record kind, garbage lines included."""
    ops = draw(st.lists(_OPS, min_size=0, max_size=60))
    roll = Rollout()
    last_user = "first"
    for n, op in enumerate(ops):
        roll.tick(draw(st.sampled_from([0.0, 0.4, 1.0, 3.0])))
        session = draw(st.integers(1, 3))
        if op.startswith("user_"):
            kind = {"user_item": "item", "user_event": "event", "user_both": "both"}.get(op)
            text = last_user if op == "user_repeat" else f"ask {n}"
            roll.user(text, kind or draw(st.sampled_from(["item", "event", "both"])))
            last_user = text
        elif op == "commentary":
            roll.assistant(f"note {n}", "commentary")
        elif op == "final":
            roll.assistant(f"answer {n}", "final_answer")
        elif op == "plain":
            roll.assistant(f"plain {n}")
        elif op == "bad_phase":
            roll.assistant(f"odd {n}", "analysis")
        elif op == "search":
            roll.web_search([f"q{n}.{k}" for k in range(draw(st.integers(1, 3)))])
        elif op == "mcp":
            roll.mcp("openaiDeveloperDocs", "search_openai_docs")
        elif op == "patch":
            count = draw(st.integers(1, 3))
            roll.patch([(f"src/f{n}_{k}.py", k + 1, k) for k in range(count)])
        elif op == "exec_bg":
            roll.exec_command(f"serve {n}", session=session)
        elif op == "exec":
            roll.exec_command(f"ls {n}")
        elif op == "poll_running":
            roll.write_stdin(session, exit_code=None)
        elif op == "poll_exited":
            roll.write_stdin(session, exit_code=draw(st.integers(0, 2)))
        elif op == "compaction":
            roll.compaction()
        elif op == "noise":
            roll.noise()
        elif op == "garbage":
            roll.raw(draw(st.sampled_from(["not json", '{"a":', "[1, 2]", "\x00\xff"])))
        elif op == "blank":
            roll.raw(draw(st.sampled_from(["", "   "])))
        elif op == "no_timestamp":
            roll.record("event_msg", {"type": "user_message", "message": f"untimed {n}"}, ts=None)
    return roll


def test_builder_writes_one_json_object_per_line(tmp_path: Path) -> None:
    roll = Rollout()
    roll.user("hi", "both")
    roll.assistant("hello", "final_answer")
    roll.compaction()
    path = roll.write(tmp_path / "r.jsonl")
    lines = path.read_text().splitlines()
    assert len(lines) == 6
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_fixtures_are_valid_jsonl() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.jsonl"))
    assert names == ["all_kinds.jsonl", "legacy_user_message.jsonl", "real_0.169.0_exec.jsonl"]
    for path in FIXTURES.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            assert isinstance(json.loads(line), dict)
