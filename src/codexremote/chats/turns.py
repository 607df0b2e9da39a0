"""Which turn is running in which chat, learnt from notifications and our own sends."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

MAX_REMEMBERED_TURNS = 10_000  # turn → chat lookups for notifications lacking threadId
MAX_FINISHED_TURNS = 1_000  # ended turns remembered so a late "started" cannot revive one


class TurnTracker:
    """Why ended turns are remembered: the answer to our ``turn/start`` and the turn's
    ``turn/started``/``turn/completed`` notifications can arrive in one read from the
    app-server's pipe. The dispatcher handles the notifications at once, while the
    coroutine awaiting the answer resumes only afterwards; marking the turn running
    then would leave a finished turn "running" for good (the soak's hung ``hello``).
    """

    def __init__(self) -> None:
        self._active: dict[str, str] = {}  # chat id → running turn id
        self._turn_chat: OrderedDict[str, str] = OrderedDict()
        self._finished: OrderedDict[str, None] = OrderedDict()

    def remember(self, chat_id: str, turn_id: str) -> None:
        self._turn_chat[turn_id] = chat_id
        self._turn_chat.move_to_end(turn_id)
        while len(self._turn_chat) > MAX_REMEMBERED_TURNS:
            self._turn_chat.popitem(last=False)

    def started(self, chat_id: str, turn_id: str) -> None:
        self.remember(chat_id, turn_id)
        if turn_id in self._finished:
            return  # its end was already seen (see the class docstring)
        self._active[chat_id] = turn_id

    def finished(self, chat_id: str, turn_id: str | None = None) -> None:
        """``turn_id`` None: the chat went idle, so whatever ran in it has ended."""
        running = self._active.get(chat_id)
        ended = turn_id if turn_id is not None else running
        if ended is not None:
            self._finished[ended] = None
            self._finished.move_to_end(ended)
            while len(self._finished) > MAX_FINISHED_TURNS:
                self._finished.popitem(last=False)
        if turn_id is None or running == turn_id:
            self._active.pop(chat_id, None)

    def active_turn(self, chat_id: str) -> str | None:
        return self._active.get(chat_id)

    def chat_for_turn(self, turn_id: str) -> str | None:
        return self._turn_chat.get(turn_id)

    def clear(self) -> None:
        """The child restarted: no turn of the old process is running any more."""
        self._active.clear()

    def resolve_chat(self, params: dict[str, Any]) -> str | None:
        """wire-api.md 5.3: threadId, else turn.threadId, else the chat of the turn id."""
        thread_id = params.get("threadId")
        if isinstance(thread_id, str) and thread_id:
            return thread_id
        turn = params.get("turn")
        if isinstance(turn, dict):
            nested = turn.get("threadId")
            if isinstance(nested, str) and nested:
                return nested
            turn_id = turn.get("id")
            if isinstance(turn_id, str):
                found = self.chat_for_turn(turn_id)
                if found:
                    return found
        turn_id = params.get("turnId")
        if isinstance(turn_id, str):
            return self.chat_for_turn(turn_id)
        return None


def turn_id_of(params: dict[str, Any]) -> str | None:
    turn_id = params.get("turnId")
    if isinstance(turn_id, str):
        return turn_id
    turn = params.get("turn")
    if isinstance(turn, dict) and isinstance(turn.get("id"), str):
        return str(turn["id"])
    return None
