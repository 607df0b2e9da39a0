"""The harness drives the REAL ``codex app-server`` against the scripted fake model.

Each test spawns its own app-server (fresh CODEX_HOME) through the harness's
small RPC client; nothing between that client and the fake model is faked.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import model_scripts as ms
from tests.harness.codex_home import mcp_demo_root
from tests.harness.fake_model import FakeModel
from tests.harness.rpc_client import AppServerClient

pytestmark = pytest.mark.integration

TURN_TIMEOUT_S = 20.0  # a scripted turn takes well under a second


@pytest.fixture
async def app_server(
    codex_bin: Path, codex_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[AppServerClient]:
    client = await AppServerClient.spawn(codex_bin, codex_env, cwd=tmp_path)
    try:
        await client.initialize()
        yield client
    finally:
        await client.close()


async def start_thread(client: AppServerClient, cwd: Path) -> str:
    result = await client.request("thread/start", {"cwd": str(cwd)})
    thread_id: str = result["thread"]["id"]
    return thread_id


async def start_turn(client: AppServerClient, thread_id: str, text: str) -> str:
    params = {"threadId": thread_id, "input": [{"type": "text", "text": text}]}
    result = await client.request("turn/start", params)
    turn_id: str = result["turn"]["id"]
    return turn_id


def agent_texts(client: AppServerClient, turn_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """(deltas concatenated per item, completed agentMessage text per item) of a turn."""
    deltas: dict[str, str] = {}
    for d in client.notes("item/agentMessage/delta", turnId=turn_id):
        deltas[d["itemId"]] = deltas.get(d["itemId"], "") + d["delta"]
    completed = {
        n["item"]["id"]: n["item"]["text"]
        for n in client.notes("item/completed", turnId=turn_id)
        if n["item"]["type"] == "agentMessage"
    }
    return deltas, completed


def completed_items(client: AppServerClient, turn_id: str, item_type: str) -> list[dict[str, Any]]:
    return [
        n["item"]
        for n in client.notes("item/completed", turnId=turn_id)
        if n["item"]["type"] == item_type
    ]


async def approve(client: AppServerClient, method: str, result: dict[str, Any]) -> dict[str, Any]:
    """Wait for a server request of ``method``, answer it, wait for serverRequest/resolved."""
    request = await client.next_server_request(timeout=TURN_TIMEOUT_S)
    assert request["method"] == method, request
    await client.respond(request["id"], result)
    await client.wait_for_notification(
        "serverRequest/resolved", lambda n: n["params"]["requestId"] == request["id"]
    )
    return request


async def test_initialize_answers_with_codex_home(
    codex_bin: Path, codex_env: dict[str, str], codex_home: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    async with await AppServerClient.spawn(codex_bin, codex_env, cwd=tmp_path) as client:
        result = await client.initialize()
        elapsed = time.monotonic() - started
        config = (await client.request("config/read", {}))["config"]
    print(f"spawn -> initialize: {elapsed:.3f} s")
    assert result["codexHome"] == str(codex_home)
    assert result["userAgent"].startswith("codexremote-tests/")
    assert {"platformFamily", "platformOs"} <= result.keys()
    assert config["model"] == "fake-model"
    assert config["features"]["plugins"] is False
    assert config["analytics"]["enabled"] is False


async def test_thread_start_in_git_repo(app_server: AppServerClient, git_repo: Path) -> None:
    result = await app_server.request("thread/start", {"cwd": str(git_repo)})
    assert result["thread"]["id"]
    assert result["cwd"] == str(git_repo)
    assert result["approvalPolicy"] == "on-request"
    assert result["sandbox"]["type"] == "readOnly"
    assert result["model"] == "fake-model"


async def test_hello_turn_streams_deltas_that_add_up(
    app_server: AppServerClient, git_repo: Path, fake_model: FakeModel
) -> None:
    thread_id = await start_thread(app_server, git_repo)
    turn_id = await start_turn(app_server, thread_id, "hello")
    turn = await app_server.wait_for_turn(turn_id, timeout=TURN_TIMEOUT_S)

    assert turn["status"] == "completed"
    deltas, completed = agent_texts(app_server, turn_id)
    assert deltas == completed
    assert sorted(completed.values()) == sorted([ms.HELLO_COMMENTARY, ms.HELLO_ANSWER])
    assert turn["items"][-1]["text"] == ms.HELLO_ANSWER
    assert ms.parse_prompt(fake_model.requests[-1], 0).text == "hello"


async def test_run_command_asks_approval_and_runs_on_accept(
    app_server: AppServerClient, git_repo: Path
) -> None:
    thread_id = await start_thread(app_server, git_repo)
    turn_id = await start_turn(app_server, thread_id, "run-command")
    request = await approve(
        app_server, "item/commandExecution/requestApproval", {"decision": "accept"}
    )
    turn = await app_server.wait_for_turn(turn_id, timeout=TURN_TIMEOUT_S)

    assert request["params"]["reason"] == ms.COMMAND_JUSTIFICATION
    assert request["params"]["cwd"] == str(git_repo)
    assert turn["status"] == "completed"
    assert (git_repo / "approved.txt").exists()
    (command,) = completed_items(app_server, turn_id, "commandExecution")
    assert command["status"] == "completed"
    assert turn["items"][-1]["text"] == ms.TOOL_DONE_ANSWER


async def test_edit_file_asks_file_change_approval(
    app_server: AppServerClient, git_repo: Path
) -> None:
    thread_id = await start_thread(app_server, git_repo)
    turn_id = await start_turn(app_server, thread_id, "edit-file")
    await approve(app_server, "item/fileChange/requestApproval", {"decision": "accept"})
    turn = await app_server.wait_for_turn(turn_id, timeout=TURN_TIMEOUT_S)

    assert turn["status"] == "completed"
    assert (git_repo / ms.PATCH_FILE).read_text() == "hello from the patch\n"
    (change,) = completed_items(app_server, turn_id, "fileChange")
    assert change["status"] == "completed"


async def test_mcp_tool_asks_through_elicitation(
    app_server: AppServerClient, git_repo: Path, codex_home: Path
) -> None:
    thread_id = await start_thread(app_server, git_repo)
    turn_id = await start_turn(app_server, thread_id, "mcp-tool")
    request = await approve(
        app_server, "mcpServer/elicitation/request", {"action": "accept", "content": {}}
    )
    turn = await app_server.wait_for_turn(turn_id, timeout=TURN_TIMEOUT_S)

    meta = request["params"]["_meta"]
    assert meta["codex_approval_kind"] == "mcp_tool_call"
    assert meta["tool_name"] == ms.MCP_TOOL
    assert request["params"]["serverName"] == ms.MCP_SERVER
    assert turn["status"] == "completed"
    assert (mcp_demo_root(codex_home) / ms.MCP_TOUCH_PATH).exists()


async def test_mcp_server_elicitation_reaches_the_server(
    app_server: AppServerClient, git_repo: Path, fake_model: FakeModel
) -> None:
    thread_id = await start_thread(app_server, git_repo)
    turn_id = await start_turn(app_server, thread_id, "mcp-ask")
    answer = {"action": "accept", "content": {"ok": True}}
    request = await approve(app_server, "mcpServer/elicitation/request", answer)
    turn = await app_server.wait_for_turn(turn_id, timeout=TURN_TIMEOUT_S)

    assert request["params"]["_meta"] is None
    assert request["params"]["message"] == ms.MCP_ASK_QUESTION
    assert turn["status"] == "completed"
    tool_output = json.dumps(ms.parse_prompt(fake_model.requests[-1], 0).outputs)
    assert '\\"ok\\": true' in tool_output


async def test_fail_model_fails_the_turn(app_server: AppServerClient, git_repo: Path) -> None:
    thread_id = await start_thread(app_server, git_repo)
    turn_id = await start_turn(app_server, thread_id, "fail-model")
    turn = await app_server.wait_for_turn(turn_id, timeout=TURN_TIMEOUT_S)

    assert turn["status"] == "failed"
    assert ms.FAIL_MESSAGE in turn["error"]["message"]
    (error,) = app_server.notes("error", turnId=turn_id)
    assert error["willRetry"] is False


async def test_long_answer_arrives_exactly(app_server: AppServerClient, git_repo: Path) -> None:
    thread_id = await start_thread(app_server, git_repo)
    turn_id = await start_turn(app_server, thread_id, "long-answer 2000")
    turn = await app_server.wait_for_turn(turn_id, timeout=TURN_TIMEOUT_S)

    deltas, completed = agent_texts(app_server, turn_id)
    assert list(deltas.values()) == [ms.long_answer_text(2000)]
    assert deltas == completed
    assert turn["status"] == "completed"


async def test_slow_answer_can_be_interrupted_mid_turn(
    app_server: AppServerClient, git_repo: Path
) -> None:
    thread_id = await start_thread(app_server, git_repo)
    turn_id = await start_turn(app_server, thread_id, "slow-answer")
    await app_server.wait_for_notification("item/agentMessage/delta", timeout=TURN_TIMEOUT_S)
    await app_server.request("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    turn = await app_server.wait_for_turn(turn_id, timeout=TURN_TIMEOUT_S)

    assert turn["status"] == "interrupted"
    deltas, _ = agent_texts(app_server, turn_id)
    assert len(" ".join(deltas.values()).split()) < ms.SLOW_DEFAULT_DELTAS
