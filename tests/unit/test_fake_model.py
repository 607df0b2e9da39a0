"""The fake model speaks the Responses SSE API and picks scripts as documented."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.harness import model_scripts as ms
from tests.harness.fake_model import FakeModel

CONTEXT = {
    "type": "message",
    "role": "user",
    "content": [{"type": "input_text", "text": "<environment_context>x</environment_context>"}],
}


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def body(*items: dict[str, Any]) -> dict[str, Any]:
    developer = {"type": "message", "role": "developer", "content": []}
    return {"model": "fake-model", "stream": True, "input": [developer, CONTEXT, *items]}


def output(call_id: str, kind: str = "function_call_output", text: str = "ok") -> dict[str, Any]:
    return {"type": kind, "call_id": call_id, "output": text}


async def post(model: FakeModel, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """POST /v1/responses and return the SSE events (checking event: matches data.type)."""
    async with (
        httpx.AsyncClient() as client,
        client.stream("POST", f"{model.url}/responses", json=payload) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        text = (await response.aread()).decode()
    events = []
    for block in text.strip().split("\n\n"):
        name_line, data_line = block.split("\n")
        event = json.loads(data_line.removeprefix("data: "))
        assert name_line == f"event: {event['type']}"
        events.append(event)
    return events


def texts_by_item(events: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in events:
        if e["type"] == "response.output_text.delta":
            out[e["item_id"]] = out.get(e["item_id"], "") + e["delta"]
    return out


def done_items(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e["type"] == "response.output_item.done"]


async def test_hello_streams_commentary_then_final_answer(fake_model: FakeModel) -> None:
    events = await post(fake_model, body(user("hello there")))
    assert events[0]["type"] == "response.created"
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["usage"]["total_tokens"] == 12
    items = done_items(events)
    assert [i["phase"] for i in items] == ["commentary", "final_answer"]
    assert [i["content"][0]["text"] for i in items] == [ms.HELLO_COMMENTARY, ms.HELLO_ANSWER]
    deltas = texts_by_item(events)
    assert all(len([e for e in events if e.get("item_id") == i["id"]]) > 3 for i in items)
    assert deltas == {i["id"]: i["content"][0]["text"] for i in items}


async def test_unknown_prompt_falls_back_to_hello(fake_model: FakeModel) -> None:
    events = await post(fake_model, body(user("what is this?")))
    assert done_items(events)[-1]["content"][0]["text"] == ms.HELLO_ANSWER


async def test_prompt_is_last_user_message_that_is_not_a_context_block() -> None:
    later_context = user("<turn_context>ignored</turn_context>")
    prompt = ms.parse_prompt(body(user("old"), user("run-command now"), later_context), seq=3)
    assert prompt.text == "run-command now"
    assert prompt.step == 0
    assert prompt.seq == 3


async def test_step_counts_outputs_after_the_prompt_only() -> None:
    earlier_turn = [user("edit-file"), output("c1", "custom_tool_call_output")]
    call = {"type": "function_call", "call_id": "c2", "name": "exec_command", "arguments": "{}"}
    prompt = ms.parse_prompt(body(*earlier_turn, user("run-command"), call, output("c2")), seq=0)
    assert (prompt.text, prompt.step) == ("run-command", 1)
    assert prompt.outputs[0]["call_id"] == "c2"


async def test_run_command_asks_for_escalation_then_answers(fake_model: FakeModel) -> None:
    first = done_items(await post(fake_model, body(user("please run-command"))))
    assert len(first) == 1
    call = first[0]
    assert (call["type"], call["name"]) == ("function_call", "exec_command")
    args = json.loads(call["arguments"])
    assert args["cmd"] == ms.COMMAND
    assert args["sandbox_permissions"] == "require_escalated"
    assert args["justification"] == ms.COMMAND_JUSTIFICATION

    second = done_items(
        await post(fake_model, body(user("please run-command"), call, output(call["call_id"])))
    )
    assert second[0]["content"][0]["text"] == ms.TOOL_DONE_ANSWER
    rejected = output(call["call_id"], text='exec_command failed: Rejected("rejected by user")')
    third = done_items(await post(fake_model, body(user("run-command"), call, rejected)))
    assert third[0]["content"][0]["text"] == ms.TOOL_REJECTED_ANSWER


async def test_edit_file_sends_an_apply_patch_custom_call(fake_model: FakeModel) -> None:
    (call,) = done_items(await post(fake_model, body(user("edit-file"))))
    assert (call["type"], call["name"]) == ("custom_tool_call", "apply_patch")
    assert f"*** Add File: {ms.PATCH_FILE}" in call["input"]
    after = body(user("edit-file"), call, output(call["call_id"], "custom_tool_call_output"))
    assert done_items(await post(fake_model, after))[0]["phase"] == "final_answer"


@pytest.mark.parametrize(("marker", "tool"), [("mcp-tool", "touch"), ("mcp-ask", "ask")])
async def test_mcp_scripts_call_a_namespaced_demo_tool(
    fake_model: FakeModel, marker: str, tool: str
) -> None:
    (call,) = done_items(await post(fake_model, body(user(marker))))
    assert (call["type"], call["namespace"], call["name"]) == ("function_call", "mcp__demo", tool)


async def test_reasoning_streams_a_summary(fake_model: FakeModel) -> None:
    events = await post(fake_model, body(user("reasoning")))
    summary = "".join(
        e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta"
    )
    assert summary == ms.REASONING_SUMMARY
    assert done_items(events)[0]["summary"][0]["text"] == ms.REASONING_SUMMARY


async def test_long_answer_streams_n_deltas_of_known_text(fake_model: FakeModel) -> None:
    events = await post(fake_model, body(user("long-answer 5000")))
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    assert len(deltas) == 5000
    assert "".join(d["delta"] for d in deltas) == ms.long_answer_text(5000)
    assert ms.long_answer_text(3) == "w0 w1 w2"


async def test_slow_answer_spaces_its_deltas(fake_model: FakeModel) -> None:
    started = time.monotonic()
    events = await post(fake_model, body(user("slow-answer 6")))
    elapsed = time.monotonic() - started
    assert texts_by_item(events) == {done_items(events)[0]["id"]: ms.slow_answer_text(6)}
    assert elapsed >= 5 * ms.SLOW_DELTA_INTERVAL_S
    assert ms.slow_answer_text().split()[-1] == f"s{ms.SLOW_DEFAULT_DELTAS - 1}"


async def test_fail_model_sends_response_failed(fake_model: FakeModel) -> None:
    events = await post(fake_model, body(user("fail-model")))
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["message"] == ms.FAIL_MESSAGE
    assert all(e["type"] != "response.completed" for e in events)


async def test_http_500_and_unknown_routes(fake_model: FakeModel) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake_model.url}/responses", json=body(user("http-500")))
        assert response.status_code == 500
        assert "error" in response.json()
        assert (await client.get(f"{fake_model.url}/models")).status_code == 404


async def test_records_every_request_body_and_headers(fake_model: FakeModel) -> None:
    assert fake_model.url.startswith("http://127.0.0.1:")
    assert fake_model.url.endswith("/v1")
    await post(fake_model, body(user("hello")))
    await post(fake_model, body(user("long-answer 2")))
    bodies = await fake_model.wait_for_requests(2)
    assert [ms.parse_prompt(b, 0).text for b in bodies] == ["hello", "long-answer 2"]
    assert fake_model.request_headers[0]["content-type"] == "application/json"


async def test_add_script_registers_a_custom_marker(fake_model: FakeModel) -> None:
    fake_model.add_script("custom-thing", lambda p: ms.stream(p, ms.message("m1", ["a", "b"])))
    events = await post(fake_model, body(user("do custom-thing")))
    assert texts_by_item(events) == {"m1": "ab"}


def test_sync_context_manager_starts_and_stops() -> None:
    with FakeModel() as model:
        response = httpx.post(f"{model.url}/responses", json=body(user("hello")))
        assert response.status_code == 200
        url = model.url
    model.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{url}/responses", json=body(user("hello")))
