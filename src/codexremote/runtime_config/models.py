"""Runtime values shown on the phone and the values the phone may write (wire-api 4.25, 8.4)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# The values the original app offers and the original companion accepts (wire-api 8.4).
APPROVAL_POLICIES: tuple[str, ...] = ("untrusted", "on-failure", "on-request", "never")
SANDBOX_MODES: tuple[str, ...] = ("read-only", "workspace-write", "danger-full-access")

# app-server 0.169.0 exits at start-up when config.toml holds this value; it is only accepted
# as the per-thread/per-turn ``approvalPolicy`` param (codex-app-server.md section 1).
CONFIG_FORBIDDEN_APPROVAL_POLICY = "untrusted"

# Top-level config.toml keys, by the wire name of the value they hold.
APPROVAL_POLICY_KEY = "approval_policy"
SANDBOX_MODE_KEY = "sandbox_mode"
MODEL_KEY = "model"
REASONING_EFFORT_KEY = "model_reasoning_effort"


class RuntimeValues(BaseModel):
    """The effective runtime settings; ``model_dump()`` is the wire shape (camelCase).

    ``PATCH /v1/runtime/config`` answers with the first four; ``GET .../context`` adds
    ``trustLevel`` for the project's cwd.
    """

    model_config = ConfigDict(extra="forbid")

    approvalPolicy: str | None = None
    sandboxMode: str | None = None
    model: str | None = None
    modelReasoningEffort: str | None = None
    trustLevel: str | None = None
