import gc
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


MIB = 1024 * 1024


def publish_turn(bus: EventBus, turn: int, answer_bytes: int = MIB, deltas: int = 64) -> None:
    """One turn as the relay publishes it: deltas, then the completed item with the
    whole text (so a 1 MiB answer is buffered twice)."""
    chunk = (f"t{turn} " * (answer_bytes // deltas // 4 + 1))[: answer_bytes // deltas]
    bus.publish("turn_started", "T", {"turnId": f"U{turn}"})
    for _ in range(deltas):
        bus.publish("message_delta", "T", {"delta": chunk, "itemId": f"I{turn}"})
    bus.publish("message_completed", "T", {"itemId": f"I{turn}", "text": chunk * deltas})
    bus.publish("turn_completed", "T", {"turnId": f"U{turn}"})


def test_rel06_buffer_is_bounded_in_bytes_and_resume_past_it_is_too_old() -> None:
    bus = EventBus(capacity=20_000, max_bytes=8 * MIB)
    for turn in range(10):
        publish_turn(bus, turn)
    assert bus.buffered_bytes <= 8 * MIB
    assert bus.buffered_events < 10 * 68  # old turns were dropped, not kept to the count
    oldest_kept = bus.last_seq - bus.buffered_events + 1
    assert bus.replay_since(oldest_kept - 2) is TOO_OLD  # a gap past what was dropped
    replay = bus.replay_since(oldest_kept - 1)
    assert not isinstance(replay, type(TOO_OLD))
    assert [e.seq for e in replay] == list(range(oldest_kept, bus.last_seq + 1))


def test_rel06_a_frame_larger_than_the_bound_is_not_kept() -> None:
    bus = EventBus(max_bytes=MIB)
    bus.publish("message_delta", "T", {"delta": "small"})
    bus.publish("message_completed", "T", {"text": "x" * (2 * MIB)})
    assert bus.buffered_events == 0 and bus.buffered_bytes == 0
    assert bus.replay_since(1) is TOO_OLD  # seq 2 is gone: the client must resync
    assert bus.replay_since(2) == []


def test_rel06_rss_stays_flat_over_100_turns_of_1_mib_answers() -> None:
    """Issue 9.4: 30 turns of 1 MiB answers took the companion from 53 to 158 MB.
    With the default 64 MiB bound the growth stops once the buffer is full."""

    from tests.harness.processes import rss_mb

    bound_mib = 64  # the documented default (docs/settings.md `stream_replay_mib`)

    bus = EventBus()  # the defaults the companion runs with
    gc.collect()
    before = rss_mb()
    samples = {}
    for turn in range(1, 101):
        publish_turn(bus, turn)
        if turn in (10, 30, 50, 100):
            gc.collect()
            samples[turn] = rss_mb()
    print(
        f"\nRSS before {before:.0f} MB; after turns "
        + ", ".join(f"{t}: {mb:.0f} MB" for t, mb in samples.items())
    )
    # 200 MiB of frames went through; what stays is the bound plus allocator slack.
    assert samples[100] - before < bound_mib + 40
    assert samples[100] - samples[50] < 16  # flat once the buffer is full
    assert bus.buffered_bytes <= bound_mib * MIB
    print(f"buffer {bus.buffered_bytes / MIB:.1f} MiB in {bus.buffered_events} events")
