"""The steps of the closed loop. Each returns (detail, data) or raises StepFailed/StepSkipped.

They share a :class:`LoopState` so a later step knows what an earlier one
produced; a step whose input is missing fails with the reason instead of
running (the loop goes on with the steps that can still run).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codexremote.history.locate import find_rollout
from codexremote.runtime_config.reader import config_path
from codexremote.verify.client import CompanionClient
from codexremote.verify.report import StepFailed
from codexremote.verify.workspace import FEATURE_BRANCH, FileSnapshot

ROLLOUT_POLL_S = 0.25
PREVIEW_CHARS = 400

Outcome = tuple[str, dict[str, Any]]


@dataclass
class LoopState:
    client: CompanionClient
    state_dir: Path  # the companion's (its control socket)
    codex_home: Path  # the companion's (config.toml, sessions/)
    message: str
    timeout_s: float
    token_given: bool
    workspace: Path | None = None
    chat_id: str | None = None
    project_id: str | None = None
    answer: str | None = None
    device_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def need(self, value: Any, what: str) -> Any:
        if value is None:
            raise StepFailed(f"needs {what}")
        return value


async def step_token(state: LoopState) -> Outcome:
    client = state.client
    if not await client.alive():
        raise StepFailed(
            f"no companion answers at {client.base_url} "
            "(start it with `codexremote serve`, or pass --start)"
        )
    if state.token_given:
        await client.call("GET", "/v1/devices")  # 401 for a revoked token
        return "the given --token is accepted", {}
    paired = await client.pair_locally(state.state_dir, state.timeout_s)
    state.device_id = paired["deviceId"]
    return f"paired as device {paired['deviceId']} (code {paired['comparisonCode']})", paired


async def step_chat(state: LoopState) -> Outcome:
    cwd = str(state.need(state.workspace, "the temporary repository"))
    chat = await state.client.call("POST", "/v1/chats", {"cwd": cwd})
    state.chat_id, state.project_id = chat["id"], chat["projectId"]
    return f"chat {chat['id']} in project {chat['projectId']}", {"chat": chat}


async def step_context(state: LoopState) -> Outcome:
    project = state.need(state.project_id, "a chat (the chat step failed)")
    context = await state.client.call("GET", f"/v1/projects/{project}/context")
    git = context.get("git") or {}
    if not git.get("isRepository"):
        raise StepFailed(f"context says {context.get('cwd')} is not a git repository")
    detail = f"branch {git.get('branch')}, approval {context.get('approvalPolicy')}"
    if context.get("configError"):
        detail += f", config error: {context['configError']}"
    return detail, {"context": context}


async def step_git(state: LoopState) -> Outcome:
    project = state.need(state.project_id, "a chat (the chat step failed)")
    base = f"/v1/projects/{project}/git"
    call = state.client.call
    branches = await call("GET", f"{base}/branches")
    names = [b.get("name") for b in branches]
    if FEATURE_BRANCH not in names:
        raise StepFailed(f"branches lack {FEATURE_BRANCH}: {names}")
    combined = await call("GET", f"{base}/diff")
    one = await call("GET", f"{base}/diff", params={"path": "README.md"})
    if "changed by verify" not in json.dumps(one):
        raise StepFailed("the README.md diff does not show the staged change")
    checkout = await call("POST", f"{base}/checkout", {"branch": FEATURE_BRANCH})
    message = f"Remote verify commit {state.client.trace_id[-6:]}"
    commit = await call("POST", f"{base}/commit", {"message": message})
    after = await call("GET", f"/v1/projects/{project}/context")
    if (after.get("git") or {}).get("branch") != FEATURE_BRANCH:
        raise StepFailed(f"after checkout the branch is {after.get('git')}")
    data = {
        "branches": names,
        "combinedDiffPreview": json.dumps(combined)[:PREVIEW_CHARS],
        "fileDiffPreview": json.dumps(one)[:PREVIEW_CHARS],
        "checkout": checkout,
        "commit": commit,
    }
    return f"{len(names)} branches, diff, checkout {FEATURE_BRANCH}, commit {message!r}", data


async def step_runtime_config(state: LoopState) -> Outcome:
    """Writes that never loosen anything (the current values, or read-only), then the
    snapshot goes back byte for byte whatever happened (also config.toml.bak)."""
    path = config_path(state.codex_home).resolve()
    snapshots = [FileSnapshot.take(path), FileSnapshot.take(path.with_name("config.toml.bak"))]
    call = state.client.call
    written: list[dict[str, Any]] = []
    try:
        current = await call("PATCH", "/v1/runtime/config", {"sandboxMode": "read-only"})
        written.append({"sandboxMode": "read-only", "answer": current})
        policy = current.get("approvalPolicy")
        back: dict[str, Any] = {}
        original = _original_values(snapshots[0])
        if original.get("sandbox_mode") not in (None, "read-only"):
            back["sandboxMode"] = original["sandbox_mode"]
        if policy and policy != "untrusted":
            back["approvalPolicy"] = policy
        if back:
            written.append({**back, "answer": await call("PATCH", "/v1/runtime/config", back)})
    finally:
        restored = [s.path.name for s in snapshots if await asyncio.to_thread(s.restore)]
    if not all(s.unchanged() for s in snapshots):
        raise StepFailed(f"{path} could not be restored byte for byte")
    how = f"restored {' and '.join(restored)}" if restored else "left unchanged"
    return f"{len(written)} writes answered; {how} byte for byte", {
        "writes": written,
        "restored": restored,
    }


def _original_values(snapshot: FileSnapshot) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads((snapshot.data or b"").decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}


async def step_message(state: LoopState) -> Outcome:
    chat = state.need(state.chat_id, "a chat (the chat step failed)")
    events, sent = await state.client.send_and_collect(chat, state.message, state.timeout_s)
    answer = _final_answer(events)
    if not answer:
        raise StepFailed(f"the turn completed without an answer ({len(events)} events)")
    state.answer = answer
    return f"{len(events)} events, turn {sent.get('turnId')}, answer {answer[:60]!r}", {
        "events": [e.get("event") for e in events],
        "answer": answer,
    }


def _final_answer(events: list[dict[str, Any]]) -> str | None:
    answer = None
    for event in events:
        item = (event.get("payload") or {}).get("item") or {}
        if event.get("event") == "item_completed" and item.get("type") == "agentMessage":
            answer = item.get("text") or answer
    return answer


async def step_rollout(state: LoopState) -> Outcome:
    chat = state.need(state.chat_id, "a chat (the chat step failed)")
    answer = state.need(state.answer, "an answer (the message step failed)")
    sessions = state.codex_home / "sessions"
    deadline = time.monotonic() + state.timeout_s
    path = None
    found: dict[str, bool] = {}
    while time.monotonic() < deadline:
        path = await find_rollout(sessions, chat)
        if path is not None:
            found = await asyncio.to_thread(_scan_rollout, path, state.message, answer)
            if all(found.values()):
                return f"{path.name} holds the message and the answer", {"rolloutPath": str(path)}
        await asyncio.sleep(ROLLOUT_POLL_S)
    if path is None:
        raise StepFailed(f"no rollout file for chat {chat} under {sessions}")
    missing = [what for what, ok in found.items() if not ok]
    raise StepFailed(f"{path.name} lacks the {' and the '.join(missing)}")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _scan_rollout(path: Path, message: str, answer: str) -> dict[str, bool]:
    found = {"message": False, "answer": False}
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                strings = _strings(json.loads(line))
            except ValueError:
                continue
            found["message"] = found["message"] or message in strings
            found["answer"] = found["answer"] or answer in strings
    return found
