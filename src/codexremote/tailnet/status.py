"""``tailscale status --json`` → this machine's tailnet name, or what to fix.

Each problem is one line with its fix, in the order a new user meets them:
installed, daemon running, logged in, MagicDNS name, HTTPS certificates.
Field names are those of tailscale's ``ipnstate.Status`` (stable since 1.x):
``Version``, ``BackendState``, ``Self.DNSName``, ``Self.Capabilities`` /
``Self.CapMap`` (``https``), ``CertDomains``, ``CurrentTailnet``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codexremote.pairing.commands import CommandRunner, run_command

STATUS_TIMEOUT_S = 5.0  # normally milliseconds; a wedged daemon must not hang `serve`
MACOS_TAILSCALE_APP = Path("/Applications/Tailscale.app/Contents/MacOS/Tailscale")
ADMIN_DNS_URL = "https://login.tailscale.com/admin/dns"
DOWNLOAD_URL = "https://tailscale.com/download"


@dataclass(frozen=True)
class TailnetProblem:
    what: str
    fix: str

    def line(self) -> str:
        return f"{self.what} (fix: {self.fix})"


class TailnetUnavailable(Exception):
    """The tailnet cannot publish the companion; ``problems`` says why and what to do."""

    def __init__(self, problems: list[TailnetProblem]) -> None:
        super().__init__("; ".join(p.line() for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class TailnetInfo:
    binary: str
    version: tuple[int, int, int] | None  # None: not parseable (assume current syntax)
    dns_name: str  # MagicDNS name without the trailing dot, e.g. mac.tail1234.ts.net
    tailnet: str | None  # CurrentTailnet.Name, for the log

    @property
    def origin(self) -> str:
        """The https origin a browser shows for the published companion (port 443)."""
        return f"https://{self.dns_name}"


def tailscale_binary(which: Callable[[str], str | None] = shutil.which) -> str | None:
    """``tailscale`` on PATH, else the CLI inside the macOS app (not on PATH by default)."""
    found = which("tailscale")
    if found is not None:
        return found
    return str(MACOS_TAILSCALE_APP) if MACOS_TAILSCALE_APP.is_file() else None


def parse_version(text: Any) -> tuple[int, int, int] | None:
    match = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?", text) if isinstance(text, str) else None
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


NOT_RUNNING_FIX = (
    "start the Tailscale app (macOS) or `sudo systemctl enable --now tailscaled` (Linux)"
)
BACKEND_PROBLEMS = {
    "NeedsLogin": TailnetProblem(
        "this computer is not logged in to a tailnet", "run `tailscale up` and log in"
    ),
    "NeedsMachineAuth": TailnetProblem(
        "this computer waits for approval by the tailnet's admin",
        "approve it in the admin console (https://login.tailscale.com/admin/machines)",
    ),
    "Stopped": TailnetProblem("Tailscale is stopped on this computer", "run `tailscale up`"),
    "Starting": TailnetProblem("Tailscale is still starting", "wait a few seconds and retry"),
    "NoState": TailnetProblem("Tailscale is still starting", "wait a few seconds and retry"),
}


def _https_enabled(me: dict[str, Any], status: dict[str, Any]) -> bool:
    domains = status.get("CertDomains")
    if isinstance(domains, list) and any(isinstance(d, str) and d for d in domains):
        return True
    capabilities = me.get("Capabilities")
    if isinstance(capabilities, list) and "https" in capabilities:
        return True
    cap_map = me.get("CapMap")
    return isinstance(cap_map, dict) and "https" in cap_map


def evaluate_status(binary: str, text: str) -> TailnetInfo | list[TailnetProblem]:
    """The problems in a status document that answered (exit 0), else the info."""
    try:
        status = json.loads(text)
    except ValueError:
        status = None
    if not isinstance(status, dict):
        return [TailnetProblem("`tailscale status --json` printed no JSON", "update Tailscale")]
    state = status.get("BackendState")
    if state != "Running":
        known = BACKEND_PROBLEMS.get(str(state))
        return [known or TailnetProblem(f"Tailscale is {state}", "run `tailscale up`")]
    me = status.get("Self") if isinstance(status.get("Self"), dict) else {}
    assert isinstance(me, dict)
    tailnet = status.get("CurrentTailnet") if isinstance(status.get("CurrentTailnet"), dict) else {}
    assert isinstance(tailnet, dict)
    problems = []
    dns_name = me.get("DNSName")
    name = dns_name.rstrip(".") if isinstance(dns_name, str) else ""
    if tailnet.get("MagicDNSEnabled") is False or not name:
        problems.append(
            TailnetProblem(
                "MagicDNS is off: this computer has no <name>.ts.net name",
                f"enable MagicDNS in the admin console ({ADMIN_DNS_URL})",
            )
        )
    if not _https_enabled(me, status):
        problems.append(
            TailnetProblem(
                "HTTPS certificates are not enabled for this tailnet",
                f"enable HTTPS Certificates in the admin console ({ADMIN_DNS_URL})",
            )
        )
    if problems:
        return problems
    label = tailnet.get("Name")
    return TailnetInfo(
        binary=binary,
        version=parse_version(status.get("Version")),
        dns_name=name.lower(),
        tailnet=label if isinstance(label, str) else None,
    )


async def inspect_tailnet(
    *,
    runner: CommandRunner = run_command,
    which: Callable[[str], str | None] = shutil.which,
) -> TailnetInfo:
    """Raise TailnetUnavailable with every problem found, else this machine's info."""
    binary = tailscale_binary(which)
    if binary is None:
        raise TailnetUnavailable(
            [TailnetProblem("Tailscale is not installed", f"install it from {DOWNLOAD_URL}")]
        )
    try:
        result = await runner([binary, "status", "--json"], STATUS_TIMEOUT_S)
    except OSError as exc:
        raise TailnetUnavailable(
            [TailnetProblem(f"{binary} does not run: {exc}", f"reinstall from {DOWNLOAD_URL}")]
        ) from exc
    if result.timed_out:
        raise TailnetUnavailable(
            [TailnetProblem("`tailscale status` did not answer in 5 s", NOT_RUNNING_FIX)]
        )
    if result.returncode != 0:
        # A stopped or logged-out daemon still answers 0 with a JSON document: a
        # non-zero exit means the CLI could not reach tailscaled at all.
        first = (result.stderr.strip().splitlines() or ["no output"])[0][:200]
        raise TailnetUnavailable(
            [TailnetProblem(f"tailscaled is not running ({first})", NOT_RUNNING_FIX)]
        )
    found = evaluate_status(binary, result.stdout)
    if isinstance(found, list):
        raise TailnetUnavailable(found)
    return found
