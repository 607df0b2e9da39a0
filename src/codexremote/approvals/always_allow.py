"""Persisted "always allow" MCP scope keys (``approval-preferences.json``).

File format, compatible with the original companion (wire-api 6.3)::

    {
      "alwaysAllowScopeKeys": ["mcp:demo:touch", ...],     # sorted, kept exactly
      "entries": {"mcp:demo:touch": {"serverName": "demo", "toolName": "touch",
                                      "addedAt": 1775000000123}}   # additive metadata
    }

Writes are atomic and durable (``storage.atomic_write_bytes``, mode 0600, REL-08).
The file is read once at start and again whenever its size or mtime changes, so
``codexremote approvals forget KEY`` from another terminal takes effect in a
running companion at its next lookup. A file that group/others can write is not
trusted (it could grant tool calls), it is treated as empty and logged.
Mutations run in a worker thread from the service (fsync blocks); a lock keeps
read-modify-write cycles whole.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codexremote.storage import (
    InsecurePermissions,
    atomic_write_bytes,
    check_private,
    clean_stale_temp_files,
    ensure_private_dir,
)

log = logging.getLogger(__name__)

PREFERENCES_FILE = "approval-preferences.json"
MAX_PREFERENCES_BYTES = 1024 * 1024  # a bigger file is not ours: ignored, never parsed
KEYS_MEMBER = "alwaysAllowScopeKeys"
ENTRIES_MEMBER = "entries"


@dataclass(frozen=True, slots=True)
class AlwaysAllowEntry:
    scope_key: str
    server_name: str | None = None
    tool_name: str | None = None
    added_at: int | None = None  # epoch ms; None for keys written by the original

    def to_wire(self) -> dict[str, Any]:
        return {
            "scopeKey": self.scope_key,
            "serverName": self.server_name,
            "toolName": self.tool_name,
            "addedAt": self.added_at,
        }


_Stamp = tuple[int, int] | None  # (size, mtime_ns) of the file we last read


class AlwaysAllowStore:
    """The global always-allow set, backed by one private JSON file."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / PREFERENCES_FILE
        self._lock = threading.Lock()
        self._entries: dict[str, AlwaysAllowEntry] = {}
        self._stamp: _Stamp = None
        clean_stale_temp_files(state_dir, PREFERENCES_FILE)
        self._reload()

    def contains(self, scope_key: str) -> bool:
        self._refresh()
        return scope_key in self._entries

    def get(self, scope_key: str) -> AlwaysAllowEntry | None:
        self._refresh()
        return self._entries.get(scope_key)

    def list(self) -> list[AlwaysAllowEntry]:
        self._refresh()
        return [self._entries[key] for key in sorted(self._entries)]

    def add(
        self,
        scope_key: str,
        *,
        server_name: str | None = None,
        tool_name: str | None = None,
        added_at: int | None = None,
    ) -> bool:
        """Persist ``scope_key``; False when it was already there (file untouched)."""
        with self._lock:
            self._reload()
            if scope_key in self._entries:
                return False
            entries = dict(self._entries)
            entries[scope_key] = AlwaysAllowEntry(scope_key, server_name, tool_name, added_at)
            self._write(entries)
            return True

    def forget(self, scope_key: str) -> bool:
        """Remove ``scope_key``; False when it was not stored."""
        with self._lock:
            self._reload()
            if scope_key not in self._entries:
                return False
            entries = {key: e for key, e in self._entries.items() if key != scope_key}
            self._write(entries)
            return True

    def _refresh(self) -> None:
        if self._current_stamp() != self._stamp:
            with self._lock:
                self._reload()

    def _current_stamp(self) -> _Stamp:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return (info.st_size, info.st_mtime_ns)

    def _reload(self) -> None:
        stamp = self._current_stamp()
        self._stamp = stamp
        if stamp is None:
            self._entries = {}
            return
        try:
            check_private(self.path, 0o600)
            if stamp[0] > MAX_PREFERENCES_BYTES:
                raise ValueError(f"larger than {MAX_PREFERENCES_BYTES} bytes")
            raw = json.loads(self.path.read_bytes())
        except InsecurePermissions as exc:
            log.warning("ignoring always-allow approvals: %s", exc)
            self._entries = {}
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            self._entries = {}
            return
        self._entries = parse_preferences(raw)

    def _write(self, entries: dict[str, AlwaysAllowEntry]) -> None:
        ensure_private_dir(self.path.parent)
        atomic_write_bytes(self.path, render_preferences(entries))
        self._entries = entries
        self._stamp = self._current_stamp()


def parse_preferences(raw: Any) -> dict[str, AlwaysAllowEntry]:
    """Entries from the file's JSON; non-string and blank keys are skipped."""
    if not isinstance(raw, dict):
        return {}
    keys = raw.get(KEYS_MEMBER)
    meta = raw.get(ENTRIES_MEMBER)
    meta = meta if isinstance(meta, dict) else {}
    entries: dict[str, AlwaysAllowEntry] = {}
    for key in keys if isinstance(keys, list) else []:
        if not isinstance(key, str) or not key.strip():
            continue
        key = key.strip()
        info = meta.get(key)
        info = info if isinstance(info, dict) else {}
        added_at = info.get("addedAt")
        entries[key] = AlwaysAllowEntry(
            key,
            _str_or_none(info.get("serverName")),
            _str_or_none(info.get("toolName")),
            added_at if isinstance(added_at, int) and not isinstance(added_at, bool) else None,
        )
    return entries


def render_preferences(entries: dict[str, AlwaysAllowEntry]) -> bytes:
    keys = sorted(entries)
    document = {
        KEYS_MEMBER: keys,
        ENTRIES_MEMBER: {
            key: {
                "serverName": entries[key].server_name,
                "toolName": entries[key].tool_name,
                "addedAt": entries[key].added_at,
            }
            for key in keys
        },
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
