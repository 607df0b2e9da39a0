"""The local-confirmation contract shared by every confirmer (SEC-08).

A :class:`Confirmer` asks the person at this computer whether a pairing
request may proceed. ``True`` means an explicit "allow"; ``False`` an explicit
"deny". A channel that cannot produce an answer (dialog failed to open, the
user closed it, the dialog gave up) raises :class:`NoAnswer`, so that a
composite confirmer can keep waiting for another channel; the pairing manager
treats ``NoAnswer``, any other exception and its own timeout as "deny".
Never auto-approve; never answer over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from codexremote.pairing.text import safe_text


@dataclass(frozen=True)
class ConfirmationRequest:
    request_id: str  # uuid4; also accepted by `codexremote devices approve`
    device_name: str  # already cleaned by the pairing manager
    comparison_code: str  # 6 digits, also shown on the phone (see codes.py)
    pairing_id: str
    expires_at_ms: int = 0  # wall-clock deadline of the local confirmation window

    def prompt_lines(self) -> list[str]:
        """The text every channel shows, one line per item."""
        return [
            f"Allow pairing for device '{safe_text(self.device_name)}'?",
            f"Comparison code: {self.comparison_code} (check that the phone shows the same)",
            f"Pairing ID: {self.pairing_id}",
        ]


class Confirmer(Protocol):
    async def confirm(self, request: ConfirmationRequest) -> bool: ...


class NoAnswer(Exception):
    """The channel produced no decision (not the same as a denial)."""


class ConfirmerUnavailable(Exception):
    """A confirmer that was explicitly asked for cannot run here; the message says why."""
