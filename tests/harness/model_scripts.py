"""Scripted answers of the fake model, chosen by a marker word in the prompt.

A *script* is a function ``(Prompt) -> Reply``. The fake model server
(``fake_model.py``) finds "the prompt" (the last ``user`` message that is not an
XML-ish context block), counts the ``*_call_output`` items after it (the *step*
of a multi-step script) and asks the script what to send back.

Markers (first marker word found in the prompt wins; none -> ``hello``):

==================  ======================================================
``hello``           commentary message, then a final answer (deltas each)
``reasoning``       streamed reasoning summary, then a final answer
``run-command``     step 0: ``exec_command`` ``touch approved.txt`` asking
                    for escalation; step 1+: final answer
``edit-file``       step 0: ``apply_patch`` adding ``hello.txt``; step 1+: final
``mcp-tool``        step 0: ``mcp__demo`` ``touch`` (destructive); step 1+: final
``mcp-ask``         step 0: ``mcp__demo`` ``ask`` (server-initiated elicitation); step 1+: final
``long-answer N``   final answer of N deltas, text = ``long_answer_text(N)``
``slow-answer [N]`` N (default 40) deltas 50 ms apart, text = ``slow_answer_text(N)``
``hostile-answer``  a final answer full of HTML/JS (SEC-12): ``HOSTILE_ANSWER``
``fail-model``      ``response.failed``
``http-500``        HTTP 500
==================  ======================================================

The event builders below are public so tests can register their own scripts
with ``FakeModel.add_script``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]

SLOW_DELTA_INTERVAL_S = 0.05  # gap between slow-answer deltas: long enough to act mid-turn
SLOW_DEFAULT_DELTAS = 40  # 40 x 50 ms = a 2 s turn
LONG_DEFAULT_DELTAS = 100  # "long-answer" without a number
LONG_MAX_DELTAS = 200_000  # guards against a typo turning into a multi-GB stream

HELLO_COMMENTARY = "Let me look at that for you."
HELLO_ANSWER = "Hello from the fake model. Everything is fine."
REASONING_SUMMARY = "**Thinking** about a friendly reply."
REASONING_ANSWER = "I thought about it: hello."
COMMAND = "touch approved.txt"  # run-command: harmless, inside the thread cwd
COMMAND_JUSTIFICATION = "Need to create approved.txt to prove the command ran"
PATCH_FILE = "hello.txt"  # edit-file: the file the patch adds
PATCH_TEXT = f"*** Begin Patch\n*** Add File: {PATCH_FILE}\n+hello from the patch\n*** End Patch\n"
MCP_SERVER = "demo"  # must match [mcp_servers.demo] in codex_home.py
MCP_TOOL = "touch"  # destructive tool of mcp_demo_server.py
MCP_TOUCH_PATH = "mcp-touched.txt"  # relative to the demo server's root dir
MCP_ASK_QUESTION = "May the demo server proceed?"  # mcp-ask: the elicitation message
FAIL_MESSAGE = "fake model failure"
TOOL_DONE_ANSWER = "The tool call finished."
TOOL_REJECTED_ANSWER = "The tool call was rejected."
# hostile-answer (SEC-12): everything a page must render inert. Each payload sets
# window.__pwned when it runs, so a test can tell that nothing ran.
HOSTILE_ANSWER = (
    "Look: <img src=x onerror=\"window.__pwned='img'\"> and "
    "<script>window.__pwned='script'</script> done.\n\n"
    "[open me](javascript:window.__pwned='link') and "
    "<a href=\"javascript:window.__pwned='a'\" onclick=\"window.__pwned='click'\">raw</a>\n\n"
    "```html\n<img src=x onerror=\"window.__pwned='code'\"><b>bold?</b>\n```\n\n"
    "Safe: [docs](https://example.org/docs)"
)


@dataclass(frozen=True)
class Prompt:
    """What a script sees of one POST /v1/responses."""

    text: str  # the prompt (may be "" if the request has no user message)
    step: int  # number of *_call_output items after the prompt message
    outputs: list[dict[str, Any]]  # those output items, oldest first
    seq: int  # request number on this server (0-based): makes ids unique
    body: dict[str, Any]  # the whole request body


@dataclass
class Reply:
    """An SSE stream (``status`` 200) or an HTTP error with ``error_message``.

    ``events`` may contain floats: pause that many seconds before the next event.
    """

    events: list[Event | float] = field(default_factory=list)
    status: int = 200
    error_message: str = ""


Script = Callable[[Prompt], Reply]


def long_answer_text(n: int) -> str:
    """The exact final text of ``long-answer n``."""
    return " ".join(f"w{i}" for i in range(n))


def slow_answer_text(n: int = SLOW_DEFAULT_DELTAS) -> str:
    """The exact final text of ``slow-answer n``."""
    return " ".join(f"s{i}" for i in range(n))


def word_deltas(text: str) -> list[str]:
    """Split text into deltas (one per word, spaces kept) that concatenate to it."""
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


def usage() -> dict[str, Any]:
    """Small usage numbers: long synthetic threads never trigger auto-compaction."""
    return {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 12,
    }


def created(resp_id: str) -> Event:
    return {"type": "response.created", "response": {"id": resp_id}}


def completed(resp_id: str) -> Event:
    return {"type": "response.completed", "response": {"id": resp_id, "usage": usage()}}


def message(
    item_id: str, deltas: list[str], *, phase: str = "final_answer", index: int = 0
) -> list[Event]:
    """An assistant message streamed as ``deltas`` (drives item/agentMessage/delta)."""
    start = {"type": "message", "role": "assistant", "id": item_id, "content": [], "phase": phase}
    done = dict(start, content=[{"type": "output_text", "text": "".join(deltas)}])
    events: list[Event] = [
        {"type": "response.output_item.added", "output_index": index, "item": start}
    ]
    events += [
        {
            "type": "response.output_text.delta",
            "item_id": item_id,
            "output_index": index,
            "content_index": 0,
            "delta": d,
        }
        for d in deltas
    ]
    events.append({"type": "response.output_item.done", "output_index": index, "item": done})
    return events


def reasoning(item_id: str, deltas: list[str], *, index: int = 0) -> list[Event]:
    """A reasoning item with a streamed summary (drives item/reasoning/* notifications)."""
    text = "".join(deltas)
    start: Event = {"type": "reasoning", "id": item_id, "summary": [], "encrypted_content": None}
    done = dict(start, summary=[{"type": "summary_text", "text": text}])
    part = {"type": "summary_text", "text": ""}
    common = {"item_id": item_id, "output_index": index, "summary_index": 0}
    events: list[Event] = [
        {"type": "response.output_item.added", "output_index": index, "item": start}
    ]
    events.append({"type": "response.reasoning_summary_part.added", **common, "part": part})
    events += [
        {"type": "response.reasoning_summary_text.delta", **common, "delta": d} for d in deltas
    ]
    events.append({"type": "response.output_item.done", "output_index": index, "item": done})
    return events


def function_call(
    call_id: str,
    name: str,
    arguments: dict[str, Any],
    *,
    namespace: str | None = None,
    index: int = 0,
) -> list[Event]:
    """A function tool call (``exec_command``, or an MCP tool with ``namespace``)."""
    item: Event = {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
    }
    if namespace is not None:
        item["namespace"] = namespace
    return [
        {"type": "response.output_item.added", "output_index": index, "item": item},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def custom_tool_call(call_id: str, name: str, tool_input: str, *, index: int = 0) -> list[Event]:
    """A freeform tool call (``apply_patch``)."""
    item_id = f"ctc_{call_id}"
    start = {
        "type": "custom_tool_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "input": "",
    }
    done = dict(start, input=tool_input)
    return [
        {"type": "response.output_item.added", "output_index": index, "item": start},
        {
            "type": "response.custom_tool_call_input.delta",
            "item_id": item_id,
            "output_index": index,
            "delta": tool_input,
        },
        {"type": "response.output_item.done", "output_index": index, "item": done},
    ]


def stream(p: Prompt, *items: list[Event]) -> Reply:
    """Wrap output items in response.created ... response.completed."""
    resp_id = f"resp_{p.seq}"
    events: list[Event | float] = [created(resp_id)]
    for item in items:
        events += item
    events.append(completed(resp_id))
    return Reply(events)


def _final(p: Prompt, text: str) -> Reply:
    return stream(p, message(f"msg_{p.seq}_final", word_deltas(text)))


def _tool_outcome(p: Prompt) -> Reply:
    """Final answer after a tool step; says whether the user rejected the call."""
    last = json.dumps(p.outputs[-1].get("output", "")) if p.outputs else ""
    rejected = "reject" in last.lower()
    return _final(p, TOOL_REJECTED_ANSWER if rejected else TOOL_DONE_ANSWER)


def hello(p: Prompt) -> Reply:
    return stream(
        p,
        message(f"msg_{p.seq}_c", word_deltas(HELLO_COMMENTARY), phase="commentary", index=0),
        message(f"msg_{p.seq}_f", word_deltas(HELLO_ANSWER), index=1),
    )


def reasoning_script(p: Prompt) -> Reply:
    return stream(
        p,
        reasoning(f"rs_{p.seq}", word_deltas(REASONING_SUMMARY), index=0),
        message(f"msg_{p.seq}_f", word_deltas(REASONING_ANSWER), index=1),
    )


def run_command(p: Prompt) -> Reply:
    if p.step > 0:
        return _tool_outcome(p)
    args = {
        "cmd": COMMAND,
        "yield_time_ms": 2000,
        "sandbox_permissions": "require_escalated",
        "justification": COMMAND_JUSTIFICATION,
    }
    return stream(p, function_call(f"call_{p.seq}", "exec_command", args))


def edit_file(p: Prompt) -> Reply:
    if p.step > 0:
        return _tool_outcome(p)
    return stream(p, custom_tool_call(f"call_{p.seq}", "apply_patch", PATCH_TEXT))


def mcp_tool(p: Prompt) -> Reply:
    if p.step > 0:
        return _tool_outcome(p)
    call = function_call(
        f"call_{p.seq}", MCP_TOOL, {"path": MCP_TOUCH_PATH}, namespace=f"mcp__{MCP_SERVER}"
    )
    return stream(p, call)


def mcp_ask(p: Prompt) -> Reply:
    if p.step > 0:
        return _tool_outcome(p)
    call = function_call(
        f"call_{p.seq}", "ask", {"question": MCP_ASK_QUESTION}, namespace=f"mcp__{MCP_SERVER}"
    )
    return stream(p, call)


def _number_after(marker: str, text: str, default: int) -> int:
    match = re.search(re.escape(marker) + r"\s+(\d+)", text.lower())
    return int(match.group(1)) if match else default


def long_answer(p: Prompt) -> Reply:
    n = min(_number_after("long-answer", p.text, LONG_DEFAULT_DELTAS), LONG_MAX_DELTAS)
    return _final(p, long_answer_text(max(n, 1)))


def slow_answer(p: Prompt) -> Reply:
    n = max(_number_after("slow-answer", p.text, SLOW_DEFAULT_DELTAS), 1)
    item_id = f"msg_{p.seq}_slow"
    events: list[Event | float] = []
    for event in message(item_id, word_deltas(slow_answer_text(n))):
        if event["type"] == "response.output_text.delta":
            events.append(SLOW_DELTA_INTERVAL_S)
        events.append(event)
    resp_id = f"resp_{p.seq}"
    return Reply([created(resp_id), *events, completed(resp_id)])


def hostile_answer(p: Prompt) -> Reply:
    return _final(p, HOSTILE_ANSWER)


def fail_model(p: Prompt) -> Reply:
    error = {"code": "server_error", "message": FAIL_MESSAGE}
    failed = {"type": "response.failed", "response": {"id": f"resp_{p.seq}", "error": error}}
    return Reply([created(f"resp_{p.seq}"), failed])


def http_500(p: Prompt) -> Reply:
    return Reply(status=500, error_message="fake internal server error")


DEFAULT_MARKER = "hello"

SCRIPTS: dict[str, Script] = {
    "hello": hello,
    "reasoning": reasoning_script,
    "run-command": run_command,
    "edit-file": edit_file,
    "mcp-tool": mcp_tool,
    "mcp-ask": mcp_ask,
    "long-answer": long_answer,
    "slow-answer": slow_answer,
    "hostile-answer": hostile_answer,
    "fail-model": fail_model,
    "http-500": http_500,
}


def pick_marker(prompt: str, markers: dict[str, Script]) -> str:
    """The first word of the prompt that names a script, else ``hello``."""
    for word in re.findall(r"[\w-]+", prompt.lower()):
        if isinstance(word, str) and word in markers:
            return word
    return DEFAULT_MARKER


def _text_of(item: dict[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))


def parse_prompt(body: dict[str, Any], seq: int) -> Prompt:
    """Find the prompt and the step of a Responses API request body."""
    items = [i for i in body.get("input", []) if isinstance(i, dict)]
    at, text = -1, ""
    for index, item in enumerate(items):
        if item.get("type", "message") != "message" or item.get("role") != "user":
            continue
        candidate = _text_of(item)
        if not candidate.lstrip().startswith("<"):
            at, text = index, candidate
    outputs = [i for i in items[at + 1 :] if str(i.get("type", "")).endswith("_call_output")]
    return Prompt(text=text, step=len(outputs), outputs=outputs, seq=seq, body=body)
