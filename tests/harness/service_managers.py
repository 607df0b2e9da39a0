"""Puts the fake ``systemctl`` and ``launchctl`` (fake_service_manager.py) on a PATH."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

FAKE = Path(__file__).with_name("fake_service_manager.py")


class FakeServiceManagers:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin_dir = root / "bin"
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        for tool in ("systemctl", "launchctl"):
            wrapper = self.bin_dir / tool
            wrapper.write_text(
                f'#!/bin/sh\nFAKE_SERVICE_DIR="{root}" exec "{sys.executable}" "{FAKE}" '
                f'"{tool}" "$@"\n'
            )
            wrapper.chmod(0o755)

    @property
    def calls(self) -> list[list[str]]:
        path = self.root / "argv.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def path_env(self) -> str:
        return f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
