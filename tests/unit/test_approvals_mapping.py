"""Request -> approval object (wire-api 6.1) and decision -> app-server result mappings."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from codexremote.approvals import ServerRequest, mcp_scope_key, normalise_name
from codexremote.approvals.filechanges import count_unified_diff, display_names
from codexremote.approvals.responses import response_for
from tests.unit.test_approvals_fakes import (
    COMMAND_PARAMS,
    FILE_CHANGE_ITEM_STARTED,
    FILE_CHANGE_PARAMS,
    MCP_ELICITATION_PARAMS,
    MCP_TOOL_PARAMS,
    PERMISSIONS_PARAMS,
    THREAD,
    TURN,
    Harness,
    make_harness,
)

CMD = "item/commandExecution/requestApproval"
PATCH = "item/fileChange/requestApproval"
PERMS = "item/permissions/requestApproval"
MCP = "mcpServer/elicitation/request"

# What the original iOS app requires of an approval (wire-api 4.14, section 14).
REQUIRED_STRINGS = ("id", "kind", "mode", "title", "summary", "riskLevel")
REQUIRED_BOOLS = ("supportsSessionAllow", "supportsAlwaysAllow")


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return make_harness(tmp_path)


async def raise_one(h: Harness, method: str, params: dict[str, Any]) -> dict[str, Any]:
    await h.request(method, params)
    [payload] = h.events.named("approval_required")
    assert payload == h.service.newest_for_chat(THREAD).to_wire()  # type: ignore[union-attr]
    for key in REQUIRED_STRINGS:
        assert isinstance(payload[key], str) and payload[key], key
    for key in REQUIRED_BOOLS:
        assert isinstance(payload[key], bool), key
    assert isinstance(payload["createdAt"], int) and not isinstance(payload["createdAt"], bool)
    assert payload["chatId"] == THREAD
    assert payload["status"] == "open"
    return payload


async def test_command_approval_object(h: Harness) -> None:
    payload = await raise_one(h, CMD, COMMAND_PARAMS)

    assert payload["kind"] == "command"
    assert payload["mode"] == "approval"
    assert payload["title"] == "Command Approval"
    assert payload["riskLevel"] == "high"
    assert payload["supportsSessionAllow"] is True
    assert payload["supportsAlwaysAllow"] is False
    assert payload["availableDecisions"] == ["approve", "decline", "allow_for_session"]
    assert payload["summary"].splitlines() == [
        "/bin/bash -lc 'touch x'",
        "in /home/u/repo",
        "Need to run 'touch x' outside the sandbox",
    ]
    assert payload["turnId"] == TURN and payload["itemId"] == "call_cmd1"
    assert payload["details"]["command"] == "/bin/bash -lc 'touch x'"
    assert payload["details"]["cwd"] == "/home/u/repo"
    assert "serverName" not in payload and "scopeKey" not in payload
    assert len(payload["id"]) == 36 and payload["id"][14] == "4"  # uuid4


async def test_file_change_summary_uses_the_preceding_item(h: Harness) -> None:
    h.service.on_notification("item/started", FILE_CHANGE_ITEM_STARTED)
    payload = await raise_one(h, PATCH, FILE_CHANGE_PARAMS)

    assert payload["kind"] == "fileChange"
    assert payload["title"] == "File Change Approval"
    assert payload["riskLevel"] == "medium"
    assert payload["supportsSessionAllow"] is True and payload["supportsAlwaysAllow"] is False
    assert payload["summary"] == "Edit 2 files: src/a.py (+2 -1), b.py (+2 -0)"
    assert payload["details"]["files"] == [
        {"path": "/home/u/repo/src/a.py", "kind": "update", "additions": 2, "deletions": 1},
        {"path": "/home/u/repo/b.py", "kind": "add", "additions": 2, "deletions": 0},
    ]


async def test_file_change_without_item_falls_back_to_reason_or_default(h: Harness) -> None:
    payload = await raise_one(h, PATCH, FILE_CHANGE_PARAMS)
    assert payload["summary"] == "File change approval request"
    assert payload["details"]["files"] == []


async def test_mcp_tool_approval_object(h: Harness) -> None:
    payload = await raise_one(h, MCP, MCP_TOOL_PARAMS)

    assert payload["kind"] == "mcp"
    assert payload["mode"] == "mcp_elicitation"
    assert payload["title"] == "MCP Server Access"
    assert payload["serverName"] == "demo"
    assert payload["riskLevel"] == "high"  # destructiveHint: true
    assert payload["supportsSessionAllow"] is True and payload["supportsAlwaysAllow"] is True
    assert payload["availableDecisions"] == [
        "approve",
        "decline",
        "allow_for_session",
        "allow_always",
    ]
    assert payload["scopeKey"] == "mcp:demo:touch"
    assert payload["summary"].splitlines() == [
        "Server: demo",
        "Tool: touch",
        'Allow the demo MCP server to run tool "touch"?',
    ]
    assert payload["details"]["toolParams"] == [
        {"name": "path", "value": "x", "display_name": "path"}
    ]


async def test_mcp_tool_without_destructive_hint_is_medium_risk(h: Harness) -> None:
    params = copy.deepcopy(MCP_TOOL_PARAMS)
    params["_meta"]["tool_annotations"] = {"readOnlyHint": False}
    payload = await raise_one(h, MCP, params)
    assert payload["riskLevel"] == "medium"


async def test_mcp_tool_without_tool_name_has_no_always_allow(h: Harness) -> None:
    params = copy.deepcopy(MCP_TOOL_PARAMS)
    del params["_meta"]["tool_name"]
    params["requestedSchema"] = {"type": "object", "properties": {"name": {"const": "rm"}}}
    payload = await raise_one(h, MCP, params)
    assert payload["supportsAlwaysAllow"] is False
    assert "scopeKey" not in payload  # never a generic "name" found somewhere (quirk 13)


async def test_real_mcp_elicitation_object(h: Harness) -> None:
    payload = await raise_one(h, MCP, MCP_ELICITATION_PARAMS)

    assert payload["kind"] == "mcp" and payload["mode"] == "mcp_elicitation"
    assert payload["summary"] == "Which environment should I deploy to?"
    assert payload["riskLevel"] == "medium"
    assert payload["supportsSessionAllow"] is False and payload["supportsAlwaysAllow"] is False
    assert payload["availableDecisions"] == ["approve", "decline"]
    assert payload["details"]["requestedSchema"] == MCP_ELICITATION_PARAMS["requestedSchema"]


async def test_permissions_approval_object(h: Harness) -> None:
    payload = await raise_one(h, PERMS, PERMISSIONS_PARAMS)

    assert payload["kind"] == "mcp" and payload["mode"] == "approval"
    assert payload["riskLevel"] == "medium"
    assert payload["supportsSessionAllow"] is True and payload["supportsAlwaysAllow"] is False
    assert payload["summary"].splitlines() == [
        "Network access",
        "Write: /home/u/.cache",
        "Needs to download dependencies",
    ]


async def test_legacy_exec_approval_object(h: Harness) -> None:
    params = {
        "conversationId": THREAD,
        "callId": "call_legacy",
        "command": ["npm", "run", "build:prod"],
        "cwd": "/home/u/repo",
        "parsedCmd": [],
        "reason": None,
    }
    payload = await raise_one(h, "execCommandApproval", params)
    assert payload["kind"] == "command"
    assert payload["summary"] == "npm run build:prod\nin /home/u/repo"
    assert payload["itemId"] == "call_legacy"


async def test_legacy_patch_approval_object(h: Harness) -> None:
    params = {
        "conversationId": THREAD,
        "callId": "call_legacy_patch",
        "fileChanges": {
            "/r/new.txt": {"type": "add", "content": "a\nb\nc\n"},
            "/r/old.txt": {"type": "delete", "content": "z\n"},
        },
    }
    payload = await raise_one(h, "applyPatchApproval", params)
    assert payload["summary"] == "Edit 2 files: new.txt (+3 -0), old.txt (+0 -1)"


async def test_mapping_failure_uses_fallback(h: Harness) -> None:
    params = dict(PERMISSIONS_PARAMS, permissions={"fileSystem": {"write": 5}})
    payload = await raise_one(h, PERMS, params)
    assert payload["kind"] == "mcp" and payload["mode"] == "approval"
    assert payload["summary"] == "Additional permissions request"
    assert payload["supportsAlwaysAllow"] is False


# ------------------------------------------------------------------ fingerprints


def test_fingerprint_normalisation_example_from_wire_api() -> None:
    key = mcp_scope_key("OpenAI Developer Docs MCP Server", "fetch_openai_doc")
    assert key == "mcp:openai-developer-docs-mcp-server:fetch-openai-doc"


@pytest.mark.parametrize(
    ("name", "slug"),
    [("  --Foo__Bar!!  ", "foo-bar"), ("ÄÖÜ tool", "tool"), ("a" * 100, "a" * 80), ("!!!", "")],
)
def test_fingerprint_parts(name: str, slug: str) -> None:
    assert normalise_name(name) == slug


@pytest.mark.parametrize(("server", "tool"), [("demo", None), (None, "touch"), ("demo", "!!")])
def test_fingerprint_needs_server_and_tool(server: str | None, tool: str | None) -> None:
    assert mcp_scope_key(server, tool) is None


# -------------------------------------------------------------- result objects

REQ = {
    CMD: COMMAND_PARAMS,
    PATCH: FILE_CHANGE_PARAMS,
    PERMS: PERMISSIONS_PARAMS,
    MCP: MCP_TOOL_PARAMS,
}
GRANTED = {"network": {"enabled": True}, "fileSystem": {"read": None, "write": ["/home/u/.cache"]}}


@pytest.mark.parametrize(
    ("method", "decision", "result"),
    [
        (CMD, "approve", {"decision": "accept"}),
        (CMD, "decline", {"decision": "decline"}),
        (CMD, "allow_for_session", {"decision": "acceptForSession"}),
        (PATCH, "approve", {"decision": "accept"}),
        (PATCH, "decline", {"decision": "decline"}),
        (PATCH, "allow_for_session", {"decision": "acceptForSession"}),
        (PERMS, "approve", {"permissions": GRANTED, "scope": "turn"}),
        (PERMS, "allow_for_session", {"permissions": GRANTED, "scope": "session"}),
        (PERMS, "decline", {"permissions": {}, "scope": "turn"}),
        (MCP, "approve", {"action": "accept", "content": {}}),
        (MCP, "decline", {"action": "decline"}),
        (
            MCP,
            "allow_for_session",
            {"action": "accept", "content": {}, "_meta": {"persist": "session"}},
        ),
        (MCP, "allow_always", {"action": "accept", "content": {}}),
    ],
)
async def test_decision_is_sent_as_the_object_app_server_expects(
    h: Harness, method: str, decision: str, result: dict[str, Any]
) -> None:
    req = await h.request(method, REQ[method], request_id=42)
    await h.service.decide(h.service.newest_for_chat(THREAD).id, decision)  # type: ignore[union-attr]
    assert h.child.answers == [(req, result)]


def test_persist_is_only_sent_when_offered() -> None:
    params = copy.deepcopy(MCP_TOOL_PARAMS)
    params["_meta"]["persist"] = ["session"]
    always = response_for(MCP, params, "allow_always")
    assert always == {"action": "accept", "content": {}}


@pytest.mark.parametrize(
    ("decision", "result"),
    [
        ("approve", {"decision": "approved"}),
        ("allow_for_session", {"decision": "approved_for_session"}),
        ("decline", {"decision": {"denied": {"rejection": "The user declined this request."}}}),
    ],
)
def test_legacy_review_decisions(decision: str, result: dict[str, Any]) -> None:
    assert response_for("execCommandApproval", {}, decision) == result
    assert response_for("applyPatchApproval", {}, decision) == result


def test_server_request_carries_generation() -> None:
    assert ServerRequest("a", CMD, {}, 3).generation == 3


# ------------------------------------------------------------------- diff counts


@pytest.mark.parametrize(
    ("diff", "counts"),
    [
        ("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n", (1, 1)),
        ("@@ -1,2 +1,1 @@\n--- removed dashes\n keep\n", (0, 1)),
        ("+only\n+added\n", (2, 0)),
        ("", (0, 0)),
    ],
)
def test_unified_diff_counts(diff: str, counts: tuple[int, int]) -> None:
    assert count_unified_diff(diff) == counts


def test_display_names_are_relative_to_the_common_directory() -> None:
    assert display_names(["/r/src/a.py", "/r/tests/b.py"]) == ["src/a.py", "tests/b.py"]
    assert display_names(["/r/src/a.py"]) == ["a.py"]
    assert display_names(["rel/a.py", "/abs/b.py"]) == ["rel/a.py", "/abs/b.py"]
