"""Idempotency keys end to end (REL-14): real companion, real app-server, tapped child.

The web client's outbox re-sends an action when the answer of the first attempt
was lost; the companion cannot tell a lost answer from a slow one, so a repeat
after the answer and a repeat while the first still runs are both tested. What
reached the app-server child is counted on the tap, what reached the model on
the fake model.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.fake_model import FakeModel
from tests.integration.conftest import Companion
from tests.integration.test_approvals_e2e import (
    Tap,
    companion,
    events,
    tap,
    turn_frames,
    wait_approval,
)
from tests.integration.test_chats_stream import create_chat, frames_until, open_stream

pytestmark = pytest.mark.integration
__all__ = ["companion", "tap"]  # fixtures re-used from the approvals tests

PLAIN_TIMEOUT_S = 20.0


def to_child(tap: Tap, method: str) -> list[dict[str, Any]]:
    return [m for _child, m in tap.to_child if m.get("method") == method]


def prompts(fake_model: FakeModel, text: str) -> int:
    """Model requests whose last user message is ``text`` (one per turn step)."""
    count = 0
    for body in fake_model.requests:
        users = [i for i in body.get("input", []) if i.get("role") == "user"]
        last = users[-1].get("content", []) if users else []
        texts = [c.get("text", "") for c in last if isinstance(c, dict)]
        count += text in texts
    return count


async def post(companion: Companion, path: str, body: dict[str, Any]) -> httpx.Response:
    return await companion.post(path, body)


async def test_rel14_repeated_send_after_a_lost_answer_starts_one_turn(
    companion: Companion, git_repo: Path, tap: Tap, fake_model: FakeModel
) -> None:
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    text = "hello from the outbox"
    body = {"text": text, "idempotencyKey": "msg-0001"}
    url = f"/v1/chats/{chat_id}/messages"
    first = await post(companion, url, body)
    assert first.status_code == 202, first.text
    # The answer "was lost": the outbox re-sends, once after and four times at once.
    again = [await post(companion, url, body)]
    again += await asyncio.gather(*(post(companion, url, body) for _ in range(4)))
    for response in again:
        assert (response.status_code, response.json()) == (202, first.json())
    turn_id = first.json()["data"]["turnId"]
    frames = await turn_frames(ws, turn_id)
    await ws.close()
    assert len(to_child(tap, "turn/start")) == 1
    assert prompts(fake_model, text) == 1
    assert len(events(frames, "turn_started")) == 1
    assert companion.services.idempotency.replays == 5

    # Another key is another message: a second turn.
    other = await post(companion, url, {"text": text, "idempotencyKey": "msg-0002"})
    assert other.status_code == 202 and other.json()["data"]["turnId"] != turn_id
    assert len(to_child(tap, "turn/start")) == 2


async def test_rel14_concurrent_repeats_of_a_first_send_wait_for_it(
    companion: Companion, git_repo: Path, tap: Tap, fake_model: FakeModel
) -> None:
    chat_id = await create_chat(companion, git_repo)
    url = f"/v1/chats/{chat_id}/messages"
    body = {"text": "hello all at once", "idempotencyKey": "burst"}
    answers = await asyncio.gather(*(post(companion, url, body) for _ in range(6)))
    assert {r.status_code for r in answers} == {202}
    assert len({r.text for r in answers}) == 1
    assert len(to_child(tap, "turn/start")) == 1
    await fake_model.wait_for_requests(1)
    assert prompts(fake_model, "hello all at once") == 1


async def test_rel14_repeated_steer_and_stop_act_once(
    companion: Companion, git_repo: Path, tap: Tap
) -> None:
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    started = await post(companion, f"/v1/chats/{chat_id}/messages", {"text": "slow-answer 200"})
    turn_id = started.json()["data"]["turnId"]
    await frames_until(ws, "message_delta", PLAIN_TIMEOUT_S)
    steer = {"text": "and also this", "idempotencyKey": "steer-1"}
    steered = [await post(companion, f"/v1/chats/{chat_id}/steer", steer) for _ in range(3)]
    assert {r.status_code for r in steered} == {202}
    assert steered[0].json()["data"]["mode"] == "steered"
    assert len({r.text for r in steered}) == 1
    assert len(to_child(tap, "turn/steer")) == 1

    stop = {"idempotencyKey": "stop-1"}
    stops = [await post(companion, f"/v1/chats/{chat_id}/stop", stop) for _ in range(3)]
    # Without the key the second stop would answer interrupted: false.
    for response in stops:
        assert response.status_code == 200
        assert response.json() == {
            "data": {"chatId": chat_id, "interrupted": True, "turnId": turn_id}
        }
    assert len(to_child(tap, "turn/interrupt")) == 1
    await turn_frames(ws, turn_id)
    await ws.close()


async def test_rel14_repeated_approval_decision_is_forwarded_once(
    companion: Companion, git_repo: Path, tap: Tap
) -> None:
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    sent = await post(companion, f"/v1/chats/{chat_id}/messages", {"text": "run-command please"})
    turn_id = sent.json()["data"]["turnId"]
    approval = await wait_approval(ws)
    child, request = tap.request_for_item(approval["itemId"])
    url = f"/v1/approvals/{approval['id']}"
    body = {"decision": "approve", "idempotencyKey": "decision-1"}
    first = await post(companion, url, body)
    repeats = await asyncio.gather(*(post(companion, url, body) for _ in range(3)))
    for response in (first, *repeats):  # without the key a repeat is 409 "already answered"
        assert (response.status_code, response.json()) == (200, {"ok": True})
    frames = await turn_frames(ws, turn_id)
    await ws.close()
    assert len(tap.answers_to(child, request["id"])) == 1
    cleared = [p for p in events(frames, "approval_cleared") if approval["id"] in p["ids"]]
    assert cleared == [{"ids": [approval["id"]], "reason": "answered"}]
    assert (git_repo / "approved.txt").exists()
    # Another key for the same approval is a new decision: the usual 409.
    late = await post(companion, url, {"decision": "approve", "idempotencyKey": "decision-2"})
    assert late.status_code == 409


@pytest.mark.parametrize("key", ["", "x" * 129, "no spaces", 12, None])
async def test_rel14_bad_keys_are_400_and_nothing_happens(
    companion: Companion, git_repo: Path, tap: Tap, key: Any
) -> None:
    chat_id = await create_chat(companion, git_repo)
    routes = [
        (f"/v1/chats/{chat_id}/messages", {"text": "hello"}),
        (f"/v1/chats/{chat_id}/steer", {"text": "hello"}),
        (f"/v1/chats/{chat_id}/stop", {}),
        ("/v1/approvals/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", {"decision": "approve"}),
    ]
    for url, body in routes:
        response = await post(companion, url, {**body, "idempotencyKey": key})
        if key is None:  # null is the same as no key
            assert response.status_code != 400, (url, response.text)
            continue
        assert response.status_code == 400, (url, response.text)
        assert response.json()["code"] == "bad_idempotency_key"
    if key is not None:
        assert to_child(tap, "turn/start") == [] and to_child(tap, "turn/interrupt") == []


async def test_rel14_keys_are_per_device(companion: Companion, git_repo: Path, tap: Tap) -> None:
    other = companion.services.devices.issue("second phone")
    chat_id = await create_chat(companion, git_repo)
    url = f"/v1/chats/{chat_id}/messages"
    body = {"text": "hello twice", "idempotencyKey": "same-key"}
    mine = await post(companion, url, body)
    theirs = await companion.client.post(
        url, json=body, headers={"Authorization": f"Bearer {other.token}"}
    )
    assert mine.status_code == theirs.status_code == 202
    assert len(to_child(tap, "turn/start")) == 2
