"""``codexremote approvals list|forget``: inspect and revoke always-allow grants.

The handlers only need the state directory; ``cli.py`` parses arguments and
calls them. A running companion notices a ``forget`` at its next lookup (the
store re-reads the file when it changes).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from codexremote.approvals.always_allow import AlwaysAllowEntry, AlwaysAllowStore


def approvals_list(state_dir: Path) -> int:
    """Print one line per always-allowed MCP tool; exit status 0."""
    entries = AlwaysAllowStore(state_dir).list()
    if not entries:
        print("No always-allowed MCP tools.")
        return 0
    for entry in entries:
        print(format_entry(entry))
    return 0


def approvals_forget(state_dir: Path, key: str) -> int:
    """Remove one scope key; exit status 1 when it is not stored."""
    if AlwaysAllowStore(state_dir).forget(key.strip()):
        print(f"Forgot {key.strip()}; that tool will ask for approval again.")
        return 0
    print(f"No always-allow entry {key!r} (see: codexremote approvals list).", file=sys.stderr)
    return 1


def format_entry(entry: AlwaysAllowEntry) -> str:
    parts = [entry.scope_key]
    if entry.server_name:
        parts.append(f"server={entry.server_name}")
    if entry.tool_name:
        parts.append(f"tool={entry.tool_name}")
    if entry.added_at is not None:
        added = datetime.fromtimestamp(entry.added_at / 1000, tz=UTC)
        parts.append(f"added={added.strftime('%Y-%m-%d %H:%M UTC')}")
    return "  ".join(parts)
