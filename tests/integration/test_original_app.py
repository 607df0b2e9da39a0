"""The original iOS app's exact request sequences against the real app-server (issue 14 A)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.model_scripts import HELLO_ANSWER
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
