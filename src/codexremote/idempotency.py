"""Idempotency keys: a repeated action gets the first answer and is not done twice.

Why: the web client's outbox re-sends a message, steer, stop or approval decision
after a reconnect, also when the first attempt reached the companion and only its
answer was lost on the way back (the phone slept, the network switched). Without
a key that re-send starts a second turn; with one it gets the first answer.

Rules (docs/web-client.md "API additions"):

* Keys are scoped per device and per action target: ``(device, key)`` names one
  entry, and the entry remembers which action (``target``, e.g. ``POST
  /v1/chats/X/messages``) it was made for. The same key for another target is a
  client bug → :class:`Conflict` (409, ``idempotency_key_reused``).
* The first call runs the action. A repeat while it runs waits for it (it never
  runs the action a second time), then gets the same outcome.
* Outcomes that are answers are remembered: a value, or a domain error below 500
  (404 unknown chat, 409 already answered, …): those say what happened.
  A 5xx error, an unexpected exception or a cancelled first call is forgotten, so
  a later repeat runs the action again: the companion could not act (app-server
  down) or does not know what happened, and keeping a 502 for the entry's whole
  lifetime would strand the outbox.
* Bounded in time (``KEY_TTL_S``) and count (``MAX_KEYS_PER_DEVICE``, oldest
  dropped first); in memory only, so a companion restart forgets every key.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from codexremote.errors import BadRequest, CodexRemoteError, Conflict

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
KEY_TTL_S = 24 * 3600.0  # an outbox entry may wait out a night offline before its re-send
MAX_KEYS_PER_DEVICE = 512  # a phone's outbox holds a handful; this bounds a misbehaving one
MAX_DEVICES = 256  # devices with keys kept (least recently used dropped)
BAD_KEY = "Expected idempotencyKey to be 1-128 characters of A-Z, a-z, 0-9, _ or -"
KEY_REUSED = "idempotencyKey was already used for another action"

T = TypeVar("T")


def checked_key(value: Any) -> str | None:
    """The body's ``idempotencyKey``: None when absent, else a valid key or BadRequest."""
    if value is None:
        return None
    if not isinstance(value, str) or not KEY_PATTERN.match(value):
        raise BadRequest(BAD_KEY, code="bad_idempotency_key")
    return value


@dataclass(slots=True)
class _Entry:
    target: str
    created: float
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class _Retry(Exception):
    """The first call ended without an answer worth keeping: run again."""


class IdempotencyKeys:
    def __init__(
        self,
        *,
        ttl_s: float = KEY_TTL_S,
        max_per_device: int = MAX_KEYS_PER_DEVICE,
        max_devices: int = MAX_DEVICES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_per_device = max_per_device
        self._max_devices = max_devices
        self._clock = clock
        self._devices: OrderedDict[str, OrderedDict[str, _Entry]] = OrderedDict()
        self.runs = 0  # actions actually run (figures and tests)
        self.replays = 0  # repeats answered from an entry

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._devices.values())

    async def run(
        self, device: str, key: str | None, target: str, action: Callable[[], Awaitable[T]]
    ) -> T:
        """Run ``action`` once per ``(device, key)``; without a key, just run it."""
        if key is None:
            self.runs += 1
            return await action()
        while True:
            entry = self._lookup(device, key)
            if entry is None:
                return await self._first(device, key, target, action)
            if entry.target != target:
                raise Conflict(KEY_REUSED, code="idempotency_key_reused")
            try:
                outcome = await asyncio.shield(entry.done)
            except _Retry:
                continue  # the first call left no answer; this repeat becomes the first
            self.replays += 1
            if isinstance(outcome, _Failure):
                raise copy.copy(outcome.error)
            replayed: T = outcome  # the entry holds what this target's action returned
            return replayed

    async def _first(
        self, device: str, key: str, target: str, action: Callable[[], Awaitable[T]]
    ) -> T:
        entry = _Entry(target, self._clock())
        self._store(device, key, entry)
        self.runs += 1
        try:
            value = await action()
        except CodexRemoteError as exc:
            if exc.status >= 500:
                self._forget(device, key, entry)
            else:
                entry.done.set_result(_Failure(exc))
            raise
        except BaseException:
            self._forget(device, key, entry)
            raise
        entry.done.set_result(value)
        return value

    def _lookup(self, device: str, key: str) -> _Entry | None:
        keys = self._devices.get(device)
        if keys is None:
            return None
        entry = keys.get(key)
        if entry is not None and self._clock() - entry.created > self._ttl_s and entry.done.done():
            del keys[key]
            return None
        return entry

    def _store(self, device: str, key: str, entry: _Entry) -> None:
        keys = self._devices.get(device)
        if keys is None:
            keys = self._devices[device] = OrderedDict()
        self._devices.move_to_end(device)
        keys[key] = entry
        now = self._clock()
        while keys:  # expired ones first, then the oldest beyond the count bound
            oldest_key, oldest = next(iter(keys.items()))
            expired = now - oldest.created > self._ttl_s
            if not (expired or len(keys) > self._max_per_device) or not oldest.done.done():
                break
            del keys[oldest_key]
        while len(self._devices) > self._max_devices:
            self._devices.popitem(last=False)

    def _forget(self, device: str, key: str, entry: _Entry) -> None:
        keys = self._devices.get(device)
        if keys is not None and keys.get(key) is entry:
            del keys[key]
        entry.done.set_exception(_Retry())
        entry.done.exception()  # retrieved: no "exception never retrieved" warning

    def forget_device(self, device: str) -> None:
        """A revoked device's keys are of no use any more."""
        self._devices.pop(device, None)


@dataclass(frozen=True, slots=True)
class _Failure:
    error: CodexRemoteError
