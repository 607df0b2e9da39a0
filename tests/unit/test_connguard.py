"""SEC-19 bookkeeping of the connection guard (no sockets: closing is a callback)."""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys

import pytest

from codexremote.connguard import (
    ACCEPT_OVERSHOOT,
    GRACE_S,
    MAX_CONNECTIONS,
    MIN_CONNECTIONS,
    ConnectionGuard,
    Slot,
    connection_cap,
    forwarded_for,
)


class Closer:
    def __init__(self) -> None:
        self.closed: list[str] = []

    def __call__(self, name: str) -> object:
        return lambda: self.closed.append(name)


@pytest.mark.parametrize("limit", [256, 1024, 4096, 20_000, 1 << 20])
def test_sec19_the_connection_cap_stays_below_the_descriptor_limit(limit: int) -> None:
    cap = connection_cap(limit)
    assert MIN_CONNECTIONS <= cap <= MAX_CONNECTIONS
    if limit >= 1024:
        # cap + what asyncio may accept before the guard sees it + a quarter for the rest
        assert cap + ACCEPT_OVERSHOOT + limit // 4 <= limit


async def test_sec19_silent_connections_over_a_cap_give_way_after_the_grace() -> None:
    closer = Closer()
    guard = ConnectionGuard(max_total=100, max_per_client=3)
    slots = [guard.admit("10.0.0.1", closer(f"s{i}")) for i in range(5)]
    assert all(isinstance(s, Slot) for s in slots)
    assert closer.closed == []  # nobody is chosen before the grace period
    phone = guard.admit("10.0.0.1", closer("phone"))
    assert phone is not None
    guard.identified(phone, None)  # the phone sent its request at once
    await asyncio.sleep(GRACE_S * 2.5)
    assert closer.closed == ["s0", "s1", "s2"]  # oldest silent first, never the phone
    assert guard.count("10.0.0.1") == 3
    other = guard.admit("10.0.0.2", closer("other"))
    assert other is not None and guard.count("10.0.0.2") == 1
    assert guard.stats.evicted == 3


async def test_sec19_at_the_ceiling_the_oldest_silent_one_gives_way_at_once() -> None:
    closer = Closer()
    guard = ConnectionGuard(max_total=4, max_per_client=100)
    busy = [guard.admit(f"10.0.0.{i}", closer(f"b{i}")) for i in range(3)]
    for slot in busy:
        assert slot is not None
        guard.identified(slot, None)
    assert guard.admit("10.0.0.9", closer("silent")) is not None
    new = guard.admit("10.0.0.8", closer("new"))
    assert new is not None
    assert closer.closed == ["silent"]
    assert guard.total == 4
    # Every slot busy with requests: the newcomer is refused, nobody is closed.
    guard.identified(new, None)
    assert guard.admit("10.0.0.8", closer("refused")) is None
    assert closer.closed == ["silent"]
    assert guard.stats.refused == 1 and guard.stats.evicted == 1


def test_sec19_released_slots_free_their_place_once() -> None:
    closer = Closer()
    guard = ConnectionGuard(max_total=2, max_per_client=2)
    slot = guard.admit("a", closer("a"))
    assert slot is not None
    guard.release(slot)
    guard.release(slot)  # connection_lost after an eviction: no double count
    assert guard.total == 0 and guard.count("a") == 0


async def test_sec19_a_forwarded_peer_is_counted_under_its_own_address() -> None:
    closer = Closer()
    guard = ConnectionGuard(max_total=100, max_per_client=2)
    proxied = [guard.admit("127.0.0.1", closer(f"p{i}")) for i in range(3)]
    for slot in proxied[:2]:
        assert slot is not None
        guard.identified(slot, "fwd:100.64.0.7")
    assert guard.count("fwd:100.64.0.7") == 2 and guard.count("127.0.0.1") == 1
    assert proxied[2] is not None
    guard.identified(proxied[2], "fwd:100.64.0.7")  # third of that peer: over its cap
    assert closer.closed == ["p2"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"100.64.0.7", "100.64.0.7"),
        (b"203.0.113.9, 100.64.0.8", "100.64.0.8"),  # the proxy appends the peer last
        (b" ", None),
        (b"x" * 500, "x" * 64),  # bounded key
    ],
)
def test_sec19_forwarded_for_takes_the_proxy_appended_address(
    header: bytes, expected: str | None
) -> None:
    assert forwarded_for([(b"host", b"h"), (b"x-forwarded-for", header)]) == expected
    assert forwarded_for([(b"host", b"h")]) is None


def test_sec19_serve_raises_the_soft_open_file_limit_to_the_hard_one() -> None:
    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 2048))

    code = (
        "import resource; from codexremote.fdlimit import raise_open_file_limit as r; "
        "print(r(), resource.getrlimit(resource.RLIMIT_NOFILE))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limited, timeout=30
    )
    assert result.stdout.strip() == "(256, 2048) (2048, 2048)", result.stderr
