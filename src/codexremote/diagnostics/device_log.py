"""The phone's debug log (NDJSON), kept as one private file in the state dir.

The original companion wrote ``logs/ios-device.ndjson`` in its repository; ours has
no repository, so the file is ``<state_dir>/ios-device.ndjson`` (0600, in the 0700
state dir). Each upload replaces the previous one atomically (storage.py, REL-08):
a reader or a crash sees the old log or the new one, never a mix. The size is
bounded: the phone strips chat text and tokens, so a log past the limit is not a
log we want on disk.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codexremote.errors import BadRequest, PayloadTooLarge
from codexremote.storage import atomic_write_bytes, clean_stale_temp_files, ensure_private_dir

DEVICE_LOG_NAME = "ios-device.ndjson"
MAX_DEVICE_LOG_BYTES = 4 * 1024 * 1024  # UTF-8 bytes of the trimmed contents
REQUIRED = "Debug log contents are required"  # the original's text (wire-api.md 4.6)
# Two uploads at once: one must not clean away the other's temp file mid-write.
_write_lock = threading.Lock()


@dataclass(frozen=True)
class SavedLog:
    path: Path
    bytes: int

    def display_path(self) -> str:
        """The path as the phone shows it ("Copied to ~/.config/codexremote/...")."""
        home = Path.home()
        try:
            return "~/" + str(self.path.relative_to(home))
        except ValueError:
            return str(self.path)


def save_device_log(state_dir: Path, contents: Any) -> SavedLog:
    """Validate and write; blocking (fsync), so callers run it in a worker thread.

    ``bytes`` is the size of the file written: the trimmed contents plus the one
    trailing newline the original adds."""
    if not isinstance(contents, str) or not contents.strip():
        raise BadRequest(REQUIRED, code="contents_required")
    data = contents.strip().encode("utf-8", "replace") + b"\n"
    if len(data) - 1 > MAX_DEVICE_LOG_BYTES:
        raise PayloadTooLarge(
            f"Debug log is too large ({len(data) - 1} bytes); the limit is "
            f"{MAX_DEVICE_LOG_BYTES} bytes.",
            code="log_too_large",
        )
    path = state_dir / DEVICE_LOG_NAME
    with _write_lock:
        ensure_private_dir(state_dir)
        clean_stale_temp_files(state_dir, DEVICE_LOG_NAME)
        atomic_write_bytes(path, data)
    return SavedLog(path, len(data))
