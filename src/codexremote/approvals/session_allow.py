"""Per-chat "allow for this chat" grants, in memory for the companion's lifetime.

Two shapes (wire-api 6.3): an MCP tool approval adds its scope key to the chat's
scoped set; anything without a scope key (command, file change, permissions)
gives the *whole chat* session allow. They never expire while the process runs
and are gone after a restart, as in the original.
"""

from __future__ import annotations

from typing import Any


class SessionAllows:
    def __init__(self) -> None:
        self._whole_chat: set[str] = set()
        self._scoped: dict[str, set[str]] = {}

    def allow(self, chat_id: str, scope_key: str | None) -> None:
        if scope_key is None:
            self._whole_chat.add(chat_id)
        else:
            self._scoped.setdefault(chat_id, set()).add(scope_key)

    def has_scoped(self, chat_id: str, scope_key: str) -> bool:
        return scope_key in self._scoped.get(chat_id, ())

    def has_whole_chat(self, chat_id: str) -> bool:
        return chat_id in self._whole_chat

    def describe(self, chat_id: str) -> dict[str, Any]:
        """``{"wholeChat": bool, "scopeKeys": [...]}`` for a settings/timeline view."""
        return {
            "wholeChat": chat_id in self._whole_chat,
            "scopeKeys": sorted(self._scoped.get(chat_id, ())),
        }
