"""Backward paging: pages equal the forward read reversed; cursors are stable and validated."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexremote.errors import BadRequest, Gone
from codexremote.history import HistoryPage, HistoryService, LiveActivities
from codexremote.history.cursor import ReverseState, decode_cursor
from codexremote.history.mapping import forward_items
from codexremote.history.paging import read_page
from codexremote.history.reader import ReadStats, iter_forward
from tests.unit.test_history_support import (
    BASE_TS,
    CHAT,
    Rollout,
    random_rollout,
    session_path,
)

NOW = 1_800_000_000


def service(sessions: Path) -> HistoryService:
    return HistoryService(sessions, LiveActivities(), clock=lambda: float(NOW))


def forward_reversed(path: Path) -> list[dict[str, Any]]:
    items = forward_items(iter_forward(path, ReadStats()), CHAT, NOW, by_offset=True)
    return [i.model_dump(exclude_none=True) for i in reversed(items)]


def plain(page: HistoryPage) -> list[dict[str, Any]]:
    out = []
    for item in page.items:
        data = item.model_dump(exclude_none=True)
        data.pop("type")
        out.append(data)
    return out


async def all_pages(
    svc: HistoryService, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], list[int]]:
    items: list[dict[str, Any]] = []
    sizes: list[int] = []
    while True:
        page = await svc.page(CHAT, cursor, limit)
        items += plain(page)
        sizes.append(len(page.items))
        cursor = page.nextCursor
        if cursor is None:
            return items, sizes


@settings(
    max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(roll=random_rollout(), limit=st.integers(1, 7))
def test_pages_equal_forward_read_reversed(roll: Rollout, limit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sessions = Path(tmp)
        path = roll.write(session_path(sessions))
        expected = forward_reversed(path)
        items, sizes = asyncio.run(all_pages(service(sessions), limit))
    assert items == expected
    assert all(size == limit for size in sizes[:-1])
    assert 0 < sizes[-1] <= limit or (sizes == [0] and not expected)


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(old=random_rollout(), new=random_rollout(), limit=st.integers(1, 5))
def test_cursor_stable_while_file_grows(old: Rollout, new: Rollout, limit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sessions = Path(tmp)
        path = old.write(session_path(sessions))
        expected_old = forward_reversed(path)
        svc = service(sessions)

        async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            first = await svc.page(CHAT, None, limit)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(new.text() + '{"timestamp":"2026-01-01T00:00:00Z","type":')
            rest: list[dict[str, Any]] = []
            if first.nextCursor is not None:
                rest, _ = await all_pages(svc, limit, first.nextCursor)
            return plain(first) + rest, (await all_pages(svc, limit))[0]

        before, after = asyncio.run(scenario())
        expected_new = forward_reversed(path)
    assert before == expected_old
    assert after == expected_new


def test_one_record_split_across_pages(tmp_path: Path) -> None:
    roll = Rollout()
    roll.user("edit five files")
    roll.patch([(f"f{k}.py", k, 0) for k in range(1, 6)])
    session = roll.write(session_path(tmp_path))
    items, sizes = asyncio.run(all_pages(service(tmp_path), 2))
    assert sizes == [2, 2, 2]
    assert [i.get("filePath", i.get("text")) for i in items] == [
        "f5.py", "f4.py", "f3.py", "f2.py", "f1.py", "edit five files"]  # fmt: skip
    assert items == forward_reversed(session)


def test_newest_page_reads_only_the_tail(tmp_path: Path) -> None:
    """A big rollout: the newest page scans about the same bytes as for a small one."""
    roll = Rollout()
    for n in range(30):
        roll.user(f"q{n}")
        roll.exec_command("ls")
        roll.assistant(f"a{n}", "final_answer")
    tail = roll.text().encode()
    path = session_path(tmp_path)
    path.parent.mkdir(parents=True)
    record = {"type": "event_msg", "payload": {"type": "token_count", "pad": "x" * 4000}}
    noise = (json.dumps(record) + "\n").encode()
    with path.open("wb") as handle:
        handle.write(noise * (32 * 1024 * 1024 // len(noise)))
        handle.write(tail)
    fd = os.open(path, os.O_RDONLY)
    try:
        result = read_page(fd, CHAT, os.fstat(fd).st_size, 0, ReverseState(), 50, NOW)
    finally:
        os.close(fd)
    assert len(result.items) == 50
    assert result.stats.bytes_scanned < len(tail) + 256 * 1024


def test_context_beyond_lookback_is_left_out(tmp_path: Path) -> None:
    roll = Rollout()
    roll.user("start")
    for _ in range(40):
        roll.noise()
    roll.tick(9)
    roll.assistant("done", "final_answer")
    roll.write(session_path(tmp_path))
    fd = os.open(session_path(tmp_path), os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        near = read_page(fd, CHAT, size, 0, ReverseState(), 1, NOW)
        far = read_page(fd, CHAT, size, 0, ReverseState(), 1, NOW, lookback_max_bytes=100)
    finally:
        os.close(fd)
    assert near.items[0].model_dump()["workedDurationSeconds"] == 9
    assert far.items[0].model_dump()["workedDurationSeconds"] is None
    assert far.next_end is not None  # older history still reachable


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "garbage!",
        "eyJ2IjoxfQ",  # {"v":1}
        base64.urlsafe_b64encode(b"[1,2,3]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "A" * 600,
    ],
)
async def test_invalid_cursor_is_bad_request(tmp_path: Path, cursor: str) -> None:
    Rollout().write(session_path(tmp_path))
    with pytest.raises(BadRequest, match=r"^Invalid cursor$"):
        await service(tmp_path).page(CHAT, cursor, 10)


def _tamper(cursor: str, **changes: object) -> str:
    body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    body.update(changes)
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


async def first_cursor(tmp_path: Path) -> tuple[HistoryService, str]:
    roll = Rollout()
    for n in range(5):
        roll.user(f"q{n}")
    roll.write(session_path(tmp_path))
    svc = service(tmp_path)
    page = await svc.page(CHAT, None, 2)
    assert page.nextCursor is not None
    return svc, page.nextCursor


@pytest.mark.parametrize(
    "changes",
    [{"c": "0000"}, {"v": 2}, {"e": -1}, {"k": "1"}, {"e": True}, {"u": ["x", "y", False]},
     {"u": [1]}, {"m": 5}],
)  # fmt: skip
async def test_foreign_or_forged_cursor_is_bad_request(
    tmp_path: Path, changes: dict[str, object]
) -> None:
    svc, cursor = await first_cursor(tmp_path)
    with pytest.raises(BadRequest, match=r"^Invalid cursor$"):
        await svc.page(CHAT, _tamper(cursor, **changes), 2)


async def test_cursor_for_other_chat_is_bad_request(tmp_path: Path) -> None:
    _, cursor = await first_cursor(tmp_path)
    other = "019cd0a1-0000-7000-8000-000000000000"
    with pytest.raises(BadRequest, match=r"^Invalid cursor$"):
        decode_cursor(cursor, other)


async def test_cursor_into_replaced_or_shrunk_file_is_gone(tmp_path: Path) -> None:
    svc, cursor = await first_cursor(tmp_path)
    path = session_path(tmp_path)
    with pytest.raises(Gone):
        await svc.page(CHAT, _tamper(cursor, e=5), 2)  # not a line boundary any more
    replacement = path.with_suffix(".new")
    replacement.write_bytes(path.read_bytes())
    os.replace(replacement, path)
    with pytest.raises(Gone):
        await svc.page(CHAT, cursor, 2)  # same content, new inode
    fresh = (await svc.page(CHAT, None, 2)).nextCursor
    assert fresh is not None
    path.write_bytes(b"")
    with pytest.raises(Gone):
        await svc.page(CHAT, fresh, 2)


@pytest.mark.parametrize("limit", [0, -1, 201])
async def test_limit_bounds(tmp_path: Path, limit: int) -> None:
    with pytest.raises(BadRequest, match="limit"):
        await service(tmp_path).page(CHAT, None, limit)


async def test_missing_rollout_gives_empty_page_with_note(tmp_path: Path) -> None:
    live = LiveActivities()
    live.on_notification(
        "item/started",
        {"threadId": CHAT, "item": {"type": "commandExecution", "id": "c1", "command": "ls"}},
        NOW * 1000,
    )
    svc = HistoryService(tmp_path, live)
    page = await svc.page(CHAT, None, 10)
    assert page.to_wire() == {
        "items": [],
        "nextCursor": None,
        "notes": {"rolloutMissing": True},
        "liveActivities": [live.for_chat(CHAT)[0].model_dump(exclude_none=True)],
    }


async def test_garbage_lines_reported_in_page_notes(tmp_path: Path) -> None:
    roll = Rollout()
    roll.user("a")
    roll.raw("not json")
    roll.raw('{"truncated":')
    roll.user("b")
    roll.write(session_path(tmp_path))
    page = await service(tmp_path).page(CHAT, None, 10)
    assert [i.model_dump()["text"] for i in page.items] == ["b", "a"]
    assert page.notes.skippedLines == 2


def test_orphan_output_does_not_scan_the_whole_file(tmp_path: Path) -> None:
    """An exited-process output without its call is settled as "no card" within the lookback."""
    head = Rollout()
    head.user("old question")
    for _ in range(3000):
        head.noise()
    tail = Rollout(start=BASE_TS + 100)
    tail.user("new question")
    tail.output("call_without_record", "Process exited with code 0")
    path = session_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(head.text() + tail.text())
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        result = read_page(fd, CHAT, size, 0, ReverseState(), 1, NOW, lookback_max_bytes=4096)
    finally:
        os.close(fd)
    assert [i.model_dump()["text"] for i in result.items] == ["new question"]
    assert result.stats.bytes_scanned < size // 2
    assert result.next_end is not None
