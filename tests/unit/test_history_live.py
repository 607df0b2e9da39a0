"""Live command cards from app-server notifications (wire-api 5.3, 7.6)."""

from __future__ import annotations

from typing import Any

import pytest

from codexremote.history.live import LiveActivities

T = "019cd0a1-7c2e-7d3f-9a41-5b6c7d8e9f01"


def command(item_id: str, cmd: str, *actions: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "commandExecution",
        "id": item_id,
        "command": cmd,
        "commandActions": [{"type": a, "command": cmd} for a in actions],
        **extra,
    }


def note(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"threadId": T, "turnId": "U", "item": item, **extra}


def wire(live: LiveActivities) -> list[dict[str, Any]]:
    return [a.model_dump(exclude_none=True) for a in live.for_chat(T)]


def test_exploring_card_started_then_completed() -> None:
    live = LiveActivities()
    item = command("C1", "rg -n foo src", "search", "read", "read", "listFiles")
    live.on_notification("item/started", note(item), 1_775_000_000_400)
    assert wire(live) == [{
        "id": "C1", "itemId": "C1", "kind": "exploring", "title": "Exploring",
        "detail": "3 files, 1 search", "createdAt": 1775000000, "updatedAt": 1775000000,
        "state": "in_progress"}]  # fmt: skip
    live.on_notification("item/completed", note(item), 1_775_000_002_900)
    (card,) = wire(live)
    assert (card["title"], card["state"], card["createdAt"], card["updatedAt"]) == (
        "Explored", "completed", 1775000000, 1775000002)  # fmt: skip
    assert "commandPreview" not in card


def test_running_command_card_has_trimmed_preview() -> None:
    live = LiveActivities()
    live.on_notification("item/started", note(command("C2", "  npm test \n", "unknown")), 5000)
    (card,) = wire(live)
    assert (card["kind"], card["title"], card["commandPreview"]) == (
        "running_command", "Running command", "npm test")  # fmt: skip
    assert "detail" not in card


def test_turn_completed_finishes_in_progress_cards() -> None:
    live = LiveActivities()
    live.on_notification("item/started", note(command("A", "ls", "listFiles")), 1000)
    live.on_notification("item/started", note(command("B", "make", "unknown")), 1000)
    live.on_notification("item/started", note(command("C", "make", "unknown")), 1000)
    live.on_notification("item/completed", note(command("C", "make", "unknown")), 2000)
    live.on_notification("turn/completed", {"threadId": T, "turn": {"id": "U"}}, 9000)
    titles = {a["id"]: (a["title"], a["state"], a["updatedAt"]) for a in wire(live)}
    assert titles == {
        "A": ("Explored", "completed", 9),
        "B": ("Command finished", "completed", 9),
        "C": ("Command finished", "completed", 2),
    }
    assert live.complete_turn(T) == []  # idempotent


def test_older_update_ignored_and_finished_card_never_reopens() -> None:
    live = LiveActivities()
    item = command("C", "make", "unknown")
    live.on_notification("item/completed", note(item), 5000)
    assert live.on_notification("item/started", note(item), 3000) is None
    assert live.on_notification("item/started", note(item), 5000) is None
    assert wire(live)[0]["state"] == "completed"


def test_only_command_items_with_string_ids() -> None:
    live = LiveActivities()
    live.on_notification("item/started", note({"type": "agentMessage", "id": "M"}), 1000)
    live.on_notification("item/started", note(command("", "ls")), 1000)
    live.on_notification("item/started", note({**command("x", "ls"), "id": 5}), 1000)
    live.on_notification("item/agentMessage/delta", {"threadId": T, "delta": "x"}, 1000)
    live.on_notification("item/started", {"item": command("N", "ls")}, 1000)  # no chat
    assert wire(live) == []


def test_chat_from_turn_thread_id_or_explicit() -> None:
    live = LiveActivities()
    live.on_notification("item/started", {"turn": {"threadId": T}, "item": command("A", "x")}, 0)
    live.on_notification("item/started", {"item": command("B", "y")}, 0, chat_id=T)
    assert [a["id"] for a in wire(live)] == ["A", "B"]


def test_bounded_per_chat_and_chats() -> None:
    live = LiveActivities(max_per_chat=3, max_chats=2)
    for n in range(5):
        live.on_notification("item/started", note(command(f"C{n}", "ls")), n * 1000)
    assert [a["id"] for a in wire(live)] == ["C2", "C3", "C4"]
    for chat in ("other-1", "other-2"):
        live.on_notification("item/started", {"threadId": chat, "item": command("Z", "ls")}, 0)
    assert live.for_chat(T) == []
    assert len(live.for_chat("other-2")) == 1
    live.forget("other-2")
    assert live.for_chat("other-2") == []


@pytest.mark.parametrize(
    ("actions", "detail"),
    [(("read",), "1 file"), (("search", "search"), "2 searches"),
     (("read", "listFiles", "search"), "2 files, 1 search")],
)  # fmt: skip
def test_original_app_exploring_detail_leaves_out_zero_counts(
    actions: tuple[str, ...], detail: str
) -> None:
    live = LiveActivities()
    live.on_notification("item/started", note(command("C1", "cat a", *actions)), 1_000)
    assert wire(live)[0]["detail"] == detail
