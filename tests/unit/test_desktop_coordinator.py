"""DesktopSync: remembered labels, fallback titles, fire-and-forget scheduling."""

from __future__ import annotations

import asyncio
import logging

import pytest

from codexremote.desktop import (
    DesktopSync,
    DesktopSyncRequest,
    DesktopSyncResult,
    MacOSDesktopBridge,
    NullDesktopBridge,
)
from codexremote.desktop.applescript import SELECT_SCRIPT
from codexremote.ids import UNKNOWN_CWD
from tests.unit.test_desktop_support import RecordingRunner, RecordingSleep, fail

SYNCED = DesktopSyncResult(
    attempted=True, status="synced", reason=None, refreshed=True, selection_status="selected_chat"
)


class GatedBridge:
    """A bridge that records requests; while ``gate`` is clear, syncs wait on it."""

    def __init__(self, *, raise_on: set[str] | None = None) -> None:
        self.requests: list[DesktopSyncRequest] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()
        self.raise_on = raise_on or set()

    async def sync(self, request: DesktopSyncRequest) -> DesktopSyncResult:
        self.requests.append(request)
        self.started.set()
        await self.gate.wait()
        if request.chat_id in self.raise_on:
            raise RuntimeError("bridge bug with a secret title inside")
        return SYNCED


def project_chats(sync: DesktopSync) -> None:
    sync.remember("a", "/src/webapp", "Fix login", updated_at=100)
    sync.remember("b", "/src/webapp", "Add dark mode", updated_at=300)
    sync.remember("c", "/src/webapp", "Untitled chat", updated_at=500)  # placeholder
    sync.remember("d", "/src/other", "Other project", updated_at=900)
    sync.remember("e", "/src/webapp", "Older one", updated_at=200)


def test_desktop_fallback_title_is_newest_other_titled_chat_of_the_project() -> None:
    sync = DesktopSync(GatedBridge())
    project_chats(sync)
    req = sync.request_for("a", "message_sent")
    assert req == DesktopSyncRequest(
        chat_id="a",
        reason="message_sent",
        cwd="/src/webapp",
        chat_title="Fix login",
        project_title="webapp",
        fallback_chat_title="Add dark mode",
    )
    assert sync.request_for("b", "message_sent").fallback_chat_title == "Older one"
    assert sync.request_for("d", "message_sent").fallback_chat_title is None  # alone
    assert sync.request_for("a", "chat_activated").fallback_chat_title is None


def test_desktop_fallback_ties_go_to_the_later_remembered_chat() -> None:
    sync = DesktopSync(GatedBridge())
    sync.remember("a", "/p", "A", updated_at=1)
    sync.remember("b", "/p", "B", updated_at=5)
    sync.remember("c", "/p", "C", updated_at=5)
    assert sync.request_for("a", "message_sent").fallback_chat_title == "C"


def test_desktop_placeholder_titles_are_not_used_for_selection() -> None:
    sync = DesktopSync(GatedBridge())
    sync.remember("c", "/src/webapp", "  New thread ")
    req = sync.request_for("c", "chat_activated")
    assert req.chat_title is None and req.project_title == "webapp"
    sync.remember("c", "/src/webapp", "Real title")
    sync.remember("c", "/src/webapp", "Untitled chat")  # a later placeholder never downgrades
    assert sync.request_for("c", "chat_activated").chat_title == "Real title"


def test_desktop_labels_defaults_and_unknown_chats() -> None:
    sync = DesktopSync(GatedBridge())
    sync.remember("x", UNKNOWN_CWD, "Loose chat")
    sync.remember("y", "/src/app", "T", project_title="My App")
    assert sync.labels("x") == (None, "Loose chat", None)
    assert sync.labels("y") == ("/src/app", "T", "My App")
    unknown = sync.request_for("zzz", "message_sent")
    assert unknown == DesktopSyncRequest("zzz", "message_sent", None, None, None, None)


def test_desktop_memory_is_a_bounded_lru() -> None:
    sync = DesktopSync(GatedBridge(), max_chats=3)
    for chat in ("a", "b", "c"):
        sync.remember(chat, "/p", chat.upper())
    sync.request_for("a", "chat_activated")  # use refreshes "a"
    sync.remember("d", "/p", "D")
    assert sync.labels("b") is None
    assert all(sync.labels(chat) is not None for chat in ("a", "c", "d"))
    big = DesktopSync(GatedBridge())
    for i in range(1_005):
        big.remember(f"chat-{i}", "/p", f"title {i}")
    assert big.labels("chat-4") is None and big.labels("chat-5") is not None


async def test_desktop_fire_returns_at_once_and_result_is_kept() -> None:
    bridge = GatedBridge()
    bridge.gate.clear()
    sync = DesktopSync(bridge)
    sync.remember("a", "/src/webapp", "Fix login")
    sync.fire("a", "chat_activated")  # returns while the sync still waits
    await asyncio.wait_for(bridge.started.wait(), 1)
    assert sync.busy and sync.completed == 0
    bridge.gate.set()
    await asyncio.wait_for(sync.wait_idle(), 1)
    assert sync.last_result == SYNCED and sync.completed == 1
    assert sync.last_request is not None and sync.last_request.chat_title == "Fix login"


