"""The token hashes of recently revoked devices (issue 14 A3, SEC-09).

Why: the original iOS app keeps polling with its token after the device was
revoked and shows "please pair again" only for HTTP 401. If a revoked token
counted as a failed guess, the bad-token limiter would answer 429 within about
25 s and the app would show "too many attempts" instead, forever. So a token
that was once valid keeps getting a cheap 401 that does not touch the limiter,
while unknown tokens (guesses) stay rate-limited.

Bounded: at most :data:`MAX_REVOKED_TOKENS` hashes are kept, the oldest
revocation forgotten first (a token revoked that long ago falls back to the
limiter's rule, which is still correct, only less friendly). The set is saved
with the devices in ``devices.json`` (``revokedTokenHashes``, oldest first), so
it survives a companion restart and an offline ``codexremote devices revoke``.
Only SHA-256 digests of 256-bit random tokens are stored: nothing to guess from.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

MAX_REVOKED_TOKENS = 1_000  # ~64 KiB in devices.json at most; a handful in practice
JSON_KEY = "revokedTokenHashes"


class RevokedTokens:
    """An insertion-ordered, bounded set of token hashes. Not thread-safe on its own
    (the device store's lock guards it)."""

    def __init__(self, hashes: Iterable[str] = (), *, limit: int = MAX_REVOKED_TOKENS) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._hashes: OrderedDict[str, None] = OrderedDict()
        for token_hash in hashes:
            self.add(token_hash)

    def __contains__(self, token_hash: object) -> bool:
        return token_hash in self._hashes

    def __len__(self) -> int:
        return len(self._hashes)

    def add(self, token_hash: str) -> None:
        """Remember ``token_hash`` as the newest revocation, dropping the oldest past the limit."""
        self._hashes[token_hash] = None
        self._hashes.move_to_end(token_hash)
        while len(self._hashes) > self.limit:
            self._hashes.popitem(last=False)

    def discard(self, token_hash: str) -> None:
        """Forget ``token_hash`` (it belongs to a device again)."""
        self._hashes.pop(token_hash, None)

    def to_json(self) -> list[str]:
        return list(self._hashes)

    @classmethod
    def from_json(cls, value: Any, *, limit: int = MAX_REVOKED_TOKENS) -> RevokedTokens:
        """Parse the stored list; raises TypeError/ValueError on anything but digests."""
        if not isinstance(value, list):
            raise TypeError(f"{JSON_KEY} is not a list")
        for token_hash in value:
            if not is_digest(token_hash):
                raise ValueError(f"{JSON_KEY} holds a value that is not a SHA-256 hex digest")
        return cls(value, limit=limit)


def is_digest(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )
