"""``codexremote doctor``: one line per check, with a fix hint, non-zero on failure."""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import tomllib
from dataclasses import dataclass
from datetime import datetime

from codexremote.dictation import DictationConfig, probe_endpoint
from codexremote.launcher import CodexNotFound, resolve_codex_bin
from codexremote.netcheck import UnsafeBind, check_bind_policy, port_available
from codexremote.push.subscriptions import SUBSCRIPTIONS_FILE, load_subscriptions
from codexremote.settings import Settings
from codexremote.storage import InsecurePermissions

VERSION_TIMEOUT_S = 10.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        hint = f" (fix: {self.fix})" if (self.fix and not self.ok) else ""
        return f"{mark} {self.name}: {self.detail}{hint}"


def check_codex(settings: Settings) -> Check:
    try:
        binary = resolve_codex_bin(settings)
    except CodexNotFound as exc:
        return Check("codex", False, str(exc), "npm install -g @openai/codex")
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("codex", False, f"{binary} did not run: {exc}", "reinstall codex")
    if out.returncode != 0:
        return Check("codex", False, f"{binary} --version failed", "reinstall codex")
    return Check("codex", True, f"{out.stdout.strip()} at {binary}")


def check_codex_home(settings: Settings) -> Check:
    home = settings.codex_home
    if not home.exists():
        return Check("codex home", True, f"{home} does not exist yet (codex creates it)")
    if not os.access(home, os.R_OK | os.W_OK | os.X_OK):
        return Check("codex home", False, f"{home} is not readable/writable", f"chmod u+rwx {home}")
    config = home / "config.toml"
    if config.exists():
        try:
            tomllib.loads(config.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            return Check("config.toml", False, f"{config} does not parse: {exc}", "fix the file")
        return Check("codex home", True, f"{home}, config.toml parses")
    return Check("codex home", True, f"{home} (no config.toml)")


def check_git() -> Check:
    git = shutil.which("git")
    if git is None:
        return Check("git", False, "git is not on PATH", "install git")
    return Check("git", True, git)


def check_state_dir(settings: Settings) -> Check:
    state = settings.state_dir
    if not state.exists():
        return Check("state dir", True, f"{state} will be created with mode 700")
    mode = stat.S_IMODE(state.stat().st_mode)
    if mode & 0o077:
        return Check("state dir", False, f"{state} has mode {mode:o}", f"chmod 700 {state}")
    return Check("state dir", True, f"{state} (mode {mode:o})")


def check_port(settings: Settings) -> Check:
    if port_available(settings.host, settings.port):
        return Check("port", True, f"{settings.host}:{settings.port} is free")
    return Check(
        "port",
        False,
        f"{settings.host}:{settings.port} is in use",
        "stop the other process or pass --port",
    )


def check_transport(settings: Settings) -> Check:
    if (settings.tls_cert is None) != (settings.tls_key is None):
        return Check("tls", False, "only one of --tls-cert/--tls-key given", "pass both")
    for path in (settings.tls_cert, settings.tls_key):
        if path is not None and not os.access(path, os.R_OK):
            return Check("tls", False, f"{path} is not readable", "check the path")
    try:
        warning = check_bind_policy(
            settings.host, tls=settings.tls_enabled, insecure_http=settings.insecure_http
        )
    except UnsafeBind as exc:
        return Check("transport", False, str(exc), "use TLS or a loopback/tailnet address")
    detail = f"{settings.scheme} on {settings.host}"
    return Check("transport", True, detail + (f" (warning: {warning})" if warning else ""))


def check_dictation(settings: Settings, *, probe: bool = False) -> Check:
    """Configured or not is informational (dictation is optional); a probe that
    fails, or a key that would travel in clear, is a failure."""
    config = DictationConfig.from_settings(settings)
    if not config.configured:
        return Check(
            "dictation",
            True,
            f"not configured (no API key for {config.base_url}); the phone's microphone "
            "button answers 503",
        )
    auth = "API key set" if config.api_key else "no key (loopback)"
    detail = f"{config.model} at {config.endpoint}, {auth}"
    if config.key_in_clear:
        return Check(
            "dictation",
            False,
            detail + ": the key would be sent over plain http",
            "use an https:// base URL",
        )
    if not probe:
        return Check("dictation", True, detail + " (--check-dictation tests it)")
    ok, outcome = probe_endpoint(config)
    return Check("dictation", ok, f"{detail}; {outcome}", "check the base URL and the key")


def check_push(settings: Settings) -> Check:
    """How many devices have push, when a delivery last succeeded, and whether
    pushes can be sent at all (no ``push_contact``: nothing is sent)."""
    try:
        subscriptions = list(load_subscriptions(settings.state_dir / SUBSCRIPTIONS_FILE).values())
    except (OSError, InsecurePermissions) as exc:
        return Check("push", False, f"cannot read the subscriptions: {exc}", "chmod 600 the file")
    devices = {s.deviceId for s in subscriptions}
    last = max((s.lastSuccessAt for s in subscriptions if s.lastSuccessAt), default=None)
    when = (
        datetime.fromtimestamp(last / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        if last
        else "never"
    )
    detail = f"{len(devices)} device(s) with push, last delivery succeeded: {when}"
    if settings.push_contact is None:
        if not devices:
            return Check("push", True, "off (set push_contact to send Web Push)")
        return Check(
            "push",
            False,
            detail + "; push_contact is not set, so nothing is sent",
            "set CODEXREMOTE_PUSH_CONTACT=mailto:you@example.com",
        )
    return Check("push", True, f"{detail}; contact {settings.push_contact}")


def check_tailscale(settings: Settings) -> list[Check]:
    """The same checks as ``serve --tailscale``. Without the flag a problem is
    information (the tailnet is optional), with it a failure."""
    from codexremote.cli.tailnet import doctor_problems

    detail, problems = doctor_problems(settings)
    if not problems:
        return [Check("tailscale", True, detail)]
    if not settings.tailscale:
        first = problems[0].split(" (fix: ")[0]
        return [Check("tailscale", True, f"not used ({first}); `serve --tailscale` needs it")]
    checks = []
    for line in problems:
        what, _, fix = line.partition(" (fix: ")
        checks.append(Check("tailscale", False, what, fix.removesuffix(")")))
    return checks


def run(args: argparse.Namespace, settings: Settings) -> int:
    return run_doctor(settings, check_dictation_endpoint=args.check_dictation)


def run_doctor(settings: Settings, *, check_dictation_endpoint: bool = False) -> int:
    checks = [
        check_codex(settings),
        check_codex_home(settings),
        check_git(),
        check_state_dir(settings),
        check_port(settings),
        check_transport(settings),
        check_dictation(settings, probe=check_dictation_endpoint),
        check_push(settings),
        *check_tailscale(settings),
    ]
    for check in checks:
        print(check.line())
    return 0 if all(check.ok for check in checks) else 1
