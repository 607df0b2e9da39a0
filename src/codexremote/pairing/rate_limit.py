"""Sliding-window limiter for failed attempts (pairing nonces, bearer tokens).

Only *failures* are counted and only failures are refused: callers try the
attempt first and, when it failed, call :meth:`FailureLimiter.check` (raises
``TooManyRequests`` while the client, or everyone together, is over the
limit) and then :meth:`FailureLimiter.record_failure`. An attempt that
succeeds (a valid token, the right pairing nonce) is never refused, so a
legitimate client is slowed down neither by its own traffic nor by other
clients' failures (SEC-07; behind ``tailscale serve`` every client shares the
key 127.0.0.1). The global window catches an
attacker who rotates client keys (addresses); set it to ``None`` where a
global lock-out would hurt more than it helps (e.g. bearer-token checks of
already-paired devices).

Memory is bounded: at most :data:`MAX_TRACKED_KEYS` client keys are tracked
(the least recently failing ones are forgotten first), and each key keeps at
most ``max_failures`` timestamps.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from codexremote.errors import TooManyRequests

FAILURE_WINDOW_S = 60.0  # failures older than this no longer count
MAX_FAILURES_PER_KEY = 10  # per client key (e.g. IP) within the window
MAX_FAILURES_GLOBAL = 30  # all clients together within the window
MAX_TRACKED_KEYS = 10_000  # bound on remembered client keys
GLOBAL_KEY = "\x00global"  # internal key of the global window (never a real client key)


class FailureLimiter:
    """Per-key and global sliding windows of failure timestamps. Thread-safe."""

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES_PER_KEY,
        global_max_failures: int | None = MAX_FAILURES_GLOBAL,
        window_s: float = FAILURE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1 or (global_max_failures is not None and global_max_failures < 1):
            raise ValueError("limits must be at least 1")
        self.max_failures = max_failures
        self.global_max_failures = global_max_failures
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def check(self, key: str) -> None:
        """Raise TooManyRequests(retry_after=s) if ``key`` or everyone is over the limit."""
        retry_after = self.retry_after(key)
        if retry_after > 0:
            raise TooManyRequests(
                f"Too many failed attempts; try again in {retry_after} s",
                retry_after=retry_after,
            )

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may try again; 0 if it may try now."""
        now = self._clock()
        with self._lock:
            waits = [self._wait_locked(key, self.max_failures, now)]
            if self.global_max_failures is not None:
                waits.append(self._wait_locked(GLOBAL_KEY, self.global_max_failures, now))
        wait = max(waits)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def record_failure(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            self._append_locked(key, self.max_failures, now)
            if self.global_max_failures is not None:
                self._append_locked(GLOBAL_KEY, self.global_max_failures, now)

    def reset(self, key: str) -> None:
        """Forget ``key``'s failures (e.g. after it proved itself)."""
        with self._lock:
            self._failures.pop(key, None)

    def _wait_locked(self, key: str, limit: int, now: float) -> float:
        stamps = self._failures.get(key)
        if stamps is None:
            return 0.0
        while stamps and stamps[0] <= now - self.window_s:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
            return 0.0
        if len(stamps) < limit:
            return 0.0
        # The window frees a slot when the oldest counted failure ages out.
        return stamps[0] + self.window_s - now

    def _append_locked(self, key: str, limit: int, now: float) -> None:
        stamps = self._failures.get(key)
        if stamps is None:
            stamps = self._failures[key] = deque(maxlen=limit)
            while len(self._failures) > MAX_TRACKED_KEYS:
                oldest = next(iter(self._failures))
                if oldest == GLOBAL_KEY:
                    self._failures.move_to_end(GLOBAL_KEY)
                    continue
                del self._failures[oldest]
        else:
            self._failures.move_to_end(key)
        stamps.append(now)
