"""Bookkeeping of approvals: open ones, recently closed ones, auto-accepted rows.

Pure in-memory state with bounds; the rules (who may close what, when to
answer app-server) live in ``service.py``. Closed approvals are kept for a
while so a late decision gets 409/410 instead of a confusing 404.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, replace

from codexremote.approvals.mapping import Draft
from codexremote.approvals.types import Approval, ApprovalStatus, AutoAccepted, ServerRequest

RECENTLY_CLOSED_LIMIT = 1024  # closed approvals kept so late decisions get 409/410, not 404
AUTO_ACCEPTED_PER_CHAT = 100  # timeline rows of auto-accepted requests kept per chat
AUTO_ACCEPTED_CHATS = 256  # chats whose auto-accepted rows are kept (least recent dropped)


@dataclass(slots=True)
class OpenEntry:
    """An open approval with the request it answers."""

    approval: Approval
    request: ServerRequest
    draft: Draft
    seq: int  # tie-break for approvals created in the same millisecond


class ApprovalRegistry:
    def __init__(self) -> None:
        self._open: dict[str, OpenEntry] = {}
        self._closed: OrderedDict[str, Approval] = OrderedDict()
        self._auto: OrderedDict[str, deque[AutoAccepted]] = OrderedDict()
        self._seq = itertools.count()

    def next_seq(self) -> int:
        return next(self._seq)

    # open approvals
    def add(self, entry: OpenEntry) -> None:
        self._open[entry.approval.id] = entry

    def open_entry(self, approval_id: str) -> OpenEntry | None:
        return self._open.get(approval_id)

    def take(self, approval_id: str) -> OpenEntry | None:
        """Remove and return an open entry (synchronous: the exactly-once point)."""
        return self._open.pop(approval_id, None)

    def open_count(self) -> int:
        return len(self._open)

    def open_entries(self) -> Iterator[OpenEntry]:
        """A snapshot, safe to iterate while entries are taken."""
        return iter(list(self._open.values()))

    def newest_first(self) -> list[OpenEntry]:
        return sorted(
            self._open.values(), key=lambda e: (e.approval.created_at, e.seq), reverse=True
        )

    # closed approvals
    def closed(self, approval_id: str) -> Approval | None:
        return self._closed.get(approval_id)

    def remember_closed(self, approval: Approval) -> None:
        self._closed[approval.id] = approval
        self._closed.move_to_end(approval.id)
        while len(self._closed) > RECENTLY_CLOSED_LIMIT:
            self._closed.popitem(last=False)

    def mark_expired(self, approval: Approval) -> None:
        current = self._closed.get(approval.id, approval)
        self.remember_closed(replace(current, status=ApprovalStatus.EXPIRED))

    # auto-accepted timeline rows
    def add_auto_row(self, row: AutoAccepted) -> None:
        chat_id = row.approval.chat_id
        rows = self._auto.get(chat_id)
        if rows is None:
            rows = self._auto[chat_id] = deque(maxlen=AUTO_ACCEPTED_PER_CHAT)
        self._auto.move_to_end(chat_id)
        while len(self._auto) > AUTO_ACCEPTED_CHATS:
            self._auto.popitem(last=False)
        rows.append(row)

    def auto_rows(self, chat_id: str) -> list[AutoAccepted]:
        return list(self._auto.get(chat_id, ()))
