"""FailureLimiter: per-client and global sliding windows (SEC-07: failures are rate-limited)."""

from __future__ import annotations

import pytest

from codexremote.errors import TooManyRequests
from codexremote.pairing import rate_limit
from codexremote.pairing.rate_limit import FailureLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_engages_after_max_failures_and_slides() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(max_failures=3, global_max_failures=None, window_s=60, clock=clock)
    for _ in range(3):
        limiter.check("a")
        limiter.record_failure("a")
        clock.now += 10
    # Failures at t=0, 10, 20; now t=30: the oldest ages out at t=60.
    with pytest.raises(TooManyRequests) as caught:
        limiter.check("a")
    assert caught.value.retry_after == 30
    assert caught.value.status == 429
    assert caught.value.message == "Too many failed attempts; try again in 30 s"
    limiter.check("b")  # other clients are unaffected
    clock.now = 1000.0 + 60.0
    limiter.check("a")  # one slot free again
    limiter.record_failure("a")
    with pytest.raises(TooManyRequests) as caught:
        limiter.check("a")
    assert caught.value.retry_after == 10


def test_retry_after_is_rounded_up_to_whole_seconds() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(max_failures=1, global_max_failures=None, window_s=60, clock=clock)
    limiter.record_failure("a")
    clock.now += 59.9
    assert limiter.retry_after("a") == 1
    clock.now += 0.1
    assert limiter.retry_after("a") == 0


def test_global_window_catches_rotating_keys() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(max_failures=10, global_max_failures=5, clock=clock)
    for i in range(5):
        limiter.check(f"ip{i}")
        limiter.record_failure(f"ip{i}")
    with pytest.raises(TooManyRequests):
        limiter.check("fresh-ip")


def test_reset_forgets_a_client() -> None:
    limiter = FailureLimiter(max_failures=1, global_max_failures=None)
    limiter.record_failure("a")
    assert limiter.retry_after("a") > 0
    limiter.reset("a")
    limiter.check("a")


def test_tracked_keys_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rate_limit, "MAX_TRACKED_KEYS", 50)
    limiter = FailureLimiter(max_failures=1, global_max_failures=1000)
    for i in range(500):
        limiter.record_failure(f"ip{i}")
    assert len(limiter._failures) <= 50
    assert limiter.retry_after("ip499") > 0  # the newest are kept
    assert limiter.retry_after("ip0") == 0  # the oldest were forgotten
    assert limiter.retry_after("anyone") == 0  # global window (500 < 1000) kept too


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FailureLimiter(max_failures=0)
    with pytest.raises(ValueError):
        FailureLimiter(global_max_failures=0)
