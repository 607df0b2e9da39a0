#!/usr/bin/env python3
"""A fake ``systemctl`` / ``launchctl`` (stdlib only): records argv, keeps a tiny state.

No user session bus or launchd exists in CI. Installed as ``bin/systemctl`` and
``bin/launchctl`` by ``service_managers.py``; ``$FAKE_SERVICE_DIR/argv.jsonl``
gets one JSON list per call (``[tool, *args]``) and ``state.json`` whether the
service is enabled/active (systemd) or loaded (launchd), so ``is-active`` and
``print`` answer like the real tools after the commands seen so far.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(os.environ["FAKE_SERVICE_DIR"])


def main(tool: str, args: list[str]) -> int:
    with (ROOT / "argv.jsonl").open("a") as log:
        log.write(json.dumps([tool, *args]) + "\n")
    path = ROOT / "state.json"
    state = json.loads(path.read_text()) if path.exists() else {}
    code = 0
    if tool == "systemctl":
        verb = args[1] if args[:1] == ["--user"] and len(args) > 1 else ""
        if verb in ("start", "restart"):
            state["active"] = True
        elif verb == "enable":
            state["enabled"] = True
        elif verb == "disable":
            state["enabled"] = False
            state["active"] = state.get("active", False) and "--now" not in args
        elif verb == "is-active":
            print("active" if state.get("active") else "inactive")
            code = 0 if state.get("active") else 3
        elif verb != "daemon-reload":
            print(f"fake systemctl: unsupported {args}", file=sys.stderr)
            return 2
    else:
        verb = args[0] if args else ""
        if verb == "bootstrap":
            if state.get("loaded"):
                print("Bootstrap failed: 5: Input/output error", file=sys.stderr)
                return 5
            state["loaded"] = True
        elif verb == "bootout":
            if not state.get("loaded"):
                print("Boot-out failed: 3: No such process", file=sys.stderr)
                code = 3
            state["loaded"] = False
        elif verb == "print":
            if not state.get("loaded"):
                print("Could not find service", file=sys.stderr)
                return 113
            print("gui/501/com.codexremote.companion = {\n\tstate = running\n}")
        else:
            print(f"fake launchctl: unsupported {args}", file=sys.stderr)
            return 2
    path.write_text(json.dumps(state))
    return code


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]).name, sys.argv[2:]))
