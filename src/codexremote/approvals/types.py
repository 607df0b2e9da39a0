"""Value types and injected seams of the approvals domain.

The bridge to ``codex app-server`` and the stream layer are adapted to these
small callables, so the approval logic never imports a transport:

- :data:`Responder` answers one server request (``{"id": ..., "result": ...}``)
  and raises :class:`codexremote.errors.Gone` when that child generation is gone.
- :data:`Publisher` puts one event on a chat's stream (synchronous, never blocks).
- :data:`RejectUnknown` answers a server request we do not understand with a
  JSON-RPC error, so no request is ever left hanging.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from codexremote.codex.dispatcher import IncomingRequest

APPROVE = "approve"
DECLINE = "decline"
ALLOW_FOR_SESSION = "allow_for_session"
ALLOW_ALWAYS = "allow_always"
# The four decisions the phone apps send (wire-api 4.18), in menu order.
DECISIONS: tuple[str, ...] = (APPROVE, DECLINE, ALLOW_FOR_SESSION, ALLOW_ALWAYS)


# A server→client request from one app-server child: the bridge's own type, so
# requests pass between the dispatcher and this package without copying.
# ``generation`` names the child that sent it; a restarted child has a larger
# generation and knows nothing of its predecessor's request ids (REL-02).
ServerRequest = IncomingRequest


Responder = Callable[[ServerRequest, Any], Awaitable[None]]
Publisher = Callable[[str, str, dict[str, Any]], None]
RejectUnknown = Callable[[ServerRequest], Awaitable[None]]
ChatForTurn = Callable[[str], str | None]
Clock = Callable[[], int]


def wall_clock_ms() -> int:
    """Default clock: Unix epoch milliseconds (approval ``createdAt`` unit)."""
    return time.time_ns() // 1_000_000


class ApprovalStatus(StrEnum):
    """Life cycle of one approval; only ``open`` accepts a decision."""

    OPEN = "open"
    ANSWERED = "answered"  # a phone decided; app-server was answered by us
    AUTO_ACCEPTED = "auto_accepted"  # a session/always allow answered it
    RESOLVED = "resolved"  # app-server says it was answered elsewhere (serverRequest/resolved)
    CLEARED = "cleared"  # its turn ended before anyone decided
    EXPIRED = "expired"  # its app-server child is gone (restart, crash)


# Statuses that mean "someone already answered" (409); the rest of the closed
# statuses mean "nobody can answer any more" (410).
ANSWERED_STATUSES = frozenset({ApprovalStatus.ANSWERED, ApprovalStatus.AUTO_ACCEPTED})


@dataclass(frozen=True, slots=True)
class MatchedAllow:
    """Which stored allow answered a request automatically."""

    scope: Literal["always", "session"]
    scope_key: str | None  # None = whole-chat session allow

    def to_wire(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "scopeKey": self.scope_key,
            "wholeChat": self.scope_key is None,
        }


@dataclass(frozen=True, slots=True)
class Approval:
    """One approval as the phones see it (wire-api 6.1 plus additive fields)."""

    id: str
    kind: str
    mode: str
    title: str
    summary: str
    risk_level: str
    created_at: int
    supports_session_allow: bool
    supports_always_allow: bool
    chat_id: str
    method: str
    available_decisions: tuple[str, ...]
    server_name: str | None = None
    turn_id: str | None = None
    item_id: str | None = None
    scope_key: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    status: ApprovalStatus = ApprovalStatus.OPEN
    decision: str | None = None
    closed_at: int | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object for ``pending-approval`` and ``approval_required``.

        The first nine members are what the original iOS app requires; the rest
        are additive (the app ignores unknown members). ``None`` values are
        omitted, as the app's encoder does.
        """
        wire: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "mode": self.mode,
            "title": self.title,
            "summary": self.summary,
            "riskLevel": self.risk_level,
            "createdAt": self.created_at,
            "supportsSessionAllow": self.supports_session_allow,
            "supportsAlwaysAllow": self.supports_always_allow,
            "chatId": self.chat_id,
            "method": self.method,
            "availableDecisions": list(self.available_decisions),
            "details": self.details,
            "status": self.status.value,
        }
        optional = {
            "serverName": self.server_name,
            "turnId": self.turn_id,
            "itemId": self.item_id,
            "scopeKey": self.scope_key,
            "decision": self.decision,
            "closedAt": self.closed_at,
        }
        wire.update({key: value for key, value in optional.items() if value is not None})
        return wire


@dataclass(frozen=True, slots=True)
class AutoAccepted:
    """A timeline row: a request answered by an allow without asking anyone."""

    at: int
    approval: Approval
    matched: MatchedAllow

    def to_wire(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "approval": self.approval.to_wire(),
            "matchedAllow": self.matched.to_wire(),
        }
