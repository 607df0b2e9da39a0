"""Every stream event gets a monotonically increasing ``seq`` (REL-06).

The bus keeps the newest ``REPLAY_CAPACITY`` events so a client that reconnects
with its last seen ``seq`` gets exactly the events it missed. When the gap is
older than the buffer (or the seq is from an earlier companion run), replay
answers :data:`TOO_OLD` and the client must re-fetch state (``resync``).

Subscribers are plain callbacks run synchronously in ``publish``; they must not
block (stream clients put the event on their own bounded queue).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

log = logging.getLogger("codexremote.events")

REPLAY_CAPACITY = 20_000  # ~a long turn's worth of deltas; bounded memory


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
    ) -> None:
        self.capacity = capacity
        self._buffer: deque[StreamEvent] = deque(maxlen=capacity)
        self._seq = 0
        self._subscribers: list[Subscriber] = []
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))

    @property
    def last_seq(self) -> int:
        return self._seq

    def publish(self, event: str, chat_id: str, payload: Any) -> StreamEvent:
        self._seq += 1
        item = StreamEvent.create(self._seq, event, chat_id, payload, self._clock_ms())
        self._buffer.append(item)
        for subscriber in list(self._subscribers):
            try:
                subscriber(item)
            except Exception:
                log.exception("stream subscriber failed")
        return item

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
