"""Local confirmation channels (SEC-08): dialogs, terminal prompt, composite, selection."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from codexremote.pairing.commands import CommandResult, run_command
from codexremote.pairing.confirmers import (
    CompositeConfirmer,
    ConfirmationRequest,
    ConfirmerUnavailable,
    LinuxDialogConfirmer,
    MacOSDialogConfirmer,
    NoAnswer,
    PlatformInfo,
    SocketConfirmer,
    TerminalConfirmer,
    choose_confirmer,
)

NASTY_NAME = 'Bob\'s "iPhone" \\ \\" " & quit & "\nend run'


def request(name: str = "iPhone", code: str = "123456") -> ConfirmationRequest:
    return ConfirmationRequest(
        request_id="9b2f6a3c-0000-4000-8000-000000000001",
        device_name=name,
        comparison_code=code,
        pairing_id="123e4567-e89b-42d3-a456-426614174000",
    )


class RecordingRunner:
    """Command runner that records argv and returns canned output (no real dialog)."""

    def __init__(self, result: CommandResult) -> None:
        self.result = result
        self.calls: list[tuple[list[str], float]] = []

    async def __call__(self, argv: Sequence[str], timeout_s: float) -> CommandResult:
        self.calls.append((list(argv), timeout_s))
        return self.result


def on_path(name: str) -> str:
    return f"/usr/bin/{name}"


def mac(runner: RecordingRunner, timeout_s: float = 18.0) -> MacOSDialogConfirmer:
    return MacOSDialogConfirmer(
        timeout_s=timeout_s, runner=runner, platform="darwin", which=on_path
    )


# ------------------------------------------------------------------ macOS dialog


def test_sec08_osascript_argv_escaping_name_with_quotes_and_backslashes() -> None:
    confirmer = mac(RecordingRunner(CommandResult(0, "", "")))
    nasty = confirmer.argv(request(NASTY_NAME))
    plain = confirmer.argv(request("iPhone"))
    # The AppleScript source is constant: the device name never becomes code ...
    assert nasty[:-1] == plain[:-1]
    assert nasty[0] == "/usr/bin/osascript"
    assert nasty[1::2][:3] == ["-e", "-e", "-e"]
    script = "\n".join(nasty[2:7:2])
    assert "Bob" not in script and "quit" not in script
    assert script.startswith("on run argv\ndisplay dialog (item 1 of argv)")
    assert 'default button "Decline" cancel button "Decline" giving up after 18' in script
    # ... it travels as one argv item, verbatim apart from stripped control characters.
    message = nasty[-1]
    assert 'Bob\'s "iPhone" \\ \\" " & quit & "end run' in message
    assert "\n" + "Comparison code: 123456" in message
    assert not message.startswith("-")  # osascript's option parsing stops before it


async def test_sec08_osascript_allow_parsing() -> None:
    cases: list[tuple[CommandResult, bool | None]] = [
        (CommandResult(0, "button returned:Allow, gave up:false\n", ""), True),
        (CommandResult(0, "button returned:Decline, gave up:false\n", ""), False),
        (CommandResult(0, "button returned:, gave up:true\n", ""), None),
        (CommandResult(0, "button returned:Allow, gave up:true\n", ""), None),
        (CommandResult(1, "", "0:80: execution error: User canceled. (-128)\n"), False),
        (CommandResult(1, "", "execution error: No user interaction allowed. (-1713)"), None),
        (CommandResult(None, "", ""), None),
    ]
    for result, expected in cases:
        runner = RecordingRunner(result)
        confirmer = mac(runner, timeout_s=7.5)
        if expected is None:
            with pytest.raises(NoAnswer):
                await confirmer.confirm(request())
        else:
            assert await confirmer.confirm(request()) is expected, result
        ((argv, timeout_s),) = runner.calls
        assert "giving up after 7 " in argv[4]
        assert timeout_s > 7.5  # the dialog gives up before the runner kills it


async def test_sec08_macos_dialog_is_unsupported_elsewhere() -> None:
    runner = RecordingRunner(CommandResult(0, "button returned:Allow", ""))
    confirmer = MacOSDialogConfirmer(runner=runner, platform="linux", which=on_path)
    assert "macOS" in (confirmer.unavailable_reason() or "")
    with pytest.raises(NoAnswer):
        await confirmer.confirm(request())
    assert runner.calls == []
    missing = MacOSDialogConfirmer(runner=runner, platform="darwin", which=lambda _: None)
    assert "osascript" in (missing.unavailable_reason() or "")


# ------------------------------------------------------------------ Linux dialog


def test_linux_dialog_availability() -> None:
    def linux(env: dict[str, str], tools: set[str]) -> LinuxDialogConfirmer:
        return LinuxDialogConfirmer(
            platform="linux", env=env, which=lambda n: on_path(n) if n in tools else None
        )

    assert "display" in (linux({}, {"zenity"}).unavailable_reason() or "")
    assert "zenity" in (linux({"DISPLAY": ":0"}, set()).unavailable_reason() or "")
    assert linux({"DISPLAY": ":0"}, {"zenity"}).unavailable_reason() is None
    assert linux({"WAYLAND_DISPLAY": "wayland-0"}, {"kdialog"}).unavailable_reason() is None
    assert linux({"WAYLAND_DISPLAY": "wayland-0"}, {"kdialog"}).tool() == "kdialog"
    assert linux({"DISPLAY": ":0"}, {"kdialog", "zenity"}).tool() == "zenity"
    darwin = LinuxDialogConfirmer(platform="darwin", env={"DISPLAY": ":0"}, which=on_path)
    assert darwin.unavailable_reason() is not None


def test_linux_dialog_argv_keeps_the_name_literal() -> None:
    zenity = LinuxDialogConfirmer(
        timeout_s=18, platform="linux", env={"DISPLAY": ":0"}, which=on_path
    )
    argv = zenity.argv(request("<b>x</b> & co"))
    assert argv[:2] == ["/usr/bin/zenity", "--question"]
    assert "--no-markup" in argv and "--default-cancel" in argv and "--timeout=18" in argv
    (text,) = [a for a in argv if a.startswith("--text=")]
    assert "'<b>x</b> & co'" in text
    kdialog = LinuxDialogConfirmer(
        platform="linux",
        env={"DISPLAY": ":0"},
        which=lambda n: on_path(n) if n == "kdialog" else None,
    )
    argv = kdialog.argv(request("<b>x</b>"))
    assert argv[0] == "/usr/bin/kdialog" and argv[-2] == "--yesno"
    assert "<b>" not in argv[-1] and "\u2039b\u203ax" in argv[-1]


@pytest.fixture
def fake_dialog_bin(tmp_path: Path) -> Iterator[Path]:
    """A real executable standing in for zenity: records argv, answers per env."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "zenity"
    script.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$@" > "$FAKE_DIALOG_DIR/argv"\n'
        'echo $$ > "$FAKE_DIALOG_DIR/pid"\n'
        'if [ -n "$FAKE_DIALOG_SLEEP" ]; then sleep "$FAKE_DIALOG_SLEEP"; fi\n'
        'exit "${FAKE_DIALOG_EXIT:-0}"\n'
    )
    script.chmod(0o755)
    yield bin_dir


