"""Browsers' push subscriptions, per paired device (``push-subscriptions.json``).

A subscription is what ``PushSubscription.toJSON()`` gives the page: the push
service ``endpoint`` (a capability URL: whoever knows it can push), its
``expirationTime`` and the keys ``p256dh`` (the browser's P-256 public key) and
``auth`` (16 secret bytes) the payload is encrypted to (RFC 8291).

Rules:

- Only ``https:`` endpoints are stored: every real push service is https, and a
  plain-http endpoint would send the VAPID token and the encrypted payload in the
  clear. The keys are checked for shape (65-byte uncompressed point, 16-byte auth),
  so a bad subscription fails at ``POST`` with 400, not later at every send.
- An endpoint belongs to one device: subscribing it again (the page re-sends its
  subscription on every launch, because Apple accepts pushes to dead ones) updates
  it in place, also when another device had it (the browser changed hands).
- At most :data:`MAX_PER_DEVICE` per device (a device is one browser profile; a few
  allow for reinstalls), the oldest goes first.
- ``lastSuccessAt`` (epoch ms) is kept for ``codexremote doctor``.

The file is written atomically (REL-08) under a ``threading.Lock``; methods are
synchronous and cost an fsync, so async callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from codexremote.errors import BadRequest
from codexremote.storage import (
    PRIVATE_FILE_MODE,
    atomic_write_bytes,
    check_private,
    clean_stale_temp_files,
    ensure_private_dir,
)

log = logging.getLogger(__name__)

SUBSCRIPTIONS_FILE = "push-subscriptions.json"
MAX_PER_DEVICE = 5
MAX_ENDPOINT_CHARS = 2048  # FCM/Apple endpoints are ~200 characters
P256_POINT_BYTES = 65  # uncompressed point: 0x04 || X || Y
AUTH_SECRET_BYTES = 16  # RFC 8291 section 3.2
SUBSCRIPTION_ID_CHARS = 32  # hex of SHA-256(endpoint)
# What is accepted, as the OpenAPI document states it (ECMA-262 regexes, `$` = the end):
# an https: URL with a plain host name or IPv4 address, then a path, query or fragment.
ENDPOINT_PATTERN = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#]|$)"
P256DH_PATTERN = r"^B[A-P][A-Za-z0-9_-]{85}=?$"  # 65 bytes, the first 0x04 (uncompressed)
AUTH_PATTERN = r"^[A-Za-z0-9_-]{22}(==)?$"  # 16 bytes


def _as_python(pattern: str) -> re.Pattern[str]:
    """``pattern`` as JSON Schema reads it: Python's ``$`` also matches before a final
    newline, ECMA-262's only at the end."""
    return re.compile(pattern.replace("$", r"\Z"))


_ENDPOINT_RE = _as_python(ENDPOINT_PATTERN)
_P256DH_RE = _as_python(P256DH_PATTERN)
_AUTH_RE = _as_python(AUTH_PATTERN)


