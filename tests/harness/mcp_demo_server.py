"""A tiny stdio MCP server for tests (stdlib only; codex runs it as a child).

Newline-delimited JSON-RPC 2.0: ``initialize`` (protocol 2025-06-18),
``notifications/initialized``, ``ping``, ``tools/list``, ``tools/call``.

Tools:
- ``echo`` (readOnlyHint): returns its ``text`` argument. codex runs it without asking.
- ``touch`` (destructiveHint): creates ``path`` under ``$MCP_DEMO_ROOT`` (relative
  paths only; without the variable it only returns text). codex asks first
  (``mcpServer/elicitation/request`` with ``_meta.codex_approval_kind = mcp_tool_call``).
- ``ask``: sends an ``elicitation/create`` request to codex (forwarded to the client as
  ``mcpServer/elicitation/request``) and returns the client's answer as JSON text.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = "2025-06-18"
ROOT_ENV = "MCP_DEMO_ROOT"

TOOLS: list[dict[str, Any]] = [
    {
        "name": "echo",
        "title": "Echo",
        "description": "Returns the given text.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
        "annotations": {"readOnlyHint": True, "destructiveHint": False},
    },
    {
        "name": "touch",
        "title": "Touch",
        "description": "Creates an empty file at the given relative path.",
        "inputSchema": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
        "annotations": {"readOnlyHint": False, "destructiveHint": True},
    },
    {
        "name": "ask",
        "title": "Ask",
        "description": "Asks the user a question through an elicitation.",
        "inputSchema": {"type": "object", "properties": {"question": {"type": "string"}}},
        "annotations": {"readOnlyHint": True, "destructiveHint": False},
    },
]


def send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
    sys.stdout.flush()


def text_result(text: str, *, is_error: bool = False) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


def touch(args: dict[str, Any]) -> dict[str, Any]:
    rel = str(args.get("path", ""))
    root = os.environ.get(ROOT_ENV)
    if not root:
        return text_result(f"would touch {rel}")
    if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
        return text_result(f"refusing path {rel!r}", is_error=True)
    target = Path(root) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch()
    return text_result(f"touched {rel}")


class Server:
    """Reads requests line by line; ``ask`` waits for the matching response."""

    def __init__(self) -> None:
        self.backlog: list[dict[str, Any]] = []  # messages read while waiting in `ask`
        self.next_id = 0

    def read(self) -> dict[str, Any] | None:
        if self.backlog:
            return self.backlog.pop(0)
        while True:
            line = sys.stdin.readline()
            if not line:
                return None
            if line.strip():
                message: dict[str, Any] = json.loads(line)
                return message

    def ask(self, args: dict[str, Any]) -> dict[str, Any]:
        request_id = f"elicit-{self.next_id}"
        self.next_id += 1
        question = str(args.get("question") or "Proceed?")
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
        params = {"message": question, "requestedSchema": schema}
        send({"id": request_id, "method": "elicitation/create", "params": params})
        while True:
            line = sys.stdin.readline()
            if not line:
                return text_result("client went away", is_error=True)
            if not line.strip():
                continue
            message = json.loads(line)
            if message.get("id") == request_id and "method" not in message:
                return text_result(json.dumps(message.get("result", message.get("error"))))
            self.backlog.append(message)

    def call(self, params: dict[str, Any]) -> dict[str, Any]:
        name, args = params.get("name"), params.get("arguments") or {}
        if name == "echo":
            return text_result(str(args.get("text", "")))
        if name == "touch":
            return touch(args)
        if name == "ask":
            return self.ask(args)
        return text_result(f"unknown tool {name}", is_error=True)

    def handle(self, message: dict[str, Any]) -> None:
        method, request_id = message.get("method"), message.get("id")
        if request_id is None or method is None:
            return  # notifications (initialized, cancelled) and stray responses
        params = message.get("params") or {}
        if method == "initialize":
            result: dict[str, Any] = {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "demo", "version": "0.1.0"},
            }
        elif method == "ping":
            result = {}
        elif method == "tools/list":
            result = {"tools": TOOLS}
        elif method == "tools/call":
            result = self.call(params)
        else:
            error = {"code": -32601, "message": f"Method not found: {method}"}
            send({"id": request_id, "error": error})
            return
        send({"id": request_id, "result": result})

    def run(self) -> None:
        while (message := self.read()) is not None:
            self.handle(message)


if __name__ == "__main__":
    Server().run()