def zenity_in(bin_dir: Path, timeout_s: float = 18.0) -> LinuxDialogConfirmer:
    return LinuxDialogConfirmer(
        timeout_s=timeout_s,
        platform="linux",
        env={"DISPLAY": ":0"},
        which=lambda n: str(bin_dir / n) if (bin_dir / n).exists() else None,
    )


@pytest.mark.parametrize(("exit_code", "expected"), [(0, True), (1, False), (5, None), (255, None)])
async def test_linux_dialog_exit_codes_with_a_real_process(
    fake_dialog_bin: Path,
    monkeypatch: pytest.MonkeyPatch,
    exit_code: int,
    expected: bool | None,
) -> None:
    monkeypatch.setenv("FAKE_DIALOG_DIR", str(fake_dialog_bin))
    monkeypatch.setenv("FAKE_DIALOG_EXIT", str(exit_code))
    confirmer = zenity_in(fake_dialog_bin)
    if expected is None:
        with pytest.raises(NoAnswer):
            await confirmer.confirm(request(NASTY_NAME))
    else:
        assert await confirmer.confirm(request(NASTY_NAME)) is expected
    recorded = (fake_dialog_bin / "argv").read_text()
    assert 'Bob\'s "iPhone" \\ \\" " & quit & "end run' in recorded


async def test_sec08_a_dialog_answered_elsewhere_is_closed(
    fake_dialog_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DIALOG_DIR", str(fake_dialog_bin))
    monkeypatch.setenv("FAKE_DIALOG_SLEEP", "30")
    socket_channel = SocketConfirmer()
    composite = CompositeConfirmer([zenity_in(fake_dialog_bin), socket_channel])
    task = asyncio.create_task(composite.confirm(request()))
    pid_file = fake_dialog_bin / "pid"
    while not (pid_file.exists() and socket_channel.pending()):
        await asyncio.sleep(0.01)
    dialog_pid = int(pid_file.read_text())
    socket_channel.resolve("123456", allow=True)
    assert await asyncio.wait_for(task, 5) is True
    with pytest.raises(ProcessLookupError):
        os.kill(dialog_pid, 0)  # killed and reaped, not left on screen


async def test_run_command_kills_on_timeout() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await run_command(["sleep", "10"], 0.2)
    assert result.timed_out and result.returncode is None
    assert loop.time() - started < 3


# ------------------------------------------------------------------ terminal prompt


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, int]]:
    leader, follower = os.openpty()
    yield leader, follower
    os.close(leader)
    os.close(follower)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [(b"y\n", True), (b"YES\n", True), (b"n\n", False), (b"\n", False), (b"maybe\nyes\n", True)],
)
async def test_sec08_terminal_prompt_on_a_real_tty(
    pty_pair: tuple[int, int], typed: bytes, expected: bool
) -> None:
    leader, follower = pty_pair
    out = io.StringIO()
    confirmer = TerminalConfirmer(input_fd=follower, output=out)
    assert confirmer.unavailable_reason() is None
    task = asyncio.create_task(confirmer.confirm(request("Anna's iPhone")))
    await asyncio.sleep(0.05)
    os.write(leader, typed)
    assert await asyncio.wait_for(task, 5) is expected
    shown = out.getvalue()
    assert "Allow pairing for device 'Anna's iPhone'?" in shown
    assert "Comparison code: 123456" in shown and "Allow? [y/N]" in shown
    if typed.startswith(b"maybe"):
        assert "Please answer y or n" in shown


