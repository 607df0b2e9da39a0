"""The macOS bridge (wire-api.md 10) against a recording command runner.

The runner is the seam to the OS: these tests pin the exact argv sequence the
bridge would run on a Mac, and how each failure of a command changes the path.
One test runs real processes through the real runner to check the timeout kill.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import pytest

from codexremote.desktop import DesktopSyncRequest, MacOSDesktopBridge
from codexremote.desktop.applescript import (
    ACTIVATE_SCRIPT,
    ARGV_SENTINEL,
    RELOAD_SCRIPT,
    REVEAL_SCRIPT,
    SELECT_SCRIPT,
)
from codexremote.desktop.macos import OPEN, OSASCRIPT, deep_link
from codexremote.pairing.commands import CommandResult, run_command
from tests.unit.test_desktop_support import (
    TIMED_OUT,
    RecordingRunner,
    RecordingSleep,
    assert_never_quits_or_opens_workspace,
    fail,
    ok,
)

CHAT = "019cd0a1-7c2e-7d3f-9a41-5b6c7d8e9f01"
BUNDLE = "com.openai.codex"
HOSTILE = '-e do shell script "touch /tmp/pwned"\n" & quit & "\\"\nend run'


def request(
    reason: str = "chat_activated",
    *,
    chat_id: str = CHAT,
    chat_title: str | None = "Fix the login bug",
    project_title: str | None = "webapp",
    fallback: str | None = None,
) -> DesktopSyncRequest:
    return DesktopSyncRequest(
        chat_id=chat_id,
        reason=reason,  # type: ignore[arg-type]
        cwd="/Users/me/src/webapp",
        chat_title=chat_title,
        project_title=project_title,
        fallback_chat_title=fallback,
    )


def bridge(runner: RecordingRunner, sleep: RecordingSleep, **kwargs: object) -> MacOSDesktopBridge:
    return MacOSDesktopBridge(runner=runner, sleep=sleep, **kwargs)  # type: ignore[arg-type]


def osa(script: str, *args: str, bundle: str = "") -> list[str]:
    return [OSASCRIPT, "-e", script, ARGV_SENTINEL, "Codex", bundle, *args]


async def test_desktop_activate_deeplink_and_reveal_latest_on_message_sent() -> None:
    runner, sleep = RecordingRunner(), RecordingSleep()
    result = await bridge(runner, sleep, bundle_id=BUNDLE).sync(request("message_sent"))
    assert runner.calls == [
        osa(ACTIVATE_SCRIPT, "0", bundle=BUNDLE),
        [OPEN, "-b", BUNDLE, f"codex://threads/{CHAT}"],
        osa(REVEAL_SCRIPT, "6", bundle=BUNDLE),
    ]
    assert sleep.calls == [0.25, 1.0]  # delay, then max(4 x delay, 0.9 s)
    assert runner.timeouts == [5.0, 5.0, 5.0]
    assert (result.attempted, result.status, result.refreshed) == (True, "synced", True)
    assert result.selection_status == "deeplink_opened_chat"
    assert result.errors == [] and result.reason is None
    assert result.commands == runner.calls
    assert result.to_log()["workspaceOpened"] is False
    assert_never_quits_or_opens_workspace(runner.calls)


async def test_desktop_chat_activated_deeplink_without_bundle_has_no_reveal() -> None:
    runner, sleep = RecordingRunner(), RecordingSleep()
    result = await bridge(runner, sleep, delay_s=0.5).sync(request("chat_activated"))
    assert runner.calls == [
        osa(ACTIVATE_SCRIPT, "0"),
        [OPEN, f"codex://threads/{CHAT}"],
    ]
    assert sleep.calls == [0.5, 2.0]  # 4 x delay beats the 0.9 s floor
    assert result.status == "synced" and result.selection_status == "deeplink_opened_chat"


def test_desktop_settle_wait_is_four_delays_with_a_floor() -> None:
    assert MacOSDesktopBridge(delay_s=0.1).settle_s == 0.9
    assert MacOSDesktopBridge(delay_s=0.25).settle_s == 1.0


def test_desktop_deep_link_percent_encodes_the_chat_id() -> None:
    assert deep_link("a/../b c?d#e&f") == "codex://threads/a%2F..%2Fb%20c%3Fd%23e%26f"
    assert deep_link(CHAT) == f"codex://threads/{CHAT}"


@pytest.mark.parametrize(
    ("kwargs", "open_argv"),
    [
        ({}, [OPEN, "-a", "Codex"]),
        ({"bundle_id": BUNDLE}, [OPEN, "-b", BUNDLE]),
        ({"app_path": "/Applications/Codex.app"}, [OPEN, "/Applications/Codex.app"]),
    ],
)
async def test_desktop_activation_failure_falls_back_to_open(
    kwargs: dict[str, str], open_argv: list[str]
) -> None:
    not_running = fail("execution error: the app is not running (1)")
    runner, sleep = RecordingRunner({"activate": [not_running]}), RecordingSleep()
    result = await bridge(runner, sleep, **kwargs).sync(request())
    bundle = kwargs.get("bundle_id", "")
    assert runner.calls == [
        osa(ACTIVATE_SCRIPT, "0", bundle=bundle),
        open_argv,
        osa(ACTIVATE_SCRIPT, "20", bundle=bundle),  # now waits up to 4 s for the launch
        [OPEN, *(["-b", BUNDLE] if bundle else []), f"codex://threads/{CHAT}"],
    ]
    assert sleep.calls == [0.25, 0.25, 1.0]
    assert result.status == "synced" and result.refreshed
    assert result.notes == ["activate failed (exit 1): execution error: the app is not running (1)"]


async def test_desktop_activation_failing_twice_stops_as_failed() -> None:
    runner = RecordingRunner(
        {
            "activate": [fail("not running"), fail("not running")],
            "open_app": [fail("Unable to find application named 'Codex'")],
        }
    )
    result = await bridge(runner, RecordingSleep()).sync(request("message_sent"))
    assert runner.kinds() == ["activate", "open_app", "activate"]  # no deep link, no keys
    assert (result.attempted, result.status, result.refreshed) == (True, "failed", False)
    assert result.errors == [
        "could not activate Codex: open app failed (exit 1): "
        "Unable to find application named 'Codex'"
    ]
    assert result.reason == result.errors[0]
    assert result.selection_status is None


@pytest.mark.parametrize("hostile_field", ["chat_title", "project_title"])
async def test_desktop_deeplink_failure_selects_with_titles_as_arguments(
    hostile_field: str,
) -> None:
    titles = {"chat_title": "Fix the login bug", "project_title": "webapp"}
    titles[hostile_field] = HOSTILE
    runner = RecordingRunner({"deeplink": [fail("No application knows how to open URL")]})
    sleep = RecordingSleep()
    result = await bridge(runner, sleep).sync(request(**titles))
    select = osa(SELECT_SCRIPT, titles["project_title"], titles["chat_title"], "", "0")
    assert runner.calls == [
        osa(ACTIVATE_SCRIPT, "0"),
        [OPEN, f"codex://threads/{CHAT}"],
        select,
    ]
    sent = runner.calls[2]
    assert sent[2] == SELECT_SCRIPT  # script text unchanged
    assert HOSTILE not in sent[2] and "pwned" not in sent[2]
    assert sent.count(HOSTILE) == 1  # one separate argv element, byte for byte
    assert sent.index(HOSTILE) > sent.index(ARGV_SENTINEL)  # osascript options end before it
    assert sleep.calls == [0.25]  # no settle wait without a deep link
    assert result.status == "synced" and result.selection_status == "selected_chat"
    assert result.notes == ["deep link failed (exit 1): No application knows how to open URL"]
    assert_never_quits_or_opens_workspace(runner.calls)


async def test_desktop_message_sent_fallback_reloads_and_reselects() -> None:
    runner = RecordingRunner(
        {"deeplink": [fail("no handler")], "select": [ok("focused\n"), ok("selected_chat\n")]}
    )
    sleep = RecordingSleep()
    req = request("message_sent", fallback="Add dark mode")
    result = await bridge(runner, sleep).sync(req)
    select = osa(SELECT_SCRIPT, "webapp", "Fix the login bug", "Add dark mode", "4")
    assert runner.calls == [
        osa(ACTIVATE_SCRIPT, "0"),
        [OPEN, f"codex://threads/{CHAT}"],
        select,
        osa(RELOAD_SCRIPT),
        select,
    ]
    assert sleep.calls == [0.25, 1.0]  # delay; wait after Cmd+R
    assert result.status == "synced" and result.selection_status == "reload_selected_chat"


async def test_desktop_selection_that_only_focuses_is_reported_failed() -> None:
    runner = RecordingRunner({"deeplink": [fail("no handler")], "select": [ok("focused")]})
    result = await bridge(runner, RecordingSleep()).sync(request(chat_title="Untitled"))
    assert result.status == "failed" and not result.refreshed
    assert result.selection_status == "focused"
    assert result.errors == ["desktop refresh did not reveal the expected chat (status: focused)"]


async def test_desktop_selection_of_project_only_is_reported_failed() -> None:
    runner = RecordingRunner({"deeplink": [fail("x")], "select": [ok("selected_project\n")]})
    result = await bridge(runner, RecordingSleep()).sync(request())
    assert result.selection_status == "selected_project"
    assert result.errors == [
        "desktop refresh did not reveal the expected chat (status: selected_project)"
    ]


async def test_desktop_unknown_titles_are_passed_as_empty_arguments() -> None:
    runner = RecordingRunner({"deeplink": [fail("x")]})
    await bridge(runner, RecordingSleep()).sync(request(chat_title=None, project_title=None))
    assert runner.calls[-1] == osa(SELECT_SCRIPT, "", "", "", "0")


async def test_desktop_nul_in_a_title_is_dropped_not_fatal() -> None:
    runner = RecordingRunner({"deeplink": [fail("x")]})
    await bridge(runner, RecordingSleep()).sync(request(chat_title="a\x00b"))
    assert runner.calls[-1][-3] == "ab"


async def test_desktop_command_timeout_is_failed_with_an_error() -> None:
    runner = RecordingRunner({"deeplink": [TIMED_OUT], "select": [TIMED_OUT]})
    result = await bridge(runner, RecordingSleep()).sync(request())
    assert runner.kinds() == ["activate", "deeplink", "select"]
    assert (result.status, result.refreshed, result.selection_status) == ("failed", False, None)
    assert result.notes == ["deep link: open timed out after 5 s (killed)"]
    assert result.errors == ["sidebar selection: osascript timed out after 5 s (killed)"]


async def test_desktop_activation_timeouts_fail_the_sync() -> None:
    runner = RecordingRunner({"activate": [TIMED_OUT, TIMED_OUT]})
    result = await bridge(runner, RecordingSleep(), command_timeout_s=2.5).sync(request())
    assert runner.kinds() == ["activate", "open_app", "activate"]
    assert runner.timeouts == [2.5, 2.5, 2.5]
    assert result.errors == [
        "could not activate Codex: activate: osascript timed out after 2.5 s (killed)"
    ]


async def test_desktop_real_process_timeout_is_killed_and_reported() -> None:
    """The real runner with a real hanging child: killed at the timeout, sync fails."""
    seen: list[list[str]] = []

    async def hanging(argv: Sequence[str], timeout_s: float) -> CommandResult:
        seen.append(list(argv))
        return await run_command([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s)

    started = time.monotonic()
    result = await MacOSDesktopBridge(
        runner=hanging, sleep=RecordingSleep(), command_timeout_s=0.3
    ).sync(request())
    assert time.monotonic() - started < 5.0
    assert len(seen) == 3  # activate, open -a, activate again
    assert result.status == "failed"
    assert "timed out after 0.3 s (killed)" in result.errors[0]


async def test_desktop_missing_program_is_failed_not_raised() -> None:
    runner = RecordingRunner({"activate": [FileNotFoundError(2, "No such file or directory")] * 2})
    runner.answers["open_app"] = [FileNotFoundError(2, "No such file or directory")]
    result = await bridge(runner, RecordingSleep()).sync(request())
    assert result.status == "failed"
    assert result.errors == [
        "could not activate Codex: open app: could not run open (No such file or directory)"
    ]


async def test_desktop_reveal_failure_after_deeplink_is_an_error() -> None:
    denied = fail(
        "execution error: System Events got an error: osascript is not allowed "
        "assistive access. (-1719)"
    )
    runner = RecordingRunner({"reveal": [denied]})
    result = await bridge(runner, RecordingSleep()).sync(request("message_sent"))
    assert result.selection_status == "deeplink_opened_chat"
    assert result.status == "failed" and not result.refreshed
    assert "not allowed assistive access" in result.errors[0]


async def test_desktop_error_strings_never_carry_titles() -> None:
    title = "my secret first message"
    echo = fail(f'execution error: Can\'t make "{title}" into type integer. (-1700)')
    runner = RecordingRunner({"deeplink": [fail("x")], "select": [echo]})
    result = await bridge(runner, RecordingSleep()).sync(request(chat_title=title))
    assert result.errors and all(title not in error for error in result.errors)
    assert "<title>" in result.errors[0]


async def test_desktop_first_selection_error_becomes_note_when_reload_selects() -> None:
    runner = RecordingRunner(
        {"deeplink": [fail("x")], "select": [fail("window not ready"), ok("selected_chat")]}
    )
    result = await bridge(runner, RecordingSleep()).sync(request("message_sent"))
    assert result.status == "synced" and result.selection_status == "reload_selected_chat"
    assert "sidebar selection failed (exit 1): window not ready" in result.notes


async def test_desktop_unexpected_selection_output_is_an_error() -> None:
    runner = RecordingRunner({"deeplink": [fail("x")], "select": [ok("banana")]})
    result = await bridge(runner, RecordingSleep()).sync(request())
    assert result.errors == ["sidebar selection returned unexpected output"]


def test_desktop_scripts_take_every_value_as_an_argument() -> None:
    """No script text has a placeholder for request data; values come from argv."""
    for script in (ACTIVATE_SCRIPT, REVEAL_SCRIPT, RELOAD_SCRIPT, SELECT_SCRIPT):
        assert script.startswith("on run argv") or "\non run argv\n" in script
        assert "%s" not in script and "{0}" not in script and "codex app" not in script
    assert not ARGV_SENTINEL.startswith("-")


@pytest.mark.parametrize(
    "kwargs",
    [{"app_path": "Applications/Codex.app"}, {"app_name": " "}, {"command_timeout_s": 0}],
)
def test_desktop_bridge_rejects_bad_configuration(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MacOSDesktopBridge(**kwargs)  # type: ignore[arg-type]
