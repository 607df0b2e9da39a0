"""Idempotency keys (REL-14, docs/web-client.md): the first answer, never twice, bounded."""

from __future__ import annotations

import asyncio

import pytest

from codexremote.errors import BadGateway, BadRequest, Conflict, NotFound
from codexremote.idempotency import IdempotencyKeys, checked_key


class Action:
    """Counts how often it really ran; can be held open or made to fail."""

    def __init__(self, result: object = "first", error: Exception | None = None) -> None:
        self.calls = 0
        self.result = result
        self.error = error
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> object:
        self.calls += 1
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return f"{self.result}-{self.calls}"


@pytest.mark.parametrize("bad", ["", "a" * 129, "has space", "ü", "a/b", 7, ["k"], {"k": 1}])
def test_rel14_bad_keys_are_400(bad: object) -> None:
    with pytest.raises(BadRequest) as raised:
        checked_key(bad)
    assert raised.value.code == "bad_idempotency_key"


def test_rel14_good_keys() -> None:
    assert checked_key(None) is None
    assert checked_key("a" * 128) == "a" * 128
    assert checked_key("0199a1b2-3c4d_7E8f") == "0199a1b2-3c4d_7E8f"


async def test_rel14_repeat_gets_the_first_answer_and_runs_once() -> None:
    keys = IdempotencyKeys()
    action = Action()
    first = await keys.run("phone", "k1", "POST /x", action)
    again = await keys.run("phone", "k1", "POST /x", action)
    assert first == again == "first-1" and action.calls == 1
    assert (keys.runs, keys.replays) == (1, 1)


async def test_rel14_without_a_key_every_call_runs() -> None:
    keys = IdempotencyKeys()
    action = Action()
    await keys.run("phone", None, "POST /x", action)
    await keys.run("phone", None, "POST /x", action)
    assert action.calls == 2 and len(keys) == 0


async def test_rel14_keys_are_per_device() -> None:
    keys = IdempotencyKeys()
    action = Action()
    assert await keys.run("phone", "k", "POST /x", action) == "first-1"
    assert await keys.run("tablet", "k", "POST /x", action) == "first-2"


async def test_rel14_concurrent_repeat_waits_for_the_first() -> None:
    keys = IdempotencyKeys()
    action = Action()
    action.gate.clear()
    tasks = [asyncio.ensure_future(keys.run("phone", "k", "POST /x", action)) for _ in range(5)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert action.calls == 1 and not any(t.done() for t in tasks)
    action.gate.set()
    assert await asyncio.gather(*tasks) == ["first-1"] * 5
    assert action.calls == 1


async def test_rel14_a_4xx_answer_is_replayed_as_the_same_error() -> None:
    keys = IdempotencyKeys()
    action = Action(error=NotFound("Chat not found"))
    for _ in range(2):
        with pytest.raises(NotFound) as raised:
            await keys.run("phone", "k", "POST /x", action)
        assert raised.value.message == "Chat not found" and raised.value.status == 404
    assert action.calls == 1


async def test_rel14_a_5xx_or_crash_is_forgotten_and_the_repeat_runs_again() -> None:
    keys = IdempotencyKeys()
    failing = Action(error=BadGateway("app-server is restarting"))
    with pytest.raises(BadGateway):
        await keys.run("phone", "k", "POST /x", failing)
    ok = Action()
    assert await keys.run("phone", "k", "POST /x", ok) == "first-1"
    crash = Action(error=RuntimeError("bug"))
    with pytest.raises(RuntimeError):
        await keys.run("phone", "k2", "POST /x", crash)
    assert await keys.run("phone", "k2", "POST /x", ok) == "first-2"


async def test_rel14_waiters_of_a_failed_first_call_run_it_once_more() -> None:
    keys = IdempotencyKeys()
    action = Action(error=BadGateway("down"))
    action.gate.clear()
    first = asyncio.ensure_future(keys.run("phone", "k", "POST /x", action))
    await asyncio.sleep(0)
    action.error = None
    waiters = [asyncio.ensure_future(keys.run("phone", "k", "POST /x", action)) for _ in range(3)]
    await asyncio.sleep(0)
    action.error = BadGateway("down")
    action.gate.set()
    await asyncio.sleep(0)
    action.error = None
    with pytest.raises(BadGateway):
        await first
    results = await asyncio.gather(*waiters)
    assert action.calls == 2  # the first, then exactly one of the waiters
    assert results == ["first-2"] * 3


async def test_rel14_cancelled_first_call_is_forgotten() -> None:
    keys = IdempotencyKeys()
    action = Action()
    action.gate.clear()
    first = asyncio.ensure_future(keys.run("phone", "k", "POST /x", action))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    action.gate.set()
    assert await keys.run("phone", "k", "POST /x", action) == "first-2"


async def test_rel14_same_key_for_another_target_is_409() -> None:
    keys = IdempotencyKeys()
    await keys.run("phone", "k", "POST /v1/chats/a/messages", Action())
    with pytest.raises(Conflict) as raised:
        await keys.run("phone", "k", "POST /v1/chats/b/messages", Action())
    assert raised.value.code == "idempotency_key_reused"


async def test_rel14_bounded_in_time() -> None:
    now = [0.0]
    keys = IdempotencyKeys(ttl_s=60, clock=lambda: now[0])
    action = Action()
    await keys.run("phone", "k", "POST /x", action)
    now[0] = 59
    assert await keys.run("phone", "k", "POST /x", action) == "first-1"
    now[0] = 61
    assert await keys.run("phone", "k", "POST /x", action) == "first-2"


async def test_rel14_bounded_in_count_per_device_and_devices() -> None:
    keys = IdempotencyKeys(max_per_device=3, max_devices=2)
    action = Action()
    for i in range(10):
        await keys.run("phone", f"k{i}", "POST /x", action)
    assert len(keys) == 3
    assert await keys.run("phone", "k9", "POST /x", action) == "first-10"  # newest kept
    assert await keys.run("phone", "k0", "POST /x", action) == "first-11"  # oldest dropped
    for device in ("a", "b", "c"):
        await keys.run(device, "k", "POST /x", action)
    assert len(keys) == 2  # "phone" and "a" were the least recently used devices


async def test_rel14_revoked_device_keys_are_dropped() -> None:
    keys = IdempotencyKeys()
    await keys.run("phone", "k", "POST /x", Action())
    keys.forget_device("phone")
    assert len(keys) == 0
