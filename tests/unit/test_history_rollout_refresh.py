"""A new chat's rollout appears around its first turn: a history read just before
must not hide it for the negative cache's lifetime (web client: an empty page
after the first message). The relay's turn notifications clear the "no rollout"
entry of that chat."""

from __future__ import annotations

import json
from pathlib import Path

from codexremote.app import build_services
from codexremote.settings import Settings
from tests.harness.processes import fake_app_server_launcher

CHAT = "019c0000-0000-7000-8000-00000000abcd"


def write_rollout(sessions: Path) -> Path:
    path = sessions / "2026" / "03" / "08" / f"rollout-2026-03-08T10-00-00-{CHAT}.jsonl"
    path.parent.mkdir(parents=True)
    meta = {"type": "session_meta", "payload": {"id": CHAT, "cwd": "/"}}
    path.write_text(json.dumps(meta) + "\n")
    return path


async def test_turn_notifications_clear_the_negative_rollout_cache(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", codex_home=tmp_path / "codex_home")
    services = build_services(settings, launcher=fake_app_server_launcher())
    locator = services.history.locator
    assert await locator.find(CHAT) is None  # remembered as missing for a while
    path = write_rollout(settings.codex_home / "sessions")
    assert await locator.find(CHAT) is None  # the negative cache still answers
    services.relay.on_notification("turn/started", {"threadId": CHAT, "turn": {"id": "t1"}})
    assert await locator.find(CHAT) == path


async def test_other_chats_keep_their_negative_entry(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", codex_home=tmp_path / "codex_home")
    services = build_services(settings, launcher=fake_app_server_launcher())
    locator = services.history.locator
    assert await locator.find(CHAT) is None
    write_rollout(settings.codex_home / "sessions")
    other = "019c0000-0000-7000-8000-00000000ffff"
    services.relay.on_notification("turn/completed", {"threadId": other, "turn": {"id": "t2"}})
    assert await locator.find(CHAT) is None
