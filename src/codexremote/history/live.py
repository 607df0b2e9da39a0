"""Live command cards from app-server notifications (wire-api 5.3, 7.6).

Rollouts record no "Explored" / "Command finished" cards, so the companion
keeps them itself from ``item/started`` / ``item/completed`` notifications whose
``item.type`` is ``commandExecution``; ``HistoryService.timeline`` merges them
into the rollout's activities.

Unlike the original (which never prunes), memory is bounded: the newest
``MAX_ACTIVITIES_PER_CHAT`` cards per chat and ``MAX_CHATS`` chats (least
recently updated chats are dropped first). Event-loop only (not thread-safe).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from codexremote.history.models import Activity, ActivityKind, ActivityState, title_for

# Cards kept per chat; older ones drop off (a chat's rollout keeps the real history).
MAX_ACTIVITIES_PER_CHAT = 500
# Chats with live cards kept at once; the least recently updated goes first.
MAX_CHATS = 256

_EXPLORING_ACTIONS = {"read", "listFiles", "search"}


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _exploring_detail(action_types: list[str]) -> str | None:
    """ "1 file", "2 searches" or "1 file, 2 searches", as the original shows it: a
    count of zero is left out (no "0 searches"); nothing counted → no detail."""
    files = sum(1 for t in action_types if t in ("read", "listFiles"))
    searches = sum(1 for t in action_types if t == "search")
    parts = []
    if files:
        parts.append(_plural(files, "file", "files"))
    if searches:
        parts.append(_plural(searches, "search", "searches"))
    return ", ".join(parts) or None


def _chat_of(params: dict[str, Any]) -> str | None:
    thread = params.get("threadId")
    if isinstance(thread, str) and thread:
        return thread
    turn = params.get("turn")
    if isinstance(turn, dict) and isinstance(turn.get("threadId"), str) and turn["threadId"]:
        return str(turn["threadId"])
    return None


class LiveActivities:
    """Per-chat command cards built from the notification stream."""

    def __init__(
        self,
        *,
        max_per_chat: int = MAX_ACTIVITIES_PER_CHAT,
        max_chats: int = MAX_CHATS,
    ) -> None:
        self._max_per_chat = max_per_chat
        self._max_chats = max_chats
        self._chats: OrderedDict[str, OrderedDict[str, Activity]] = OrderedDict()

    def on_notification(
        self,
        method: str,
        params: dict[str, Any],
        now_ms: int,
        *,
        chat_id: str | None = None,
    ) -> Activity | None:
        """Apply one app-server notification; return the card it created or changed.

        ``chat_id`` overrides the thread id found in ``params`` (the bridge may
        resolve chats from turn ids). ``turn/completed`` completes the chat's cards.
        """
        chat = chat_id or _chat_of(params)
        if chat is None:
            return None
        if method == "turn/completed":
            self.complete_turn(chat, now_ms)
            return None
        if method not in ("item/started", "item/completed"):
            return None
        item = params.get("item")
        if not isinstance(item, dict) or item.get("type") != "commandExecution":
            return None
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            return None
        state: ActivityState = "in_progress" if method == "item/started" else "completed"
        return self._upsert(chat, item_id, item, state, now_ms // 1000)

    def _upsert(
        self, chat: str, item_id: str, item: dict[str, Any], state: ActivityState, at: int
    ) -> Activity | None:
        actions = item.get("commandActions")
        types = [
            a["type"]
            for a in (actions if isinstance(actions, list) else [])
            if isinstance(a, dict) and isinstance(a.get("type"), str)
        ]
        kind: ActivityKind = (
            "exploring" if any(t in _EXPLORING_ACTIONS for t in types) else "running_command"
        )
        detail = _exploring_detail(types) if kind == "exploring" else None
        command = item.get("command")
        preview = command.strip() if detail is None and isinstance(command, str) else None
        cards = self._chats.get(chat)
        existing = cards.get(item_id) if cards is not None else None
        if existing is not None:
            if at < existing.updatedAt:
                return None  # an older update arriving late
            if existing.state == "completed" and state == "in_progress":
                return None  # never reopen a finished command
        card = Activity(
            id=item_id,
            itemId=item_id,
            kind=kind,
            title=title_for(kind, state),
            createdAt=existing.createdAt if existing is not None else at,
            updatedAt=at,
            state=state,
            detail=detail,
            commandPreview=preview or None,
        )
        self._store(chat, card)
        return card

    def _store(self, chat: str, card: Activity) -> None:
        cards = self._chats.get(chat)
        if cards is None:
            cards = self._chats[chat] = OrderedDict()
        self._chats.move_to_end(chat)
        cards[card.id] = card
        cards.move_to_end(card.id)
        while len(cards) > self._max_per_chat:
            cards.popitem(last=False)
        while len(self._chats) > self._max_chats:
            self._chats.popitem(last=False)

    def complete_turn(self, chat_id: str, now_ms: int | None = None) -> list[Activity]:
        """Mark every in-progress card of the chat completed ("Explored"/"Command finished")."""
        cards = self._chats.get(chat_id)
        if cards is None:
            return []
        changed: list[Activity] = []
        for key, card in list(cards.items()):
            if card.state != "in_progress":
                continue
            at = card.updatedAt if now_ms is None else max(card.updatedAt, now_ms // 1000)
            done = card.model_copy(
                update={
                    "state": "completed",
                    "title": title_for(card.kind, "completed"),
                    "updatedAt": at,
                }
            )
            cards[key] = done
            changed.append(done)
        return changed

    def for_chat(self, chat_id: str) -> list[Activity]:
        """The chat's cards, least recently updated first (callers sort as they need)."""
        cards = self._chats.get(chat_id)
        return list(cards.values()) if cards is not None else []

    def forget(self, chat_id: str) -> None:
        self._chats.pop(chat_id, None)
