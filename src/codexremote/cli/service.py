"""``codexremote service install|uninstall|status`` and ``codexremote logs [-f]``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from codexremote.settings import Settings

# serve flags whose value is a path: made absolute, the service runs from elsewhere
PATH_FLAGS = frozenset({"tls_cert", "tls_key", "codex_bin"})
ALWAYS = frozenset({"state_dir", "codex_home", "codex_bin", "log_file"})


def serve_flags(
    args: argparse.Namespace, settings: Settings, actions: Iterable[argparse.Action]
) -> list[str]:
    """The ``serve`` flags given to ``install``, rebuilt in order, plus the state dir,
    CODEX_HOME and codex binary this shell resolves (its environment is not copied)."""
    flags = ["--state-dir", str(settings.state_dir.resolve())]
    flags += ["--codex-home", str(settings.codex_home.resolve())]
    if settings.codex_bin:
        flags += ["--codex-bin", str(Path(settings.codex_bin).resolve())]
    for action in actions:
        if not action.option_strings or action.dest in ALWAYS:
            continue
        value = getattr(args, action.dest, None)
        if value is None or value is False:
            continue
        option = action.option_strings[-1]
        if isinstance(action, argparse._StoreTrueAction):
            flags.append(option)
            continue
        for item in value if isinstance(value, list) else [value]:
            text = str(item)
            if action.dest in PATH_FLAGS:
                text = str(Path(text).resolve())
            flags += [option, text]
    return flags


def install(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.service.manager import ServiceError, ServicePlatform
    from codexremote.service.manager import install as do_install

    try:
        platform = ServicePlatform.detect(settings.state_dir)
        flags = serve_flags(args, settings, args.flag_actions)
        print(do_install(platform, sys.executable, flags, dict(os.environ)))
    except ServiceError as exc:
        print(f"codexremote: {exc}", file=sys.stderr)
        return 1
    return 0


def uninstall(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.service.manager import ServiceError, ServicePlatform
    from codexremote.service.manager import uninstall as do_uninstall

    try:
        print(do_uninstall(ServicePlatform.detect(settings.state_dir)))
    except ServiceError as exc:
        print(f"codexremote: {exc}", file=sys.stderr)
        return 1
    return 0


def status(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.service.manager import ServiceError, ServicePlatform
    from codexremote.service.manager import status as do_status

    try:
        running, line = do_status(ServicePlatform.detect(settings.state_dir))
    except ServiceError as exc:
        print(f"codexremote: {exc}", file=sys.stderr)
        return 1
    print(line)
    return 0 if running else 3  # 3: "not running", as systemctl and LSB use


def logs(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.service.logfile import default_log_file, follow, tail

    path = settings.log_file or default_log_file(settings.state_dir)
    lines = tail(path, args.lines)
    if not lines and not args.follow:
        print(f"codexremote: no log yet at {path}", file=sys.stderr)
        return 1
    sys.stdout.writelines(lines)
    sys.stdout.flush()
    if args.follow:
        try:
            for line in follow(path):
                sys.stdout.write(line)
                sys.stdout.flush()
        except KeyboardInterrupt:
            return 0
    return 0
