"""Approvals: open approval registry, exactly-once decisions, session/always allows.

See ``docs/approvals.md``. The bridge feeds :class:`ApprovalService` with server
requests and notifications; the HTTP/stream layer reads and decides through it.
"""

from codexremote.approvals.always_allow import (
    PREFERENCES_FILE,
    AlwaysAllowEntry,
    AlwaysAllowStore,
)
from codexremote.approvals.fingerprint import mcp_scope_key, normalise_name
from codexremote.approvals.service import ApprovalService
from codexremote.approvals.types import (
    DECISIONS,
    Approval,
    ApprovalStatus,
    AutoAccepted,
    MatchedAllow,
    Publisher,
    RejectUnknown,
    Responder,
    ServerRequest,
)

__all__ = [
    "DECISIONS",
    "PREFERENCES_FILE",
    "AlwaysAllowEntry",
    "AlwaysAllowStore",
    "Approval",
    "ApprovalService",
    "ApprovalStatus",
    "AutoAccepted",
    "MatchedAllow",
    "Publisher",
    "RejectUnknown",
    "Responder",
    "ServerRequest",
    "mcp_scope_key",
    "normalise_name",
]
