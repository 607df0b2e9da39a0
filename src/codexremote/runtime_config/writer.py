"""Narrow, atomic, concurrency-safe writes of config.toml (wire-api 8.4, REL-09).

Only top-level ``approval_policy`` and ``sandbox_mode`` are ever written; every other byte
of the file stays as it was (see :mod:`toml_edit`). Another program (app-server's
``config/value/write``, an editor) may write the same file at any moment, so a write:

1. reads the file (``base``) and computes our edit of it; saves ``base`` as
   ``config.toml.bak`` (atomically) and writes the edit to a temp file in the same directory
   (same mode as the file; 0600 for a new file), fsynced;
2. right before the rename re-reads the file: if it changed, *merges* (our keys applied to
   their version) and goes back to 1 with it, without waiting;
3. swaps the temp file and config.toml in one ``renameat2(RENAME_EXCHANGE)`` (Linux) /
   ``renamex_np(RENAME_SWAP)`` (macOS); the temp path then holds exactly the version we
   replaced. If that is not the one we checked, a write slipped in between check and swap:
   its version is merged with our keys and written again (our file is what it replaced);
4. fsyncs the directory, so a crash leaves the old or the new file.

After WRITE_ATTEMPTS rounds that all met a change it gives up with Conflict, and their
change is the one that stays. Where the system cannot swap, step 3 is a plain
``os.replace`` and a write landing between the check and the rename (microseconds) is still
lost; docs/runtime-config.md lists what remains. A config.toml that does not parse is never
overwritten (ConfigParseError, a Conflict). A symlinked config.toml (dotfile managers) is
written through: the link stays a link.
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
    file_identity,
    load_config,
    read_config_bytes,
    read_config_snapshot,
    read_runtime_values,
)
from codexremote.runtime_config.toml_edit import parse_config_text, set_top_level_strings
from codexremote.storage import atomic_write_bytes, exchange, fsync_dir, write_temp

# Merge rounds before answering 409 (a concurrent writer keeps changing the file). A round
# costs two fsyncs, so a program writing more often than that can still get a 409.
WRITE_ATTEMPTS = 5
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
    after_check: Callable[[], None] | None = None,
) -> None:
    """Set top-level string keys in config.toml, surgically and atomically.

    ``before_replace`` runs between the temp write and the re-read check, ``after_check``
    between that check and the swap; they exist so tests can play a concurrent writer at
    the worst moments.
    """
    if updates.get(APPROVAL_POLICY_KEY) == CONFIG_FORBIDDEN_APPROVAL_POLICY:
        raise ValueError("approval_policy = untrusted must never be written to config.toml")
    if not codex_home.exists():
        codex_home.mkdir(parents=True, mode=NEW_CODEX_HOME_MODE)
    target = Path(os.path.realpath(config_path(codex_home)))
    base = expected = read_config_bytes(target)
    for _attempt in range(WRITE_ATTEMPTS):
        new = _new_bytes(base, updates)
        if new == expected:
            return  # what the file holds already has our values
        clash = _replace_checked(target, new, expected, before_replace, after_check)
        if clash is None:
            fsync_dir(target.parent)
            return
        # Someone else wrote: merge our keys into their version. ``expected`` is what the file
        # holds now (theirs when the check caught it, ours when the swap did).
        base, expected = clash
    raise Conflict("config.toml kept changing while it was being written; try again")


def _replace_checked(
    target: Path,
    new: bytes,
    expected: bytes | None,
    before_replace: Callable[[], None] | None,
    after_check: Callable[[], None] | None,
) -> tuple[bytes | None, bytes | None] | None:
    """Put ``new`` in place unless the file is no longer ``expected``.

    Answers None when it was ``expected`` (``new`` is in place), else ``(their version,
    what the file holds now)``.
    """
    mode = _file_mode(target)
    temp = write_temp(target, new, mode=mode)  # always gone when we return (renamed or removed)
    try:
        if expected is not None:
            atomic_write_bytes(target.with_name(target.name + BACKUP_SUFFIX), expected, mode=mode)
        if before_replace is not None:
            before_replace()
        current, identity = read_config_snapshot(target)
        if _digest(current) != _digest(expected):  # changed since we read it
            return current, current
        if after_check is not None:
            after_check()
        if current is None or not exchange(temp, target):
            os.replace(temp, target)
            return None
        # One stat between the swap and a swap back: a rename by someone else shows as
        # another inode at once; an in-place write (same inode) is caught by the content.
        if file_identity(os.stat(temp)) != identity:
            return _swap_back(temp, target, new)
        if _digest(temp.read_bytes()) != _digest(expected):
            return _swap_back(temp, target, new)
        return None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _swap_back(temp: Path, target: Path, new: bytes) -> tuple[bytes | None, bytes | None]:
    """A write slipped in between our check and our swap: put it back at once.

    Our version was built on an older file; while it is in place, the other program could
    read it and build on it, so it is swapped out again before anything else is done (the
    window is two system calls and a stat). If yet another write landed on top of ours
    meanwhile, that one is newer still and goes back in. Answers (their version, what the
    file holds now) for the next merge round.
    """
    exchange(temp, target)
    on_top = temp.read_bytes()
    if _digest(on_top) == _digest(new):
        current = read_config_bytes(target)  # theirs again (or newer still)
        return current, current
    exchange(temp, target)  # the write on top of ours is the newest: restore it
    return on_top, on_top


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
