"""The ``codexremote`` command line: one module per command group.

``parser`` holds every argument definition (one place, so flags shared by
``serve``, ``doctor`` and ``service install`` cannot drift apart); each
command module holds the handlers of one group and imports the domain code it
drives lazily, so ``codexremote --help`` stays fast.
"""

from __future__ import annotations

from codexremote.cli.main import main, settings_from_args
from codexremote.cli.parser import build_parser

__all__ = ["build_parser", "main", "settings_from_args"]
