"""Scenarios for the fake ``tailscale`` (``fake_tailscale.py``) and how to put it on PATH."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

FAKE = Path(__file__).with_name("fake_tailscale.py")
DNS_NAME = "annas-mac.tail1234.ts.net"


def status_doc(
    *,
    state: str = "Running",
    magic_dns: bool = True,
    https: bool = True,
    version: str = "1.76.1-t1234abcd-g5678",
) -> dict[str, Any]:
    """A ``tailscale status --json`` document (shape of 1.7x-1.9x, values invented)."""
    me: dict[str, Any] = {
        "ID": "n1",
        "HostName": "annas-mac",
        "DNSName": f"{DNS_NAME}." if magic_dns else "",
        "TailscaleIPs": ["100.101.102.103", "fd7a:115c:a1e0::1"],
        "Online": True,
    }
    if https:
        me["Capabilities"] = ["https", "funnel"]
        me["CapMap"] = {"https": None}
    return {
        "Version": version,
        "BackendState": state,
        "Self": me,
        "CertDomains": [DNS_NAME] if https and magic_dns else None,
        "CurrentTailnet": {
            "Name": "anna@example.com",
            "MagicDNSSuffix": "tail1234.ts.net",
            "MagicDNSEnabled": magic_dns,
        },
    }


class FakeTailscale:
    """A directory with ``bin/tailscale`` (runs the fake) and the fake's state files."""

    def __init__(self, root: Path, **scenario: Any) -> None:
        self.root = root
        self.bin_dir = root / "bin"
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        wrapper = self.bin_dir / "tailscale"
        # The wrapper names its state directory: the fake works from any environment.
        wrapper.write_text(
            f'#!/bin/sh\nFAKE_TAILSCALE_DIR="{root}" exec "{sys.executable}" "{FAKE}" "$@"\n'
        )
        wrapper.chmod(0o755)
        scenario.setdefault("status", status_doc())
        self.set_scenario(**scenario)

    def set_scenario(self, **scenario: Any) -> None:
        (self.root / "scenario.json").write_text(json.dumps(scenario))

    def set_serve_config(self, config: dict[str, Any]) -> None:
        (self.root / "serve.json").write_text(json.dumps(config))

    @property
    def serve_config(self) -> dict[str, Any]:
        path = self.root / "serve.json"
        return json.loads(path.read_text()) if path.exists() else {}  # type: ignore[no-any-return]

    @property
    def calls(self) -> list[list[str]]:
        path = self.root / "argv.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) with the fake first on PATH."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env
