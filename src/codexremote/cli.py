"""Command line entry points: serve, doctor (and the pairing/device/approval commands)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from codexremote import __version__
from codexremote.settings import Settings, settings_from_env

Handler = Callable[[argparse.Namespace, Settings], int]


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", help="private state directory (devices, approvals)")
    parser.add_argument("--codex-home", help="CODEX_HOME of the codex installation")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"])


def _add_server(parser: argparse.ArgumentParser) -> None:
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


def _add_qr(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--qr",
        dest="pairing_qr",
        choices=["both", "web", "app"],
        help="pairing QR code(s) to print: web client, iOS app, or both (default)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codexremote", description=__doc__)
    parser.add_argument("--version", action="version", version=f"codexremote {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the companion")
    _add_common(serve)
    _add_server(serve)
    serve.set_defaults(handler=_serve)

    doctor = commands.add_parser("doctor", help="check the installation")
    _add_common(doctor)
    _add_server(doctor)
    doctor.add_argument(
        "--check-dictation",
        action="store_true",
        help="also ask the transcription endpoint whether it answers",
    )
    doctor.set_defaults(handler=_doctor)

    _register_extra_commands(commands)
    return parser


def _register_extra_commands(commands: Any) -> None:
    """Commands owned by the pairing and approvals packages."""
    from codexremote import cli_extra

    cli_extra.register(commands, _add_common)


def settings_from_args(args: argparse.Namespace) -> Settings:
    fields = Settings.model_fields
    overrides = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    return settings_from_env(overrides)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.serve import serve

    return serve(settings)


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.doctor import run_doctor

    return run_doctor(settings, check_dictation_endpoint=args.check_dictation)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        print(f"codexremote: invalid setting {where}: {first.get('msg')}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
