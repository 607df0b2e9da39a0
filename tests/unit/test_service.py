"""The login service (issue 12.3): the generated unit and plist, install/uninstall
idempotence with fake ``systemctl``/``launchctl`` processes, no secret in a unit file."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codexremote.service.manager import ServicePlatform, install, status, uninstall
from codexremote.service.units import launchd_plist, systemd_quote, systemd_unit
from tests.harness.service_managers import FakeServiceManagers

ARGV = [
    "/opt/venv/bin/python",
    "-m",
    "codexremote.cli",
    "serve",
    "--state-dir",
    "/home/anna/.config/codexremote",
    "--tailscale",
    "--advertise-host",
    "a b%$c",
    "--log-file",
    "/home/anna/.config/codexremote/logs/companion.log",
]
ENV = {"PATH": "/usr/local/bin:/usr/bin", "OPENAI_API_KEY": "sk-secret-key-1234567890"}
SECRET = "sk-secret-key-1234567890"


def test_systemd_unit_text_is_exact() -> None:
    assert systemd_unit(ARGV, ENV) == (
        "# Written by `codexremote service install`; remove with `codexremote service "
        "uninstall`.\n"
        "[Unit]\n"
        "Description=codex-remote companion (drive Codex from your phone)\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        "ExecStart=/opt/venv/bin/python -m codexremote.cli serve --state-dir "
        '/home/anna/.config/codexremote --tailscale --advertise-host "a b%%$$c" '
        "--log-file /home/anna/.config/codexremote/logs/companion.log\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "UMask=0077\n"
        "Environment=PATH=/usr/local/bin:/usr/bin\n"
        "Environment=PYTHONUNBUFFERED=1\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )
    assert SECRET not in systemd_unit(ARGV, ENV)


def test_systemd_quoting() -> None:
    assert systemd_quote("plain") == "plain"
    assert systemd_quote("") == '""'
    assert systemd_quote('say "hi"\\') == '"say \\"hi\\"\\\\"'
    assert systemd_quote("100%") == "100%%"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_systemd_analyze_accepts_the_unit(tmp_path: Path) -> None:
    unit = tmp_path / "codexremote.service"
    argv = [sys.executable, *ARGV[1:]]
    unit.write_text(systemd_unit(argv, ENV))
    # System mode: `--user` needs a user session bus, which CI has not. The check is the
    # same for the unit's syntax, keys and ExecStart.
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (0, "")
    unit.write_text(systemd_unit(argv, ENV).replace("UMask=", "UMsk="))  # the check bites
    broken = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert "Unknown key 'UMsk'" in broken.stderr


def test_launchd_plist_is_exact_and_secret_free(tmp_path: Path) -> None:
    data = launchd_plist(ARGV, ENV, Path("/home/anna/.config/codexremote/logs/service.out"))
    assert SECRET.encode() not in data
    assert plistlib.loads(data) == {
        "Label": "com.codexremote.companion",
        "ProgramArguments": ARGV,
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 10,
        "EnvironmentVariables": {"PATH": "/usr/local/bin:/usr/bin", "PYTHONUNBUFFERED": "1"},
        "StandardOutPath": "/home/anna/.config/codexremote/logs/service.out",
        "StandardErrorPath": "/home/anna/.config/codexremote/logs/service.out",
        "Umask": 0o077,
    }
    if shutil.which("plutil"):
        path = tmp_path / "x.plist"
        path.write_bytes(data)
        assert subprocess.run(["plutil", "-lint", str(path)]).returncode == 0


@pytest.mark.parametrize("name", ["systemd", "launchd"])
def test_install_and_uninstall_are_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    fake = FakeServiceManagers(tmp_path / "fake")
    monkeypatch.setenv("PATH", fake.path_env())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    platform = ServicePlatform(name, tmp_path / "home", tmp_path / "state")
    flags = ["--tailscale", "--port", "9000"]

    first = install(platform, sys.executable, flags, ENV)
    assert first.startswith("installed: ")
    content = platform.unit_path.read_bytes()
    assert b"--tailscale" in content and SECRET.encode() not in content
    assert platform.unit_path.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "state" / "logs").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700  # serve refuses 0755
    calls_after_first = len(fake.calls)
    second = install(platform, sys.executable, flags, ENV)
    assert second.startswith("already installed: ")
    assert platform.unit_path.read_bytes() == content
    assert status(platform)[0] is True

    if name == "systemd":
        assert fake.calls[:3] == [
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "codexremote.service"],
            ["systemctl", "--user", "restart", "codexremote.service"],
        ]
        # unchanged: start (a no-op when it runs), never a restart
        assert fake.calls[calls_after_first + 2] == [
            "systemctl",
            "--user",
            "start",
            "codexremote.service",
        ]
    else:
        bootstraps = [c for c in fake.calls if c[1] == "bootstrap"]
        assert len(bootstraps) == 1  # loaded once, not again when unchanged

    changed = install(platform, sys.executable, [*flags, "--qr", "app"], ENV)
    assert changed.startswith("installed: ")

    assert uninstall(platform).startswith("uninstalled: removed ")
    assert not platform.unit_path.exists()
    assert uninstall(platform).startswith("not installed (")
    assert status(platform)[0] is False
