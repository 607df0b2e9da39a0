"""Atomic, durable, private file writes for the companion's state (REL-08, SEC-06).

A write goes to a fresh temp file in the same directory (``O_EXCL``, mode 0600),
is flushed and fsynced, replaces the target with ``os.replace`` and then the
directory is fsynced, so a crash at any moment leaves either the old or the new
file, never a torn one. Leftover temp files (from a crash before the rename) are
recognised by their prefix and removed by :func:`clean_stale_temp_files`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import secrets
import stat
import sys
from collections.abc import Callable
from pathlib import Path

TEMP_PREFIX = ".tmp-"
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


class InsecurePermissions(Exception):
    """A state file or directory is readable by other users."""


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700 and tighten it if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    current = stat.S_IMODE(path.stat().st_mode)
    if current != PRIVATE_DIR_MODE:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def check_private(path: Path, expected_mode: int) -> None:
    """Refuse to trust a file or directory that group or others may read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InsecurePermissions(
            f"{path} has mode {mode:o}; expected {expected_mode:o} "
            f"(run: chmod {expected_mode:o} {path})"
        )


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new content."""
    temp = write_temp(path, data, mode=mode)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def write_temp(target: Path, data: bytes, *, mode: int = PRIVATE_FILE_MODE) -> Path:
    """A fully written, fsynced sibling of ``target`` (``O_EXCL``, ``mode``), ready for
    ``os.replace``; callers that must check something before replacing use it directly."""
    temp = target.parent / f"{TEMP_PREFIX}{target.name}.{secrets.token_hex(6)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return temp


# renameat2(2) flag (Linux >= 3.15) and renamex_np(2) flag (macOS >= 10.12): swap two paths.
_RENAME_EXCHANGE = 2
_RENAME_SWAP = 0x2
_AT_FDCWD = -100
# errno values meaning "this kernel or file system cannot swap": fall back to os.replace.
_NO_SWAP = frozenset({errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})


def _load_swap() -> Callable[..., int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError:
        return None
    name = "renamex_np" if sys.platform == "darwin" else "renameat2"
    function: Callable[..., int] | None = getattr(libc, name, None)
    return function


_swap = _load_swap()


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap the files at ``a`` and ``b``; False when the system cannot.

    Why: replacing ``b`` with a swap leaves what was replaced at ``a``, so a writer can see
    exactly which version it overwrote (os.replace destroys it) and notice a write that
    slipped in after its last check.
    """
    if _swap is None:
        return False
    if sys.platform == "darwin":
        result = _swap(os.fsencode(a), os.fsencode(b), _RENAME_SWAP)
    else:
        result = _swap(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_SWAP:
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def fsync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def clean_stale_temp_files(directory: Path, target_name: str) -> int:
    """Remove temp files left by a crash before the rename; returns how many."""
    removed = 0
    if not directory.is_dir():
        return 0
    for leftover in directory.glob(f"{TEMP_PREFIX}{target_name}.*"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            removed += 1
    return removed