async def test_sec08_terminal_prompt_needs_a_tty() -> None:
    read_end, write_end = os.pipe()
    try:
        confirmer = TerminalConfirmer(input_fd=read_end, output=io.StringIO())
        assert confirmer.unavailable_reason() == "stdin is not a terminal"
        with pytest.raises(NoAnswer):
            await confirmer.confirm(request())
    finally:
        os.close(read_end)
        os.close(write_end)


async def test_sec08_terminal_prompt_withdrawn_when_answered_elsewhere(
    pty_pair: tuple[int, int],
) -> None:
    leader, follower = pty_pair
    out = io.StringIO()
    socket_channel = SocketConfirmer()
    terminal = TerminalConfirmer(input_fd=follower, output=out)
    composite = CompositeConfirmer([terminal, socket_channel])
    task = asyncio.create_task(composite.confirm(request()))
    while not socket_channel.pending():
        await asyncio.sleep(0.01)
    socket_channel.resolve(socket_channel.pending()[0].request_id, allow=False)
    assert await asyncio.wait_for(task, 5) is False
    assert "answered elsewhere" in out.getvalue()
    # The terminal reader is gone: a later prompt still reads its own answer.
    again = asyncio.create_task(terminal.confirm(request()))
    await asyncio.sleep(0.05)
    os.write(leader, b"y\n")
    assert await asyncio.wait_for(again, 5) is True


# ------------------------------------------------------------------ composite and choice


class Unavailable:
    name = "broken"

    def unavailable_reason(self) -> str | None:
        return "broken on purpose"

    async def confirm(self, request: ConfirmationRequest) -> bool:
        raise NoAnswer("broken on purpose")


async def test_sec08_composite_skips_channels_without_an_answer() -> None:
    socket_channel = SocketConfirmer()
    composite = CompositeConfirmer([Unavailable(), socket_channel])
    task = asyncio.create_task(composite.confirm(request()))
    while not socket_channel.pending():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)
    assert not task.done()  # the broken channel's NoAnswer is not a denial
    socket_channel.resolve("123456", allow=True)
    assert await task is True


async def test_sec08_composite_without_any_answering_channel() -> None:
    with pytest.raises(NoAnswer):
        await CompositeConfirmer([Unavailable()]).confirm(request())


async def test_sec08_composite_timeout_is_reject() -> None:
    socket_channel = SocketConfirmer()
    composite = CompositeConfirmer([socket_channel], timeout_s=0.1)
    assert await composite.confirm(request()) is False
    assert socket_channel.pending() == []


def platform_info(platform: str, env: dict[str, str], tty: bool, tools: set[str]) -> PlatformInfo:
    return PlatformInfo(
        platform=platform,
        env=env,
        stdin_is_tty=tty,
        which=lambda n: on_path(n) if n in tools else None,
    )


def test_sec08_choose_confirmer_auto() -> None:
    socket_channel = SocketConfirmer()

    def names(info: PlatformInfo, mode: str = "auto") -> list[str]:
        return choose_confirmer(mode, socket=socket_channel, platform=info).channel_names

    assert names(platform_info("darwin", {}, False, {"osascript"})) == ["macos-dialog", "socket"]
    assert names(platform_info("darwin", {}, True, {"osascript"})) == [
        "macos-dialog",
        "terminal",
        "socket",
    ]
    desktop = platform_info("linux", {"DISPLAY": ":0"}, False, {"zenity"})
    assert names(desktop) == ["linux-dialog", "socket"]
    headless = choose_confirmer(
        "auto", socket=socket_channel, platform=platform_info("linux", {}, True, set())
    )
    assert headless.channel_names == ["terminal", "socket"]
    assert set(headless.skipped) == {"macos-dialog", "linux-dialog"}
    assert names(platform_info("linux", {}, False, set())) == ["socket"]
    assert names(desktop, "socket") == ["socket"]
    tty_desktop = platform_info("linux", {"DISPLAY": ":0"}, True, {"zenity"})
    assert names(tty_desktop, "terminal") == ["terminal", "socket"]
    assert (
        choose_confirmer("auto", socket=socket_channel, platform=desktop).channels[-1]
        is socket_channel
    )


def test_sec08_choose_confirmer_explicit_but_unavailable() -> None:
    with pytest.raises(ConfirmerUnavailable, match="macOS"):
        choose_confirmer(
            "macos", socket=SocketConfirmer(), platform=platform_info("linux", {}, True, set())
        )
    with pytest.raises(ValueError):
        choose_confirmer("http", socket=SocketConfirmer())
