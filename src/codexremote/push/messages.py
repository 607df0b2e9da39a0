"""Which stream events become a notification, and what it says (docs/push.md).

Triggers (bus events, see docs/stream.md):

| event | kind | urgency |
| --- | --- | --- |
| `approval_required` | `approval` | high |
| `turn_completed`, turn status `completed` | `turn_completed` | normal |
| `turn_completed`, turn status `failed` | `turn_failed` | normal |
| `agent_restarted` while a chat had a turn running | `agent_restarted` | normal |

An interrupted turn notifies nobody (someone pressed stop). The tag is one per
chat (``chat:<id>``), so a newer notification replaces the chat's older one on the
phone; the ``Topic`` header does the same for pushes still queued at the push
service. With ``push_content = "minimal"`` the payload carries no text beyond
"Codex needs you": no chat title, no command, no answer (ids only, so a tap still
opens the chat).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

PAYLOAD_VERSION = 1
MINIMAL_TITLE = "Codex needs you"
MAX_SUMMARY_CHARS = 160  # lock screens show about two lines
MAX_TITLE_CHARS = 80
TOPIC_CHARS = 32  # RFC 8030 5.4: at most 32 base64url characters

Content = Literal["full", "minimal"]
Urgency = Literal["very-low", "low", "normal", "high"]


@dataclass(frozen=True)
class PushMessage:
    kind: str
    chat_id: str
    chat_title: str
    summary: str
    urgency: Urgency
    approval_id: str | None = None
    created_ms: int = 0
    raised_at: float = 0.0  # time.monotonic() when the event was published (figures)

    @property
    def tag(self) -> str:
        return f"chat:{self.chat_id}"

    @property
    def topic(self) -> str:
        digest = hashlib.sha256(self.chat_id.encode("utf-8")).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii")[:TOPIC_CHARS]

    def payload(self, content: Content) -> dict[str, Any]:
        """The JSON the service worker receives (docs/push.md "Payload")."""
        body: dict[str, Any] = {
            "v": PAYLOAD_VERSION,
            "kind": self.kind,
            "chatId": self.chat_id,
            "tag": self.tag,
            "sentAt": self.created_ms,
        }
        if self.approval_id is not None:
            body["approvalId"] = self.approval_id
        if content == "minimal":
            return body | {"title": MINIMAL_TITLE, "body": ""}
        title = _clip(self.chat_title or "Codex", MAX_TITLE_CHARS)
        return body | {
            "title": title,
            "body": _clip(_LEADS[self.kind] + self.summary, MAX_SUMMARY_CHARS),
            "chatTitle": self.chat_title,
            "summary": self.summary,
        }

    def encoded(self, content: Content) -> bytes:
        return json.dumps(self.payload(content), separators=(",", ":")).encode("utf-8")


_LEADS = {
    "approval": "Approval needed: ",
    "turn_completed": "Done: ",
    "turn_failed": "Failed: ",
    "agent_restarted": "Codex restarted during this turn",
}


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def approval_summary(approval: dict[str, Any]) -> str:
    """The command awaiting approval, else the approval's own summary line."""
    details = approval.get("details")
    command = details.get("command") if isinstance(details, dict) else None
    if isinstance(command, str) and command.strip():
        return first_line(command)
    summary = approval.get("summary")
    return first_line(summary) if isinstance(summary, str) else ""


def final_answer(turn: dict[str, Any]) -> str:
    """First line of the turn's final agent message (``turn/completed`` carries it)."""
    items = turn.get("items")
    texts = [
        str(item.get("text") or "")
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict) and item.get("type") == "agentMessage"
    ]
    return first_line(texts[-1]) if texts else ""


def failure_reason(turn: dict[str, Any]) -> str:
    error = turn.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return first_line(message) if isinstance(message, str) else "the turn failed"


def now_ms() -> int:
    return int(time.time() * 1000)