async def test_desktop_newer_request_supersedes_the_queued_one() -> None:
    bridge = GatedBridge()
    bridge.gate.clear()
    sync = DesktopSync(bridge)
    sync.fire("first", "chat_activated")
    await asyncio.wait_for(bridge.started.wait(), 1)
    sync.fire("second", "chat_activated")
    sync.fire("third", "message_sent")  # replaces "second", which never ran
    bridge.gate.set()
    await asyncio.wait_for(sync.wait_idle(), 1)
    assert [(r.chat_id, r.reason) for r in bridge.requests] == [
        ("first", "chat_activated"),
        ("third", "message_sent"),
    ]
    assert (sync.completed, sync.superseded) == (2, 1)


async def test_desktop_one_sync_at_a_time() -> None:
    running = 0
    peak = 0

    class Slow:
        async def sync(self, request: DesktopSyncRequest) -> DesktopSyncResult:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1
            return SYNCED

    sync = DesktopSync(Slow())
    for i in range(20):
        sync.fire(f"c{i}", "message_sent")
        await asyncio.sleep(0.003)
    await asyncio.wait_for(sync.wait_idle(), 2)
    assert peak == 1 and sync.completed + sync.superseded == 20


async def test_desktop_fire_never_raises_when_the_bridge_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bridge = GatedBridge(raise_on={"bad"})
    sync = DesktopSync(bridge)
    with caplog.at_level(logging.ERROR, logger="codexremote.desktop"):
        sync.fire("bad", "message_sent")
        await asyncio.wait_for(sync.wait_idle(), 1)
    assert sync.last_result is not None
    assert sync.last_result.status == "failed"
    assert sync.last_result.errors == ["desktop bridge error: RuntimeError"]
    sync.fire("good", "chat_activated")  # the worker survived
    await asyncio.wait_for(sync.wait_idle(), 1)
    assert sync.last_result == SYNCED


def test_desktop_fire_without_an_event_loop_does_not_raise() -> None:
    bridge = GatedBridge()
    sync = DesktopSync(bridge)
    sync.fire("a", "chat_activated")
    assert not sync.busy and bridge.requests == []


async def test_desktop_unknown_reason_is_ignored() -> None:
    bridge = GatedBridge()
    sync = DesktopSync(bridge)
    sync.fire("a", "chat_created")
    await sync.wait_idle()
    assert bridge.requests == [] and not sync.busy


async def test_desktop_aclose_cancels_a_running_sync() -> None:
    bridge = GatedBridge()
    bridge.gate.clear()
    sync = DesktopSync(bridge)
    sync.fire("a", "chat_activated")
    await asyncio.wait_for(bridge.started.wait(), 1)
    sync.fire("b", "chat_activated")
    await asyncio.wait_for(sync.aclose(), 1)
    assert not sync.busy and sync.completed == 0
    assert [r.chat_id for r in bridge.requests] == ["a"]


async def test_desktop_logs_results_without_titles(caplog: pytest.LogCaptureFixture) -> None:
    runner = RecordingRunner({"deeplink": [fail("x")]})
    sync = DesktopSync(MacOSDesktopBridge(runner=runner, sleep=RecordingSleep()))
    sync.remember("a", "/src/webapp", "my private first message")
    sync.remember("b", "/src/webapp", "another private title")
    with caplog.at_level(logging.DEBUG, logger="codexremote.desktop"):
        sync.fire("a", "message_sent")
        await asyncio.wait_for(sync.wait_idle(), 1)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "desktop_sync_completed chat=a reason=message_sent" in text
    assert "private" not in text
    # The coordinator's labels reach the selection script as arguments.
    select = next(argv for argv in runner.calls if SELECT_SCRIPT in argv)
    assert select[-4:] == ["webapp", "my private first message", "another private title", "4"]
    assert sync.last_result is not None and sync.last_result.status == "synced"


async def test_desktop_skip_is_logged_once_at_info(caplog: pytest.LogCaptureFixture) -> None:
    sync = DesktopSync(NullDesktopBridge("desktop sync needs macOS (this is linux)"))
    with caplog.at_level(logging.DEBUG, logger="codexremote.desktop"):
        for _ in range(3):
            sync.fire("a", "chat_activated")
            await sync.wait_idle()
    skipped = [r for r in caplog.records if "desktop_sync_skipped" in r.getMessage()]
    assert [r.levelno for r in skipped] == [logging.INFO, logging.DEBUG, logging.DEBUG]
    assert "needs macOS (this is linux)" in skipped[0].getMessage()
    assert sync.last_result is not None and sync.last_result.status == "skipped"
