"""Frames within the original app's 1 MiB WebSocket message limit (issue 14 A2)."""

from __future__ import annotations

import json

from codexremote.events.bus import StreamEvent
from codexremote.events.frame_cap import (
    DEFAULT_MAX_FRAME_BYTES,
    FrameCapper,
    capped_text,
    full_event_path,
)

MIB = 1024 * 1024


def event(payload: object, seq: int = 7, name: str = "turn_diff_updated") -> StreamEvent:
    return StreamEvent.create(seq, name, "chat-1", payload, 1_775_000_000_000)


def test_original_app_small_frames_are_sent_verbatim() -> None:
    small = event({"threadId": "T", "diff": "+x\n"})
    assert capped_text(small, DEFAULT_MAX_FRAME_BYTES) is small.encoded
    assert FrameCapper().text(small, DEFAULT_MAX_FRAME_BYTES) is small.encoded


def test_original_app_5mb_diff_is_cut_below_1mib_keeping_its_start() -> None:
    diff = "diff --git a/big b/big\n" + "+" + "y" * 99 + "\n"
    diff = diff * 50_000  # ~5 MB
    big = event({"threadId": "T", "turnId": "U", "diff": diff})
    text = capped_text(big, DEFAULT_MAX_FRAME_BYTES)
    assert len(text.encode()) <= DEFAULT_MAX_FRAME_BYTES
    frame = json.loads(text)
    assert (frame["event"], frame["chatId"], frame["seq"]) == ("turn_diff_updated", "chat-1", 7)
    payload = frame["payload"]
    assert payload["threadId"] == "T" and payload["turnId"] == "U"
    assert payload["truncated"] is True and payload["fullEventPath"] == full_event_path(7)
    assert diff.startswith(payload["diff"].split("\n[truncated: ")[0])
    assert len(payload["diff"]) > 0.95 * DEFAULT_MAX_FRAME_BYTES  # cut, not emptied
    assert payload["diff"].endswith(" more characters]")


def test_original_app_huge_command_output_nested_in_an_item_is_cut() -> None:
    item = {"type": "commandExecution", "id": "C1", "command": "cat big",
            "aggregatedOutput": "\u00e9" * (3 * MIB), "status": "completed"}  # fmt: skip
    big = event({"threadId": "T", "item": item}, name="item_completed")
    text = capped_text(big, DEFAULT_MAX_FRAME_BYTES)
    assert len(text.encode()) <= DEFAULT_MAX_FRAME_BYTES
    cut = json.loads(text)["payload"]
    assert cut["item"]["id"] == "C1" and cut["item"]["command"] == "cat big"
    assert cut["item"]["aggregatedOutput"].startswith("\u00e9\u00e9")


def test_original_app_many_small_strings_fall_back_to_ids_and_the_route() -> None:
    big = event({"threadId": "T", "lines": ["z" * 500] * 5000}, seq=9)
    frame = json.loads(capped_text(big, DEFAULT_MAX_FRAME_BYTES))
    assert frame["payload"] == {"threadId": "T", "truncated": True,
                                "fullEventPath": "/v1/stream/events/9"}  # fmt: skip


def test_frame_cap_limits_are_per_client_and_none_means_whole() -> None:
    big = event({"diff": "d" * (2 * MIB)})
    capper = FrameCapper()
    assert capper.text(big, None) is big.encoded
    assert len(capper.text(big, 256 * 1024)) <= 256 * 1024
    assert capper.text(big, 4 * MIB) is big.encoded
