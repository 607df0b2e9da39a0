"""Entry point: parse, build the settings, configure logging, run one handler."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from codexremote.cli.parser import build_parser
from codexremote.settings import Settings, settings_from_env

Handler = Callable[[argparse.Namespace, Settings], int]


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Flags that name a Settings field override the environment; the others are
    the command's own."""
    fields = Settings.model_fields
    overrides = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    return settings_from_env(overrides)


def _configure_logging(settings: Settings, command: str) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.log_file is not None and command == "serve":
        from codexremote.service.logfile import file_handler

        logging.getLogger().addHandler(file_handler(settings.log_file))


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
    _configure_logging(settings, args.command)
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130
