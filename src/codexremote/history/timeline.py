"""Chat history for the HTTP layer: full timeline (original app) and pages (our clients).

``timeline`` returns the whole chat, as the original app needs (it cannot page,
wire-api 7.7). The app polls it every 3 s during a run, so the forward parse is
kept per chat and resumed from where it stopped when the file only grew (a
rewritten or shrunk file is detected and re-read from scratch). Rollouts larger
than ``FULL_TIMELINE_MAX_BYTES`` are parsed from that many bytes before the end
(line numbers, and thus ids, stay exact; ``notes.omittedBytes`` says so).

``page`` reads backwards from the end of the file (``paging``), so the newest
page costs the same for any file size; cursors are opaque.

A chat without a rollout (new, nothing written yet) gets an empty answer with
``notes.rolloutMissing``; deciding 404 for unknown chats is the HTTP layer's job.
File-content problems never raise: they become ``notes``. Errors raised:
``BadRequest`` (bad chat id, bad limit, invalid cursor) and ``Gone`` (the cursor
points into a rollout that was since replaced or shrunk).
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codexremote.errors import BadRequest, Gone
from codexremote.history.cursor import Cursor, ReverseState, decode_cursor, encode_cursor
from codexremote.history.live import LiveActivities
from codexremote.history.locate import RolloutLocator, validate_chat_id
from codexremote.history.mapping import ForwardMapper
from codexremote.history.models import (
    Activity,
    HistoryNotes,
    HistoryPage,
    Message,
    PageActivity,
    PageMessage,
    Timeline,
)
from codexremote.history.paging import read_page
from codexremote.history.reader import ForwardPosition, ReadStats, count_lines_before, iter_forward

# Larger rollouts are parsed from this many bytes before their end for the full
# timeline (the app keeps only its last 240 items anyway, wire-api 7.7).
FULL_TIMELINE_MAX_BYTES = 128 * 1024 * 1024
# Chats whose forward parse is kept for incremental re-reads (each holds its items;
# the app polls only the selected chat, so a few suffice).
TIMELINE_CACHE_CHATS = 4
# Bytes before the resume offset compared to detect a rewritten file of the same inode.
FINGERPRINT_BYTES = 64
# Page size bounds for ``page``.
MAX_PAGE_LIMIT = 200
DEFAULT_PAGE_LIMIT = 50

HISTORY_CHANGED = "Chat history changed; reload it from the newest page"


@dataclass(slots=True)
class _ForwardState:
    path: Path
    dev: int
    ino: int
    position: ForwardPosition
    fingerprint: bytes
    mapper: ForwardMapper
    skipped_lines: int = 0
    omitted_bytes: int = 0


def merge_activities(rollout: list[Activity], live: list[Activity]) -> list[Activity]:
    """Dedupe by id (larger ``updatedAt`` wins, ties go to live), sort by createdAt then id."""
    by_id: dict[str, Activity] = {}
    for card in rollout:
        known = by_id.get(card.id)
        if known is None or card.updatedAt > known.updatedAt:
            by_id[card.id] = card
    for card in live:
        known = by_id.get(card.id)
        if known is None or card.updatedAt >= known.updatedAt:
            by_id[card.id] = card
    return sorted(by_id.values(), key=lambda a: (a.createdAt, a.id))


def _fingerprint(fd: int, offset: int) -> bytes:
    start = max(0, offset - FINGERPRINT_BYTES)
    return os.pread(fd, offset - start, start)


class HistoryService:
    """Reads chat history from rollout files; merges live command cards."""

    def __init__(
        self,
        sessions_dir: Path,
        live: LiveActivities,
        *,
        locator: RolloutLocator | None = None,
        full_timeline_max_bytes: int = FULL_TIMELINE_MAX_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions_dir = Path(sessions_dir)
        self.live = live
        self.locator = locator or RolloutLocator(self.sessions_dir)
        self._max_bytes = full_timeline_max_bytes
        self._clock = clock
        self._forward: OrderedDict[str, _ForwardState] = OrderedDict()
        # One forward parse per chat at a time; entries vanish with their last user.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def on_chat_activity(self, chat_id: str) -> None:
        """A notification of this chat arrived: a cached "no rollout yet" is stale."""
        self.locator.forget_missing(chat_id)

    # -- full timeline (original app) -------------------------------------------------

    async def timeline(self, chat_id: str) -> Timeline:
        """The whole chat: messages in file order, activities merged with live cards."""
        path = await self.locator.find(chat_id)
        live = self.live.for_chat(chat_id)
        if path is None:
            return Timeline(
                messages=[],
                activities=merge_activities([], live),
                notes=HistoryNotes(rolloutMissing=True),
            )
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        async with lock:
            state = self._forward.pop(chat_id, None)
            state, notes = await asyncio.to_thread(self._read_forward, chat_id, path, state)
            if state is not None:
                self._forward[chat_id] = state
                while len(self._forward) > TIMELINE_CACHE_CHATS:
                    self._forward.popitem(last=False)
        items = state.mapper.items() if state is not None else []
        messages = [i for i in items if isinstance(i, Message)]
        rollout_cards = [i for i in items if isinstance(i, Activity)]
        return Timeline(
            messages=messages,
            activities=merge_activities(rollout_cards, live),
            notes=None if notes.is_empty() else notes,
        )

    async def messages(self, chat_id: str) -> list[Message]:
        """The ``messages`` half of the timeline (wire-api 4.11)."""
        return (await self.timeline(chat_id)).messages

    def _read_forward(
        self, chat_id: str, path: Path, state: _ForwardState | None
    ) -> tuple[_ForwardState | None, HistoryNotes]:
        now = int(self._clock())
        notes = HistoryNotes()
        stats = ReadStats()
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None, HistoryNotes(rolloutMissing=True)
        try:
            st = os.fstat(fd)
            if state is not None and not self._can_resume(state, path, st, fd):
                notes.fileTruncated = True
                state = None
            if state is None:
                start = ForwardPosition()
                if st.st_size > self._max_bytes:
                    start = count_lines_before(fd, st.st_size - self._max_bytes)
                mapper = ForwardMapper(chat_id)
                state = _ForwardState(path, st.st_dev, st.st_ino, start, b"", mapper)
                state.omitted_bytes = start.offset
            try:
                for record in iter_forward(path, stats, state.position):
                    state.mapper.feed(record, now)
            except OSError:
                stats.truncated = True  # vanished or unreadable mid-read: keep what we have
            state.skipped_lines += stats.skipped_lines
            state.fingerprint = _fingerprint(fd, state.position.offset)
        finally:
            os.close(fd)
        if stats.truncated:
            notes.fileTruncated = True
        notes.skippedLines = state.skipped_lines or None
        notes.omittedBytes = state.omitted_bytes or None
        return state, notes

    @staticmethod
    def _can_resume(state: _ForwardState, path: Path, st: os.stat_result, fd: int) -> bool:
        return (
            state.path == path
            and (state.dev, state.ino) == (st.st_dev, st.st_ino)
            and st.st_size >= state.position.offset
            and _fingerprint(fd, state.position.offset) == state.fingerprint
        )

    # -- pages (our clients) ------------------------------------------------------------

    async def page(
        self, chat_id: str, cursor: str | None, limit: int = DEFAULT_PAGE_LIMIT
    ) -> HistoryPage:
        """Newest-first page of messages and activities, continuing from ``cursor``."""
        validate_chat_id(chat_id)
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_PAGE_LIMIT
        ):
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE_LIMIT}")
        position = decode_cursor(cursor, chat_id) if cursor is not None else None
        path = await self.locator.find(chat_id)
        live = self.live.for_chat(chat_id) if position is None else []
        if path is None:
            if position is not None:
                raise Gone(HISTORY_CHANGED)
            return HistoryPage(notes=HistoryNotes(rolloutMissing=True), liveActivities=live)
        page = await asyncio.to_thread(self._read_page, chat_id, path, position, limit)
        page.liveActivities = live
        return page

    def _read_page(
        self, chat_id: str, path: Path, position: Cursor | None, limit: int
    ) -> HistoryPage:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            if position is not None:
                raise Gone(HISTORY_CHANGED) from None
            return HistoryPage(notes=HistoryNotes(rolloutMissing=True))
        try:
            st = os.fstat(fd)
            if position is None:
                end, skip, state = st.st_size, 0, ReverseState()
            else:
                self._check_cursor(fd, st, position)
                end, skip, state = position.end, position.skip, position.state
            result = read_page(fd, chat_id, end, skip, state, limit, int(self._clock()))
        finally:
            os.close(fd)
        next_cursor = None
        if result.next_end is not None:
            next_cursor = encode_cursor(
                Cursor(chat_id, st.st_dev, st.st_ino, result.next_end, result.next_skip,
                       result.next_state)
            )  # fmt: skip
        notes = HistoryNotes(
            skippedLines=result.stats.skipped_lines or None,
            fileTruncated=True if result.stats.truncated else None,
        )
        items: list[PageMessage | PageActivity] = [
            PageMessage(**i.model_dump())
            if isinstance(i, Message)
            else PageActivity(**i.model_dump())
            for i in result.items
        ]
        return HistoryPage(items=items, nextCursor=next_cursor, notes=notes)

    @staticmethod
    def _check_cursor(fd: int, st: os.stat_result, position: Cursor) -> None:
        if (position.dev, position.ino) != (st.st_dev, st.st_ino) or position.end > st.st_size:
            raise Gone(HISTORY_CHANGED)
        if position.end > 0 and os.pread(fd, 1, position.end - 1) != b"\n":
            raise Gone(HISTORY_CHANGED)
