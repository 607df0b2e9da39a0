"""Registers the pairing, device and approval commands (filled in as those land)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def register(commands: Any, add_common: Callable[[Any], None]) -> None:
    return None
