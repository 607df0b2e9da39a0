"""Logging filters that keep the log safe and small (SEC-13, SEC-20).

* :class:`ScrubQueryStrings`: uvicorn's WebSocket protocol logs
  ``"WebSocket /v1/stream?token=..." [accepted]`` itself (path *and* query, on the
  ``uvicorn.error`` logger, even with the access log off). A query can carry a
  secret, so every path-like argument loses its query before it is formatted.
* :class:`ClientFaultsAreWarnings`: uvicorn logs a client's invalid UTF-8 text frame
  at ERROR with a traceback (issue 14 B2). The peer's fault is no server error: one
  WARNING line, no traceback (the socket is still closed 1007).
* :class:`RateLimitRepeats`: a flood of one line (a hostile client provoking the
  same warning, asyncio's "socket.accept() out of system resource" storm) must not
  fill the disk or burn the CPU. At most ``burst`` lines of the same message
  template per ``interval_s`` window; the rest are counted and reported by one
  ``suppressed N similar lines`` line once the window has passed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

REPEAT_BURST = 50  # lines of one template per window ...
REPEAT_INTERVAL_S = 10.0  # ... so a flood costs at most 5 lines/s per template
MAX_TRACKED_TEMPLATES = 512  # bound on remembered templates (oldest forgotten first)
_PATH_WITH_QUERY = re.compile(r"^(/[^?\s]*)\?.*$", re.DOTALL)


def scrub_query(value: object) -> object:
    """``/v1/stream?token=x`` → ``/v1/stream``; anything else unchanged."""
    if isinstance(value, str):
        return _PATH_WITH_QUERY.sub(r"\1", value)
    return value


class ScrubQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(scrub_query(arg) for arg in record.args)
        elif isinstance(record.msg, str) and "?" in record.msg and not record.args:
            record.msg = " ".join(str(scrub_query(word)) for word in record.msg.split(" "))
        return True


@dataclass
class _Window:
    started: float
    shown: int = 0
    suppressed: int = 0
    example: str = ""


# Messages uvicorn logs with a traceback for what a client sent (not our failure).
CLIENT_FAULTS = frozenset({"Invalid UTF-8 sequence received from client."})


class ClientFaultsAreWarnings(logging.Filter):
    """Logger filter: a :data:`CLIENT_FAULTS` record becomes a WARNING without traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in CLIENT_FAULTS and record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


class RateLimitRepeats(logging.Filter):
    """Handler filter; summaries are written through ``emit`` (the handler's own).
    Thread-safe (threads log too); summaries are emitted outside the lock."""

    def __init__(
        self,
        emit: Callable[[logging.LogRecord], object],
        *,
        burst: int = REPEAT_BURST,
        interval_s: float = REPEAT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._emit = emit
        self.burst = burst
        self.interval_s = interval_s
        self._clock = clock
        self._windows: OrderedDict[tuple[str, int, str], _Window] = OrderedDict()
        self._pending: dict[tuple[str, int, str], _Window] = {}  # windows with suppressions
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_summary", False):
            return True
        with self._lock:
            summaries = self._ended(self._clock())
            keep = self._count(record)
        for summary in summaries:
            self._emit(summary)
        return keep

    def _count(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        key = (record.name, record.levelno, str(record.msg)[:200])
        window = self._windows.get(key)
        if window is None or now - window.started >= self.interval_s:
            window = self._windows[key] = _Window(now)
            while len(self._windows) > MAX_TRACKED_TEMPLATES:
                self._windows.popitem(last=False)
        self._windows.move_to_end(key)
        if window.shown < self.burst:
            window.shown += 1
            return True
        window.suppressed += 1
        if window.suppressed == 1:
            window.example = str(record.msg)[:200]
            self._pending[key] = window
        return False

    def _ended(self, now: float) -> list[logging.LogRecord]:
        """Summaries of the windows that have ended with suppressed lines."""
        summaries = []
        for key, window in list(self._pending.items()):
            if now - window.started < self.interval_s:
                continue
            del self._pending[key]
            name, level, _ = key
            summary = logging.LogRecord(
                name,
                level,
                __file__,
                0,
                "suppressed %d similar lines in %.0f s: %s",
                (window.suppressed, self.interval_s, window.example),
                None,
            )
            summary.__dict__["_summary"] = True
            summaries.append(summary)
        return summaries


def install(handlers: list[logging.Handler]) -> None:
    """Scrub and rate-limit every given handler (idempotent)."""
    for handler in handlers:
        if not any(isinstance(f, ScrubQueryStrings) for f in handler.filters):
            handler.addFilter(ScrubQueryStrings())
        if not any(isinstance(f, RateLimitRepeats) for f in handler.filters):
            handler.addFilter(RateLimitRepeats(handler.handle))
