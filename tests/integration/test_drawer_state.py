"""GET /v1/chats rows carry live state (additive ``isRunning``, ``pendingApprovals``).

The web drawer shows "running" and "needs you" without a request per chat; the
values come from the turns the companion knows are running and the approvals
registry, driven here by the real app-server and the scripted model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Companion
from tests.integration.test_approvals_e2e import turn_frames, wait_approval
from tests.integration.test_chats_stream import create_chat, open_stream

pytestmark = pytest.mark.integration


async def rows(companion: Companion, **params: str) -> dict[str, dict[str, Any]]:
    response = await companion.get("/v1/chats", params=params)
    assert response.status_code == 200, response.text
    return {row["id"]: row for row in response.json()["data"]}


async def test_drawer_rows_show_running_and_open_approvals(
    companion: Companion, git_repo: Path
) -> None:
    busy = await create_chat(companion, git_repo)
    quiet = await create_chat(companion, git_repo)
    before = await rows(companion)
    assert before[busy]["isRunning"] is False and before[busy]["pendingApprovals"] == 0

    ws = await open_stream(companion, busy)
    sent = await companion.post(f"/v1/chats/{busy}/messages", {"text": "run-command please"})
    turn_id = sent.json()["data"]["turnId"]
    approval = await wait_approval(ws)
    during = await rows(companion)
    assert during[busy]["isRunning"] is True
    assert during[busy]["pendingApprovals"] == 1
    assert (during[quiet]["isRunning"], during[quiet]["pendingApprovals"]) == (False, 0)
    project = during[busy]["projectId"]
    assert (await rows(companion, projectId=project))[busy]["pendingApprovals"] == 1
    # Every other field of the row is unchanged (wire-api ChatThread, additive only).
    assert {k: v for k, v in during[quiet].items() if k not in ("isRunning", "pendingApprovals")}
    assert {"id", "projectId", "title", "preview", "updatedAt"} <= during[busy].keys()

    decided = await companion.post(f"/v1/approvals/{approval['id']}", {"decision": "approve"})
    assert decided.status_code == 200
    await turn_frames(ws, turn_id)
    await ws.close()
    after = await rows(companion)
    assert (after[busy]["isRunning"], after[busy]["pendingApprovals"]) == (False, 0)


async def test_openapi_documents_the_additions(companion: Companion) -> None:
    doc = (await companion.client.get("/v1/openapi.json")).json()
    thread = doc["components"]["schemas"]["ChatThread"]["properties"]
    assert {"isRunning", "pendingApprovals"} <= thread.keys()
    for path in (
        "/v1/chats/{chat_id}/messages",
        "/v1/chats/{chat_id}/steer",
        "/v1/chats/{chat_id}/stop",
        "/v1/approvals/{approval_id}",
    ):
        body = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        model = body["schema"]["$ref"].rsplit("/", 1)[-1]  # documented once: api/openapi_doc.py
        assert "idempotencyKey" in doc["components"]["schemas"][model]["properties"], path
    assert not [p for p in doc["paths"] if p == "/" or p.startswith(("/app/", "/sw.js"))]
