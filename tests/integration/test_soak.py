"""Soak (issue 14 B5): a compressed hour of turns, approvals and reconnects.

The real companion (serve's uvicorn config) drives the real app-server. Three
chats run turns at the same time, round after round, cycling through the fake
model's scripts (commentary + answer, a command that needs approval, a slow
answer, a long answer). Four clients watch: two original-app style (bearer
header, one ``chatId`` each), two web style (first-message auth, every chat).
Each client drops its socket at derandomized moments and resumes with
``lastSeq``. The driver plays the original app: it polls run-state and
pending-approval and approves over REST.

Checked: every turn's final answer is in the rollout (timeline) and in what each
client that watches that chat saw; no client saw an event twice (re-sent open
approvals aside, which keep their seq by design); the web clients' seqs are
contiguous across their reconnects; the companion's RSS stays flat (printed per
round).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.harness.fake_model import FakeModel
from tests.harness.model_scripts import (
    HELLO_ANSWER,
    TOOL_DONE_ANSWER,
    long_answer_text,
    slow_answer_text,
)
from tests.harness.processes import rss_mb
from tests.integration.conftest import Companion
from tests.integration.test_network_drop import served  # noqa: F401

pytestmark = pytest.mark.integration

SCRIPTS = [
    ("hello", HELLO_ANSWER),
    ("run-command please", TOOL_DONE_ANSWER),
    ("slow-answer 20", slow_answer_text(20)),
    ("long-answer 400", long_answer_text(400)),
]
CHATS = 3
POLL_S = 0.1  # the driver's run-state / pending-approval polling (the app polls too)
TURN_TIMEOUT_S = 60.0
RECONNECT_CHANCE = 0.05  # per received frame: the socket is dropped, then resumed
SEED = 14
LONG_ROUNDS = 100  # 300 turns: the replay buffer (20,000 events) is full by round ~55
TAIL_GROWTH_LIMIT_MB = 50.0


@dataclass
class Client:
    """One phone or browser: its frames across every reconnect."""

    companion: Companion
    name: str
    chat_id: str | None  # None: web style, every chat
    rng: random.Random
    # Only what the checks need (whole frames would make the test's own memory grow).
    texts: dict[tuple[str, str], str] = field(default_factory=lambda: defaultdict(str))
    done: set[str] = field(default_factory=set)
    frame_count: int = 0
    seen: set[int] = field(default_factory=set)
    duplicates: int = 0
    reconnects: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    ws: ClientConnection | None = None

    async def finish(self) -> None:
        self.stop.set()
        if self.ws is not None:
            await self.ws.close()

    async def connect(self) -> ClientConnection:
        last = max(self.seen) if self.seen else None
        base = self.companion.ws_url
        if self.chat_id is not None:  # original app: header, chatId, lastSeq in the query
            url = f"{base}?chatId={self.chat_id}" + (f"&lastSeq={last}" if last else "")
            return await connect(url, additional_headers=self.companion.auth(), max_size=None)
        ws = await connect(base, max_size=None)  # web: auth is the first message
        auth: dict[str, Any] = {"type": "auth", "token": self.companion.token}
        if last is not None:
            auth["lastSeq"] = last
        await ws.send(json.dumps(auth))
        return ws

    async def run(self) -> None:
        while not self.stop.is_set():
            ws = self.ws = await self.connect()
            try:
                while not self.stop.is_set():
                    self.take(json.loads(await ws.recv()))
                    if self.rng.random() < RECONNECT_CHANCE:
                        # The socket dies under the phone (no close handshake: a polite
                        # close mid-stream would wait for a close frame queued behind
                        # the frames this client no longer reads).
                        self.reconnects += 1
                        ws.transport.abort()
                        break
            except ConnectionClosed:
                if not self.stop.is_set():
                    self.reconnects += 1

    def take(self, frame: dict[str, Any]) -> None:
        seq = frame["seq"]
        if seq in self.seen:
            if frame["event"] != "approval_required":  # re-sent open approvals keep their seq
                self.duplicates += 1
            return
        self.seen.add(seq)
        self.frame_count += 1
        payload = frame["payload"]
        if frame["event"] == "message_delta":
            self.texts[(payload["turnId"], payload["itemId"])] += payload["delta"]
        elif frame["event"] == "turn_completed":
            self.done.add(payload["turn"]["id"])

    def answers(self) -> dict[str, list[str]]:
        """turnId -> the texts of its items, from the deltas this client saw."""
        by_turn: dict[str, list[str]] = defaultdict(list)
        for (turn_id, _item), text in self.texts.items():
            by_turn[turn_id].append(text)
        return by_turn

    def completed(self) -> set[str]:
        return self.done


async def run_turn(companion: Companion, chat_id: str, prompt: str) -> tuple[str, int]:
    """Send like the app, then poll run-state and approve what asks; (turnId, approvals)."""
    sent = await companion.post(f"/v1/chats/{chat_id}/messages", {"text": prompt})
    assert sent.status_code == 202, sent.text
    turn_id = str(sent.json()["data"]["turnId"])
    approvals = 0
    deadline = time.monotonic() + TURN_TIMEOUT_S
    pending: Any = None
    state: Any = None
    while time.monotonic() < deadline:
        pending = (await companion.get(f"/v1/chats/{chat_id}/pending-approval")).json()["data"]
        if pending is not None:
            decided = await companion.post(
                f"/v1/approvals/{pending['id']}", {"decision": "approve"}
            )
            assert decided.status_code in (200, 410), decided.text
            approvals += decided.status_code == 200
        state = (await companion.get(f"/v1/chats/{chat_id}/run-state")).json()["data"]
        if not state["isRunning"]:
            return turn_id, approvals
        await asyncio.sleep(POLL_S)
    health = (await companion.client.get("/health")).json()
    replay = companion.services.bus.replay_since(max(0, companion.services.bus.last_seq - 2000))
    seen = [e.event for e in (replay if isinstance(replay, list) else []) if turn_id in e.text()]
    raise AssertionError(
        f"bus events of that turn: {seen[-6:]} ({len(seen)}); "
        f"turn {turn_id} ({prompt!r}) did not end: run-state {state}, pending {pending}, "
        f"{approvals} approved, health {health}"
    )


async def soak(
    companion: Companion, git_repo: Path, rounds: int, forget: Callable[[], None]
) -> None:
    """``forget`` drops what the fake model recorded, so only the companion's memory counts."""
    chats = []
    for _ in range(CHATS):
        created = await companion.post("/v1/chats", {"cwd": str(git_repo)})
        chats.append(created.json()["data"]["id"])
    rng = random.Random(SEED)
    clients = [
        Client(companion, "app-1", chats[0], random.Random(rng.random())),
        Client(companion, "app-2", chats[1], random.Random(rng.random())),
        Client(companion, "web-1", None, random.Random(rng.random())),
        Client(companion, "web-2", None, random.Random(rng.random())),
    ]
    readers = [asyncio.create_task(c.run()) for c in clients]
    await asyncio.sleep(0.5)
    expected: dict[str, tuple[str, str]] = {}  # turnId -> (chatId, final answer)
    rss = [rss_mb()]
    approvals = 0
    started = time.monotonic()
    for round_number in range(rounds):
        picks = [SCRIPTS[(round_number + i) % len(SCRIPTS)] for i in range(CHATS)]
        results = await asyncio.gather(
            *(
                run_turn(companion, chat, prompt)
                for chat, (prompt, _) in zip(chats, picks, strict=True)
            )
        )
        for chat, (_, answer), (turn_id, asked) in zip(chats, picks, results, strict=True):
            expected[turn_id] = (chat, answer)
            approvals += asked
        forget()
        rss.append(rss_mb())
    elapsed = time.monotonic() - started

    def scope(client: Client) -> set[str]:
        return {t for t, (chat, _) in expected.items() if client.chat_id in (None, chat)}

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(scope(c) - c.completed() for c in clients):
        await asyncio.sleep(0.2)
    for client in clients:
        await client.finish()
    for reader in readers:
        with contextlib.suppress(ConnectionClosed):
            await asyncio.wait_for(reader, 10)

    # Every final answer is in the rollout, the last message of its turn's chat...
    for chat in chats:
        timeline = (await companion.get(f"/v1/chats/{chat}/timeline")).json()["data"]
        finals = [m["text"] for m in timeline["messages"] if m.get("phase") == "final_answer"]
        mine = [answer for _turn, (c, answer) in expected.items() if c == chat]
        assert finals == mine, chat
    # ... and in what every client watching that chat saw, exactly once.
    for client in clients:
        answers = client.answers()
        for turn_id in scope(client):
            assert expected[turn_id][1] in answers[turn_id], (client.name, turn_id)
        assert client.completed() >= scope(client), client.name
        assert client.duplicates == 0, client.name
        if client.chat_id is None:  # every chat: the seqs must have no hole
            seqs = sorted(client.seen)
            assert seqs == list(range(seqs[0], seqs[-1] + 1)), client.name
    # The replay buffer fills up to its 20,000 events first (by design); after that the
    # memory must stay flat: the growth over the last 40 % of the rounds.
    tail_from = int(len(rss) * 0.6)
    tail = rss[-1] - rss[tail_from]
    quarters = [f"{rss[int(i * (len(rss) - 1) / 4)]:.0f}" for i in range(5)]
    print(
        f"\nSoak: {rounds} rounds x {CHATS} chats = {len(expected)} turns ({approvals} "
        f"approvals) in {elapsed:.0f} s; reconnects "
        f"{ {c.name: c.reconnects for c in clients} }; frames seen "
        f"{ {c.name: c.frame_count for c in clients} }; 0 lost, 0 duplicated; replay buffer "
        f"{companion.services.bus.buffered_events} events; process RSS by quarter "
        f"{' -> '.join(quarters)} MB, growth over the last 40 % of rounds {tail:.1f} MB"
    )
    if rounds >= LONG_ROUNDS:
        assert tail < TAIL_GROWTH_LIMIT_MB, f"RSS grew {tail:.1f} MB once the buffer was full"


@pytest.mark.timeout(300)
async def test_soak_short_turns_approvals_reconnects_from_four_clients(
    served: Companion,  # noqa: F811
    git_repo: Path,
    fake_model: FakeModel,
) -> None:
    await soak(served, git_repo, 4, fake_model.forget_requests)


@pytest.mark.soak  # scripts/test (CI) runs it; `-m soak` alone
@pytest.mark.timeout(1200)
async def test_soak_compressed_hour(
    served: Companion,  # noqa: F811
    git_repo: Path,
    fake_model: FakeModel,
) -> None:
    await soak(served, git_repo, LONG_ROUNDS, fake_model.forget_requests)
