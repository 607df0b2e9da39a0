"""Publishing the companion on the user's tailnet with ``tailscale serve`` (issue 12.1).

``status`` reads ``tailscale status --json`` into either this machine's
MagicDNS name or one line per problem with its fix; ``publish`` adds (and
later removes exactly) the HTTPS-on-443 proxy entry. Knows no HTTP framework.
"""

from __future__ import annotations

from codexremote.tailnet.publish import ServeRefused, TailnetPublication
from codexremote.tailnet.status import (
    TailnetInfo,
    TailnetProblem,
    TailnetUnavailable,
    inspect_tailnet,
    tailscale_binary,
)

__all__ = [
    "ServeRefused",
    "TailnetInfo",
    "TailnetProblem",
    "TailnetPublication",
    "TailnetUnavailable",
    "inspect_tailnet",
    "tailscale_binary",
]
