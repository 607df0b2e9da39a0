"""HistoryService.timeline / messages: the original app's full-history routes (4.11, 4.12)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from codexremote.history import Activity, HistoryService, LiveActivities, Timeline
from codexremote.history.timeline import FULL_TIMELINE_MAX_BYTES, merge_activities
from tests.unit.test_history_support import BASE_TS, CHAT, Rollout, session_path


def service(
    sessions: Path, live: LiveActivities | None = None, max_bytes: int = FULL_TIMELINE_MAX_BYTES
) -> HistoryService:
    return HistoryService(
        sessions, live or LiveActivities(), clock=lambda: 1.0, full_timeline_max_bytes=max_bytes
    )


def card(ident: str, created: int, updated: int, title: str = "t") -> Activity:
    return Activity(id=ident, itemId=ident, kind="running_command", title=title,
                    createdAt=created, updatedAt=updated, state="completed")  # fmt: skip


async def test_example_timeline_wire_shape(tmp_path: Path) -> None:
    """The wire-api 7.5 example, built from records."""
    roll = Rollout(start=BASE_TS + 7)  # 23:04:07
    roll.user("Fix the build")
    roll.tick(2)
    roll.assistant("Looking at the logs.", "commentary")
    roll.tick(6)
    patch = "*** Begin Patch\n*** Update File: src/a.py\n@@\n-a\n+b\n+c\n"
    roll.record(
        "response_item",
        {"type": "custom_tool_call", "name": "apply_patch", "call_id": "call_7", "input": patch},
    )
    roll.tick(5)
    roll.assistant("Done.", "final_answer")
    roll.write(session_path(tmp_path))
    timeline = await service(tmp_path).timeline(CHAT)
    assert timeline.to_wire() == {
        "messages": [
            {"id": f"{CHAT}:user:1", "role": "user", "text": "Fix the build",
             "createdAt": 1773011047},
            {"id": f"{CHAT}:assistant:3", "role": "assistant", "text": "Looking at the logs.",
             "createdAt": 1773011049, "phase": "commentary"},
            {"id": f"{CHAT}:assistant:6", "role": "assistant", "text": "Done.",
             "createdAt": 1773011060, "phase": "final_answer", "workedDurationSeconds": 13}],
        "activities": [
            {"id": "call_7:1:src/a.py", "itemId": "call_7:src/a.py", "kind": "file_edited",
             "title": "Edited", "detail": "a.py", "createdAt": 1773011055, "updatedAt": 1773011055,
             "state": "completed", "filePath": "src/a.py", "additions": 2, "deletions": 1}],
    }  # fmt: skip
    assert await service(tmp_path).messages(CHAT) == timeline.messages


async def test_missing_rollout_is_empty_with_note_and_live_cards(tmp_path: Path) -> None:
    live = LiveActivities()
    live.on_notification("item/started", {"threadId": CHAT, "item": {
        "type": "commandExecution", "id": "C1", "command": "ls"}}, 2_000)  # fmt: skip
    timeline = await service(tmp_path, live).timeline(CHAT)
    assert timeline.messages == []
    assert [a.id for a in timeline.activities] == ["C1"]
    assert timeline.to_wire()["notes"] == {"rolloutMissing": True}


def test_merge_live_wins_ties_larger_updated_wins_sorted() -> None:
    rollout = [card("b", 5, 5, "rollout"), card("a", 9, 20, "rollout"), card("c", 1, 1, "r")]
    live = [card("b", 5, 5, "live"), card("a", 9, 10, "live"), card("d", 9, 9, "live")]
    merged = merge_activities(rollout, live)
    assert [(a.id, a.title) for a in merged] == [
        ("c", "r"), ("b", "live"), ("a", "rollout"), ("d", "live")]  # fmt: skip


async def test_live_cards_merged_into_rollout_timeline(tmp_path: Path) -> None:
    roll = Rollout()
    roll.user("run it")
    roll.write(session_path(tmp_path))
    live = LiveActivities()
    live.on_notification("item/completed", {"threadId": CHAT, "item": {
        "type": "commandExecution", "id": "C9", "command": "make",
        "commandActions": [{"type": "read"}]}}, int(BASE_TS * 1000) + 500)  # fmt: skip
    timeline = await service(tmp_path, live).timeline(CHAT)
    assert [(a.id, a.title, a.detail) for a in timeline.activities] == [
        ("C9", "Explored", "1 file")]  # fmt: skip


async def test_garbage_gives_partial_result_with_note(tmp_path: Path) -> None:
    roll = Rollout()
    roll.user("a")
    roll.raw("{not json")
    roll.raw("")
    roll.raw("[]")
    roll.user("b")
    path = roll.write(session_path(tmp_path))
    with path.open("a") as handle:
        handle.write('{"half": ')
    timeline = await service(tmp_path).timeline(CHAT)
    assert [m.text for m in timeline.messages] == ["a", "b"]
    assert timeline.to_wire()["notes"] == {"skippedLines": 2}


async def test_incremental_reads_match_a_fresh_read(tmp_path: Path) -> None:
    roll = Rollout()
    roll.user("first")
    roll.assistant("one", "commentary")
    path = roll.write(session_path(tmp_path))
    svc = service(tmp_path)
    assert len((await svc.timeline(CHAT)).messages) == 2
    more = Rollout(start=BASE_TS + 30)
    more.exec_command("serve", session=3)
    more.write_stdin(3, exit_code=0)
    more.user("second", "both")
    more.assistant("two", "final_answer")
    text = more.text()
    with path.open("a") as handle:  # the first timeline saw nothing of this
        handle.write(text[: len(text) // 2])
    await svc.timeline(CHAT)
    with path.open("a") as handle:
        handle.write(text[len(text) // 2 :])
    incremental = await svc.timeline(CHAT)
    fresh = await service(tmp_path).timeline(CHAT)
    assert incremental == fresh
    assert [m.text for m in fresh.messages] == ["first", "one", "second", "two"]
    assert [a.commandPreview for a in fresh.activities] == ["serve"]


async def test_rewritten_or_truncated_rollout_is_reread(tmp_path: Path) -> None:
    roll = Rollout()
    for text in ("a", "b", "c"):
        roll.user(text)
    path = roll.write(session_path(tmp_path))
    svc = service(tmp_path)
    await svc.timeline(CHAT)
    shorter = Rollout()
    shorter.user("x")
    shorter.write(path)  # same inode, shrunk
    timeline = await svc.timeline(CHAT)
    assert [m.text for m in timeline.messages] == ["x"]
    assert timeline.to_wire()["notes"] == {"fileTruncated": True}
    same_size = Rollout()
    same_size.user("y")
    replacement = same_size.write(path.with_suffix(".tmp"))
    os.replace(replacement, path)  # new inode
    timeline = await svc.timeline(CHAT)
    assert [m.text for m in timeline.messages] == ["y"]
    assert (await svc.timeline(CHAT)).notes is None


async def test_huge_rollout_timeline_parses_only_the_tail(tmp_path: Path) -> None:
    roll = Rollout()
    for n in range(200):
        roll.user(f"q{n}")
        roll.tick()
    roll.write(session_path(tmp_path))
    full = await service(tmp_path).timeline(CHAT)
    capped = await service(tmp_path, max_bytes=4096).timeline(CHAT)
    notes = capped.to_wire()["notes"]
    assert notes["omittedBytes"] > 0
    assert 0 < len(capped.messages) < len(full.messages)
    assert capped.messages == full.messages[-len(capped.messages) :]  # same ids (line numbers)


async def test_concurrent_timelines_agree(tmp_path: Path) -> None:
    roll = Rollout()
    for n in range(50):
        roll.user(f"q{n}")
        roll.assistant(f"a{n}", "final_answer")
    roll.write(session_path(tmp_path))
    svc = service(tmp_path)
    results: list[Timeline] = await asyncio.gather(*(svc.timeline(CHAT) for _ in range(6)))
    assert all(r == results[0] for r in results)
    assert len(results[0].messages) == 100
