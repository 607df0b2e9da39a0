"""Approvals end to end (issue 6): real companion, real codex app-server, scripted fake model.

Every test runs the companion behind a *tapped* launcher: each app-server child's
stdin/stdout lines are recorded (nothing is changed), so a test can count exactly
what reached the child, per child generation (SEC-11 "the child gets one answer",
REL-02 "nothing is forwarded to the new child").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import stat
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from codexremote.app import build_services
from codexremote.codex.dispatcher import IncomingRequest
from codexremote.codex.transport import StdioTransport, Transport
from codexremote.launcher import app_server_launcher
from codexremote.settings import Settings
from tests.harness import model_scripts as scripts
from tests.harness.codex_home import mcp_demo_root
from tests.harness.fake_model import FakeModel
from tests.integration.conftest import Companion, free_port, start_companion
from tests.integration.test_chats_stream import create_chat, frames_until, next_frame, open_stream

pytestmark = pytest.mark.integration

# The iOS app ignores an approval unless all of these are present (wire-api 4.14).
REQUIRED_APPROVAL_FIELDS = {
    "id": str,
    "kind": str,
    "mode": str,
    "title": str,
    "summary": str,
    "riskLevel": str,
    "createdAt": int,
    "supportsSessionAllow": bool,
    "supportsAlwaysAllow": bool,
}
MCP_KEY = "mcp:demo:touch"
OTHER_COMMAND_FILE = "other.txt"  # created by the "run-other" script below
PLAIN_TIMEOUT_S = 20.0  # one scripted turn takes well under a second
SHUTDOWN_TIMEOUT_S = 15.0
QUIET_S = 0.3  # how long "no approval_required arrived" is watched after turn_completed


# ----------------------------------------------------------------- the tap


@dataclass
class Tap:
    """Every JSON-RPC line between the companion and each app-server child."""

    transports: list[StdioTransport] = field(default_factory=list)
    to_child: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    from_child: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def wrap(self, transport: StdioTransport) -> None:
        child = len(self.transports)
        self.transports.append(transport)
        send, receive = transport.send, transport.receive

        async def tapped_send(line: bytes) -> None:
            self.to_child.append((child, json.loads(line)))
            await send(line)

        async def tapped_receive() -> bytes | None:
            line = await receive()
            if line is not None:
                with contextlib.suppress(ValueError):
                    self.from_child.append((child, json.loads(line)))
            return line

        transport.send = tapped_send  # type: ignore[method-assign]
        transport.receive = tapped_receive  # type: ignore[method-assign]

    def server_requests(self) -> list[tuple[int, dict[str, Any]]]:
        """Requests the children sent us (approvals, elicitations, ...)."""
        return [(c, m) for c, m in self.from_child if "id" in m and m.get("method")]

    def answers(self) -> list[tuple[int, dict[str, Any]]]:
        """Responses to server requests (a client request always has a ``method``)."""
        return [(c, m) for c, m in self.to_child if "id" in m and "method" not in m]

    def answers_to(self, child: int, request_id: Any) -> list[dict[str, Any]]:
        return [m for c, m in self.answers() if c == child and m["id"] == request_id]

    def request_for_item(self, item_id: str) -> tuple[int, dict[str, Any]]:
        found = [
            (c, m)
            for c, m in self.server_requests()
            if m.get("params", {}).get("itemId") == item_id
        ]
        assert len(found) == 1, found
        return found[0]


def tapped_launcher(codex_bin: Path, env: dict[str, str], tap: Tap) -> Any:
    real = app_server_launcher(str(codex_bin), env)

    async def launch() -> Transport:
        transport = await real()
        assert isinstance(transport, StdioTransport)
        tap.wrap(transport)
        return transport

    return launch


@contextlib.asynccontextmanager
async def run_companion(
    state_dir: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path, tap: Tap
) -> AsyncIterator[Companion]:
    """A real companion on a free port; a second one on the same state dir = a restart."""
    port = free_port()
    settings = Settings(port=port, state_dir=state_dir, codex_home=codex_home)
    services = build_services(settings, launcher=tapped_launcher(codex_bin, codex_env, tap))
    issued = services.devices.issue("test phone")
    server, task = await start_companion(settings, services)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield Companion(services, base, port, issued.token, issued.device_id, client)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, SHUTDOWN_TIMEOUT_S)


@pytest.fixture
def tap() -> Tap:
    return Tap()


@pytest.fixture
async def companion(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path, tap: Tap
) -> AsyncIterator[Companion]:
    async with run_companion(tmp_path / "state", codex_bin, codex_env, codex_home, tap) as c:
        yield c


# ------------------------------------------------------------------ helpers


def run_other(p: scripts.Prompt) -> scripts.Reply:
    """Like run-command, but a different command (codex's own acceptForSession
    cache only skips an *identical* command, so this one reaches the companion)."""
    if p.step > 0:
        return scripts._tool_outcome(p)
    args = {
        "cmd": f"touch {OTHER_COMMAND_FILE}",
        "yield_time_ms": 2000,
        "sandbox_permissions": "require_escalated",
        "justification": "Need another file",
    }
    return scripts.stream(p, scripts.function_call(f"call_{p.seq}", "exec_command", args))


async def send(companion: Companion, chat_id: str, text: str) -> str:
    sent = await companion.post(f"/v1/chats/{chat_id}/messages", {"text": text})
    assert sent.status_code == 202, sent.text
    return str(sent.json()["data"]["turnId"])


async def decide(companion: Companion, approval_id: str, decision: Any) -> httpx.Response:
    return await companion.post(f"/v1/approvals/{approval_id}", {"decision": decision})


async def wait_approval(ws: ClientConnection) -> dict[str, Any]:
    frames = await frames_until(ws, "approval_required", PLAIN_TIMEOUT_S)
    approval: dict[str, Any] = frames[-1]["payload"]
    return approval


async def turn_frames(
    ws: ClientConnection, turn_id: str, frames: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Frames up to the turn_completed of ``turn_id``, then a short quiet watch.

    ``frames`` already read for this turn are kept (and may already hold its end).
    """
    frames = list(frames or [])
    while not any(
        f["event"] == "turn_completed" and f["payload"]["turn"]["id"] == turn_id for f in frames
    ):
        frames += await frames_until(ws, "turn_completed", PLAIN_TIMEOUT_S)
    with contextlib.suppress(TimeoutError):
        while True:
            frames.append(await next_frame(ws, QUIET_S))
    return frames


