"""Maps app-server notifications onto the original app's stream events (wire-api.md 5.3).

Payloads are the notification ``params`` verbatim, as the original app expects.
A few more notifications are forwarded under new event names for our own clients
(the original app ignores unknown events). Unlike the original, relaying an event
never clears open approvals: approvals close only when they are answered,
resolved by app-server, their turn ends or the child restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codexremote.chats.directory import ChatDirectory
from codexremote.chats.turns import TurnTracker, turn_id_of
from codexremote.events.bus import EventBus

ORIGINAL_EVENTS = {
    "turn/started": "turn_started",
    "item/agentMessage/delta": "message_delta",
    "item/started": "item_started",
    "item/completed": "item_completed",
    "turn/completed": "turn_completed",
    "error": "error",
}
ADDITIVE_EVENTS = {
    "thread/status/changed": "thread_status_changed",
    "item/reasoning/summaryTextDelta": "reasoning_delta",
    "item/commandExecution/outputDelta": "command_output_delta",
    "turn/diff/updated": "turn_diff_updated",
    "thread/name/updated": "thread_name_updated",
    "thread/tokenUsage/updated": "token_usage_updated",
}

# (method, params, chat id resolved once by the relay, or None)
NotificationListener = Callable[[str, dict[str, Any], str | None], None]


class NotificationRelay:
    def __init__(self, bus: EventBus, turns: TurnTracker, directory: ChatDirectory) -> None:
        self.bus = bus
        self.turns = turns
        self.directory = directory
        self.listeners: list[NotificationListener] = []  # history, approvals, ...
        self.dropped_unresolved = 0

    def on_notification(self, method: str, params: dict[str, Any]) -> None:
        chat_id = self.turns.resolve_chat(params)
        if chat_id is not None:
            self._track(method, chat_id, params)
        self.directory.on_notification(method, params)
        for listener in list(self.listeners):
            listener(method, params, chat_id)
        event = ORIGINAL_EVENTS.get(method) or ADDITIVE_EVENTS.get(method)
        if event is None:
            return
        if chat_id is None:
            self.dropped_unresolved += 1
            return
        self.bus.publish(event, chat_id, params)

    def _track(self, method: str, chat_id: str, params: dict[str, Any]) -> None:
        if method == "turn/started":
            turn_id = turn_id_of(params)
            if turn_id:
                self.turns.started(chat_id, turn_id)
        elif method == "turn/completed":
            self.turns.finished(chat_id, turn_id_of(params))
        elif method == "thread/status/changed":
            status = params.get("status")
            if isinstance(status, dict) and status.get("type") not in ("active", None):
                self.turns.finished(chat_id)

    def child_restarted(self, generation: int) -> None:
        """Tell every watching client (REL-06/T7) that the agent process restarted."""
        self.bus.publish("agent_restarted", "", {"generation": generation})
