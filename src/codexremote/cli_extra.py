"""The pairing, device and approval commands of the ``codexremote`` CLI."""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from codexremote.settings import Settings

PAIR_REQUEST_TIMEOUT_S = 10.0


def _leaf_common(parser: argparse.ArgumentParser) -> None:
    """--state-dir/--codex-home also after the subcommand (SUPPRESS keeps a value given
    before it: argparse would otherwise overwrite it with the leaf's default)."""
    parser.add_argument("--state-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("--codex-home", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def register(commands: Any, add_common: Callable[[Any], None]) -> None:
    pair = commands.add_parser("pair", help="show a pairing QR code of the running companion")
    add_common(pair)
    pair.add_argument("--port", type=int, help="port of the running companion")
    pair.add_argument(
        "--qr",
        dest="pairing_qr",
        choices=["both", "web", "app"],
        help="pairing QR code(s) to print: web client, iOS app, or both (default)",
    )
    pair.set_defaults(handler=_pair)

    devices = commands.add_parser("devices", help="list, revoke and confirm paired devices")
    add_common(devices)
    device_commands = devices.add_subparsers(dest="devices_command", required=True)
    for name, help_text, handler in (
        ("list", "paired devices", _devices_list),
        ("pending", "pairing requests waiting here", _devices_pending),
    ):
        leaf = device_commands.add_parser(name, help=help_text)
        _leaf_common(leaf)
        leaf.set_defaults(handler=handler)
    for name, handler in (
        ("revoke", _devices_revoke),
        ("approve", _devices_approve),
        ("reject", _devices_reject),
    ):
        sub = device_commands.add_parser(name, help=f"{name} a device or pairing request")
        _leaf_common(sub)
        sub.add_argument("target", nargs="+", help="device id, request id or comparison code")
        sub.set_defaults(handler=handler)

    app_server = commands.add_parser("app-server", help="the codex app-server child")
    add_common(app_server)
    app_server_commands = app_server.add_subparsers(dest="app_server_command", required=True)
    restart = app_server_commands.add_parser(
        "restart", help="restart it now (also after it was given up as dead)"
    )
    _leaf_common(restart)
    restart.set_defaults(handler=_app_server_restart)

    approvals = commands.add_parser("approvals", help="always-allowed MCP tools")
    add_common(approvals)
    approval_commands = approvals.add_subparsers(dest="approvals_command", required=True)
    listing = approval_commands.add_parser("list", help="always-allow entries")
    _leaf_common(listing)
    listing.set_defaults(handler=_approvals_list)
    forget = approval_commands.add_parser("forget", help="remove an always-allow entry")
    _leaf_common(forget)
    forget.add_argument("key")
    forget.set_defaults(handler=_approvals_forget)


def _target(args: argparse.Namespace) -> str:
    return " ".join(args.target)


def _devices_list(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.pairing.cli_commands import devices_list

    return devices_list(settings.state_dir)


def _devices_pending(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.pairing.cli_commands import devices_pending

    return devices_pending(settings.state_dir)


def _devices_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.pairing.cli_commands import devices_revoke

    return devices_revoke(settings.state_dir, _target(args))


def _devices_approve(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.pairing.cli_commands import devices_approve

    return devices_approve(settings.state_dir, _target(args))


def _devices_reject(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.pairing.cli_commands import devices_reject

    return devices_reject(settings.state_dir, _target(args))


def _approvals_list(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.approvals.cli_commands import approvals_list

    return approvals_list(settings.state_dir)


def _approvals_forget(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.approvals.cli_commands import approvals_forget

    return approvals_forget(settings.state_dir, args.key)


APP_SERVER_RESTART_TIMEOUT_S = 30.0  # the companion answers once ready or after 10 s


def _app_server_restart(args: argparse.Namespace, settings: Settings) -> int:
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


def _pair(args: argparse.Namespace, settings: Settings) -> int:
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
