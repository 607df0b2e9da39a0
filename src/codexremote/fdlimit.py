"""The open-file budget (SEC-19).

Every connection costs a descriptor. The companion raises its soft RLIMIT_NOFILE to
the hard limit at start (macOS defaults to a soft 256), and the connection guard
keeps its total cap below the result, so ``accept()`` never fails with EMFILE:
asyncio's accept loop then logs once per queued connection per tick and
re-schedules itself as often (a core spinning, ~140 MB of log in 30 s).
No web-stack imports here: ``serve`` calls this before FastAPI is loaded.
"""

from __future__ import annotations

import resource
import sys

MACOS_OPEN_MAX = 10240  # OPEN_MAX: the most setrlimit accepts on macOS


def open_file_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit (macOS: at most ``OPEN_MAX``);
    returns (before, after). The connection cap is derived from the result."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else MACOS_OPEN_MAX
    if sys.platform == "darwin":
        target = min(target, MACOS_OPEN_MAX)  # setrlimit refuses more there
    if soft == resource.RLIM_INFINITY or target <= soft:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft, soft
    return soft, target