def events(frames: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [f["payload"] for f in frames if f["event"] == name]


def turn_status(frames: list[dict[str, Any]], turn_id: str) -> str:
    done = [p for p in events(frames, "turn_completed") if p["turn"]["id"] == turn_id]
    assert done, "turn did not complete"
    return str(done[-1]["turn"]["status"])


def assert_app_shape(approval: dict[str, Any]) -> None:
    for key, kind in REQUIRED_APPROVAL_FIELDS.items():
        assert isinstance(approval.get(key), kind), (key, approval.get(key))
    assert approval["createdAt"] > 10_000_000_000  # milliseconds


def final_answer(fake_model: FakeModel) -> str:
    """What the model was told about its tool call in the last request."""
    last = fake_model.requests[-1]["input"][-1]
    return json.dumps(last.get("output", ""))


async def run_cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "codexremote.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, out.decode()


# -------------------------------------------------------------------- tests


async def test_command_approval_approve_runs_the_command_once(
    companion: Companion, git_repo: Path, tap: Tap
) -> None:
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    turn_id = await send(companion, chat_id, "run-command please")
    approval = await wait_approval(ws)
    assert_app_shape(approval)
    assert approval["kind"] == "command" and approval["mode"] == "approval"
    assert approval["title"] == "Command Approval" and approval["riskLevel"] == "high"
    assert scripts.COMMAND in approval["summary"]
    assert approval["supportsSessionAllow"] is True and approval["supportsAlwaysAllow"] is False
    pending = (await companion.get(f"/v1/chats/{chat_id}/pending-approval")).json()["data"]
    assert pending == approval
    assert not (git_repo / "approved.txt").exists()

    answered = await decide(companion, approval["id"], "approve")
    assert answered.status_code == 200 and answered.json() == {"ok": True}
    frames = await turn_frames(ws, turn_id)
    await ws.close()
    assert {"ids": [approval["id"]], "reason": "answered"} in events(frames, "approval_cleared")
    assert turn_status(frames, turn_id) == "completed"
    assert (git_repo / "approved.txt").exists()
    command_items = [
        p["item"]
        for p in events(frames, "item_completed")
        if p["item"]["type"] == "commandExecution"
    ]
    assert [item["status"] for item in command_items] == ["completed"]

    again = await decide(companion, approval["id"], "approve")
    assert again.status_code == 409 and again.json()["error"] == "Approval was already answered"
    none = (await companion.get(f"/v1/chats/{chat_id}/pending-approval")).json()
    assert none == {"data": None}
    child, request = tap.request_for_item(approval["itemId"])
    assert tap.answers_to(child, request["id"]) == [
        {"id": request["id"], "result": {"decision": "accept"}}
    ]


async def test_command_decline_skips_the_command_and_the_turn_goes_on(
    companion: Companion, git_repo: Path, fake_model: FakeModel
) -> None:
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    turn_id = await send(companion, chat_id, "run-command please")
    approval = await wait_approval(ws)
    declined = await decide(companion, approval["id"], "decline")
    assert declined.status_code == 200
    frames = await turn_frames(ws, turn_id)
    await ws.close()
    assert turn_status(frames, turn_id) == "completed"
    assert not (git_repo / "approved.txt").exists()
    # The model got the rejection and answered again: the turn continued.
    assert "reject" in final_answer(fake_model).lower()
    texts = [p["item"].get("text") for p in events(frames, "item_completed")]
    assert scripts.TOOL_REJECTED_ANSWER in texts


async def test_file_change_approval_lists_paths_and_counts(
    companion: Companion, git_repo: Path
) -> None:
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    turn_id = await send(companion, chat_id, "edit-file please")
    approval = await wait_approval(ws)
    assert_app_shape(approval)
    assert approval["kind"] == "fileChange" and approval["title"] == "File Change Approval"
    assert scripts.PATCH_FILE in approval["summary"] and "(+1 -0)" in approval["summary"]
    files = approval["details"]["files"]
    assert [(f["path"].rsplit("/", 1)[-1], f["additions"], f["deletions"]) for f in files] == [
        (scripts.PATCH_FILE, 1, 0)
    ]
    assert (await decide(companion, approval["id"], "approve")).status_code == 200
    frames = await turn_frames(ws, turn_id)
    await ws.close()
    assert turn_status(frames, turn_id) == "completed"
    assert (git_repo / scripts.PATCH_FILE).read_text() == "hello from the patch\n"
    # The rollout the real binary wrote maps to an "Edited +1 -0" card (wire-api 7.3).
    timeline = (await companion.get(f"/v1/chats/{chat_id}/timeline")).json()["data"]
    edits = [a for a in timeline["activities"] if a["kind"] == "file_edited"]
    assert [(a["filePath"].rsplit("/", 1)[-1], a["additions"], a["deletions"]) for a in edits] == [
        (scripts.PATCH_FILE, 1, 0)
    ]
    assert edits[0]["state"] == "completed" and edits[0]["title"] == "Edited"


async def mcp_turn(
    companion: Companion, chat_id: str, ws: ClientConnection
) -> tuple[str, list[dict[str, Any]]]:
    """Start an mcp-tool turn; returns (turn id, frames up to its approval or its end)."""
    turn_id = await send(companion, chat_id, "mcp-tool please")
    frames: list[dict[str, Any]] = []
    while True:
        frame = await next_frame(ws, PLAIN_TIMEOUT_S)
        frames.append(frame)
        if frame["event"] == "approval_required":
            return turn_id, frames
        if frame["event"] == "turn_completed" and frame["payload"]["turn"]["id"] == turn_id:
            return turn_id, frames


async def test_mcp_allow_always_persists_across_restart_until_forgotten(
    tmp_path: Path,
    codex_bin: Path,
    codex_env: dict[str, str],
    codex_home: Path,
    git_repo: Path,
) -> None:
    state_dir = tmp_path / "state"
    touched = mcp_demo_root(codex_home) / scripts.MCP_TOUCH_PATH
    config_before = (codex_home / "config.toml").read_bytes()
    tap = Tap()
    async with run_companion(state_dir, codex_bin, codex_env, codex_home, tap) as first:
        chat1 = await create_chat(first, git_repo)
        ws = await open_stream(first, chat1)
        turn_id, frames = await mcp_turn(first, chat1, ws)
        approval = frames[-1]["payload"]
        assert_app_shape(approval)
        assert approval["kind"] == "mcp" and approval["serverName"] == scripts.MCP_SERVER
        assert approval["supportsAlwaysAllow"] is True and approval["scopeKey"] == MCP_KEY
        assert "touch" in approval["summary"]
        assert (await decide(first, approval["id"], "allow_always")).status_code == 200
        assert turn_status(await turn_frames(ws, turn_id), turn_id) == "completed"
        await ws.close()
        assert touched.exists()
        touched.unlink()

        prefs = state_dir / "approval-preferences.json"
        assert stat.S_IMODE(prefs.stat().st_mode) == 0o600
        assert json.loads(prefs.read_text())["alwaysAllowScopeKeys"] == [MCP_KEY]
        listed = (await first.get("/v1/approvals/always-allow")).json()["data"]
        assert [(e["scopeKey"], e["serverName"], e["toolName"]) for e in listed] == [
            (MCP_KEY, "demo", "touch")
        ]
        code, out = await run_cli("approvals", "--state-dir", str(state_dir), "list")
        assert code == 0 and MCP_KEY in out and "server=demo" in out
        # The grant lives in our store only: codex's config.toml is untouched
        # (codex would otherwise stop asking and `forget` could not take it back).
        assert (codex_home / "config.toml").read_bytes() == config_before

        # A new chat: answered by the stored allow, visibly.
        chat2 = await create_chat(first, git_repo)
        ws = await open_stream(first, chat2)
        turn_id, frames = await mcp_turn(first, chat2, ws)
        frames = await turn_frames(ws, turn_id, frames)
        await ws.close()
        assert not events(frames, "approval_required")
        auto = events(frames, "approval_auto_accepted")
        assert len(auto) == 1 and auto[0]["matchedAllow"]["scope"] == "always"
        assert auto[0]["status"] == "auto_accepted" and auto[0]["scopeKey"] == MCP_KEY
        assert turn_status(frames, turn_id) == "completed" and touched.exists()
        touched.unlink()
        timeline = (await first.get(f"/v1/chats/{chat2}/timeline")).json()["data"]
        rows = [a for a in timeline["activities"] if a["id"].startswith("auto-approval:")]
        assert [r["title"] for r in rows] == ["Auto-approved (always)"]
        assert rows[0]["id"] == f"auto-approval:{auto[0]['id']}"
        accepted = (await first.get("/v1/approvals/auto-accepted", params={"chatId": chat2})).json()
        assert [row["approval"]["id"] for row in accepted["data"]] == [auto[0]["id"]]

    # Companion restart on the same state dir: still auto-accepted.
    async with run_companion(state_dir, codex_bin, codex_env, codex_home, tap) as second:
        chat3 = await create_chat(second, git_repo)
        ws = await open_stream(second, chat3)
        turn_id, frames = await mcp_turn(second, chat3, ws)
        frames = await turn_frames(ws, turn_id, frames)
        assert not events(frames, "approval_required")
        assert len(events(frames, "approval_auto_accepted")) == 1
        assert touched.exists()

        # `codexremote approvals forget` from another terminal: the next call asks again.
        code, out = await run_cli("approvals", "--state-dir", str(state_dir), "forget", MCP_KEY)
        assert code == 0, out
        turn_id, frames = await mcp_turn(second, chat3, ws)
        assert frames[-1]["event"] == "approval_required"
        again = frames[-1]["payload"]
        assert (await decide(second, again["id"], "allow_always")).status_code == 200
        await turn_frames(ws, turn_id)
        assert [
            e["scopeKey"] for e in (await second.get("/v1/approvals/always-allow")).json()["data"]
        ] == [MCP_KEY]

        # DELETE over HTTP does the same.
        gone = await second.client.delete(
            f"/v1/approvals/always-allow/{MCP_KEY}", headers=second.auth()
        )
        assert gone.status_code == 200 and gone.json() == {"ok": True}
        missing = await second.client.delete(
            f"/v1/approvals/always-allow/{MCP_KEY}", headers=second.auth()
        )
        assert missing.status_code == 404
        assert (await second.get("/v1/approvals/always-allow")).json() == {"data": []}
        turn_id, frames = await mcp_turn(second, chat3, ws)
        assert frames[-1]["event"] == "approval_required"
        assert (await decide(second, frames[-1]["payload"]["id"], "decline")).status_code == 200
        assert turn_status(await turn_frames(ws, turn_id), turn_id) == "completed"
        await ws.close()
    code, out = await run_cli("approvals", "--state-dir", str(state_dir), "list")
    assert code == 0 and MCP_KEY not in out
    # Always answered with a plain accept: nothing was persisted into codex.
    for _, msg in tap.answers():
        assert "_meta" not in msg.get("result", {}), msg


async def test_allow_always_also_answers_an_open_approval_of_another_chat(
    companion: Companion, git_repo: Path, tap: Tap
) -> None:
    first, second = await create_chat(companion, git_repo), await create_chat(companion, git_repo)
    ws1, ws2 = await open_stream(companion, first), await open_stream(companion, second)
    turn1 = await send(companion, first, "mcp-tool please")
    approval1 = await wait_approval(ws1)
    turn2 = await send(companion, second, "mcp-tool please")
    approval2 = await wait_approval(ws2)
    assert (await decide(companion, approval1["id"], "allow_always")).status_code == 200
    frames2 = await turn_frames(ws2, turn2)
    assert {"ids": [approval2["id"]], "reason": "auto_accepted"} in events(
        frames2, "approval_cleared"
    )
    auto = events(frames2, "approval_auto_accepted")
    assert [a["id"] for a in auto] == [approval2["id"]]
    assert turn_status(frames2, turn2) == "completed"
    assert turn_status(await turn_frames(ws1, turn1), turn1) == "completed"
    await ws1.close()
    await ws2.close()
    late = await decide(companion, approval2["id"], "approve")
    assert late.status_code == 409  # auto-accepted counts as answered
    results = [m["result"] for _, m in tap.answers()]
    assert results == [{"action": "accept", "content": {}}] * 2


async def test_allow_for_session_covers_later_commands_of_that_chat_only(
    companion: Companion, git_repo: Path, fake_model: FakeModel
) -> None:
    fake_model.add_script("run-other", run_other)
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    turn_id = await send(companion, chat_id, "run-command please")
    approval = await wait_approval(ws)
    assert (await decide(companion, approval["id"], "allow_for_session")).status_code == 200
    assert turn_status(await turn_frames(ws, turn_id), turn_id) == "completed"
    assert (git_repo / "approved.txt").exists()

    turn_id = await send(companion, chat_id, "run-other please")
    frames = await turn_frames(ws, turn_id)
    await ws.close()
    assert not events(frames, "approval_required")
    auto = events(frames, "approval_auto_accepted")
    assert len(auto) == 1, [f["event"] for f in frames]
    assert auto[0]["matchedAllow"] == {"scope": "session", "scopeKey": None, "wholeChat": True}
    assert f"touch {OTHER_COMMAND_FILE}" in auto[0]["summary"]
    assert turn_status(frames, turn_id) == "completed"
    assert (git_repo / OTHER_COMMAND_FILE).exists()
    listed = (await companion.get("/v1/approvals/auto-accepted", params={"chatId": chat_id})).json()
    assert [row["approval"]["id"] for row in listed["data"]] == [auto[0]["id"]]
    timeline = (await companion.get(f"/v1/chats/{chat_id}/timeline")).json()["data"]
    rows = [a for a in timeline["activities"] if a["id"] == f"auto-approval:{auto[0]['id']}"]
    assert len(rows) == 1 and rows[0]["title"] == "Auto-approved (this chat)"
    assert rows[0]["kind"] == "running_command" and rows[0]["state"] == "completed"
    assert timeline["autoAccepted"][0]["approval"]["id"] == auto[0]["id"]

    other_chat = await create_chat(companion, git_repo)
    ws = await open_stream(companion, other_chat)
    turn_id = await send(companion, other_chat, "run-other please")
    prompted = await wait_approval(ws)
    assert prompted["chatId"] == other_chat
    assert (await decide(companion, prompted["id"], "decline")).status_code == 200
    await turn_frames(ws, turn_id)
    await ws.close()
    empty = await companion.get("/v1/approvals/auto-accepted", params={"chatId": other_chat})
    assert empty.json() == {"data": []}


async def test_sec11_t14_exactly_one_decision_reaches_the_child(
    companion: Companion, git_repo: Path, tap: Tap
) -> None:
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    turn_id = await send(companion, chat_id, "run-command please")
    approval = await wait_approval(ws)
    child, request = tap.request_for_item(approval["itemId"])
    url = f"/v1/approvals/{approval['id']}"

    # Not offered for a command: 422, nothing forwarded, still open.
    for decision in ("allow_always", "maybe"):
        refused = await decide(companion, approval["id"], decision)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"].startswith("Decision must be one of")
    # Malformed bodies: 400.
    headers = {**companion.auth(), "Content-Type": "application/json"}
    for body in (b"{not json", b"[]", b'{"decision": 7}', b"{}", b'{"decision": ""}'):
        bad = await companion.client.post(url, content=body, headers=headers)
        assert bad.status_code == 400, (body, bad.text)
    unknown = await decide(companion, "0b0e0b0e-0000-4000-8000-000000000000", "approve")
    assert unknown.status_code == 404 and unknown.json()["error"] == "Approval request not found"
    assert tap.answers_to(child, request["id"]) == []
    pending = (await companion.get(f"/v1/chats/{chat_id}/pending-approval")).json()["data"]
    assert pending["id"] == approval["id"]

    # Two phones at once: one 200, one 409; the child gets one answer.
    both = await asyncio.gather(
        decide(companion, approval["id"], "approve"), decide(companion, approval["id"], "decline")
    )
    assert sorted(r.status_code for r in both) == [200, 409]
    winner = next(r for r in both if r.status_code == 200)
    frames = await turn_frames(ws, turn_id)
    await ws.close()
    answers = tap.answers_to(child, request["id"])
    assert len(answers) == 1
    expected = "accept" if winner is both[0] else "decline"
    assert answers[0]["result"] == {"decision": expected}
    assert turn_status(frames, turn_id) == "completed"
    assert (git_repo / "approved.txt").exists() == (expected == "accept")
    assert len([p for p in events(frames, "approval_cleared") if approval["id"] in p["ids"]]) == 1


async def test_sec11_stale_decisions_get_410(
    companion: Companion, git_repo: Path, tap: Tap
) -> None:
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)

    # 1. The turn was interrupted while the approval was open.
    turn_id = await send(companion, chat_id, "run-command please")
    approval = await wait_approval(ws)
    stopped = await companion.post(f"/v1/chats/{chat_id}/stop")
    assert stopped.json()["data"]["interrupted"] is True
    frames = await turn_frames(ws, turn_id)
    assert turn_status(frames, turn_id) == "interrupted"
    assert {"ids": [approval["id"]], "reason": "cleared"} in events(frames, "approval_cleared")
    late = await decide(companion, approval["id"], "approve")
    assert late.status_code == 410 and late.json()["error"] == "Approval is no longer pending"
    assert (await companion.get("/v1/approvals")).json() == {"data": []}

    # 2. app-server resolved it: another client of the same app-server answered
    # (sent here straight through the supervisor, bypassing the approvals service).
    turn_id = await send(companion, chat_id, "run-command please")
    approval = await wait_approval(ws)
    child, request = tap.request_for_item(approval["itemId"])
    elsewhere = IncomingRequest(request["id"], request["method"], request["params"], child + 1)
    await companion.services.supervisor.respond(elsewhere, {"decision": "decline"})
    frames = await turn_frames(ws, turn_id)
    await ws.close()
    assert {"ids": [approval["id"]], "reason": "resolved"} in events(frames, "approval_cleared")
    late = await decide(companion, approval["id"], "approve")
    assert late.status_code == 410
    assert len(tap.answers_to(child, request["id"])) == 1  # only the other client's
    assert not (git_repo / "approved.txt").exists()


