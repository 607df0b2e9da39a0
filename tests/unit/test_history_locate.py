"""Finding rollout files (wire-api 7.1), without caching "not found" forever."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codexremote.errors import BadRequest
from codexremote.history.locate import (
    NOT_FOUND_RETRY_SECONDS,
    RolloutLocator,
    find_rollout,
    rollout_chat_id,
)
from tests.unit.test_history_support import CHAT

OTHER = "019cd0a1-7c2e-7d3f-9a41-5b6c7d8e9f02"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(sessions: Path, rel: str, chat: str = CHAT) -> Path:
    path = sessions / rel / f"rollout-2026-03-08T23-04-06-{chat}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}\n")
    return path


async def test_finds_rollout_in_date_directory(tmp_path: Path) -> None:
    make(tmp_path, "2026/03/07", OTHER)
    path = make(tmp_path, "2026/03/08")
    assert await RolloutLocator(tmp_path).find(CHAT) == path
    assert await find_rollout(tmp_path, CHAT) == path


async def test_finds_rollout_outside_the_date_layout(tmp_path: Path) -> None:
    chat = "0b8d6a52-5d4b-4f0e-9b1e-3c2d1a0f9e8d"  # not a UUIDv7: no date hint
    path = make(tmp_path, "imported/old", chat)
    assert await RolloutLocator(tmp_path).find(chat) == path


async def test_missing_then_appears_is_found_later(tmp_path: Path) -> None:
    clock = Clock()
    locator = RolloutLocator(tmp_path, clock=clock)
    assert await locator.find(CHAT) is None
    path = make(tmp_path, "2026/03/08")
    assert await locator.find(CHAT) is None  # "not found" trusted for a short while
    clock.now += NOT_FOUND_RETRY_SECONDS + 0.01
    assert await locator.find(CHAT) == path


async def test_chat_activity_drops_cached_not_found_at_once(tmp_path: Path) -> None:
    clock = Clock()
    locator = RolloutLocator(tmp_path, clock=clock)
    assert await locator.find(CHAT) is None
    path = make(tmp_path, "2026/03/08")
    locator.forget_missing(CHAT.upper())  # the chat's own turn notification arrived
    assert await locator.find(CHAT) == path  # no wait for the not-found window


async def test_found_path_revalidated_when_file_goes_away(tmp_path: Path) -> None:
    locator = RolloutLocator(tmp_path)
    path = make(tmp_path, "2026/03/08")
    assert await locator.find(CHAT) == path
    path.unlink()
    moved = make(tmp_path, "2026/03/09")
    assert await locator.find(CHAT) == moved


async def test_partial_id_does_not_match_another_chat(tmp_path: Path) -> None:
    make(tmp_path, "2026/03/08")
    locator = RolloutLocator(tmp_path)
    assert await locator.find(CHAT[-12:]) is None
    assert await locator.find(CHAT[:8]) is None


async def test_only_regular_files_count(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.jsonl"
    real.write_text("{}\n")
    day = tmp_path / "2026" / "03" / "08"
    day.mkdir(parents=True)
    (day / f"rollout-2026-03-08T23-04-06-{CHAT}.jsonl").symlink_to(real)
    (day / f"rollout-2026-03-08T23-04-07-{OTHER}.jsonl").mkdir()
    locator = RolloutLocator(tmp_path)
    assert await locator.find(CHAT) is None
    assert await locator.find(OTHER) is None


async def test_sessions_dir_missing_is_not_an_error(tmp_path: Path) -> None:
    assert await RolloutLocator(tmp_path / "nope").find(CHAT) is None


@pytest.mark.parametrize(
    "chat_id",
    ["", "../etc/passwd", "abc/def", "x" * 10, "a" * 65, "-abc", "01a2 3b", "zz-zz", "a\x00b"],
)
async def test_invalid_chat_id_is_bad_request(tmp_path: Path, chat_id: str) -> None:
    with pytest.raises(BadRequest, match="Invalid chat id"):
        await RolloutLocator(tmp_path).find(chat_id)


def test_rollout_name_parsing() -> None:
    assert rollout_chat_id(f"rollout-2026-03-08T23-04-06-{CHAT}.jsonl") == CHAT
    assert rollout_chat_id(f"rollout-odd-stamp-{CHAT.upper()}.jsonl") == CHAT
    assert rollout_chat_id(f"rollout-2026-03-08T23-04-06-{CHAT}.json") is None
    assert rollout_chat_id(f"other-{CHAT}.jsonl") is None


async def test_walk_is_bounded_in_depth(tmp_path: Path) -> None:
    deep = make(tmp_path, "a/b/c/d/e/f/g/h")
    assert await RolloutLocator(tmp_path).find(CHAT) is None
    os.remove(deep)
