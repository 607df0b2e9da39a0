"""``PushService``: turns bus events into pushes for devices that cannot see them.

It subscribes to the event bus (like a stream socket does) and never touches the
approvals or chats code: the events it needs are already published there. A
message goes to every device with a subscription **unless that device has a
visible client open**: the page says so on its stream socket (``visibility``
message, docs/stream.md); a socket that went away and a device with no socket
count as not visible. Suppression happens here only: the service worker must
show a notification for every push it gets (iOS revokes subscriptions that
push without one), so an unwanted push cannot be hidden on the phone.

Without ``push_contact`` nothing is sent (Apple refuses VAPID tokens without a
real contact), subscriptions are still stored so they work once it is set;
``doctor`` says so.

Lifecycle: :meth:`start` (from the app's startup, on the loop) subscribes and
prunes subscriptions of devices revoked while the companion was down;
:meth:`on_revoked` deletes a revoked device's subscriptions and cancels its queue;
:meth:`aclose` unsubscribes and stops every worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from codexremote.events.bus import EventBus, StreamEvent
from codexremote.push.delivery import Delivery, PushStats
from codexremote.push.keys import VapidKeys
from codexremote.push.messages import (
    Content,
    PushMessage,
    Urgency,
    approval_summary,
    failure_reason,
    final_answer,
    now_ms,
)
from codexremote.push.subscriptions import SubscriptionStore

log = logging.getLogger("codexremote.push")

MAX_TRACKED_CHATS = 1000  # chats remembered as "turn running" (bounded)


class PushService:
    def __init__(
        self,
        bus: EventBus,
        store: SubscriptionStore,
        keys: VapidKeys,
        *,
        contact: str | None,
        content: Content,
        ttl_s: int,
        chat_title: Callable[[str], str],
        is_visible: Callable[[str], bool],
        is_paired: Callable[[str], bool],
    ) -> None:
        self.bus = bus
        self.store = store
        self.keys = keys
        self.chat_title = chat_title
        self.is_visible = is_visible
        self.is_paired = is_paired
        self.delivery: Delivery | None = None
        if contact:
            self.delivery = Delivery(
                store, keys, contact=contact, content=content, ttl_s=ttl_s, is_paired=is_paired
            )
        self.stats = self.delivery.stats if self.delivery is not None else PushStats()
        self._running: dict[str, None] = {}  # chats with a turn in progress, oldest first
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def enabled(self) -> bool:
        return self.delivery is not None

    async def start(self) -> None:
        self._unsubscribe = self.bus.subscribe(self.on_event)
        for device_id in self.store.devices():
            if not self.is_paired(device_id):
                await asyncio.to_thread(self.store.remove_device, device_id)
        if not self.enabled and self.store.devices():
            log.warning("push subscriptions exist but push_contact is not set: nothing is sent")

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            task.cancel()
        if self.delivery is not None:
            await self.delivery.aclose()

    def on_revoked(self, device_id: str) -> None:
        """Revocation listener (on the loop): the device's subscriptions go at once."""
        task = asyncio.get_running_loop().create_task(self._forget_device(device_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forget_device(self, device_id: str) -> None:
        if self.delivery is not None:
            await self.delivery.cancel_device(device_id)
        removed = await asyncio.to_thread(self.store.remove_device, device_id)
        if removed:
            log.info("removed %d push subscription(s) of revoked device %s", removed, device_id)

    # --------------------------------------------------------------- the bus

    def on_event(self, event: StreamEvent) -> None:
        """Bus subscriber: synchronous and cheap; decoding only for the few triggers."""
        name = event.event
        if name == "turn_started":
            self._track_running(event.chat_id)
        elif name == "thread_status_changed":
            status = event.payload.get("status")
            if isinstance(status, dict) and status.get("type") not in ("active", None):
                self._running.pop(event.chat_id, None)
        elif name == "approval_required":
            approval = event.payload
            self._notify(
                "approval",
                event.chat_id,
                approval_summary(approval),
                "high",
                approval_id=str(approval.get("id") or "") or None,
            )
        elif name == "turn_completed":
            self._running.pop(event.chat_id, None)
            turn = event.payload.get("turn")
            turn = turn if isinstance(turn, dict) else {}
            if turn.get("status") == "completed":
                self._notify("turn_completed", event.chat_id, final_answer(turn), "normal")
            elif turn.get("status") == "failed":
                self._notify("turn_failed", event.chat_id, failure_reason(turn), "normal")
        elif name == "agent_restarted":
            running, self._running = list(self._running), {}
            for chat_id in running:
                self._notify("agent_restarted", chat_id, "", "normal")

    def _track_running(self, chat_id: str) -> None:
        self._running.pop(chat_id, None)
        self._running[chat_id] = None
        while len(self._running) > MAX_TRACKED_CHATS:
            self._running.pop(next(iter(self._running)))

    def _notify(
        self,
        kind: str,
        chat_id: str,
        summary: str,
        urgency: Urgency,
        *,
        approval_id: str | None = None,
    ) -> None:
        if self.delivery is None or not chat_id:
            return
        message = PushMessage(
            kind=kind,
            chat_id=chat_id,
            chat_title=self.chat_title(chat_id),
            summary=summary,
            urgency=urgency,
            approval_id=approval_id,
            created_ms=now_ms(),
            raised_at=time.monotonic(),
        )
        for device_id in self.store.devices():
            if not self.is_paired(device_id):
                continue
            if self.is_visible(device_id):
                self.stats.suppressed_visible += 1
                continue
            self.delivery.enqueue(device_id, message)
