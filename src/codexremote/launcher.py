"""Finds the codex binary and spawns ``codex app-server`` as the supervisor's child."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from codexremote.codex.supervisor import Launcher
from codexremote.codex.transport import StdioTransport, Transport
from codexremote.settings import Settings

INSTALL_HINT = "install it with `npm install -g @openai/codex` or pass --codex-bin PATH"


class CodexNotFound(Exception):
    """No usable codex binary; the message is one line with a fix."""


def resolve_codex_bin(settings: Settings) -> str:
    candidate = settings.codex_bin or os.environ.get("CODEXREMOTE_CODEX_BIN")
    if candidate:
        path = Path(candidate).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        found = shutil.which(candidate)
        if found:
            return found
        raise CodexNotFound(f"codex binary not found at {candidate}: {INSTALL_HINT}")
    found = shutil.which("codex")
    if found is None:
        raise CodexNotFound(f"codex is not installed (not on PATH): {INSTALL_HINT}")
    return found


def child_environment(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(base if base is not None else os.environ)
    env["CODEX_HOME"] = str(settings.codex_home)
    env.setdefault("RUST_LOG", "warn")
    return env


def app_server_launcher(codex_bin: str, env: Mapping[str, str]) -> Launcher:
    async def launch() -> Transport:
        ensure_codex_home(env)
        return await StdioTransport.spawn([codex_bin, "app-server"], env)

    return launch


def ensure_codex_home(env: Mapping[str, str]) -> None:
    """codex refuses to start when CODEX_HOME names a missing directory ("CODEX_HOME points
    to ..., but that path does not exist"), while it creates ~/.codex itself when the
    variable is unset. We always pass CODEX_HOME, so a first run on a fresh account
    would never start: create it (0700) as codex would."""
    home = env.get("CODEX_HOME")
    if home:
        Path(home).mkdir(mode=0o700, parents=True, exist_ok=True)
