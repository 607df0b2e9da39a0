"""Every argument of the ``codexremote`` command line, in one place.

Handlers live in one module per command group (``serve``, ``doctor``,
``devices``, ``app_server``, ``approvals``); this module only wires flags to
them. Flags that name a :class:`~codexremote.settings.Settings` field become
settings (``main.settings_from_args``); the rest are the command's own.
"""

from __future__ import annotations

import argparse
from typing import Any

from codexremote import __version__
from codexremote.cli import app_server, approvals, devices, doctor, serve, service, verify

DESCRIPTION = "Drive the Codex coding agent on this computer from your phone."


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", help="private state directory (devices, approvals)")
    parser.add_argument("--codex-home", help="CODEX_HOME of the codex installation")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"])


def _leaf_common(parser: argparse.ArgumentParser) -> None:
    """--state-dir/--codex-home also after the subcommand (SUPPRESS keeps a value given
    before it: argparse would otherwise overwrite it with the leaf's default)."""
    parser.add_argument("--state-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("--codex-home", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _add_qr(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--qr",
        dest="pairing_qr",
        choices=["both", "web", "app"],
        help="pairing QR code(s) to print: web client, iOS app, or both (default)",
    )


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of ``serve`` (also taken by ``doctor`` to check the same set-up)."""
    parser.add_argument("--host", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8787)")
    parser.add_argument("--tls-cert", help="PEM certificate (e.g. from `tailscale cert`)")
    parser.add_argument("--tls-key", help="PEM private key")
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        default=None,
        help="allow plain http on a non-loopback, non-tailnet address",
    )
    parser.add_argument("--codex-bin", help="path of the codex binary")
    parser.add_argument("--advertise-host", help="host name to put in pairing links")
    parser.add_argument(
        "--tailscale",
        action="store_true",
        default=None,
        help="publish on your tailnet with `tailscale serve` (https://<name>.ts.net)",
    )
    _add_qr(parser)
    parser.add_argument(
        "--allowed-host", action="append", dest="allowed_hosts", help="extra Host to accept"
    )
    parser.add_argument(
        "--confirmer", choices=["auto", "macos", "linux-dialog", "terminal", "socket"]
    )
    parser.add_argument("--dictation-base-url", help="OpenAI-compatible transcription API base")
    parser.add_argument("--dictation-model", help="transcription model (gpt-4o-transcribe)")
    parser.add_argument("--push-contact", help="VAPID contact for Web Push (mailto: or https:)")
    parser.add_argument("--push-content", choices=["full", "minimal"], help="push text shown")
    parser.add_argument("--push-ttl-s", type=int, help="push TTL in seconds (300-3600)")
    parser.add_argument("--log-file", help="also log to this size-rotated file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codexremote", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"codexremote {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_and_doctor(commands)
    _pairing_commands(commands)
    _verify_command(commands)
    _service_commands(commands)
    _app_server_commands(commands)
    _approval_commands(commands)
    return parser


def _serve_and_doctor(commands: Any) -> None:
    run = commands.add_parser("serve", help="run the companion")
    _add_common(run)
    add_server_flags(run)
    run.set_defaults(handler=serve.run)

    check = commands.add_parser("doctor", help="check the installation")
    _add_common(check)
    add_server_flags(check)
    check.add_argument(
        "--check-dictation",
        action="store_true",
        help="also ask the transcription endpoint whether it answers",
    )
    check.set_defaults(handler=doctor.run)


def _verify_command(commands: Any) -> None:
    check = commands.add_parser(
        "verify", help="closed-loop check of a running companion (8 steps, JSON report)"
    )
    _add_common(check)
    check.add_argument("--port", type=int, help="port of the running companion (8787)")
    check.add_argument("--url", help="companion URL (default http://127.0.0.1:<port>)")
    check.add_argument(
        "--token", help="use this device token instead of pairing (not revoked after)"
    )
    check.add_argument(
        "--start", action="store_true", help="start a companion of its own on a free port"
    )
    check.add_argument("--codex-bin", help="codex binary for --start")
    check.add_argument("--timeout", type=float, default=60.0, help="seconds per waiting step (60)")
    check.set_defaults(handler=verify.run)


def _service_commands(commands: Any) -> None:
    group = commands.add_parser(
        "service", help="run the companion at login (systemd user unit / LaunchAgent)"
    )
    _add_common(group)
    leaves = group.add_subparsers(dest="service_command", required=True)
    install = leaves.add_parser("install", help="install and start it with these serve flags")
    _leaf_common(install)
    add_server_flags(install)
    # The unit gets the serve flags back as parsed: the handler walks these actions.
    install.set_defaults(handler=service.install, flag_actions=tuple(install._actions))
    for name, handler, help_text in (
        ("uninstall", service.uninstall, "stop and remove it"),
        ("status", service.status, "is it installed and running"),
    ):
        leaf = leaves.add_parser(name, help=help_text)
        _leaf_common(leaf)
        leaf.set_defaults(handler=handler)

    logs = commands.add_parser("logs", help="show the companion's log file")
    _add_common(logs)
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=200, help="lines to show (200)")
    logs.add_argument("--log-file", help="log file (default <state-dir>/logs/companion.log)")
    logs.set_defaults(handler=service.logs)


def _pairing_commands(commands: Any) -> None:
    pair = commands.add_parser("pair", help="show a pairing QR code of the running companion")
    _add_common(pair)
    pair.add_argument("--port", type=int, help="port of the running companion")
    _add_qr(pair)
    pair.set_defaults(handler=devices.pair)

    group = commands.add_parser("devices", help="list, revoke and confirm paired devices")
    _add_common(group)
    leaves = group.add_subparsers(dest="devices_command", required=True)
    for name, help_text, handler in (
        ("list", "paired devices", devices.list_devices),
        ("pending", "pairing requests waiting here", devices.pending),
    ):
        leaf = leaves.add_parser(name, help=help_text)
        _leaf_common(leaf)
        leaf.set_defaults(handler=handler)
    for name, handler in (
        ("revoke", devices.revoke),
        ("approve", devices.approve),
        ("reject", devices.reject),
    ):
        leaf = leaves.add_parser(name, help=f"{name} a device or pairing request")
        _leaf_common(leaf)
        leaf.add_argument("target", nargs="+", help="device id, request id or comparison code")
        leaf.set_defaults(handler=handler)


def _app_server_commands(commands: Any) -> None:
    group = commands.add_parser("app-server", help="the codex app-server child")
    _add_common(group)
    leaves = group.add_subparsers(dest="app_server_command", required=True)
    restart = leaves.add_parser(
        "restart", help="restart it now (also after it was given up as dead)"
    )
    _leaf_common(restart)
    restart.set_defaults(handler=app_server.restart)


def _approval_commands(commands: Any) -> None:
    group = commands.add_parser("approvals", help="always-allowed MCP tools")
    _add_common(group)
    leaves = group.add_subparsers(dest="approvals_command", required=True)
    listing = leaves.add_parser("list", help="always-allow entries")
    _leaf_common(listing)
    listing.set_defaults(handler=approvals.list_entries)
    forget = leaves.add_parser("forget", help="remove an always-allow entry")
    _leaf_common(forget)
    forget.add_argument("key")
    forget.set_defaults(handler=approvals.forget)
