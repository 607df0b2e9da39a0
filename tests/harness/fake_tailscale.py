#!/usr/bin/env python3
"""A fake ``tailscale`` CLI (stdlib only): records its argv, answers per scenario.

No tailnet exists in CI, so ``serve --tailscale`` and ``doctor`` drive this
program instead, found on PATH as ``tailscale`` (see ``tailscale.py``). Its
directory ``$FAKE_TAILSCALE_DIR`` holds:

* ``scenario.json``: ``status`` (the document ``status --json`` prints, or null),
  ``status_exit``/``status_stderr``, ``serve_exit``/``serve_stderr`` (for the
  commands that change the serve config);
* ``serve.json``: the serve config (``TCP``/``Web`` as tailscale's ServeConfig),
  changed by the serve commands as the real CLI would;
* ``argv.jsonl``: one JSON list per call, oldest first.

Commands: ``status --json``, ``version``, ``serve status --json``, ``serve --bg
--yes --https=443 <target>``, ``serve --https=443 off`` (1.52+), and the legacy
``serve https:443 / <target> [off]``. Anything else: exit 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(os.environ["FAKE_TAILSCALE_DIR"])


def load(name: str, default: Any) -> Any:
    path = ROOT / name
    return json.loads(path.read_text()) if path.exists() else default


def save(name: str, value: Any) -> None:
    tmp = ROOT / f".{name}.tmp"
    tmp.write_text(json.dumps(value, indent=1, sort_keys=True))
    tmp.replace(ROOT / name)


def fail(code: int, message: str) -> int:
    print(message, file=sys.stderr)
    return code


def dns_name(scenario: dict[str, Any]) -> str:
    status = scenario.get("status") or {}
    return str((status.get("Self") or {}).get("DNSName", "fake.ts.net.")).rstrip(".")


def add(config: dict[str, Any], port: str, target: str, host: str) -> None:
    config.setdefault("TCP", {})[port] = {"HTTPS": True}
    config.setdefault("Web", {})[f"{host}:{port}"] = {"Handlers": {"/": {"Proxy": target}}}


def remove(config: dict[str, Any], port: str) -> None:
    config.get("TCP", {}).pop(port, None)
    for key in [k for k in config.get("Web", {}) if k.endswith(f":{port}")]:
        del config["Web"][key]
    for section in ("TCP", "Web"):
        if section in config and not config[section]:
            del config[section]


def serve(args: list[str], scenario: dict[str, Any]) -> int:
    config = load("serve.json", {})
    if args == ["status", "--json"]:
        print(json.dumps(config, indent=2))
        return 0
    if scenario.get("serve_exit"):
        return fail(int(scenario["serve_exit"]), scenario.get("serve_stderr", "serve failed"))
    host = dns_name(scenario)
    if len(args) == 4 and args[:3] == ["--bg", "--yes", "--https=443"]:
        add(config, "443", args[3], host)
    elif args == ["--https=443", "off"]:
        if "443" not in config.get("TCP", {}):
            return fail(1, "error: handler does not exist")
        remove(config, "443")
    elif len(args) == 3 and args[:2] == ["https:443", "/"]:
        add(config, "443", args[2], host)
    elif len(args) == 4 and args[:2] == ["https:443", "/"] and args[3] == "off":
        remove(config, "443")
    else:
        return fail(2, f"fake tailscale: unsupported serve arguments {args}")
    save("serve.json", config)
    return 0


def main(argv: list[str]) -> int:
    with (ROOT / "argv.jsonl").open("a") as log:
        log.write(json.dumps(argv) + "\n")
    scenario = load("scenario.json", {})
    if argv == ["status", "--json"]:
        if scenario.get("status_exit"):
            return fail(int(scenario["status_exit"]), scenario.get("status_stderr", ""))
        print(json.dumps(scenario.get("status"), indent=2))
        return 0
    if argv == ["version"]:
        print(str((scenario.get("status") or {}).get("Version", "1.76.1")).split("-")[0])
        return 0
    if argv[:1] == ["serve"]:
        return serve(argv[1:], scenario)
    return fail(2, f"fake tailscale: unknown command {argv}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
