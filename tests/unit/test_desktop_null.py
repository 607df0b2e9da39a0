"""Choosing a bridge, and the null bridge's honest "skipped: why" (design.md)."""

from __future__ import annotations

import sys

import pytest

from codexremote.desktop import (
    DISABLED_REASON,
    DesktopSyncRequest,
    MacOSDesktopBridge,
    NullDesktopBridge,
    choose_bridge,
    unsupported_reason,
)
from tests.unit.test_desktop_support import RecordingRunner, RecordingSleep

REQUEST = DesktopSyncRequest("chat-1", "chat_activated", "/src/app", "Title", "app")


async def test_desktop_null_bridge_on_linux_reports_skipped_with_reason() -> None:
    bridge = choose_bridge(True, platform="linux")
    assert isinstance(bridge, NullDesktopBridge)
    result = await bridge.sync(REQUEST)
    assert (result.attempted, result.status, result.refreshed) == (False, "skipped", False)
    assert result.reason == "desktop sync needs macOS (this is linux)"
    assert result.selection_status is None
    assert result.commands == [] and result.errors == []


async def test_desktop_disabled_setting_reports_disabled_even_on_macos() -> None:
    bridge = choose_bridge(False, platform="darwin")
    result = await bridge.sync(REQUEST)
    assert (result.attempted, result.status, result.reason) == (False, "disabled", DISABLED_REASON)


@pytest.mark.parametrize("platform", ["win32", "freebsd14", "cygwin"])
async def test_desktop_other_platforms_are_unsupported(platform: str) -> None:
    result = await choose_bridge(True, platform=platform).sync(REQUEST)
    assert result.status == "skipped"
    assert result.reason == f"desktop sync needs macOS (this is {platform})"


async def test_desktop_this_machine_gets_the_null_bridge_unless_macos() -> None:
    bridge = choose_bridge(True)
    if sys.platform == "darwin":
        assert isinstance(bridge, MacOSDesktopBridge)
        assert unsupported_reason() is None
    else:
        assert isinstance(bridge, NullDesktopBridge)
        assert bridge.reason == f"desktop sync needs macOS (this is {sys.platform})"


async def test_desktop_macos_choice_carries_the_options() -> None:
    runner, sleep = RecordingRunner(), RecordingSleep()
    bridge = choose_bridge(
        True,
        platform="darwin",
        app_name="Codex Beta",
        bundle_id="com.example.codex",
        app_path="/Applications/Codex Beta.app",
        delay_s=0.1,
        command_timeout_s=3.0,
        runner=runner,
        sleep=sleep,
    )
    assert isinstance(bridge, MacOSDesktopBridge)
    assert (bridge.app_name, bridge.bundle_id, bridge.app_path) == (
        "Codex Beta",
        "com.example.codex",
        "/Applications/Codex Beta.app",
    )
    result = await bridge.sync(REQUEST)
    assert result.status == "synced"
    assert runner.timeouts and set(runner.timeouts) == {3.0}
    assert sleep.calls == [0.1, 0.9]
