"""REL-10/T2 soak (issue 14): a turn whose end is read before our own ``turn/start``
answer is resumed must not stay "running" for ever.

The soak found a ``hello`` turn whose run-state said ``isRunning: true`` for 60 s after it
had ended. The app-server's answer and the turn's notifications can come in one read of
its pipe: the dispatcher handles them all at once, and ``send`` resumed after them and
marked the ended turn running. Here the "app-server" is a script on the in-memory
transport that writes exactly that batch.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from codexremote.chats.directory import ChatDirectory
from codexremote.chats.service import ChatService
from codexremote.chats.turns import MAX_FINISHED_TURNS, TurnTracker
from codexremote.codex.dispatcher import Dispatcher, IncomingRequest
from codexremote.codex.transport import MemoryTransport, memory_pair
from codexremote.events.bus import EventBus
from codexremote.stream.relay import NotificationRelay

CHAT = "019c0001-0000-7000-8000-000000000001"
TURN = "019c0001-0000-7000-8000-0000000000aa"
THREAD = {
    "id": CHAT,
    "cwd": "/home/dev/project",
    "name": "Chat",
    "preview": "hello",
    "createdAt": 1_773_000_000,
    "updatedAt": 1_773_000_000,
    "status": {"type": "idle"},
}


def test_rel10_a_started_after_its_completion_is_ignored() -> None:
    turns = TurnTracker()
    turns.started(CHAT, TURN)  # turn/started
    turns.finished(CHAT, TURN)  # turn/completed
    turns.started(CHAT, TURN)  # our turn/start answer, resumed late
    assert turns.active_turn(CHAT) is None
    assert turns.chat_for_turn(TURN) == CHAT  # still resolvable for late notifications


def test_rel10_a_chat_gone_idle_ends_its_running_turn_for_good() -> None:
    turns = TurnTracker()
    turns.started(CHAT, TURN)
    turns.finished(CHAT)  # thread/status/changed → idle, no turn id
    turns.started(CHAT, TURN)
    assert turns.active_turn(CHAT) is None
    turns.started(CHAT, "next-turn")  # a new turn still runs
    assert turns.active_turn(CHAT) == "next-turn"


def test_rel10_ended_turns_are_remembered_within_a_bound() -> None:
    turns = TurnTracker()
    for i in range(MAX_FINISHED_TURNS + 10):
        turns.finished(CHAT, f"turn-{i}")
    turns.started(CHAT, "turn-0")  # forgotten long ago: taken as running again
    assert turns.active_turn(CHAT) == "turn-0"
    turns.started(CHAT, f"turn-{MAX_FINISHED_TURNS + 9}")
    assert turns.active_turn(CHAT) == "turn-0"  # the newest ended one is still known


async def scripted_app_server(peer: MemoryTransport) -> None:
    """Answers what ``send`` and ``run_state`` ask; ``turn/start``'s answer and the whole
    turn's notifications go out as one batch, before the companion can resume."""
    while (line := await peer.receive()) is not None:
        request = json.loads(line)
        method, msg_id = request["method"], request["id"]
        result: Any = {}
        if method == "thread/list":
            result = {"data": [THREAD], "nextCursor": None}
        elif method in ("thread/resume", "thread/read"):
            result = {"thread": THREAD}
        elif method == "turn/start":
            turn = {"id": TURN, "status": "inProgress", "items": []}
            done = {**turn, "status": "completed"}
            batch = [
                {"id": msg_id, "result": {"turn": turn}},
                {"method": "turn/started", "params": {"threadId": CHAT, "turn": turn}},
                {"method": "turn/completed", "params": {"threadId": CHAT, "turn": done}},
            ]
            for message in batch:
                await peer.send(json.dumps(message).encode())  # unbounded queue: no yield
            continue
        await peer.send(json.dumps({"id": msg_id, "result": result}).encode())


async def test_rel10_a_turn_that_ends_before_send_resumes_is_not_running() -> None:
    ours, peer = memory_pair()
    turns = TurnTracker()

    async def no_server_requests(_request: IncomingRequest) -> None:
        raise AssertionError("the script sends no server requests")

    relay_holder: list[NotificationRelay] = []
    dispatcher = Dispatcher(
        ours,
        generation=1,
        on_notification=lambda method, params: relay_holder[0].on_notification(method, params),
        on_server_request=no_server_requests,
    )
    directory = ChatDirectory(dispatcher.request)
    relay_holder.append(NotificationRelay(EventBus(), turns, directory))
    chats = ChatService(dispatcher.request, directory, turns)
    reader = asyncio.create_task(dispatcher.run())
    server = asyncio.create_task(scripted_app_server(peer))

    sent = await chats.send(CHAT, {"text": "hello"})
    state = await chats.run_state(CHAT)

    assert sent.turnId == TURN
    assert state.isRunning is False
    assert state.activeTurnId is None
    await ours.close()
    await peer.close()
    await asyncio.wait_for(asyncio.gather(reader, server, return_exceptions=True), 5)
