"""Step results, the one-line-per-step output and the JSON report in the state dir."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from codexremote.storage import atomic_write_bytes, ensure_private_dir

Status = Literal["PASS", "FAIL", "SKIP"]
STEP_NAMES = (
    "token",
    "chat",
    "context",
    "git",
    "runtime-config",
    "message",
    "rollout",
    "desktop",
)


class StepFailed(Exception):
    """A step's reason for FAIL (one line, no secret)."""


class StepSkipped(Exception):
    """A step that cannot run here (the reason is what the user needs to know)."""


@dataclass
class StepResult:
    name: str
    status: Status
    seconds: float
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.status:<4} {self.name:<15} {self.seconds:6.2f}s  {self.detail}"


@dataclass
class Report:
    companion_url: str
    trace_id: str
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    steps: list[StepResult] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def passed(self) -> bool:
        return not any(step.status == "FAIL" for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "companionUrl": self.companion_url,
            "traceId": self.trace_id,
            "startedAt": self.started_at,
            "seconds": round(time.monotonic() - self.started, 2),
            "passed": self.passed,
            "steps": [asdict(step) for step in self.steps],
        }

    def write(self, state_dir: Path) -> Path:
        """``<state_dir>/verify/verify-<UTC time>.json`` (0600 in 0700 dirs, atomic)."""
        directory = ensure_private_dir(ensure_private_dir(state_dir) / "verify")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = directory / f"verify-{stamp}-{self.trace_id[-6:]}.json"
        atomic_write_bytes(path, json.dumps(self.to_json(), indent=2).encode() + b"\n")
        return path
