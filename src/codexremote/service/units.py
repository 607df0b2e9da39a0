"""The service definitions as text: a systemd user unit and a launchd LaunchAgent.

Both start ``<python> -m codexremote.cli serve <flags> --log-file <state>/logs/…``
at login and restart it when it fails (not after a clean stop). The
environment is *not* copied into them: only ``PATH`` (so ``codex``, ``node``,
``git`` and ``tailscale`` are found as in the installing shell) and
``PYTHONUNBUFFERED``. Secrets such as a dictation API key therefore never land
in a unit file; the flags themselves cannot carry one (``serve`` has no flag
for a secret, on purpose: flags show in ``ps``).
"""

from __future__ import annotations

import plistlib
from collections.abc import Sequence
from pathlib import Path

UNIT_NAME = "codexremote.service"
LAUNCHD_LABEL = "com.codexremote.companion"
RESTART_DELAY_S = 5
KEPT_ENV = ("PATH",)


def service_argv(python: str, serve_flags: Sequence[str], log_file: Path) -> list[str]:
    return [python, "-m", "codexremote.cli", "serve", *serve_flags, "--log-file", str(log_file)]


def systemd_quote(arg: str) -> str:
    """One ExecStart word: ``%`` and ``$`` doubled (specifiers, variables), quoted when it
    holds whitespace, quotes or backslashes (systemd.syntax "Quoting")."""
    text = arg.replace("%", "%%").replace("$", "$$")
    if text and not any(c in text for c in " \t\n\"'\\;"):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def systemd_unit(argv: Sequence[str], env: dict[str, str]) -> str:
    environment = "".join(
        f"Environment={systemd_quote(f'{k}={env[k]}')}\n" for k in KEPT_ENV if k in env
    )
    return (
        "# Written by `codexremote service install`; remove with `codexremote service uninstall`.\n"
        "[Unit]\n"
        "Description=codex-remote companion (drive Codex from your phone)\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={' '.join(systemd_quote(a) for a in argv)}\n"
        "Restart=on-failure\n"
        f"RestartSec={RESTART_DELAY_S}\n"
        "UMask=0077\n"
        f"{environment}"
        "Environment=PYTHONUNBUFFERED=1\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launchd_plist(argv: Sequence[str], env: dict[str, str], out_file: Path) -> bytes:
    """``KeepAlive.SuccessfulExit = false``: launchd restarts it only after a failure."""
    environment = {k: env[k] for k in KEPT_ENV if k in env}
    environment["PYTHONUNBUFFERED"] = "1"
    document = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(argv),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": RESTART_DELAY_S * 2,
        "EnvironmentVariables": environment,
        "StandardOutPath": str(out_file),
        "StandardErrorPath": str(out_file),
        "Umask": 0o077,
    }
    return plistlib.dumps(document, sort_keys=False)
