"""What one rollout record says, independent of any other record.

``classify`` turns a parsed rollout line into a list of small, immutable facts.
Both the forward mapper (full timeline) and the backward pager combine these
facts with context from other records; keeping the per-record part here, in one
place, is what makes both directions agree.

Record kinds used (wire-api 7.2/7.3, codex-app-server.md 6):

* user text: ``event_msg/user_message`` (older codex) or
  ``event_msg/item_completed`` with ``item.type == "UserMessage"`` (codex 0.169.0
  writes only this one); files may hold both for one input, see ``mapping``;
* assistant text: ``response_item/message`` with role ``assistant``. The
  ``item_completed``/``AgentMessage`` twin (same item id) is ignored, as are the
  ``WebSearch``/``McpToolCall``/``FileChange``/``CommandExecution`` item records:
  their ``response_item`` twins are always written because they are the model's
  history, so using both would duplicate every message and card;
* compaction: ``compacted`` lines and ``event_msg/context_compacted``;
* web search: ``function_call`` named ``web.search_query`` and the 0.169.0
  ``web_search_call`` item (``action.query`` / ``action.queries``);
* MCP: ``function_call`` named ``mcp__<server>__<tool>``, or ``namespace``
  ``mcp__<server>`` plus ``name`` ``<tool>`` (0.169.0);
* apply_patch: ``custom_tool_call`` (and a ``function_call`` with JSON ``input``);
* exec/write_stdin calls and their outputs, for background terminals.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Literal

from codexremote.history.models import Phase

# Only the head of a tool output is searched for the "Process exited/running"
# status lines (they precede "Output:"), so command output that happens to
# contain these phrases does not count and huge outputs are not scanned.
OUTPUT_HEADER_SCAN_CHARS = 1024

_EXITED_RE = re.compile(r"Process exited with code (-?\d+)")
_RUNNING_RE = re.compile(r"Process running with session ID (\d+)")
_MCP_RE = re.compile(r"^mcp__([^_]+(?:_[^_]+)*)__(.+)$")
_SPECIAL_WORDS = {"openai": "OpenAI", "mcp": "MCP", "api": "API", "url": "URL", "gpt": "GPT"}


@dataclass(frozen=True, slots=True)
class UserFact:
    kind: Literal["event", "item"]  # event_msg/user_message or item_completed/UserMessage
    text: str


@dataclass(frozen=True, slots=True)
class AssistantFact:
    text: str
    phase: Phase | None


@dataclass(frozen=True, slots=True)
class CompactionFact:
    pass


@dataclass(frozen=True, slots=True)
class WebSearchFact:
    call_id: str | None
    queries: tuple[str, ...]
    fallback_prefix: str  # id prefix when the call has no id


@dataclass(frozen=True, slots=True)
class McpFact:
    call_id: str | None
    title: str


@dataclass(frozen=True, slots=True)
class PatchFile:
    path: str
    detail: str | None
    additions: int
    deletions: int


@dataclass(frozen=True, slots=True)
class PatchFact:
    call_id: str | None
    files: tuple[PatchFile, ...]


@dataclass(frozen=True, slots=True)
class CallFact:
    """A function call, remembered for background-terminal lookups."""

    call_id: str
    name: str
    cmd: str | None
    session_id: int | None


@dataclass(frozen=True, slots=True)
class OutputFact:
    """A function call output that reports a process state."""

    call_id: str
    running_session: int | None
    exit_code: int | None


Fact = (
    UserFact
    | AssistantFact
    | CompactionFact
    | WebSearchFact
    | McpFact
    | PatchFact
    | CallFact
    | OutputFact
)


@dataclass(frozen=True, slots=True)
class RecordInfo:
    """A record's time and facts."""

    created_at: int
    timestamp: str | None
    facts: tuple[Fact, ...]


def created_at(timestamp: object, now: int) -> int:
    """floor(epoch seconds) of an ISO-8601 timestamp; ``now`` if missing or unparsable."""
    if not isinstance(timestamp, str):
        return now
    try:
        parsed = datetime.fromisoformat(timestamp)
    except ValueError:
        return now
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return math.floor(parsed.timestamp())


def record_info(data: dict[str, Any], now: int) -> RecordInfo:
    stamp = data.get("timestamp")
    return RecordInfo(
        created_at=created_at(stamp, now),
        timestamp=stamp if isinstance(stamp, str) else None,
        facts=tuple(classify(data)),
    )


def classify(data: dict[str, Any]) -> list[Fact]:
    """The facts of one rollout record (empty for records history does not use)."""
    kind = data.get("type")
    payload = data.get("payload")
    if not isinstance(payload, dict):
        payload = {}
    if kind == "compacted":
        return [CompactionFact()]
    if kind == "event_msg":
        return _event_facts(payload)
    if kind == "response_item":
        return _response_facts(payload)
    return []


def _event_facts(payload: dict[str, Any]) -> list[Fact]:
    ptype = payload.get("type")
    if ptype == "user_message":
        message = payload.get("message")
        if isinstance(message, str) and message.strip():
            return [UserFact("event", message)]
    elif ptype == "context_compacted":
        return [CompactionFact()]
    elif ptype == "item_completed":
        item = payload.get("item")
        if isinstance(item, dict) and item.get("type") == "UserMessage":
            texts = [
                part["text"]
                for part in _list(item.get("content"))
                if isinstance(part, dict)
                and part.get("type") == "text"
                and isinstance(part.get("text"), str)
            ]
            text = "\n".join(texts)
            if text.strip():
                return [UserFact("item", text)]
    return []


