"""The companion's own runtime override: approval policy ``untrusted`` (runtime-overrides.json).

app-server 0.169.0 refuses to start when config.toml says ``approval_policy = "untrusted"``,
yet it accepts ``untrusted`` as the ``approvalPolicy`` param of ``thread/start`` and
``turn/start``. So when the phone picks ``untrusted`` we never write it to config.toml:
we record it here and the chat layer passes it on every thread/turn start
(:mod:`codexremote.runtime_config.turn_params`).

The record remembers which ``approval_policy`` config.toml held when it was made. If the
user later edits config.toml by hand, that value differs and the override lapses: a hand
edit always wins, and the phone is never shown a policy that is not in effect. The file
only ever holds ``untrusted`` (the strictest policy); anything else in it is ignored, so a
tampered or stale file can never loosen approvals.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from codexremote.runtime_config.models import CONFIG_FORBIDDEN_APPROVAL_POLICY
from codexremote.storage import atomic_write_bytes, ensure_private_dir, fsync_dir

OVERRIDES_FILE_NAME = "runtime-overrides.json"
# The file holds two short strings; anything bigger is not ours.
MAX_OVERRIDES_BYTES = 4096

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApprovalOverride:
    """``approval_policy`` (always ``untrusted``) over config.toml's ``config_value``."""

    approval_policy: str
    config_value: str | None


def overrides_path(state_dir: Path) -> Path:
    return state_dir / OVERRIDES_FILE_NAME


def read_overrides(state_dir: Path) -> ApprovalOverride | None:
    """The recorded override, or None (missing, unreadable or not an ``untrusted`` record)."""
    path = overrides_path(state_dir)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_OVERRIDES_BYTES + 1)
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw) if len(raw) <= MAX_OVERRIDES_BYTES else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        log.warning("ignoring unreadable %s", path)
        return None
    policy = data.get("approvalPolicy")
    config_value = data.get("configApprovalPolicy")
    if policy != CONFIG_FORBIDDEN_APPROVAL_POLICY:
        return None
    if config_value is not None and not isinstance(config_value, str):
        return None
    return ApprovalOverride(policy, config_value)


def write_override(state_dir: Path, override: ApprovalOverride | None) -> None:
    """Record (atomically, 0600 in a 0700 dir) or clear the override."""
    path = overrides_path(state_dir)
    if override is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            fsync_dir(state_dir)
        return
    ensure_private_dir(state_dir)
    body = {
        "approvalPolicy": override.approval_policy,
        "configApprovalPolicy": override.config_value,
    }
    atomic_write_bytes(path, (json.dumps(body, indent=2) + "\n").encode("utf-8"))


def effective_approval_policy(
    config_value: str | None, override: ApprovalOverride | None
) -> str | None:
    """The override while config.toml still holds the value it was made over, else config's."""
    if override is not None and override.config_value == config_value:
        return override.approval_policy
    return config_value
