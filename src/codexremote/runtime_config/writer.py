"""Narrow, atomic, concurrency-safe writes of config.toml (wire-api 8.4, REL-09).

Only top-level ``approval_policy`` and ``sandbox_mode`` are ever written; every other byte
of the file stays as it was (see :mod:`toml_edit`). A write:

1. reads the file's bytes and their SHA-256, computes the new text;
2. writes it to a temp file in the same directory (same mode as the file; 0600 for a new
   file), fsyncs it, and saves the previous version as ``config.toml.bak`` (atomically);
3. re-reads the file and compares the hash; if someone else (app-server's
   ``config/value/write``, an editor) changed it meanwhile, starts over with their version,
   up to WRITE_ATTEMPTS times, then gives up with Conflict — their change is never lost;
4. ``os.replace`` + fsync of the directory, so a crash leaves the old or the new file.

A config.toml that does not parse is never overwritten (ConfigParseError, a Conflict). A
symlinked config.toml (dotfile managers) is written through: the link stays a link.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import stat
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from codexremote.errors import BadRequest, Conflict
from codexremote.runtime_config.models import (
    APPROVAL_POLICIES,
    APPROVAL_POLICY_KEY,
    CONFIG_FORBIDDEN_APPROVAL_POLICY,
    SANDBOX_MODE_KEY,
    SANDBOX_MODES,
    RuntimeValues,
)
from codexremote.runtime_config.overrides import ApprovalOverride, write_override
from codexremote.runtime_config.reader import (
    config_path,
    load_config,
    read_config_bytes,
    read_runtime_values,
)
from codexremote.runtime_config.toml_edit import parse_config_text, set_top_level_strings
from codexremote.storage import atomic_write_bytes, fsync_dir, write_temp

# Re-read/compare/retry rounds before answering 409 (a concurrent writer keeps winning).
WRITE_ATTEMPTS = 3
BACKUP_SUFFIX = ".bak"
NEW_CONFIG_MODE = 0o600
NEW_CODEX_HOME_MODE = 0o700

# One writer per process at a time; other processes are handled by the hash check.
_write_lock = threading.Lock()


def validate_runtime_settings(approval_policy: str | None, sandbox_mode: str | None) -> None:
    """BadRequest with the wire-api 8.4 messages; nothing is touched."""
    if approval_policy is None and sandbox_mode is None:
        raise BadRequest("At least one runtime setting is required")
    if approval_policy is not None and approval_policy not in APPROVAL_POLICIES:
        raise BadRequest(f"Unsupported approval policy: {approval_policy}")
    if sandbox_mode is not None and sandbox_mode not in SANDBOX_MODES:
        raise BadRequest(f"Unsupported sandbox mode: {sandbox_mode}")


async def write_runtime_settings(
    codex_home: Path,
    *,
    approval_policy: str | None,
    sandbox_mode: str | None,
    state_dir: Path,
) -> RuntimeValues:
    """Apply the phone's runtime settings and return the values now in effect.

    ``untrusted`` goes to the companion's override file, never to config.toml (see
    :mod:`overrides`); any other approval policy clears that override and is written to
    config.toml. Raises BadRequest (invalid/missing values, nothing written) and Conflict
    (config.toml does not parse, or kept changing under us).
    """
    validate_runtime_settings(approval_policy, sandbox_mode)
    return await asyncio.to_thread(
        apply_runtime_settings_sync, codex_home, approval_policy, sandbox_mode, state_dir
    )


def apply_runtime_settings_sync(
    codex_home: Path, approval_policy: str | None, sandbox_mode: str | None, state_dir: Path
) -> RuntimeValues:
    validate_runtime_settings(approval_policy, sandbox_mode)
    with _write_lock:
        updates: dict[str, str] = {}
        if approval_policy is not None and approval_policy != CONFIG_FORBIDDEN_APPROVAL_POLICY:
            updates[APPROVAL_POLICY_KEY] = approval_policy
        if sandbox_mode is not None:
            updates[SANDBOX_MODE_KEY] = sandbox_mode
        if updates:
            write_config_keys_sync(codex_home, updates)
        if approval_policy == CONFIG_FORBIDDEN_APPROVAL_POLICY:
            current = load_config(codex_home).get(APPROVAL_POLICY_KEY)
            base = current if isinstance(current, str) else None
            write_override(state_dir, ApprovalOverride(approval_policy, base))
        elif approval_policy is not None:
            write_override(state_dir, None)
        return read_runtime_values(codex_home, None, state_dir=state_dir)


def write_config_keys_sync(
    codex_home: Path,
    updates: Mapping[str, str],
    *,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Set top-level string keys in config.toml, surgically and atomically.

    ``before_replace`` runs between the temp write and the re-read check; it exists so tests
    can play a concurrent writer at the worst moment.
    """
    if updates.get(APPROVAL_POLICY_KEY) == CONFIG_FORBIDDEN_APPROVAL_POLICY:
        raise ValueError("approval_policy = untrusted must never be written to config.toml")
    if not codex_home.exists():
        codex_home.mkdir(parents=True, mode=NEW_CODEX_HOME_MODE)
    target = Path(os.path.realpath(config_path(codex_home)))
    for _attempt in range(WRITE_ATTEMPTS):
        old = read_config_bytes(target)
        new = _new_bytes(old, updates)
        if new == old:
            return
        mode = _file_mode(target)
        temp = write_temp(target, new, mode=mode)
        try:
            if old is not None:
                atomic_write_bytes(target.with_name(target.name + BACKUP_SUFFIX), old, mode=mode)
            if before_replace is not None:
                before_replace()
            if _digest(read_config_bytes(target)) != _digest(old):
                temp.unlink()
                continue
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        fsync_dir(target.parent)
        return
    raise Conflict("config.toml kept changing while it was being written; try again")


def _new_bytes(old: bytes | None, updates: Mapping[str, str]) -> bytes:
    if old is None:
        return "".join(f'{key} = "{value}"\n' for key, value in updates.items()).encode()
    text, _ = parse_config_text(old)
    return set_top_level_strings(text, updates).encode("utf-8")


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _file_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return NEW_CONFIG_MODE