@dataclass(frozen=True)
class Subscription:
    deviceId: str
    endpoint: str
    p256dh: str
    auth: str
    expirationTime: int | None
    createdAt: int
    lastSuccessAt: int | None = None

    @property
    def id(self) -> str:
        """A stable handle for ``DELETE`` that is not the capability URL itself."""
        return subscription_id(self.endpoint)

    def to_public(self) -> dict[str, Any]:
        """What ``GET`` shows: never the keys (the auth secret is the browser's)."""
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "expirationTime": self.expirationTime,
            "createdAt": self.createdAt,
            "lastSuccessAt": self.lastSuccessAt,
        }

    def subscription_info(self) -> dict[str, Any]:
        """The shape pywebpush takes."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def subscription_id(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()[:SUBSCRIPTION_ID_CHARS]


def _b64url_bytes(value: str, what: str) -> bytes:
    # validate=True: a character outside the alphabet is refused, not silently skipped,
    # so what the OpenAPI document's pattern allows is exactly what is accepted.
    try:
        padded = value + "=" * (-len(value) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"keys.{what} is not base64url", code="invalid_subscription") from None


def check_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    """Raise BadRequest (400, ``invalid_subscription``) unless it can be pushed to."""
    if not _ENDPOINT_RE.search(endpoint):  # the pattern requires a non-empty host
        raise BadRequest("endpoint must be an https: URL", code="invalid_subscription")
    if len(endpoint) > MAX_ENDPOINT_CHARS:
        raise BadRequest("endpoint is too long", code="invalid_subscription")
    point = _b64url_bytes(p256dh, "p256dh")
    if not _P256DH_RE.search(p256dh) or len(point) != P256_POINT_BYTES or point[0] != 4:
        raise BadRequest(
            "keys.p256dh must be an uncompressed P-256 point", code="invalid_subscription"
        )
    if not _AUTH_RE.search(auth) or len(_b64url_bytes(auth, "auth")) != AUTH_SECRET_BYTES:
        raise BadRequest("keys.auth must be 16 bytes", code="invalid_subscription")


class SubscriptionStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / SUBSCRIPTIONS_FILE
        self._lock = threading.Lock()
        ensure_private_dir(state_dir)
        clean_stale_temp_files(state_dir, SUBSCRIPTIONS_FILE)
        self._items: dict[str, Subscription] = load_subscriptions(self.path)

    def for_device(self, device_id: str) -> list[Subscription]:
        with self._lock:
            return [s for s in self._items.values() if s.deviceId == device_id]

    def get(self, endpoint: str) -> Subscription | None:
        with self._lock:
            return self._items.get(endpoint)

    def devices(self) -> set[str]:
        with self._lock:
            return {s.deviceId for s in self._items.values()}

    def add(
        self, device_id: str, endpoint: str, p256dh: str, auth: str, expiration: int | None
    ) -> Subscription:
        check_subscription(endpoint, p256dh, auth)
        now = int(time.time() * 1000)
        with self._lock:
            old = self._items.get(endpoint)
            created = old.createdAt if old is not None and old.deviceId == device_id else now
            last = old.lastSuccessAt if old is not None and old.deviceId == device_id else None
            item = Subscription(device_id, endpoint, p256dh, auth, expiration, created, last)
            self._items[endpoint] = item
            mine = sorted(
                (s for s in self._items.values() if s.deviceId == device_id),
                key=lambda s: s.createdAt,
            )
            for extra in mine[: max(0, len(mine) - MAX_PER_DEVICE)]:
                if extra.endpoint != endpoint:
                    del self._items[extra.endpoint]
            self._persist_locked()
        return item

    def remove(self, device_id: str, subscription_id: str) -> bool:
        """The device's own subscription with that id; False if it has none such."""
        with self._lock:
            found = [
                s
                for s in self._items.values()
                if s.deviceId == device_id and s.id == subscription_id
            ]
            if not found:
                return False
            del self._items[found[0].endpoint]
            self._persist_locked()
        return True

    def drop(self, endpoint: str) -> bool:
        """The push service said the subscription is gone (404/410)."""
        with self._lock:
            if self._items.pop(endpoint, None) is None:
                return False
            self._persist_locked()
        return True

    def remove_device(self, device_id: str) -> int:
        with self._lock:
            gone = [e for e, s in self._items.items() if s.deviceId == device_id]
            for endpoint in gone:
                del self._items[endpoint]
            if gone:
                self._persist_locked()
        return len(gone)

    def record_success(self, endpoint: str, at_ms: int) -> None:
        with self._lock:
            item = self._items.get(endpoint)
            if item is None:
                return
            self._items[endpoint] = replace(item, lastSuccessAt=at_ms)
            self._persist_locked()

    def _persist_locked(self) -> None:
        body = {"subscriptions": [asdict(s) for s in self._items.values()]}
        atomic_write_bytes(self.path, json.dumps(body, indent=2).encode("utf-8"))


def load_subscriptions(path: Path) -> dict[str, Subscription]:
    """The stored subscriptions by endpoint; a broken file is logged and ignored
    (subscriptions are renewed by the page at its next launch, unlike devices)."""
    if not path.exists():
        return {}
    check_private(path, PRIVATE_FILE_MODE)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        items = [Subscription(**entry) for entry in raw["subscriptions"]]
    except (ValueError, KeyError, TypeError) as exc:
        log.error("ignoring unreadable %s: %s", path, exc)
        return {}
    return {item.endpoint: item for item in items}
