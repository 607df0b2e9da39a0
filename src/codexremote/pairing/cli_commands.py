"""Handlers behind ``codexremote devices ...`` (the CLI module only parses arguments).

Each handler prints one line per item (results to stdout, errors to stderr)
and returns the process exit code:

- 0: done;
- 1: the request failed (unknown device or request, unreadable store);
- 2: no companion is running (only for commands that need one).

``list`` and (without a running companion) ``revoke`` work on the store file
directly. ``revoke`` prefers the control socket when a companion is running,
so that its in-memory store drops the device and closes the device's open
streams at once; the file fallback is also picked up by a running companion
(it re-reads a replaced ``devices.json``), just not instantly.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from codexremote.pairing.control import (
    CompanionNotRunning,
    control_request,
    control_socket_path,
)
from codexremote.pairing.device_store import DeviceStore, DeviceStoreCorrupt
from codexremote.storage import InsecurePermissions

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NO_COMPANION = 2


def devices_list(state_dir: Path) -> int:
    """One line per paired device: id, name, when paired, when last used."""
    if not state_dir.exists():
        print("No paired devices.")
        return EXIT_OK
    try:
        records = DeviceStore(state_dir).list()
    except (InsecurePermissions, DeviceStoreCorrupt, OSError) as exc:
        return _fail(str(exc))
    if not records:
        print("No paired devices.")
    for record in records:
        print(
            f"{record.device_id}  {record.device_name}  "
            f"paired {_when(record.created_at_ms)}  last used {_when(record.last_used_at_ms)}"
        )
    return EXIT_OK


def devices_revoke(state_dir: Path, device_id: str) -> int:
    """Revoke through the running companion if there is one, else in the file."""
    revoked: bool | None = None
    if control_socket_path(state_dir).exists():
        try:
            reply = control_request(state_dir, {"cmd": "revoke", "deviceId": device_id})
        except CompanionNotRunning:
            revoked = None  # stale socket file: fall back to the store file
        except (OSError, ValueError) as exc:
            return _fail(f"could not talk to the companion: {exc}")
        else:
            if not reply.get("ok"):
                return _fail(str(reply.get("error", "the companion refused")))
            revoked = bool(reply.get("revoked"))
    if revoked is None:
        if not state_dir.exists():
            revoked = False
        else:
            try:
                revoked = DeviceStore(state_dir).revoke(device_id)
            except (InsecurePermissions, DeviceStoreCorrupt, OSError) as exc:
                return _fail(str(exc))
    if not revoked:
        return _fail(f"No device with id {device_id}")
    print(f"Revoked {device_id}")
    return EXIT_OK


def devices_pending(state_dir: Path) -> int:
    """One line per pairing request waiting for a local answer."""
    reply = _ask_companion(state_dir, {"cmd": "pending"})
    if isinstance(reply, int):
        return reply
    pending = reply.get("pending") or []
    if not pending:
        print("No pending pairing requests.")
    now_ms = int(time.time() * 1000)
    for item in pending:
        left_s = max(0, (int(item.get("expiresAt", 0)) - now_ms) // 1000)
        print(
            f"{item.get('requestId')}  code {item.get('comparisonCode')}  "
            f"{item.get('deviceName')}  (expires in {left_s} s)"
        )
    return EXIT_OK


def devices_approve(state_dir: Path, target: str) -> int:
    """Allow the pending request with this request id or comparison code."""
    return _decide(state_dir, "approve", target)


def devices_reject(state_dir: Path, target: str) -> int:
    """Deny the pending request with this request id or comparison code."""
    return _decide(state_dir, "reject", target)


def _decide(state_dir: Path, command: str, target: str) -> int:
    reply = _ask_companion(state_dir, {"cmd": command, "target": target})
    if isinstance(reply, int):
        return reply
    verb = "Approved" if command == "approve" else "Rejected"
    print(f"{verb} pairing of '{reply.get('deviceName')}' (request {reply.get('requestId')})")
    return EXIT_OK


def _ask_companion(state_dir: Path, payload: dict[str, Any]) -> dict[str, Any] | int:
    """The companion's reply, or an exit code after printing why there is none."""
    try:
        reply = control_request(state_dir, payload)
    except CompanionNotRunning:
        print(
            f"error: no companion is running (no control socket at "
            f"{control_socket_path(state_dir)}); start it with `codexremote serve`",
            file=sys.stderr,
        )
        return EXIT_NO_COMPANION
    except (OSError, ValueError) as exc:
        return _fail(f"could not talk to the companion: {exc}")
    if not reply.get("ok"):
        return _fail(str(reply.get("error", "the companion refused")))
    return reply


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_FAILED


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M")
