"""The companion's size-rotated log file in the state dir, and reading it back.

Rotation is by size (``RotatingFileHandler``: 5 MiB, 3 old files), so a
service that runs for months keeps at most 20 MiB of log. Files are 0600 in a
0700 directory: the log names paths and devices. SEC-13 still holds: the
same filters as on stderr run on this handler (``logguard.install``).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from codexremote.storage import ensure_private_dir

LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3
FOLLOW_POLL_S = 0.5
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def default_log_file(state_dir: Path) -> Path:
    return state_dir / "logs" / "companion.log"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Creates each file (the first and every rotated one) with mode 0600."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


def ensure_private_tree(directory: Path) -> Path:
    """``directory`` and every ancestor this call creates get mode 0700 (``mkdir -p``
    would leave the state dir itself 0755, which the device store then refuses)."""
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for created in reversed(missing):
        ensure_private_dir(created)
    return ensure_private_dir(directory)


def file_handler(path: Path) -> logging.Handler:
    ensure_private_tree(path.parent)
    handler = PrivateRotatingFileHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler


def tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of the log (empty when there is none yet)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return list(deque(handle, maxlen=lines))
    except FileNotFoundError:
        return []


def follow(
    path: Path,
    *,
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """New lines as they are written, across rotations (a new inode or a shorter file
    means the handler rotated: start reading the new file from its beginning)."""
    handle = None
    inode = None
    position = 0
    while not stop():
        if handle is None:
            try:
                handle = path.open(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                sleep(FOLLOW_POLL_S)
                continue
            stat = os.fstat(handle.fileno())
            if inode is None:  # the first open: start at the end, like `tail -f`
                handle.seek(0, os.SEEK_END)
            inode = stat.st_ino
            position = handle.tell()
        line = handle.readline()
        if line:
            position = handle.tell()
            yield line
            continue
        try:
            current = path.stat()
        except FileNotFoundError:
            current = None
        if current is None or current.st_ino != inode or current.st_size < position:
            handle.close()
            handle = None
            inode = inode if current is None else -1  # reopen from the start
            continue
        sleep(FOLLOW_POLL_S)
    if handle is not None:
        handle.close()
