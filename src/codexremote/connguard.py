"""Connection guard: who may hold a socket, and for how long it may stay silent (SEC-19).

uvicorn bounds the idle time *between* requests (``timeout_keep_alive``) but not the
time a client takes to send a request: a socket that connects and sends nothing,
or trickles its headers a byte at a time, is held forever. Enough of them exhaust
the open-file limit, and then asyncio's accept loop spins and logs without end.
``limit_concurrency`` does not help: it answers 503 to *everyone* once hostile
sockets fill it. So the guard, one level below HTTP, does three things:

* **Deadlines while the client has the floor.** From the connection's start (or the
  first byte of a kept-alive connection's next request) to the end of the request
  headers: ``HEADER_TIMEOUT_S``. A body must keep arriving (``BODY_IDLE_TIMEOUT_S``)
  and be complete within ``BODY_BASE_S`` plus its length at ``BODY_MIN_BYTES_PER_S``.
  Past a deadline the socket is closed. While the app works on a request, nothing
  is timed here.
* **Caps**, per client key and in total; the total stays below the descriptor limit
  (:func:`connection_cap`), so ``accept()`` never fails with EMFILE.
* **Eviction instead of refusal.** Over a cap, the oldest connections of that key
  (else of anyone) that have not sent a complete request header within
  ``GRACE_S`` of connecting are closed. A paired phone sends its request the
  moment it connects, so silent sockets can never keep it out; only when every
  slot is busy with real requests or open streams is a newcomer refused.

The client key is the socket's address, except behind ``tailscale serve``: every
proxied peer connects from loopback, so once a loopback connection's headers
carry ``X-Forwarded-For`` it is counted under the last (proxy-appended) address.
That is accounting only, never authentication (SEC-18): a forged header can at
most move a connection into another bucket of the same total cap.

WebSocket upgrades keep their slot (the stream has its own auth timeout and
pings, REL-07); the slot is released when the socket closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from codexremote.locality import classify

log = logging.getLogger("codexremote.connections")

HEADER_TIMEOUT_S = 5.0  # request line + headers; a phone on a slow link needs well under 1 s
BODY_IDLE_TIMEOUT_S = 10.0  # longest pause between two pieces of a request body
BODY_BASE_S = 10.0  # plus the length at the minimum rate below: 40 MiB dictation → ~650 s
BODY_MIN_BYTES_PER_S = 64 * 1024
UNKNOWN_BODY_BYTES = 40 * 1024 * 1024  # chunked: assume the largest body a route takes
GRACE_S = 0.5  # a new connection's time to send its request before caps may close it
MAX_CONNECTIONS = 1024  # total; a single-user companion needs a handful
MAX_CONNECTIONS_PER_CLIENT = 64
MIN_CONNECTIONS = 16  # below this the limit is too small to protect; serve anyway
ACCEPT_BACKLOG = 128  # listen() queue, and asyncio's accepts per loop tick
ACCEPT_OVERSHOOT = 4 * ACCEPT_BACKLOG  # accepted but not yet refused (see connection_cap)
FD_RESERVE_MIN = 64  # descriptors kept for the child's pipes, logs, git, history files


def connection_cap(open_file_limit: int, wanted: int = MAX_CONNECTIONS) -> int:
    """Total connections allowed with ``open_file_limit`` descriptors.

    asyncio accepts up to ``ACCEPT_BACKLOG`` sockets per loop tick before any
    protocol (and so the guard) sees them, and a refused socket's descriptor is
    freed a few ticks later: ``ACCEPT_OVERSHOOT`` descriptors beyond the cap can be
    in flight. A quarter of the limit (at least ``FD_RESERVE_MIN``) stays for
    everything else the companion opens."""
    reserve = max(FD_RESERVE_MIN, open_file_limit // 4)
    return max(MIN_CONNECTIONS, min(wanted, open_file_limit - reserve - ACCEPT_OVERSHOOT))


@dataclass(eq=False)
class Slot:
    """One admitted connection. ``fresh`` until its first request header is complete."""

    key: str
    close: Callable[[], None]
    admitted_at: float = field(default_factory=time.monotonic)
    fresh: bool = True


@dataclass
class GuardStats:
    admitted: int = 0
    refused: int = 0
    evicted: int = 0
    timed_out: int = 0


@dataclass
class ConnectionGuard:
    """Bookkeeping of live connections: admission, eviction, release.

    ``max_total`` is a hard ceiling (descriptors): past it the oldest silent
    connection gives way at once. ``max_per_client`` and ``soft_total`` (half the
    ceiling) are enforced ``GRACE_S`` later by a trim, so that a client that
    connected amid a burst of hostile sockets has had the time to send its request
    (and stopped being evictable) before anyone is chosen."""

    max_total: int = MAX_CONNECTIONS
    max_per_client: int = MAX_CONNECTIONS_PER_CLIENT
    header_timeout_s: float = HEADER_TIMEOUT_S
    body_idle_timeout_s: float = BODY_IDLE_TIMEOUT_S
    stats: GuardStats = field(default_factory=GuardStats)
    _by_key: dict[str, set[Slot]] = field(default_factory=dict)
    _fresh: OrderedDict[Slot, None] = field(default_factory=OrderedDict)  # oldest first
    _total: int = 0
    _handover: dict[Any, Slot] = field(default_factory=dict)  # transport → slot (upgrades)
    _trim: asyncio.TimerHandle | None = None

    @property
    def total(self) -> int:
        return self._total

    @property
    def soft_total(self) -> int:
        return max(1, self.max_total // 2)

    def count(self, key: str) -> int:
        return len(self._by_key.get(key, ()))

    def admit(self, key: str, close: Callable[[], None]) -> Slot | None:
        """A slot for a new connection of ``key``; None: refuse it (every slot busy)."""
        if self._total >= self.max_total and not self._evict(None, 0.0):
            self.stats.refused += 1
            log.warning("connection limit reached and every connection is busy; refusing one")
            return None
        slot = Slot(key, close)
        self._add(slot)
        self._fresh[slot] = None
        self.stats.admitted += 1
        if self.count(key) > self.max_per_client or self._total > self.soft_total:
            self._schedule_trim()
        return slot

    def identified(self, slot: Slot, key: str | None) -> None:
        """The first request header is complete: no longer evictable; counted under the
        forwarded address ``key`` from here on (if given)."""
        if slot.fresh:
            slot.fresh = False
            self._fresh.pop(slot, None)
        if key is None or key == slot.key:
            return
        self._remove(slot)
        slot.key = key
        self._add(slot)
        if self.count(key) > self.max_per_client:
            # A forwarded peer's connections all sent requests: nothing silent to drop.
            log.warning("connection limit of one client reached; closing its newest connection")
            slot.close()

    def release(self, slot: Slot) -> None:
        if self._remove(slot):
            self._fresh.pop(slot, None)

    def trim(self) -> None:
        """Close the oldest silent connections (past their grace) of every bucket over
        its cap; runs again while younger silent ones might still be over."""
        self._trim = None
        for key in [k for k, slots in self._by_key.items() if len(slots) > self.max_per_client]:
            while self.count(key) > self.max_per_client and self._evict(key, GRACE_S):
                pass
        while self._total > self.soft_total and self._evict(None, GRACE_S):
            pass
        over = self._total > self.soft_total or any(
            len(slots) > self.max_per_client for slots in self._by_key.values()
        )
        if over and self._fresh:
            self._schedule_trim()

    def _schedule_trim(self) -> None:
        if self._trim is None:
            self._trim = asyncio.get_running_loop().call_later(GRACE_S, self.trim)

    def hand_over(self, transport: Any, slot: Slot) -> None:
        """The HTTP protocol upgrades; the WebSocket protocol adopts the slot."""
        self._handover[transport] = slot

    def adopt(self, transport: Any) -> Slot | None:
        return self._handover.pop(transport, None)

    def _add(self, slot: Slot) -> None:
        self._by_key.setdefault(slot.key, set()).add(slot)
        self._total += 1

    def _remove(self, slot: Slot) -> bool:
        slots = self._by_key.get(slot.key)
        if slots is None or slot not in slots:
            return False  # released already (close() reports back through release)
        slots.discard(slot)
        if not slots:
            del self._by_key[slot.key]
        self._total -= 1
        return True

    def _evict(self, key: str | None, min_age_s: float) -> bool:
        """Close the oldest fresh connection (of ``key``) admitted ``min_age_s`` ago."""
        born_before = time.monotonic() - min_age_s
        victim = None
        for slot in self._fresh:
            if slot.admitted_at > born_before:
                break  # the rest are younger still
            if key is None or slot.key == key:
                victim = slot
                break
        if victim is None:
            return False
        self.release(victim)
        self.stats.evicted += 1
        log.warning("connection limit reached; closing the oldest connection still silent")
        victim.close()
        return True


def forwarded_for(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The address ``tailscale serve`` (Go's ReverseProxy) appended to X-Forwarded-For
    of a loopback connection (locality.classify decides, as everywhere else)."""
    return classify("127.0.0.1", headers).forwarded_for


