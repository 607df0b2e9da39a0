"""Dispatcher and framing over the in-memory transport (the child's side is a script)."""

import asyncio
import json
from typing import Any

import pytest

from codexremote.codex.dispatcher import Dispatcher, IncomingRequest
from codexremote.codex.errors import AppServerError, AppServerGone, RequestTimeout
from codexremote.codex.transport import LineFramer, MemoryTransport, memory_pair
from codexremote.errors import Gone


def make(
    ours: MemoryTransport,
) -> tuple[Dispatcher, list[tuple[str, dict[str, Any]]], list[IncomingRequest]]:
    notes: list[tuple[str, dict[str, Any]]] = []
    requests: list[IncomingRequest] = []

    async def on_request(req: IncomingRequest) -> None:
        requests.append(req)

    d = Dispatcher(
        ours,
        generation=1,
        on_notification=lambda m, p: notes.append((m, p)),
        on_server_request=on_request,
    )
    return d, notes, requests


async def read_json(peer: MemoryTransport) -> dict[str, Any]:
    line = await asyncio.wait_for(peer.receive(), 1)
    assert line is not None
    return json.loads(line)


async def test_request_response_correlation_out_of_order() -> None:
    ours, peer = memory_pair()
    d, _, _ = make(ours)
    reader = asyncio.create_task(d.run())
    first = asyncio.create_task(d.request("a/b", {"x": 1}))
    second = asyncio.create_task(d.request("c/d"))
    req1, req2 = await read_json(peer), await read_json(peer)
    assert "jsonrpc" not in req1
    await peer.send(json.dumps({"id": req2["id"], "result": {"two": True}}).encode())
    await peer.send(json.dumps({"id": req1["id"], "result": {"one": True}}).encode())
    assert await first == {"one": True}
    assert await second == {"two": True}
    await peer.close()
    await reader


async def test_error_response_is_typed() -> None:
    ours, peer = memory_pair()
    d, _, _ = make(ours)
    reader = asyncio.create_task(d.run())
    call = asyncio.create_task(d.request("thread/read", {"threadId": "x"}))
    req = await read_json(peer)
    await peer.send(
        json.dumps(
            {"id": req["id"], "error": {"code": -32600, "message": "thread not loaded: x"}}
        ).encode()
    )
    with pytest.raises(AppServerError) as info:
        await call
    assert info.value.rpc_code == -32600
    assert "thread not loaded" in info.value.message
    await peer.close()
    await reader


async def test_rel02_eof_fails_every_inflight_request_with_gone() -> None:
    ours, peer = memory_pair()
    d, _, _ = make(ours)
    reader = asyncio.create_task(d.run())
    calls = [asyncio.create_task(d.request("turn/start")) for _ in range(3)]
    for _ in calls:
        await read_json(peer)
    await peer.close()  # child gone
    await reader
    for call in calls:
        with pytest.raises(AppServerGone):
            await call
    with pytest.raises(AppServerGone):
        await d.request("after/close")


async def test_rel04_malformed_lines_are_counted_and_skipped() -> None:
    ours, peer = memory_pair()
    d, notes, _ = make(ours)
    reader = asyncio.create_task(d.run())
    for bad in (b"not json", b"[1,2]", b'{"id": [1]}', b"\xff\xfe"):
        await peer.send(bad)
    await peer.send(b'{"method":"turn/started","params":{"threadId":"T"}}')
    await peer.close()
    await reader
    assert d.stats.malformed_lines == 4
    assert notes == [("turn/started", {"threadId": "T"})]


async def test_request_timeout_is_typed() -> None:
    ours, peer = memory_pair()
    d, _, _ = make(ours)
    reader = asyncio.create_task(d.run())
    with pytest.raises(RequestTimeout):
        await d.request("hangs", timeout=0.05)
    await peer.close()
    await reader


async def test_server_request_answered_exactly_once() -> None:
    ours, peer = memory_pair()
    d, _, requests = make(ours)
    reader = asyncio.create_task(d.run())
    await peer.send(
        b'{"id":0,"method":"item/commandExecution/requestApproval","params":{"threadId":"T"}}'
    )
    for _ in range(50):
        if requests:
            break
        await asyncio.sleep(0.01)
    (req,) = requests
    await d.respond(req, {"decision": "accept"})
    assert await read_json(peer) == {"id": 0, "result": {"decision": "accept"}}
    with pytest.raises(Gone):
        await d.respond(req, {"decision": "decline"})
    stale = IncomingRequest(0, req.method, req.params, generation=0)
    with pytest.raises(Gone):
        await d.respond(stale, {"decision": "accept"})
    await peer.close()
    await reader


def test_rel04_framer_drops_oversize_line_and_recovers() -> None:
    framer = LineFramer(max_line=10)
    framer.feed(b'{"a":1}\n' + b"x" * 25)
    framer.feed(b"y" * 5 + b'\n{"b":2}\npartial')
    assert framer.pop() == b'{"a":1}'
    assert framer.pop() == b'{"b":2}'
    assert framer.pop() is None
    assert framer.oversize_lines == 1
    framer.feed(b"\n")
    assert framer.pop() == b"partial"


def test_framer_handles_lines_split_across_chunks() -> None:
    framer = LineFramer(max_line=1000)
    data = b"".join(json.dumps({"n": i}).encode() + b"\n" for i in range(100))
    for i in range(0, len(data), 7):
        framer.feed(data[i : i + 7])
    out = []
    while (line := framer.pop()) is not None:
        out.append(json.loads(line)["n"])
    assert out == list(range(100))
