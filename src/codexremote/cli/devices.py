"""``codexremote pair`` and ``codexremote devices list|pending|revoke|approve|reject``."""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.request
from typing import Any

from codexremote.settings import Settings

PAIR_REQUEST_TIMEOUT_S = 10.0


def _target(args: argparse.Namespace) -> str:
    return " ".join(args.target)


def list_devices(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.pairing.cli_commands import devices_list

    return devices_list(settings.state_dir)


def pending(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.pairing.cli_commands import devices_pending

    return devices_pending(settings.state_dir)


def revoke(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.pairing.cli_commands import devices_revoke

    return devices_revoke(settings.state_dir, _target(args))


def approve(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.pairing.cli_commands import devices_approve

    return devices_approve(settings.state_dir, _target(args))


def reject(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.pairing.cli_commands import devices_reject

    return devices_reject(settings.state_dir, _target(args))


def pair(args: argparse.Namespace, settings: Settings) -> int:
    """Asks the running companion (on loopback) for a fresh offer and prints it."""
    from codexremote.pairing.present import OfferLinks, offer_qr_blocks

    # `pair` takes no TLS flags: try the scheme the settings imply, then the other
    # one, so a companion started with --tls-cert is found too.
    other = "http" if settings.scheme == "https" else "https"
    errors = []
    for scheme in (settings.scheme, other):
        try:
            offer = _request_offer(scheme, settings.port)
            break
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{scheme}: {exc}")
    else:
        print(
            f"codexremote: no companion answered on port {settings.port} "
            f"({'; '.join(errors)}); start it with `codexremote serve`",
            file=sys.stderr,
        )
        return 2
    links = OfferLinks(app_uri=offer["pairingUri"], web_link=offer["webLink"])
    print("\n".join(offer_qr_blocks(links, settings.pairing_qr)))
    print(f"  web client:  {offer['webLink']}")
    print(f"  native app:  {offer['pairingUri']}")
    print("Single use; expires in 2 minutes. Confirm on this computer when asked.")
    return 0


def _request_offer(scheme: str, port: int) -> Any:
    url = f"{scheme}://127.0.0.1:{port}/v1/pairing/request"
    context = None
    if scheme == "https":
        # Our own companion on loopback; its certificate names the tailnet host.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(  # noqa: S310 - a fixed http(s) URL on loopback
        url, data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(  # noqa: S310
        request, timeout=PAIR_REQUEST_TIMEOUT_S, context=context
    ) as response:
        return json.load(response)