def _response_facts(payload: dict[str, Any]) -> list[Fact]:
    ptype = payload.get("type")
    call_id = payload.get("call_id")
    call_id = call_id if isinstance(call_id, str) else None
    if ptype == "message":
        return _assistant_facts(payload)
    if ptype == "function_call":
        return _function_call_facts(payload, call_id)
    if ptype == "custom_tool_call":
        patch = payload.get("input")
        if payload.get("name") == "apply_patch" and isinstance(patch, str):
            return [PatchFact(call_id, parse_patch(patch))]
        return []
    if ptype == "function_call_output" and call_id is not None:
        head = _output_head(payload.get("output"))
        exited = _EXITED_RE.search(head)
        running = _RUNNING_RE.search(head)
        if exited or running:
            return [
                OutputFact(
                    call_id,
                    int(running.group(1)) if running else None,
                    int(exited.group(1)) if exited else None,
                )
            ]
        return []
    if ptype == "web_search_call":
        action = payload.get("action")
        if isinstance(action, dict) and action.get("type") == "search":
            queries = [q for q in _list(action.get("queries")) if isinstance(q, str) and q]
            if not queries and isinstance(action.get("query"), str) and action["query"]:
                queries = [action["query"]]
            item_id = payload.get("id")
            if queries:
                ident = item_id if isinstance(item_id, str) else None
                return [WebSearchFact(ident, tuple(queries), "web_search")]
    return []


def _assistant_facts(payload: dict[str, Any]) -> list[Fact]:
    if payload.get("role") != "assistant":
        return []
    phase = payload.get("phase")
    if phase not in (None, "commentary", "final_answer"):
        return []
    texts = [
        part["text"]
        for part in _list(payload.get("content"))
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    ]
    text = "\n\n".join(texts).strip()
    if not text:
        return []
    return [AssistantFact(text, phase)]


def _function_call_facts(payload: dict[str, Any], call_id: str | None) -> list[Fact]:
    name = payload.get("name")
    if not isinstance(name, str):
        return []
    namespace = payload.get("namespace")
    if (
        isinstance(namespace, str)
        and namespace.startswith("mcp__")
        and not name.startswith("mcp__")
    ):
        name = f"{namespace}__{name}"
    args = _json_object(payload.get("arguments"))
    facts: list[Fact] = []
    if name == "web.search_query":
        queries = [
            entry["q"]
            for entry in _list(args.get("search_query"))
            if isinstance(entry, dict) and isinstance(entry.get("q"), str) and entry["q"]
        ]
        if queries:
            facts.append(WebSearchFact(call_id, tuple(queries), "function_call"))
    elif name == "apply_patch" and isinstance(args.get("input"), str):
        facts.append(PatchFact(call_id, parse_patch(args["input"])))
    else:
        title = mcp_title(name)
        if title is not None:
            facts.append(McpFact(call_id, title))
    if call_id is not None:
        cmd = args.get("cmd")
        session = args.get("session_id")
        facts.append(
            CallFact(
                call_id,
                name,
                cmd if isinstance(cmd, str) else None,
                session if isinstance(session, int) and not isinstance(session, bool) else None,
            )
        )
    return facts


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _json_object(value: object) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            return {}
        if isinstance(parsed, dict):
            return parsed
    return {}


def _output_head(output: object) -> str:
    if isinstance(output, list):
        output = "\n".join(
            part["text"]
            for part in output
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    if not isinstance(output, str):
        return ""
    head = output[:OUTPUT_HEADER_SCAN_CHARS]
    cut = head.find("\nOutput:")
    return head if cut < 0 else head[:cut]


def humanise(part: str) -> list[str]:
    """Words of a camelCase / snake_case / kebab-case name, capitalised (wire-api 7.3)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", part)
    spaced = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", spaced)
    words = [w for w in re.split(r"[\s_\-]+", spaced) if w]
    return [_SPECIAL_WORDS.get(w.lower(), w[:1].upper() + w[1:]) for w in words]


def mcp_title(name: str) -> str | None:
    """'Called <Tool> tool from <Server> MCP' for an ``mcp__server__tool`` name, else None."""
    match = _MCP_RE.match(name)
    if match is None:
        return None
    server = humanise(match.group(1))
    tool = humanise(match.group(2))
    if not server or not tool:
        return None
    if server[-1] != "MCP":
        server.append("MCP")
    return f"Called {' '.join(tool)} tool from {' '.join(server)}"


def parse_patch(patch: str) -> tuple[PatchFile, ...]:
    """Per-file +/- counts of an apply_patch input (wire-api 7.3)."""
    files: list[list[Any]] = []  # [path, detail, additions, deletions]
    current: list[Any] | None = None
    for line in patch.splitlines():
        if line.startswith("*** Update File: "):
            current = [line[len("*** Update File: ") :].strip(), None, 0, 0]
            files.append(current)
        elif line.startswith("*** Add File: "):
            current = [line[len("*** Add File: ") :].strip(), "Added file", 0, 0]
            files.append(current)
        elif line.startswith("*** Delete File: "):
            files.append([line[len("*** Delete File: ") :].strip(), "Deleted file", 0, 0])
            current = None
        elif line.startswith("*** Move to: "):
            if current is not None:
                current[1] = f"Moved to {line[len('*** Move to: ') :].strip()}"
        elif current is not None:
            if line.startswith(("+++", "---", "@@", "*** End")):
                continue
            if line.startswith("+"):
                current[2] += 1
            elif line.startswith("-"):
                current[3] += 1
    return tuple(PatchFile(path, detail, add, rem) for path, detail, add, rem in files if path)


def basename(path: str) -> str:
    return PurePosixPath(path).name or path
