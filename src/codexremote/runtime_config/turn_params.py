"""The runtime params the chat layer passes on every thread/turn start.

Why: app-server reads config.toml when a thread starts; changing the file (even through
its own ``config/value/write``) does not touch threads that already run, and the
``untrusted`` policy cannot live in config.toml at all. Passing the effective values on
every ``thread/start``, ``thread/resume`` and ``turn/start`` makes a change from the phone
apply to the next turn of every chat. Verified against codex 0.169.0:

- ``thread/start`` / ``thread/resume``: ``approvalPolicy`` (``untrusted`` | ``on-request`` |
  ``never``) and ``sandbox`` (``read-only`` | ``workspace-write`` | ``danger-full-access``).
- ``turn/start``: ``approvalPolicy`` as above and ``sandboxPolicy``, an object
  (``{"type": "readOnly", "networkAccess": false}``, ``{"type": "dangerFullAccess"}``,
  ``{"type": "workspaceWrite", "writableRoots": [...], "networkAccess": bool,
  "excludeTmpdirEnvVar": bool, "excludeSlashTmp": bool}``); a turn override sticks for
  later turns of the thread.
- ``on-failure`` is accepted in config.toml but rejected as a param ("unknown variant");
  app-server itself runs config's ``on-failure`` as ``on-request``, so we pass that.

A value that is absent or not one we know is left out, so app-server's own default applies.
These functions read small files synchronously; call them via ``asyncio.to_thread``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codexremote.runtime_config.models import SANDBOX_MODE_KEY, SANDBOX_MODES
from codexremote.runtime_config.overrides import effective_approval_policy, read_overrides
from codexremote.runtime_config.reader import load_config, values_from_config

# Config value -> the value app-server accepts as a thread/turn param.
THREAD_APPROVAL_POLICIES: dict[str, str] = {
    "untrusted": "untrusted",
    "on-failure": "on-request",
    "on-request": "on-request",
    "never": "never",
}
# config.toml table holding the workspace-write details codex applies to that mode.
WORKSPACE_WRITE_TABLE = "sandbox_workspace_write"


def effective_turn_overrides(codex_home: Path, state_dir: Path) -> dict[str, Any]:
    """Params for ``thread/start`` / ``thread/resume``: ``approvalPolicy``, ``sandbox``."""
    config = load_config(codex_home)
    params: dict[str, Any] = {}
    approval = _approval_param(config, state_dir)
    if approval is not None:
        params["approvalPolicy"] = approval
    sandbox = config.get(SANDBOX_MODE_KEY)
    if sandbox in SANDBOX_MODES:
        params["sandbox"] = sandbox
    return params


def effective_turn_start_overrides(codex_home: Path, state_dir: Path) -> dict[str, Any]:
    """Params for ``turn/start``: ``approvalPolicy``, ``sandboxPolicy`` (object form)."""
    config = load_config(codex_home)
    params: dict[str, Any] = {}
    approval = _approval_param(config, state_dir)
    if approval is not None:
        params["approvalPolicy"] = approval
    policy = sandbox_policy_object(config)
    if policy is not None:
        params["sandboxPolicy"] = policy
    return params


def sandbox_policy_object(config: dict[str, Any]) -> dict[str, Any] | None:
    """config's ``sandbox_mode`` as app-server's SandboxPolicy object, as thread/start shows it."""
    mode = config.get(SANDBOX_MODE_KEY)
    if mode == "read-only":
        return {"type": "readOnly", "networkAccess": False}
    if mode == "danger-full-access":
        return {"type": "dangerFullAccess"}
    if mode != "workspace-write":
        return None
    table = config.get(WORKSPACE_WRITE_TABLE)
    details: dict[str, Any] = table if isinstance(table, dict) else {}
    roots = details.get("writable_roots")
    return {
        "type": "workspaceWrite",
        "writableRoots": [root for root in roots if isinstance(root, str)]
        if isinstance(roots, list)
        else [],
        "networkAccess": details.get("network_access") is True,
        "excludeTmpdirEnvVar": details.get("exclude_tmpdir_env_var") is True,
        "excludeSlashTmp": details.get("exclude_slash_tmp") is True,
    }


def _approval_param(config: dict[str, Any], state_dir: Path) -> str | None:
    shown = values_from_config(config, None).approvalPolicy
    effective = effective_approval_policy(shown, read_overrides(state_dir))
    return THREAD_APPROVAL_POLICIES.get(effective) if effective is not None else None
