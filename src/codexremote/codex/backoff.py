"""When the supervisor tries the app-server child again (REL-01).

Two regimes: fast restarts with exponential backoff while a crash may be a
blip, then, after ``MAX_FAST_FAILURES`` in a row (``dead``), a slow retry that
never gives up, so the companion recovers by itself once the cause is fixed
(issue 9.10: "dead" used to need a restart of the companion at the computer),
yet spawns at most about once a minute.
"""

from __future__ import annotations

import random

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
BACKOFF_JITTER = 0.2  # ±20 %
STABLE_UPTIME_S = 10.0  # a child that lived this long resets the failure count
MAX_FAST_FAILURES = 5  # then: dead, retried only every DEAD_RETRY_* (or a manual restart)
DEAD_RETRY_INITIAL_S = 60.0  # first retry after dead; then doubling ...
DEAD_RETRY_MAX_S = 300.0  # ... up to every five minutes (≤ 1 spawn/min: no spinning)


def backoff_delay(
    failures: int, rng: random.Random | None = None, initial: float = BACKOFF_INITIAL_S
) -> float:
    base = min(BACKOFF_MAX_S, initial * float(2 ** max(0, failures - 1)))
    jitter: float = (rng or random).uniform(-BACKOFF_JITTER, BACKOFF_JITTER)
    return base * (1.0 + jitter)


def dead_retry_delay(
    dead_failures: int, rng: random.Random | None = None, initial: float = DEAD_RETRY_INITIAL_S
) -> float:
    """The wait before the next attempt once ``dead`` (``dead_failures`` = 0 for the
    first): ``initial`` doubling to ``DEAD_RETRY_MAX_S``, with the usual jitter."""
    base = min(max(DEAD_RETRY_MAX_S, initial), initial * float(2 ** max(0, dead_failures)))
    jitter: float = (rng or random).uniform(-BACKOFF_JITTER, BACKOFF_JITTER)
    return base * (1.0 + jitter)
