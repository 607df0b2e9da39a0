"""Shared doubles for the approvals tests (no tests here).

``FakeChild`` stands in for the app-server child at the responder seam: it
records every answer and can pretend to be gone. The service under test is real.
Request params are the ones observed from codex 0.169 (codex-app-server.md §5).
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codexremote.approvals import AlwaysAllowStore, ApprovalService, ServerRequest
from codexremote.errors import Gone

THREAD = "019a0000-0000-7000-8000-00000000000a"
OTHER_THREAD = "019a0000-0000-7000-8000-00000000000b"
TURN = "019a0000-0000-7000-8000-0000000000f1"

COMMAND_PARAMS: dict[str, Any] = {
    "kind": "command",
    "threadId": THREAD,
    "turnId": TURN,
    "itemId": "call_cmd1",
    "startedAtMs": 1795634588293,
    "environmentId": "local",
    "reason": "Need to run 'touch x' outside the sandbox",
    "command": "/bin/bash -lc 'touch x'",
    "cwd": "/home/u/repo",
    "commandActions": [{"type": "unknown", "command": "touch x"}],
    "proposedExecpolicyAmendment": ["touch", "x"],
    "availableDecisions": [
        "accept",
        {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["touch", "x"]}},
        "cancel",
    ],
}

FILE_CHANGE_PARAMS: dict[str, Any] = {
    "threadId": THREAD,
    "turnId": TURN,
    "itemId": "call_patch1",
    "startedAtMs": 1795634588675,
    "reason": None,
    "grantRoot": None,
}

FILE_CHANGE_ITEM_STARTED: dict[str, Any] = {
    "threadId": THREAD,
    "turnId": TURN,
    "startedAtMs": 1795634588600,
    "item": {
        "type": "fileChange",
        "id": "call_patch1",
        "status": "inProgress",
        "changes": [
            {
                "path": "/home/u/repo/src/a.py",
                "kind": {"type": "update", "move_path": None},
                "diff": "@@ -1,2 +1,3 @@\n-old = 1\n+new = 1\n+more = 2\n keep = 3\n",
            },
            {"path": "/home/u/repo/b.py", "kind": {"type": "add"}, "diff": "x = 1\ny = 2\n"},
        ],
    },
}

MCP_TOOL_PARAMS: dict[str, Any] = {
    "threadId": THREAD,
    "turnId": TURN,
    "serverName": "demo",
    "mode": "form",
    "message": 'Allow the demo MCP server to run tool "touch"?',
    "requestedSchema": {"type": "object", "properties": {}},
    "_meta": {
        "codex_approval_kind": "mcp_tool_call",
        "persist": ["session", "always"],
        "tool_name": "touch",
        "tool_title": "Touch",
        "tool_description": "...",
        "tool_annotations": {"readOnlyHint": False, "destructiveHint": True},
        "tool_params": {"path": "x"},
        "tool_params_display": [{"name": "path", "value": "x", "display_name": "path"}],
    },
}

MCP_ELICITATION_PARAMS: dict[str, Any] = {
    "threadId": THREAD,
    "turnId": TURN,
    "serverName": "demo",
    "mode": "form",
    "message": "Which environment should I deploy to?",
    "requestedSchema": {"type": "object", "properties": {"env": {"type": "string"}}},
    "_meta": None,
}

PERMISSIONS_PARAMS: dict[str, Any] = {
    "threadId": THREAD,
    "turnId": TURN,
    "itemId": "call_perm1",
    "environmentId": "local",
    "startedAtMs": 1795634589000,
    "cwd": "/home/u/repo",
    "reason": "Needs to download dependencies",
    "permissions": {
        "network": {"enabled": True},
        "fileSystem": {"read": None, "write": ["/home/u/.cache"]},
    },
}


def mcp_tool_params(tool: str, *, thread: str = THREAD) -> dict[str, Any]:
    params = copy.deepcopy(MCP_TOOL_PARAMS)
    params["threadId"] = thread
    params["_meta"]["tool_name"] = tool
    params["message"] = f'Allow the demo MCP server to run tool "{tool}"?'
    return params


@dataclass
class FakeChild:
    """Records ``(request, result)`` answers; ``gone`` makes it raise Gone."""

    answers: list[tuple[ServerRequest, Any]] = field(default_factory=list)
    rejected: list[ServerRequest] = field(default_factory=list)
    gone: bool = False
    delay: float = 0.0

    async def respond(self, req: ServerRequest, result: Any) -> None:
        await asyncio.sleep(self.delay)  # let a concurrent decision run in between
        if self.gone:
            raise Gone("app-server is gone")
        self.answers.append((req, result))

    async def reject(self, req: ServerRequest) -> None:
        self.rejected.append(req)

    def results(self) -> list[Any]:
        return [result for _, result in self.answers]


@dataclass
class Events:
    """Publisher double: keeps every (event, chatId, payload)."""

    items: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, event: str, chat_id: str, payload: dict[str, Any]) -> None:
        self.items.append((event, chat_id, payload))

    def named(self, event: str) -> list[dict[str, Any]]:
        return [payload for name, _, payload in self.items if name == event]


class Clock:
    """Deterministic millisecond clock that advances one tick per read."""

    def __init__(self, start: int = 1_775_000_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1
        return self.now


@dataclass
class Harness:
    service: ApprovalService
    child: FakeChild
    events: Events
    store: AlwaysAllowStore
    generation: int = 1

    async def request(
        self, method: str, params: dict[str, Any], request_id: int | str = 0
    ) -> ServerRequest:
        req = ServerRequest(request_id, method, copy.deepcopy(params), self.generation)
        await self.service.on_server_request(req)
        return req


def make_harness(
    state_dir: Path, *, turns: dict[str, str] | None = None, generation: int = 1
) -> Harness:
    child = FakeChild()
    events = Events()
    store = AlwaysAllowStore(state_dir)
    service = ApprovalService(
        responder=child.respond,
        publisher=events,
        reject_unknown=child.reject,
        always_allow=store,
        chat_for_turn=(turns or {}).get,
        clock=Clock(),
        generation=generation,
    )
    return Harness(service, child, events, store, generation)
