"""Find a chat's rollout file under ``CODEX_HOME/sessions`` (wire-api 7.1).

codex writes ``sessions/YYYY/MM/DD/rollout-YYYY-MM-DDTHH-MM-SS-<threadId>.jsonl``.
The walk visits names in descending order (newest date directories first) and,
for UUIDv7 thread ids (codex 0.169.0), first tries the day directories around
the time encoded in the id. Only regular files count; symlinks are not followed.

Found paths are cached (and re-checked with one ``stat`` per hit). Unlike the
original, "not found" is remembered only for ``NOT_FOUND_RETRY_SECONDS``: a
chat created a moment ago gets its rollout once codex writes it.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from codexremote.errors import BadRequest

# How long a failed lookup is trusted before the disk is searched again.
NOT_FOUND_RETRY_SECONDS = 2.0
# sessions/YYYY/MM/DD is depth 3; anything deeper than this is not codex's layout.
MAX_WALK_DEPTH = 6
# Upper bound of directory entries one search looks at (bounds a pathological tree).
MAX_WALK_ENTRIES = 500_000
# Cached lookups per locator (found and not-found each).
MAX_CACHED_CHATS = 4096
# Longest accepted chat id (a UUID has 36 characters).
MAX_CHAT_ID_CHARS = 64

_V = TypeVar("_V")

_CHAT_ID_RE = re.compile(r"^[0-9a-fA-F][0-9a-fA-F-]*$")
_NAME_RE = re.compile(r"^rollout-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-(.+)\.jsonl$")
_UUID_TAIL_RE = re.compile(
    r"^rollout-.*-([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.jsonl$"
)


def validate_chat_id(chat_id: str) -> str:
    """Chat ids are app-server thread ids (UUIDs): hex and dashes, bounded length."""
    if (
        not isinstance(chat_id, str)
        or len(chat_id) > MAX_CHAT_ID_CHARS
        or not _CHAT_ID_RE.match(chat_id)
    ):
        raise BadRequest("Invalid chat id")
    return chat_id


def rollout_chat_id(name: str) -> str | None:
    """The thread id a rollout file name carries, lower-cased (None if not a rollout)."""
    match = _NAME_RE.match(name) or _UUID_TAIL_RE.match(name)
    return match.group(1).lower() if match else None


def _uuid7_days(chat_id: str) -> list[tuple[str, str, str]]:
    """Day directories (UTC and local, +-1 day) around a UUIDv7's timestamp."""
    hexdigits = chat_id.replace("-", "")
    if len(chat_id) != 36 or len(hexdigits) != 32 or hexdigits[12] != "7":
        return []
    moment = datetime.fromtimestamp(int(hexdigits[:12], 16) / 1000, tz=UTC)
    days: list[tuple[str, str, str]] = []
    for base in (moment, moment.astimezone()):
        for delta in (0, -1, 1):
            day = (base + timedelta(days=delta)).strftime("%Y %m %d").split()
            entry = (day[0], day[1], day[2])
            if entry not in days:
                days.append(entry)
    return days


def _scan_dir(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda e: e.name, reverse=True)
    except OSError:
        return []


def _walk_newest_first(root: Path, budget: list[int]) -> Iterator[Path]:
    """Regular files under ``root``, newest-named first, files before subdirectories."""
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        directory, depth = stack.pop()
        entries = _scan_dir(directory)
        budget[0] -= len(entries)
        if budget[0] < 0:
            return
        subdirs: list[Path] = []
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    yield Path(entry.path)
                elif entry.is_dir(follow_symlinks=False) and depth < MAX_WALK_DEPTH:
                    subdirs.append(Path(entry.path))
            except OSError:
                continue
        stack.extend((d, depth + 1) for d in reversed(subdirs))


def search_rollout(sessions_dir: Path, chat_id: str) -> Path | None:
    """Blocking search for the rollout of ``chat_id`` (run it off the event loop)."""
    wanted = chat_id.lower()
    for year, month, day in _uuid7_days(chat_id):
        for entry in _scan_dir(sessions_dir / year / month / day):
            if rollout_chat_id(entry.name) == wanted and _is_regular(Path(entry.path)):
                return Path(entry.path)
    budget = [MAX_WALK_ENTRIES]
    for path in _walk_newest_first(sessions_dir, budget):
        if rollout_chat_id(path.name) == wanted:
            return path
    return None


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


class RolloutLocator:
    """Cached rollout lookups for one sessions directory."""

    def __init__(
        self,
        sessions_dir: Path,
        *,
        not_found_ttl: float = NOT_FOUND_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions_dir = Path(sessions_dir)
        self._ttl = not_found_ttl
        self._clock = clock
        self._found: OrderedDict[str, Path] = OrderedDict()
        self._missing: OrderedDict[str, float] = OrderedDict()

    async def find(self, chat_id: str) -> Path | None:
        """The rollout path of ``chat_id`` or None; raises ``BadRequest`` for a bad id."""
        key = validate_chat_id(chat_id).lower()
        cached = self._found.get(key)
        if cached is not None:
            if _is_regular(cached):
                self._found.move_to_end(key)
                return cached
            del self._found[key]
        missed_at = self._missing.get(key)
        if missed_at is not None and self._clock() - missed_at < self._ttl:
            return None
        path = await asyncio.to_thread(search_rollout, self.sessions_dir, chat_id)
        if path is None:
            self._remember(self._missing, key, self._clock())
        else:
            self._missing.pop(key, None)
            self._remember(self._found, key, path)
        return path

    def forget_missing(self, chat_id: str) -> None:
        """The chat may have a rollout now (a turn started or ended): look again next time
        instead of answering "none" from the negative cache."""
        self._missing.pop(chat_id.lower(), None)

    def forget(self, chat_id: str) -> None:
        key = chat_id.lower()
        self._found.pop(key, None)
        self._missing.pop(key, None)

    @staticmethod
    def _remember(cache: OrderedDict[str, _V], key: str, value: _V) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > MAX_CACHED_CHATS:
            cache.popitem(last=False)


_LOCATORS: dict[Path, RolloutLocator] = {}


async def find_rollout(sessions_dir: Path, chat_id: str) -> Path | None:
    """Module-level convenience: one shared ``RolloutLocator`` per sessions directory."""
    key = Path(sessions_dir)
    locator = _LOCATORS.get(key)
    if locator is None:
        locator = _LOCATORS[key] = RolloutLocator(key)
    return await locator.find(chat_id)