async def test_rel06_t13_approval_raised_offline_is_sent_on_connect(
    companion: Companion, git_repo: Path, tap: Tap
) -> None:
    chat_id = await create_chat(companion, git_repo)
    turn_id = await send(companion, chat_id, "run-command please")
    deadline = time.monotonic() + PLAIN_TIMEOUT_S
    listed: list[dict[str, Any]] = []
    while not listed and time.monotonic() < deadline:
        listed = (await companion.get("/v1/approvals")).json()["data"]
        await asyncio.sleep(0.05)
    assert len(listed) == 1 and listed[0]["chatId"] == chat_id
    by_chat = (await companion.get("/v1/approvals", params={"chatId": chat_id})).json()["data"]
    assert by_chat == listed

    ws = await open_stream(companion, chat_id)
    first = await next_frame(ws, 5)
    assert first["event"] == "approval_required" and first["chatId"] == chat_id
    assert first["payload"]["id"] == listed[0]["id"]
    assert_app_shape(first["payload"])
    # A second socket (another phone) gets it as well.
    other = await open_stream(companion, chat_id)
    assert (await next_frame(other, 5))["payload"]["id"] == listed[0]["id"]
    await other.close()

    assert (await decide(companion, listed[0]["id"], "approve")).status_code == 200
    frames = await turn_frames(ws, turn_id)
    await ws.close()
    assert turn_status(frames, turn_id) == "completed"
    assert (git_repo / "approved.txt").exists()
    child, request = tap.request_for_item(listed[0]["itemId"])
    assert len(tap.answers_to(child, request["id"])) == 1  # T13: exactly once


async def test_rel02_t7_kill_9_with_a_pending_approval(
    companion: Companion, git_repo: Path, tap: Tap
) -> None:
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    await send(companion, chat_id, "run-command please")
    approval = await wait_approval(ws)
    child, _ = tap.request_for_item(approval["itemId"])
    answers_before = len(tap.answers())

    killed_at = time.monotonic()
    os.kill(tap.transports[child].pid, signal.SIGKILL)
    seen: dict[str, float] = {}
    frames: list[dict[str, Any]] = []
    while not {"approval_cleared", "agent_restarted"} <= seen.keys():
        frame = await next_frame(ws, 5)
        frames.append(frame)
        seen.setdefault(frame["event"], time.monotonic() - killed_at)
    assert seen["approval_cleared"] <= 1.0, seen
    assert {"ids": [approval["id"]], "reason": "expired"} in events(frames, "approval_cleared")
    assert events(frames, "agent_restarted")[0]["generation"] == child + 2

    late = await decide(companion, approval["id"], "approve")
    assert late.status_code == 410
    assert await companion.services.supervisor.wait_ready(20)
    health = (await companion.client.get("/health")).json()
    assert health["appServerState"] == "ready" and health["appServer"]["generation"] == 2
    assert (await decide(companion, approval["id"], "approve")).status_code == 410
    assert (await companion.get(f"/v1/chats/{chat_id}/pending-approval")).json() == {"data": None}

    # The companion keeps serving: the same chat runs a turn on the new child.
    turn_id = await send(companion, chat_id, "hello")
    frames += await turn_frames(ws, turn_id)
    await ws.close()
    assert turn_status(frames, turn_id) == "completed"
    seqs = [f["seq"] for f in frames]  # one chat only: nothing in between is filtered
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    # Nothing answered anything after the kill, to either child.
    assert len(tap.answers()) == answers_before
    assert not [m for c, m in tap.answers() if c > child]
    assert not (git_repo / "approved.txt").exists()
    print(
        f"\nT7 kill -9 with an approval open: approval expired on the phone after "
        f"{seen['approval_cleared']:.2f} s, agent_restarted after {seen['agent_restarted']:.2f} s; "
        f"{len(seqs)} events, seq contiguous (0 lost); approvals delivered after the kill: "
        f"{len(tap.answers()) - answers_before} (0 to the new process)"
    )
