"""``codexremote app-server restart``: through the running companion's control socket."""

from __future__ import annotations

import argparse
import sys

from codexremote.settings import Settings

APP_SERVER_RESTART_TIMEOUT_S = 30.0  # the companion answers once ready or after 10 s


def restart(args: argparse.Namespace, settings: Settings) -> int:
    """Through the control socket (0600, this user only), like `devices approve`: the
    HTTP route needs a device token this terminal does not have."""
    from codexremote.pairing.control import CompanionNotRunning, control_request

    try:
        reply = control_request(
            settings.state_dir,
            {"cmd": "app-server-restart"},
            timeout_s=APP_SERVER_RESTART_TIMEOUT_S,
        )
    except CompanionNotRunning:
        print(
            "codexremote: no companion is running; start it with `codexremote serve`",
            file=sys.stderr,
        )
        return 2
    except (OSError, ValueError) as exc:
        print(f"codexremote: could not talk to the companion: {exc}", file=sys.stderr)
        return 1
    if not reply.get("ok"):
        print(f"codexremote: {reply.get('error', 'the companion refused')}", file=sys.stderr)
        return 1
    state = reply.get("state")
    print(f"app-server: {state} (generation {reply.get('generation')})")
    return 0 if state == "ready" else 1
