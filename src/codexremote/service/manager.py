"""Install, remove and report the login service with the platform's own manager.

Linux: ``~/.config/systemd/user/codexremote.service`` with ``systemctl --user``.
macOS: ``~/Library/LaunchAgents/com.codexremote.companion.plist`` with
``launchctl bootstrap/bootout gui/<uid>``. Install and uninstall are
idempotent: installing again rewrites the file and restarts the service only
when something changed; uninstalling what is not installed says so and succeeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codexremote.service.logfile import default_log_file, ensure_private_tree
from codexremote.service.units import (
    LAUNCHD_LABEL,
    UNIT_NAME,
    launchd_plist,
    service_argv,
    systemd_unit,
)
from codexremote.storage import atomic_write_bytes

COMMAND_TIMEOUT_S = 30.0


class ServiceError(Exception):
    """One line for the user (the manager's own error included)."""


@dataclass(frozen=True)
class ServicePlatform:
    name: str  # "systemd" | "launchd"
    home: Path
    state_dir: Path

    @classmethod
    def detect(cls, state_dir: Path, home: Path | None = None) -> ServicePlatform:
        if sys.platform == "darwin":
            return cls("launchd", home or Path.home(), state_dir)
        if sys.platform.startswith("linux"):
            return cls("systemd", home or Path.home(), state_dir)
        raise ServiceError(f"no login service support on {sys.platform}")

    @property
    def unit_path(self) -> Path:
        if self.name == "launchd":
            return self.home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
        base = os.environ.get("XDG_CONFIG_HOME") or str(self.home / ".config")
        return Path(base) / "systemd" / "user" / UNIT_NAME

    @property
    def log_file(self) -> Path:
        return default_log_file(self.state_dir)

    def render(self, python: str, serve_flags: Sequence[str], env: dict[str, str]) -> bytes:
        argv = service_argv(python, serve_flags, self.log_file)
        if self.name == "launchd":
            return launchd_plist(argv, env, self.log_file.with_name("service.out"))
        return systemd_unit(argv, env).encode()


def _run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceError(f"`{' '.join(argv)}` did not run: {exc}") from exc
    if check and result.returncode != 0:
        first = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[0]
        raise ServiceError(f"`{' '.join(argv)}` failed: {first[:200]}")
    return result


def _domain() -> str:
    return f"gui/{os.getuid()}"


def install(
    platform: ServicePlatform, python: str, serve_flags: Sequence[str], env: dict[str, str]
) -> str:
    content = platform.render(python, serve_flags, env)
    path = platform.unit_path
    unchanged = path.exists() and path.read_bytes() == content
    ensure_private_tree(platform.log_file.parent)
    if not unchanged:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, content, mode=0o644)
    if platform.name == "systemd":
        _run(["systemctl", "--user", "daemon-reload"])
        _run(["systemctl", "--user", "enable", UNIT_NAME])
        action = "start" if unchanged else "restart"  # start: no-op when running
        _run(["systemctl", "--user", action, UNIT_NAME])
    else:
        if not unchanged:
            _run(["launchctl", "bootout", f"{_domain()}/{LAUNCHD_LABEL}"], check=False)
        loaded = _run(["launchctl", "print", f"{_domain()}/{LAUNCHD_LABEL}"], check=False)
        if loaded.returncode != 0:
            _run(["launchctl", "bootstrap", _domain(), str(path)])
    verb = "already installed" if unchanged else "installed"
    return f"{verb}: {path} (logs: {platform.log_file})"


def uninstall(platform: ServicePlatform) -> str:
    path = platform.unit_path
    if not path.exists():
        return f"not installed ({path} does not exist)"
    if platform.name == "systemd":
        _run(["systemctl", "--user", "disable", "--now", UNIT_NAME], check=False)
        path.unlink()
        _run(["systemctl", "--user", "daemon-reload"])
    else:
        _run(["launchctl", "bootout", f"{_domain()}/{LAUNCHD_LABEL}"], check=False)
        path.unlink()
    return f"uninstalled: removed {path}"


def status(platform: ServicePlatform) -> tuple[bool, str]:
    """(running, one line)."""
    path = platform.unit_path
    if not path.exists():
        return False, f"not installed (would be {path})"
    if platform.name == "systemd":
        state = _run(["systemctl", "--user", "is-active", UNIT_NAME], check=False).stdout.strip()
        running = state == "active"
    else:
        out = _run(["launchctl", "print", f"{_domain()}/{LAUNCHD_LABEL}"], check=False).stdout
        running = "state = running" in out
        state = "running" if running else "not running"
    return running, f"{state or 'unknown'}: {path} (logs: {platform.log_file})"
