"""Paired devices and their hashed bearer tokens (SEC-06, SEC-09, REL-08).

``devices.json`` in the private state directory holds one record per device
(wire-api.md section 3)::

    {"devices": [{"deviceId": "<uuid4>", "deviceName": "iPhone",
                  "tokenHash": "<sha256 hex of the token text>",
                  "createdAt": <ms>, "lastUsedAt": <ms>}],
     "revokedTokenHashes": ["<sha256 hex>", ...]}

``revokedTokenHashes`` (bounded, ``pairing.revoked``): revoked tokens keep a 401 (issue 14 A3).

The clear token (32 random bytes as 64 lowercase hex) is returned once by
:meth:`DeviceStore.issue` and never stored. :meth:`DeviceStore.authenticate`
hashes the presented token and compares it with every record using
``hmac.compare_digest`` (no early exit), so timing reveals neither the token
nor which device matched.

Lifecycle and guarantees:

- Loading refuses a file or directory that group/others can access
  (``storage.InsecurePermissions``) and a file that does not parse
  (:class:`DeviceStoreCorrupt`; we never silently drop paired devices), and
  removes temp files left by a crash mid-write.
- Every change is written atomically and durably (``storage.atomic_write_bytes``)
  while holding an advisory ``flock`` on ``devices.json.lock``, after re-reading
  the file if another process (the offline ``codexremote devices revoke``)
  replaced it. So a revoke done on the file is never undone by the running
  companion, and the running store notices it (on the next call, or within
  :data:`EXTERNAL_CHANGE_POLL_S` with :meth:`DeviceStore.watch_for_external_changes`)
  and fires the revocation listeners.
- ``lastUsedAt`` is updated in memory on every successful authentication but
  written to disk at most every :data:`LAST_USED_PERSIST_INTERVAL_S` (and by
  :meth:`DeviceStore.flush` at shutdown): a crash loses at most a minute of
  last-seen times, never a device.
- One ``threading.Lock`` guards the state; no method awaits while holding it,
  so the store is safe from threads and from the event loop. Methods are
  synchronous; a write costs a few milliseconds (fsync), so async callers
  should use ``asyncio.to_thread`` for ``issue``/``revoke``/``flush``.
  :meth:`DeviceStore.authenticate_async` never writes on the loop thread.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from codexremote.errors import BadRequest
from codexremote.pairing.revoked import JSON_KEY as REVOKED_KEY
from codexremote.pairing.revoked import RevokedTokens, is_digest
from codexremote.pairing.text import safe_text
from codexremote.storage import (
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    atomic_write_bytes,
    check_private,
    clean_stale_temp_files,
    ensure_private_dir,
)

log = logging.getLogger(__name__)

DEVICES_FILE = "devices.json"
LOCK_SUFFIX = ".lock"
TOKEN_BYTES = 32  # 256-bit tokens (SEC-06); wire format is 64 lowercase hex chars
MAX_DEVICE_NAME_CHARS = 100  # after trimming and stripping control characters
LAST_USED_PERSIST_INTERVAL_S = 60.0  # lastUsedAt reaches the disk at most this often
EXTERNAL_CHANGE_POLL_S = 1.0  # watch_for_external_changes: stat period (SEC-09: <= 1 s)

RevocationListener = Callable[[str], None]


class DeviceStoreCorrupt(Exception):
    """``devices.json`` exists but is not a valid device list."""


@dataclass(frozen=True)
class DeviceRecord:
    device_id: str
    device_name: str
    token_hash: str
    created_at_ms: int
    last_used_at_ms: int

    def to_json(self) -> dict[str, Any]:
        """The stored form (includes the token hash)."""
        return {
            "deviceId": self.device_id,
            "deviceName": self.device_name,
            "tokenHash": self.token_hash,
            "createdAt": self.created_at_ms,
            "lastUsedAt": self.last_used_at_ms,
        }

    def to_public(self) -> dict[str, Any]:
        """What an API may show: everything but the token hash."""
        return {
            "deviceId": self.device_id,
            "deviceName": self.device_name,
            "createdAt": self.created_at_ms,
            "lastUsedAt": self.last_used_at_ms,
        }


@dataclass(frozen=True)
class IssuedToken:
    device_id: str
    token: str  # shown once; only its SHA-256 is stored


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def clean_device_name(raw: str) -> str:
    """Trim and strip control/format characters; raise BadRequest if empty or too long."""
    cleaned = safe_text(raw).strip()
    if not cleaned:
        raise BadRequest("Expected non-empty string for deviceName")
    if len(cleaned) > MAX_DEVICE_NAME_CHARS:
        raise BadRequest("Device name is too long")
    return cleaned


class DeviceStore:
    """The paired devices of this computer, persisted in ``<state_dir>/devices.json``."""

    def __init__(self, state_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.state_dir = state_dir
        self.path = state_dir / DEVICES_FILE
        self._lock_path = state_dir / (DEVICES_FILE + LOCK_SUFFIX)
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[RevocationListener] = []
        self._devices: dict[str, DeviceRecord] = {}
        self._revoked = RevokedTokens()
        self._signature: tuple[int, int, int] | None = None
        self._dirty_last_used = False
        self._last_persist_s = clock()
        if state_dir.exists():
            check_private(state_dir, PRIVATE_DIR_MODE)
        else:
            ensure_private_dir(state_dir)
        clean_stale_temp_files(state_dir, DEVICES_FILE)
        with self._lock:
            self._reload_locked()

    # ----------------------------------------------------------------- queries

    def list(self) -> builtins.list[DeviceRecord]:
        """All devices, oldest first."""
        self.reload_if_changed()
        with self._lock:
            return sorted(self._devices.values(), key=lambda r: (r.created_at_ms, r.device_id))

    def get(self, device_id: str) -> DeviceRecord | None:
        self.reload_if_changed()
        with self._lock:
            return self._devices.get(device_id)

    def authenticate(self, token: str) -> DeviceRecord | None:
        """The device owning ``token`` (its lastUsedAt updated), or None.

        Writes to disk at most every LAST_USED_PERSIST_INTERVAL_S.
        """
        record, persist_due = self._authenticate_in_memory(token)
        if persist_due:
            self.flush()
        return record

    async def authenticate_async(self, token: str) -> DeviceRecord | None:
        """Like :meth:`authenticate`; the occasional lastUsedAt write runs in a thread."""
        record, persist_due = self._authenticate_in_memory(token)
        if persist_due:
            await asyncio.to_thread(self.flush)
        return record

    def was_revoked(self, token: str) -> bool:
        """True if ``token`` belonged to a revoked device: one hash and one set lookup, cheap
        enough for every poll; the set holds only dead tokens, so timing tells nothing."""
        self.reload_if_changed()
        if not token:
            return False
        with self._lock:
            return hash_token(token) in self._revoked

    # --------------------------------------------------------------- mutations

    def issue(self, device_name: str) -> IssuedToken:
        """Create a device with a fresh token; the clear token is returned only here."""
        name = clean_device_name(device_name)
        token = secrets.token_hex(TOKEN_BYTES)
        now_ms = self._now_ms()
        record = DeviceRecord(str(uuid.uuid4()), name, hash_token(token), now_ms, now_ms)
        with self._lock, self._file_lock():
            removed = self._reload_locked()
            self._devices[record.device_id] = record
            self._persist_locked()
        self._notify(removed)
        log.info("paired device %s (%s)", record.device_id, name)
        return IssuedToken(record.device_id, token)

    def revoke(self, device_id: str) -> bool:
        """Remove a device; True if it existed. Revocation listeners fire after the write."""
        with self._lock, self._file_lock():
            removed = self._reload_locked()
            gone = self._devices.pop(device_id, None)
            existed = gone is not None
            if gone is not None:
                self._revoked.add(gone.token_hash)
                self._persist_locked()
                removed.append(device_id)
        self._notify(removed)
        if existed:
            log.info("revoked device %s", device_id)
        return existed

    def flush(self) -> None:
        """Write pending lastUsedAt updates now (call at shutdown)."""
        with self._lock:
            if not self._dirty_last_used:
                return
            with self._file_lock():
                removed = self._reload_locked()
                self._persist_locked()
        self._notify(removed)

    def reload_if_changed(self) -> builtins.list[str]:
        """Pick up a file replaced by another process; returns the ids that vanished."""
        removed = self._refresh()
        self._notify(removed)
        return removed

    async def watch_for_external_changes(self, interval_s: float = EXTERNAL_CHANGE_POLL_S) -> None:
        """Poll the file (one stat per interval) until cancelled, so an offline
        revoke closes the device's sockets without waiting for its next request."""
        last_error = ""
        while True:
            await asyncio.sleep(interval_s)
            try:
                self.reload_if_changed()
                last_error = ""
            except Exception as exc:
                if str(exc) != last_error:  # log a lasting problem once, not every second
                    log.error("could not re-read %s: %s", self.path, exc)
                last_error = str(exc)

    def add_revocation_listener(
        self, callback: RevocationListener, *, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        """Call ``callback(device_id)`` whenever a device disappears.

        Without ``loop`` the callback runs synchronously on the thread that made
        the change (outside the store lock); with ``loop`` it is scheduled on that
        event loop with ``call_soon_threadsafe``. Exceptions are logged and ignored.
        """
        if loop is None:
            self._listeners.append(callback)
        else:

            def hop(device_id: str) -> None:
                loop.call_soon_threadsafe(callback, device_id)

            self._listeners.append(hop)

    # ---------------------------------------------------------------- internals

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _authenticate_in_memory(self, token: str) -> tuple[DeviceRecord | None, bool]:
        self.reload_if_changed()
        if not token:
            return None, False
        presented = hash_token(token)
        with self._lock:
            match: DeviceRecord | None = None
            for record in self._devices.values():  # every record, no early exit
                if hmac.compare_digest(presented, record.token_hash):
                    match = record
            if match is None:
                return None, False
            now = self._clock()
            match = replace(match, last_used_at_ms=int(now * 1000))
            self._devices[match.device_id] = match
            self._dirty_last_used = True
            due = now - self._last_persist_s >= LAST_USED_PERSIST_INTERVAL_S
            return match, due

    def _refresh(self) -> builtins.list[str]:
        with self._lock:
            if self._current_signature() == self._signature:
                return []
            return self._reload_locked()

    def _current_signature(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload_locked(self) -> builtins.list[str]:
        """Re-read the file if it changed; keep newer in-memory lastUsedAt values."""
        signature = self._current_signature()
        if signature == self._signature and (signature is not None or not self._devices):
            return []
        loaded, revoked = self._read_file() if signature is not None else ({}, RevokedTokens())
        for device_id, record in loaded.items():
            mine = self._devices.get(device_id)
            if mine is not None and mine.last_used_at_ms > record.last_used_at_ms:
                loaded[device_id] = replace(record, last_used_at_ms=mine.last_used_at_ms)
        removed = [device_id for device_id in self._devices if device_id not in loaded]
        for device_id in removed:  # also a revoke by a writer that keeps no revoked list
            revoked.add(self._devices[device_id].token_hash)
        for record in loaded.values():
            revoked.discard(record.token_hash)
        self._devices = loaded
        self._revoked = revoked
        self._signature = signature
        return removed

    def _read_file(self) -> tuple[dict[str, DeviceRecord], RevokedTokens]:
        check_private(self.path, PRIVATE_FILE_MODE)
        try:
            document = json.loads(self.path.read_bytes())
            entries = document["devices"]
            if not isinstance(entries, list):
                raise TypeError("devices is not a list")
            records = [_parse_record(entry) for entry in entries]
            revoked = RevokedTokens.from_json(document.get(REVOKED_KEY, []))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DeviceStoreCorrupt(f"{self.path} is not a valid device list: {exc}") from exc
        return {record.device_id: record for record in records}, revoked

    def _persist_locked(self) -> None:
        ordered = sorted(self._devices.values(), key=lambda r: (r.created_at_ms, r.device_id))
        document = {
            "devices": [record.to_json() for record in ordered],
            REVOKED_KEY: self._revoked.to_json(),
        }
        data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        atomic_write_bytes(self.path, data, mode=PRIVATE_FILE_MODE)
        self._signature = self._current_signature()
        self._dirty_last_used = False
        self._last_persist_s = self._clock()

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Serialise read-modify-write with other processes (the offline CLI)."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _notify(self, removed: builtins.list[str]) -> None:
        for device_id in removed:
            for listener in list(self._listeners):
                try:
                    listener(device_id)
                except Exception:
                    log.exception("revocation listener failed for %s", device_id)


def _parse_record(entry: Any) -> DeviceRecord:
    if not isinstance(entry, dict):
        raise TypeError("device entry is not an object")
    device_id, name, token_hash = entry["deviceId"], entry["deviceName"], entry["tokenHash"]
    if not all(isinstance(v, str) and v for v in (device_id, name, token_hash)):
        raise TypeError("deviceId, deviceName and tokenHash must be non-empty strings")
    if not is_digest(token_hash):
        raise ValueError(f"tokenHash of {device_id} is not a SHA-256 hex digest")
    created = _ms_field(entry, "createdAt")
    last_used = _ms_field(entry, "lastUsedAt") if "lastUsedAt" in entry else created
    return DeviceRecord(device_id, name, token_hash, created, last_used)


def _ms_field(entry: dict[str, Any], key: str) -> int:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} must be an integer (ms)")
    return value
