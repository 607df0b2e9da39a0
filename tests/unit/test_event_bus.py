import json

from codexremote.events.bus import TOO_OLD, EventBus


def test_rel06_seq_is_monotonic_and_in_envelope() -> None:
    bus = EventBus(capacity=10, clock_ms=lambda: 1_775_000_000_123)
    seen = []
    bus.subscribe(seen.append)
    first = bus.publish("turn_started", "T", {"turnId": "U"})
    second = bus.publish("message_delta", "T", {"delta": "hi", "itemId": "I"})
    assert [e.seq for e in seen] == [1, 2]
    assert json.loads(second.text()) == {
        "event": "message_delta",
        "chatId": "T",
        "payload": {"delta": "hi", "itemId": "I"},
        "timestamp": 1_775_000_000_123,
        "seq": 2,
    }
    assert first.seq < second.seq


def test_rel06_replay_returns_exactly_the_missed_events() -> None:
    bus = EventBus(capacity=100)
    for i in range(10):
        bus.publish("message_delta", "T", {"delta": str(i)})
    replay = bus.replay_since(6)
    assert not isinstance(replay, type(TOO_OLD))
    assert [e.seq for e in replay] == [7, 8, 9, 10]
    assert bus.replay_since(10) == []


def test_rel06_buffer_is_bounded_and_old_gap_is_too_old() -> None:
    bus = EventBus(capacity=5)
    for i in range(12):
        bus.publish("message_delta", "T", {"delta": str(i)})
    assert bus.replay_since(6) is TOO_OLD  # 7 was evicted (buffer holds 8..12)
    replay = bus.replay_since(7)
    assert not isinstance(replay, type(TOO_OLD))
    assert [e.seq for e in replay] == [8, 9, 10, 11, 12]


def test_rel06_seq_from_another_run_is_too_old() -> None:
    bus = EventBus(capacity=5)
    bus.publish("turn_started", "T", {})
    assert bus.replay_since(999) is TOO_OLD
    assert bus.replay_since(-1) is TOO_OLD


def test_failing_subscriber_does_not_stop_others() -> None:
    bus = EventBus()
    seen = []

    def broken(_event: object) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(seen.append)
    bus.publish("error", "T", {"message": "x"})
    unsubscribe()
    bus.publish("error", "T", {"message": "y"})
    assert len(seen) == 1