_HEADERS, _BODY, _APP, _IDLE = "headers", "body", "app", "idle"


def guarded_protocols(guard: ConnectionGuard) -> tuple[type[H11Protocol], type[Any]]:
    """uvicorn's h11 and WebSocket protocol classes bound to ``guard`` (``http=``/``ws=``)."""

    class GuardedH11Protocol(H11Protocol):
        _slot: Slot | None = None
        _phase = _HEADERS
        _phase_started = 0.0
        _last_data = 0.0
        _body_length = 0
        _timer: asyncio.TimerHandle | None = None
        _cycle_seen: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            peer = transport.get_extra_info("peername")
            key = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
            self._slot = guard.admit(key, transport.close)
            if self._slot is None:
                transport.abort()
                return
            super().connection_made(transport)
            self._enter(_HEADERS)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._slot is None:
                return  # refused: uvicorn never saw this connection
            self._cancel_timer()
            guard.release(self._slot)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            now = time.monotonic()
            if self._phase == _IDLE:
                self._enter(_HEADERS)  # the next request's first byte starts its clock
            self._last_data = now
            super().data_received(data)
            self._observe()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.cycle is self._cycle_seen and not self.transport.is_closing():
                self._enter(_IDLE)  # uvicorn's keep-alive timeout takes over
            self._observe()

        def handle_websocket_upgrade(self, event: Any) -> None:
            self._cancel_timer()
            self._phase = _APP
            if self._slot is not None:
                self._identify()
                guard.hand_over(self.transport, self._slot)
            super().handle_websocket_upgrade(event)

        def _identify(self) -> None:
            assert self._slot is not None
            caller = classify(self._slot.key, self.headers or [])
            guard.identified(self._slot, caller.connection_key if caller.forwarded_for else None)

        def _observe(self) -> None:
            """Follow the request through h11's state after each event."""
            cycle = self.cycle
            if self._phase in (_IDLE, _APP) and (cycle is None or cycle.response_complete):
                return
            if cycle is None or cycle.response_complete or cycle is self._cycle_seen:
                if self._phase == _BODY and cycle is not None and not cycle.more_body:
                    self._enter(_APP)
                elif self._phase == _BODY:
                    self._arm()  # more body arrived: the idle clock restarts
                return
            self._cycle_seen = cycle  # a new request's headers are complete
            if self._slot is not None:
                self._identify()
            if cycle.more_body:
                length = dict(self.headers).get(b"content-length", b"")
                self._body_length = int(length) if length.isdigit() else UNKNOWN_BODY_BYTES
                self._enter(_BODY)
            else:
                self._enter(_APP)

        def _enter(self, phase: str) -> None:
            self._phase = phase
            self._phase_started = self._last_data = time.monotonic()
            self._arm()

        def _deadline(self) -> float | None:
            if self._phase == _HEADERS:
                return self._phase_started + guard.header_timeout_s
            if self._phase == _BODY:
                whole = BODY_BASE_S + self._body_length / BODY_MIN_BYTES_PER_S
                return min(self._phase_started + whole, self._last_data + guard.body_idle_timeout_s)
            return None

        def _arm(self) -> None:
            self._cancel_timer()
            deadline = self._deadline()
            if deadline is not None:
                delay = max(0.0, deadline - time.monotonic())
                self._timer = self.loop.call_later(delay, self._expire)

        def _cancel_timer(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expire(self) -> None:
            self._timer = None
            deadline = self._deadline()
            if deadline is None or self.transport.is_closing():
                return
            if self._phase == _BODY and self.flow.read_paused:
                self._last_data = time.monotonic()  # we paused reading, not the client
                self._arm()
                return
            if time.monotonic() < deadline:
                self._arm()
                return
            guard.stats.timed_out += 1
            log.info("closing a connection that did not send its request in time (%s)", self._phase)
            self.transport.close()

    class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
        _slot: Slot | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self._slot = guard.adopt(transport)
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._slot is not None:
                guard.release(self._slot)
            super().connection_lost(exc)

    return GuardedH11Protocol, GuardedWebSocketProtocol
