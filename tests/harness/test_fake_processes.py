"""The fake app-server's failure knobs and the demo MCP server do what docs/testing.md says.

Both are real child processes, driven here through the harness RPC client.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from tests.harness.rpc_client import AppServerClient, AppServerExited, RpcError

HARNESS = Path(__file__).parent
FAKE_APP_SERVER = HARNESS / "fake_app_server.py"
MCP_DEMO = HARNESS / "mcp_demo_server.py"
SHORT_GRACE_S = 0.3  # close() grace in tests that need signals: keeps them fast
DEAD_WAIT_S = 3.0  # how long a killed grandchild may take to disappear

Spawn = Callable[..., Coroutine[Any, Any, AppServerClient]]


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Spawn]:
    """Start fake_app_server.py with knobs as keyword args; all are closed afterwards."""
    clients: list[AppServerClient] = []

    async def start(script: Path = FAKE_APP_SERVER, **knobs: str) -> AppServerClient:
        env = {"PATH": os.environ.get("PATH", ""), "CODEX_HOME": str(tmp_path), **knobs}
        client = await AppServerClient.spawn(sys.executable, env, cwd=tmp_path, args=[str(script)])
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close(SHORT_GRACE_S)


def is_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # a zombie has been killed, only not reaped yet


async def test_answers_like_the_real_handshake(spawn: Spawn, tmp_path: Path) -> None:
    client = await spawn()
    with pytest.raises(RpcError) as not_initialized:
        await client.request("thread/start", {})
    assert (not_initialized.value.code, not_initialized.value.message) == (
        -32600,
        "Not initialized",
    )
    result = await client.initialize()
    assert result["codexHome"] == str(tmp_path)
    assert {"userAgent", "platformFamily", "platformOs"} <= result.keys()
    thread = (await client.request("thread/start", {"cwd": "/x"}))["thread"]
    assert thread["id"] and thread["cwd"] == "/x"
    assert (await client.request("turn/start", {"threadId": thread["id"]}))["turn"]["id"]
    assert await client.request("anything/else") == {}
    assert await client.close() == 0  # stdin EOF -> exit 0


async def test_fail_on_start(spawn: Spawn) -> None:
    client = await spawn(FAKE_FAIL_ON_START="1")
    with pytest.raises(AppServerExited):
        await client.initialize()
    assert await client.close() == 1
    assert "FAKE_FAIL_ON_START" in client.stderr_text


async def test_startup_delay(spawn: Spawn) -> None:
    started = time.monotonic()
    client = await spawn(FAKE_STARTUP_DELAY="0.3")
    await client.initialize()
    assert time.monotonic() - started >= 0.3


async def test_crash_after_n_requests(spawn: Spawn) -> None:
    client = await spawn(FAKE_CRASH_AFTER="2")
    await client.initialize()
    await client.request("thread/start", {})
    with pytest.raises(AppServerExited):
        await client.request("thread/list", {})
    assert await client.close() == 1


async def test_hang_never_answers_and_needs_sigterm(spawn: Spawn) -> None:
    client = await spawn(FAKE_HANG="1")
    await client.initialize()
    with pytest.raises(TimeoutError):
        await client.request("thread/start", {}, timeout=0.3)
    assert await client.close(SHORT_GRACE_S) == -15


async def test_ignore_sigterm_needs_sigkill_and_grandchild_dies(
    spawn: Spawn, tmp_path: Path
) -> None:
    pidfile = tmp_path / "child.pid"
    client = await spawn(FAKE_HANG="1", FAKE_IGNORE_SIGTERM="1", FAKE_CHILD_PIDFILE=str(pidfile))
    await client.initialize()
    grandchild = int(pidfile.read_text())
    assert not is_gone(grandchild)
    assert await client.close(SHORT_GRACE_S) == -9
    deadline = time.monotonic() + DEAD_WAIT_S
    while not is_gone(grandchild) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert is_gone(grandchild)


async def test_flood_still_answers_requests(spawn: Spawn) -> None:
    client = await spawn(FAKE_FLOOD="1", FAKE_FLOOD_LINES="2000")
    await client.initialize()
    assert await client.request("thread/list", {}) == {}
    await client.wait_for_notification("fake/flood", lambda n: n["params"]["n"] == 1999)
    assert len(client.notes("fake/flood")) == 2000


async def test_unbounded_flood_is_stopped_by_close(spawn: Spawn) -> None:
    client = await spawn(FAKE_FLOOD="1")
    await client.initialize()
    await client.wait_for_notification("fake/flood", lambda n: n["params"]["n"] >= 5000)
    assert await client.close(SHORT_GRACE_S) in (0, -15)


async def test_oversize_and_garbage_lines_then_normal_service(spawn: Spawn) -> None:
    client = await spawn(FAKE_OVERSIZE_LINE=str(1024 * 1024), FAKE_GARBAGE_LINE="1")
    await client.initialize()
    note = await client.wait_for_notification("fake/oversize")
    assert len(note["params"]["pad"]) > 1024 * 1000
    assert await client.request("thread/list", {}) == {}
    assert client.bad_lines == [b"this is not json {\n"]


async def test_overloaded_rejects_first_n_requests(spawn: Spawn) -> None:
    client = await spawn(FAKE_OVERLOADED="2")
    await client.initialize()
    for _ in range(2):
        with pytest.raises(RpcError) as overloaded:
            await client.request("thread/start", {})
        assert (overloaded.value.code, overloaded.value.message) == (-32001, "Server overloaded")
    assert (await client.request("thread/start", {}))["thread"]["id"]


async def test_server_request_round_trip(spawn: Spawn) -> None:
    client = await spawn(FAKE_SERVER_REQUEST="1")
    await client.initialize()
    thread_id = (await client.request("thread/start", {"cwd": "/repo"}))["thread"]["id"]
    request = await client.next_server_request()
    assert (request["id"], request["method"]) == (0, "item/commandExecution/requestApproval")
    assert request["params"]["threadId"] == thread_id
    await client.respond(0, {"decision": "decline"})
    answered = await client.wait_for_notification("fake/serverRequestAnswered")
    assert answered["params"]["result"] == {"decision": "decline"}
    resolved = await client.wait_for_notification("serverRequest/resolved")
    assert resolved["params"] == {"threadId": thread_id, "requestId": 0}


async def test_stderr_spam_is_written_before_serving(spawn: Spawn) -> None:
    client = await spawn(FAKE_STDERR_SPAM="1")
    await client.initialize()
    await client.close()
    assert "stderr spam line 00019999" in client.stderr_text


async def test_mcp_demo_server_tools(spawn: Spawn, tmp_path: Path) -> None:
    client = await spawn(MCP_DEMO, MCP_DEMO_ROOT=str(tmp_path))
    init = await client.request("initialize", {"protocolVersion": "2025-06-18"})
    assert init["protocolVersion"] == "2025-06-18"
    await client.notify("notifications/initialized")
    tools = {t["name"]: t for t in (await client.request("tools/list"))["tools"]}
    assert tools["echo"]["annotations"]["readOnlyHint"] is True
    assert tools["touch"]["annotations"]["destructiveHint"] is True

    echo = await client.request("tools/call", {"name": "echo", "arguments": {"text": "hi"}})
    assert echo["content"][0]["text"] == "hi"
    touch = await client.request("tools/call", {"name": "touch", "arguments": {"path": "a/b.txt"}})
    assert not touch["isError"] and (tmp_path / "a" / "b.txt").exists()
    escape = await client.request("tools/call", {"name": "touch", "arguments": {"path": "../x"}})
    assert escape["isError"]

    ask = asyncio.create_task(
        client.request("tools/call", {"name": "ask", "arguments": {"question": "Go?"}})
    )
    elicitation = await client.next_server_request()
    assert elicitation["method"] == "elicitation/create"
    assert elicitation["params"]["message"] == "Go?"
    await client.respond(elicitation["id"], {"action": "accept", "content": {"ok": True}})
    assert '"ok": true' in (await ask)["content"][0]["text"]
