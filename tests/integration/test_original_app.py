"""The original iOS app's exact request sequences against the real app-server (issue 14 A)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.harness.fake_model import FakeModel
from tests.harness.model_scripts import (
    HELLO_ANSWER,
    Prompt,
    Reply,
    custom_tool_call,
    function_call,
    message,
    stream,
    word_deltas,
)
from tests.integration.conftest import Companion
from tests.integration.test_chats_stream import create_chat, frames_until, open_stream

pytestmark = pytest.mark.integration


async def test_original_app_new_chat_timeline_not_blank_after_fast_first_turn(
    companion: Companion, git_repo: Path
) -> None:
    """The app loads the timeline of a new chat (no rollout yet: "not found" is
    cached), sends, and reloads it right after ``turn_completed``. A first turn
    that completes inside the not-found window must still be in that reload."""
    chat_id = await create_chat(companion, git_repo)
    before = (await companion.get(f"/v1/chats/{chat_id}/timeline")).json()["data"]
    assert before["messages"] == []
    ws = await open_stream(companion, chat_id)
    sent = await companion.post(f"/v1/chats/{chat_id}/messages", {"text": "hello"})
    assert sent.status_code == 202, sent.text
    await frames_until(ws, "turn_completed")
    await ws.close()

    after = (await companion.get(f"/v1/chats/{chat_id}/timeline")).json()["data"]
    roles = [(m["role"], m.get("phase")) for m in after["messages"]]
    assert roles == [("user", None), ("assistant", "commentary"), ("assistant", "final_answer")]
    assert after["messages"][-1]["text"] == HELLO_ANSWER
    page = (await companion.get(f"/v1/chats/{chat_id}/history")).json()["data"]
    assert page["items"][0]["text"] == HELLO_ANSWER


async def test_original_app_new_chat_in_no_project_group(companion: Companion) -> None:
    """The app sends the selected project's cwd; the "No Project" group's is "unknown"."""
    created = await companion.post("/v1/chats", {"cwd": "unknown"})
    assert created.status_code == 201, created.text
    chat = created.json()["data"]
    assert chat["id"] and chat["projectId"]
    listed = await companion.get("/v1/chats", params={"projectId": chat["projectId"]})
    assert chat["id"] in [c["id"] for c in listed.json()["data"]]


async def test_original_app_chats_of_a_vanished_project_are_an_empty_list(
    companion: Companion,
) -> None:
    listed = await companion.get("/v1/chats", params={"projectId": "0123456789ab"})
    assert listed.status_code == 200 and listed.json() == {"data": []}
    malformed = await companion.get("/v1/chats", params={"projectId": "../etc"})
    assert malformed.status_code == 404  # malformed ids stay refused


MIB = 1024 * 1024
BIG_FILE = "big.txt"
BIG_LINES = 50_000  # x 100 characters: a ~5 MB file, so a ~5 MB turn diff


def big_patch_script(p: Prompt) -> Reply:
    """Adds a ~5 MB file with apply_patch, then runs a command printing ~3 MB."""
    if p.step == 0:
        body = "".join(f"+{i:08d}{'y' * 91}\n" for i in range(BIG_LINES))
        patch = f"*** Begin Patch\n*** Add File: {BIG_FILE}\n{body}*** End Patch\n"
        return stream(p, custom_tool_call(f"call_{p.seq}", "apply_patch", patch))
    if p.step == 1:
        args = {"cmd": f"cat {BIG_FILE} {BIG_FILE} | head -c 3000000", "yield_time_ms": 5000}
        return stream(p, function_call(f"call_{p.seq}", "exec_command", args))
    return stream(p, message(f"msg_{p.seq}", word_deltas("Done with the big file.")))


async def collect_until_completed(ws: ClientConnection) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        frames.append(frame)
        if frame["event"] == "turn_completed":
            return frames


async def test_original_app_never_gets_a_frame_over_1mib(
    companion: Companion, git_repo: Path, fake_model: FakeModel
) -> None:
    """URLSession's default message limit is 1 MiB: a 5 MB diff and a 3 MB command
    output reach the app cut to size (``truncated``), never as a frame it cannot take;
    the whole event stays available at ``fullEventPath``; a client that asks for
    large frames (``maxFrameBytes=0``) gets them whole."""
    fake_model.add_script("big-patch", big_patch_script)
    patched = await companion.client.patch(
        "/v1/runtime/config",
        headers=companion.auth(),
        json={"approvalPolicy": "never", "sandboxMode": "workspace-write"},
    )
    assert patched.status_code == 200, patched.text
    chat_id = await create_chat(companion, git_repo)
    app_like = await connect(
        f"{companion.ws_url}?chatId={chat_id}", additional_headers=companion.auth(), max_size=MIB
    )
    whole = await connect(
        f"{companion.ws_url}?chatId={chat_id}&maxFrameBytes=0",
        additional_headers=companion.auth(),
        max_size=None,
    )
    sent = await companion.post(f"/v1/chats/{chat_id}/messages", {"text": "big-patch now"})
    assert sent.status_code == 202, sent.text
    capped = await collect_until_completed(app_like)
    full = await collect_until_completed(whole)
    await app_like.close()
    await whole.close()

    assert [f["seq"] for f in capped] == [f["seq"] for f in full]  # nothing dropped
    cut = [f for f in capped if isinstance(f["payload"], dict) and f["payload"].get("truncated")]
    kinds = {f["event"] for f in cut}
    assert "turn_diff_updated" in kinds, kinds
    item_types = {f["payload"]["item"]["type"] for f in cut if f["event"] == "item_completed"}
    assert item_types == {"fileChange", "commandExecution"}  # the patch and the 3 MB output
    full_by_seq = {f["seq"]: f for f in full}
    diff_frame = next(f for f in cut if f["event"] == "turn_diff_updated")
    whole_diff = full_by_seq[diff_frame["seq"]]["payload"]["diff"]
    assert len(whole_diff) > 5_000_000 and "truncated" not in full_by_seq[diff_frame["seq"]]
    fetched = await companion.get(diff_frame["payload"]["fullEventPath"])
    assert fetched.status_code == 200
    assert fetched.json()["data"] == full_by_seq[diff_frame["seq"]]
    gone = await companion.get("/v1/stream/events/999999999")
    assert gone.status_code == 410 and gone.json()["code"] == "gone"


async def test_original_app_run_state_of_a_new_chat_is_idle_not_502(
    companion: Companion, git_repo: Path
) -> None:
    """wire-api 4.13: a thread with no turns yet is idle (``isRunning: false``)."""
    chat_id = await create_chat(companion, git_repo)
    state = await companion.get(f"/v1/chats/{chat_id}/run-state")
    assert state.status_code == 200, state.text
    assert state.json()["data"] == {"chatId": chat_id, "isRunning": False, "activeTurnId": None}
