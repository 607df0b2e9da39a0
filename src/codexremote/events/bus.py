"""Every stream event gets a monotonically increasing ``seq`` (REL-06).

The bus keeps the newest events, at most ``REPLAY_CAPACITY`` of them and at most
``REPLAY_MAX_BYTES`` of encoded text, so a client that reconnects with its last
seen ``seq`` gets exactly the events it missed. When the gap is older than the
buffer (or the seq is from an earlier companion run), replay answers
:data:`TOO_OLD` and the client must re-fetch state (``resync``).

Why a byte bound too: events are not of one size. A 1 MiB answer is buffered
twice (its deltas and the completed item), so a count bound alone let thirty
such turns grow the companion by 100 MB, held with no client connected, and
20,000 large events could reach gigabytes. Sizes are the Python size of each
frame's text (``sys.getsizeof``), i.e. what the buffer really holds.

Subscribers are plain callbacks run synchronously in ``publish``; they must not
block (stream clients put the event on their own bounded queue).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

log = logging.getLogger("codexremote.events")

REPLAY_CAPACITY = 20_000  # ~a long turn's worth of deltas; bounded memory
REPLAY_MAX_BYTES = 64 * 1024 * 1024  # and at most this much frame text (setting stream_replay_mib)


@dataclass(frozen=True)
class StreamEvent:
    """One frame, kept only as its JSON text: encoded once at publish, however many
    clients receive it, and about half the memory of keeping the payload objects."""

    seq: int
    event: str
    chat_id: str
    timestamp_ms: int
    encoded: str

    @classmethod
    def create(
        cls, seq: int, event: str, chat_id: str, payload: Any, timestamp_ms: int
    ) -> StreamEvent:
        envelope = {
            "event": event,
            "chatId": chat_id,
            "payload": payload,
            "timestamp": timestamp_ms,
            "seq": seq,
        }
        return cls(seq, event, chat_id, timestamp_ms, json.dumps(envelope, separators=(",", ":")))

    def envelope(self) -> dict[str, Any]:
        """The original app's envelope plus our additive ``seq``."""
        value: dict[str, Any] = json.loads(self.encoded)
        return value

    @property
    def payload(self) -> Any:
        return self.envelope()["payload"]

    def text(self) -> str:
        return self.encoded


class _TooOld:
    def __repr__(self) -> str:
        return "TOO_OLD"


TOO_OLD: Final = _TooOld()

Subscriber = Callable[[StreamEvent], None]


class EventBus:
    def __init__(
        self,
        capacity: int = REPLAY_CAPACITY,
        clock_ms: Callable[[], int] | None = None,
        *,
        max_bytes: int = REPLAY_MAX_BYTES,
    ) -> None:
        if capacity < 1 or max_bytes < 1:
            raise ValueError("the replay buffer needs room for something")
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._buffer: deque[StreamEvent] = deque()
        self._sizes: deque[int] = deque()  # sys.getsizeof of each buffered frame's text
        self._buffered_bytes = 0
        self._seq = 0
        self._subscribers: list[Subscriber] = []
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))

    @property
    def last_seq(self) -> int:
        return self._seq

    def publish(self, event: str, chat_id: str, payload: Any) -> StreamEvent:
        self._seq += 1
        item = StreamEvent.create(self._seq, event, chat_id, payload, self._clock_ms())
        self._remember(item)
        for subscriber in list(self._subscribers):
            try:
                subscriber(item)
            except Exception:
                log.exception("stream subscriber failed")
        return item

    def _remember(self, item: StreamEvent) -> None:
        """Append to the replay buffer, then drop the oldest frames until both bounds
        hold (a single frame above ``max_bytes`` is not kept at all: a resume from
        before it gets ``resync``, as for any dropped event)."""
        size = sys.getsizeof(item.encoded)
        self._buffer.append(item)
        self._sizes.append(size)
        self._buffered_bytes += size
        while self._buffer and (
            len(self._buffer) > self.capacity or self._buffered_bytes > self.max_bytes
        ):
            self._buffer.popleft()
            self._buffered_bytes -= self._sizes.popleft()

    @property
    def buffered_bytes(self) -> int:
        """Bytes of frame text the replay buffer holds now (at most ``max_bytes``)."""
        return self._buffered_bytes

    @property
    def buffered_events(self) -> int:
        return len(self._buffer)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def replay_since(self, seq: int) -> list[StreamEvent] | _TooOld:
        """Events with a seq greater than ``seq``, or TOO_OLD when some are gone."""
        if seq > self._seq or seq < 0:
            return TOO_OLD  # a seq from another companion run
        if seq == self._seq:
            return []
        oldest = self._buffer[0].seq if self._buffer else self._seq + 1
        if seq + 1 < oldest:
            return TOO_OLD
        skip = seq + 1 - oldest
        return [self._buffer[i] for i in range(skip, len(self._buffer))]
