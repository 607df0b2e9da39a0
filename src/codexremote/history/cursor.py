"""Opaque page cursors for backward history paging.

A cursor says where the next (older) page starts: the rollout file's identity
(device + inode), a byte offset ``end`` (the next page reads the records that
end at or before it), how many items of the record ending at ``end`` were
already delivered (``skip``; one record can yield several cards), and the tiny
pairing state the backward mapper needs from newer records (``ReverseState``).
It is base64url of compact JSON: opaque to clients, not a secret (it only
holds offsets and a text digest), and validated field by field when decoded.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from codexremote.errors import BadRequest

# Longer strings are rejected before decoding (real cursors are ~150 chars).
MAX_CURSOR_CHARS = 512
CURSOR_VERSION = 1
INVALID_CURSOR = "Invalid cursor"


@dataclass(frozen=True, slots=True)
class NewerUser:
    """The newest message record already processed, when it was a user record."""

    kind: str
    digest: str
    absorbed: bool


@dataclass(frozen=True, slots=True)
class ReverseState:
    """Context from newer records that decides drops of older ones."""

    newer_user: NewerUser | None = None
    newer_compaction: str | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    chat_id: str
    dev: int
    ino: int
    end: int
    skip: int
    state: ReverseState


def encode_cursor(cursor: Cursor) -> str:
    user = cursor.state.newer_user
    body: dict[str, Any] = {
        "v": CURSOR_VERSION,
        "c": cursor.chat_id,
        "d": cursor.dev,
        "i": cursor.ino,
        "e": cursor.end,
        "k": cursor.skip,
        "u": None if user is None else [user.kind, user.digest, user.absorbed],
        "m": cursor.state.newer_compaction,
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(text: str, chat_id: str) -> Cursor:
    """Decode and validate; raise ``BadRequest("Invalid cursor")`` on anything odd."""
    if not isinstance(text, str) or not text or len(text) > MAX_CURSOR_CHARS:
        raise BadRequest(INVALID_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise BadRequest(INVALID_CURSOR) from None
    if not isinstance(body, dict) or body.get("v") != CURSOR_VERSION or body.get("c") != chat_id:
        raise BadRequest(INVALID_CURSOR)
    dev, ino, end, skip = (body.get(k) for k in ("d", "i", "e", "k"))
    if not all(_is_count(v) for v in (dev, ino, end, skip)):
        raise BadRequest(INVALID_CURSOR)
    assert isinstance(dev, int) and isinstance(ino, int)
    assert isinstance(end, int) and isinstance(skip, int)
    return Cursor(chat_id, dev, ino, end, skip, _decode_state(body.get("u"), body.get("m")))


def _decode_state(user: object, compaction: object) -> ReverseState:
    newer_user = None
    if user is not None:
        if not (
            isinstance(user, list)
            and len(user) == 3
            and user[0] in ("event", "item")
            and isinstance(user[1], str)
            and len(user[1]) <= 64
            and isinstance(user[2], bool)
        ):
            raise BadRequest(INVALID_CURSOR)
        newer_user = NewerUser(user[0], user[1], user[2])
    if compaction is not None and not isinstance(compaction, str):
        raise BadRequest(INVALID_CURSOR)
    return ReverseState(newer_user, compaction)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
