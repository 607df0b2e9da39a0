"""Chats and the live stream end to end: real companion, real app-server, fake model."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from codexremote.ids import project_id_for_cwd
from tests.harness.model_scripts import HELLO_ANSWER, long_answer_text
from tests.integration.conftest import Companion

pytestmark = pytest.mark.integration


async def open_stream(
    companion: Companion, chat_id: str, last_seq: int | None = None
) -> ClientConnection:
    url = f"{companion.ws_url}?chatId={chat_id}"
    if last_seq is not None:
        url += f"&lastSeq={last_seq}"
    return await connect(url, additional_headers=companion.auth(), max_size=None)


async def next_frame(ws: ClientConnection, timeout: float = 20) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def frames_until(
    ws: ClientConnection, event: str, timeout: float = 30
) -> list[dict[str, Any]]:
    frames = []
    deadline = time.monotonic() + timeout
    while True:
        frame = await next_frame(ws, max(0.1, deadline - time.monotonic()))
        frames.append(frame)
        if frame["event"] == event:
            return frames


async def create_chat(companion: Companion, cwd: Path) -> str:
    response = await companion.post("/v1/chats", {"cwd": str(cwd)})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def test_create_send_and_stream_a_turn_in_order(companion: Companion, git_repo: Path) -> None:
    chat_id = await create_chat(companion, git_repo)
    projects = (await companion.get("/v1/projects")).json()["data"]
    project_id = project_id_for_cwd(str(git_repo))
    assert any(p["id"] == project_id and p["cwd"] == str(git_repo) for p in projects)
    chats = (await companion.get("/v1/chats", params={"projectId": project_id})).json()["data"]
    assert [c["id"] for c in chats] == [chat_id]
    assert isinstance(chats[0]["updatedAt"], int) and chats[0]["updatedAt"] < 10_000_000_000

    ws = await open_stream(companion, chat_id)
    sent = await companion.post(
        f"/v1/chats/{chat_id}/messages", {"text": "hello", "attachments": []}
    )
    assert sent.status_code == 202, sent.text
    turn_id = sent.json()["data"]["turnId"]
    frames = await frames_until(ws, "turn_completed")
    await ws.close()

    original = {"turn_started", "message_delta", "item_started", "item_completed", "turn_completed"}
    events = [f["event"] for f in frames if f["event"] in original]
    assert events[0] == "turn_started"
    assert "message_delta" in events and "item_started" in events and "item_completed" in events
    assert events.index("message_delta") < events.index("turn_completed")
    for frame in frames:
        assert frame["chatId"] == chat_id
        assert isinstance(frame["timestamp"], int) and frame["timestamp"] > 10_000_000_000
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert frames[-1]["payload"]["turn"]["id"] == turn_id
    state = (await companion.get(f"/v1/chats/{chat_id}/run-state")).json()["data"]
    assert state == {"chatId": chat_id, "isRunning": False, "activeTurnId": None}

    # Read right after turn_completed, as the original app does.
    timeline = (await companion.get(f"/v1/chats/{chat_id}/timeline")).json()["data"]
    roles = [(m["role"], m.get("phase")) for m in timeline["messages"]]
    assert roles == [("user", None), ("assistant", "commentary"), ("assistant", "final_answer")]
    assert timeline["messages"][0]["text"] == "hello"
    assert timeline["messages"][-1]["text"] == HELLO_ANSWER
    page = (await companion.get(f"/v1/chats/{chat_id}/history", params={"limit": 2})).json()
    assert [item["type"] for item in page["data"]["items"]] == ["message", "message"]
    assert page["data"]["items"][0]["text"] == HELLO_ANSWER
    assert page["data"]["nextCursor"]
    bad_cursor = await companion.get(f"/v1/chats/{chat_id}/history", params={"cursor": "zz"})
    assert bad_cursor.status_code == 400 and bad_cursor.json()["error"] == "Invalid cursor"


async def test_steer_while_running_then_stop(companion: Companion, git_repo: Path) -> None:
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    sent = await companion.post(f"/v1/chats/{chat_id}/messages", {"text": "slow-answer 200"})
    turn_id = sent.json()["data"]["turnId"]
    await frames_until(ws, "message_delta")
    state = (await companion.get(f"/v1/chats/{chat_id}/run-state")).json()["data"]
    assert state["isRunning"] is True and state["activeTurnId"] == turn_id
    steered = await companion.post(f"/v1/chats/{chat_id}/steer", {"text": "also say bye"})
    assert steered.status_code == 202
    assert steered.json()["data"]["mode"] == "steered"
    stopped = await companion.post(f"/v1/chats/{chat_id}/stop")
    assert stopped.json()["data"] == {"chatId": chat_id, "interrupted": True, "turnId": turn_id}
    frames = await frames_until(ws, "turn_completed")
    assert frames[-1]["payload"]["turn"]["status"] == "interrupted"
    await ws.close()
    again = await companion.post(f"/v1/chats/{chat_id}/stop")
    assert again.json()["data"]["interrupted"] is False
    # A steer with nothing running starts a new turn: the follow-up is never lost.
    started = await companion.post(f"/v1/chats/{chat_id}/steer", {"text": "hello"})
    assert started.json()["data"]["mode"] == "started"


async def test_bad_input_gets_clear_errors(companion: Companion, tmp_path: Path) -> None:
    missing = await companion.post("/v1/chats", {"cwd": str(tmp_path / "nope")})
    assert missing.status_code == 400 and "does not exist" in missing.json()["error"]
    relative = await companion.post("/v1/chats", {"cwd": "relative/dir"})
    assert relative.status_code == 400
    unknown = await companion.get("/v1/chats/0199a2b3-0000-7000-8000-000000000000/run-state")
    assert unknown.status_code == 404 and unknown.json()["error"] == "Chat not found"
    bad_project = await companion.get("/v1/chats", params={"projectId": "zzz"})
    assert bad_project.status_code == 404 and bad_project.json()["error"] == "Project not found"
    garbage = await companion.client.post(
        "/v1/chats",
        content=b"{not json",
        headers={**companion.auth(), "Content-Type": "application/json"},
    )
    assert garbage.status_code == 400 and garbage.json()["code"] == "bad_request"
    no_token = await companion.client.get("/v1/projects")
    assert no_token.status_code == 401 and no_token.json()["error"] == "Missing bearer token"
    empty_send = await companion.post("/v1/chats/0199a2b3-0000-7000-8000-000000000000/messages", {})
    assert (
        empty_send.status_code == 400
        and empty_send.json()["error"] == "Expected text or attachments"
    )


async def test_activate_and_empty_bodies(companion: Companion, git_repo: Path) -> None:
    chat_id = await create_chat(companion, git_repo)
    headers = {**companion.auth(), "Content-Type": "application/json"}
    activated = await companion.client.post(f"/v1/chats/{chat_id}/activate", headers=headers)
    assert activated.status_code == 200
    assert activated.json()["data"] == {"chatId": chat_id, "status": "already_active"}
    stopped = await companion.client.post(f"/v1/chats/{chat_id}/stop", headers=headers)
    assert stopped.json()["data"]["interrupted"] is False


async def test_rel06_random_drops_lose_and_duplicate_nothing(
    companion: Companion, git_repo: Path
) -> None:
    """100 socket drops at random moments during a 5,000-delta turn, resuming by seq."""
    rng = random.Random(1234)
    deltas_total = 5000
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    sent = await companion.post(
        f"/v1/chats/{chat_id}/messages", {"text": f"long-answer {deltas_total}"}
    )
    assert sent.status_code == 202
    seen_seqs: set[int] = set()
    deltas: list[str] = []
    last_seq: int | None = None
    drops = 0
    completed = False
    while not completed or drops < 100:
        budget = rng.randint(1, 40)
        try:
            for _ in range(budget):
                try:
                    frame = await next_frame(ws, timeout=0.5 if completed else 20)
                except TimeoutError:
                    break
                seq = frame["seq"]
                if frame["event"] == "approval_required":
                    continue
                assert seq not in seen_seqs, f"duplicate seq {seq}"
                assert last_seq is None or seq > last_seq
                seen_seqs.add(seq)
                last_seq = seq
                if frame["event"] == "message_delta":
                    deltas.append(frame["payload"]["delta"])
                elif frame["event"] == "turn_completed":
                    completed = True
                    break
        finally:
            ws.transport.abort()  # a network drop, not a polite close
        drops += 1
        ws = await open_stream(companion, chat_id, last_seq=last_seq)
    await ws.close()
    assert drops >= 100
    assert "".join(deltas) == long_answer_text(deltas_total)
    assert len(deltas) == deltas_total
