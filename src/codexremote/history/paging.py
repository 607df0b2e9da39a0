"""Backward paging: the newest page of a chat costs the same for 1 MB and 500 MB.

``read_page`` walks the rollout from a byte offset towards its start
(``reader.iter_backward``), maps records to items newest first and stops as soon
as the page is full and everything on it is settled. It yields exactly what the
forward mapper yields for the same records, reversed (a property test pins
this), because the context rules of ``mapping`` are evaluated here from the
other side:

* a final answer's duration needs the next *older* user record, and a
  background-terminal card needs older call records (to know that its output
  belongs to ``write_stdin`` at all, and which ``exec_command`` started the
  session). Such items get a resolver that is fed older records; after the page
  is full, reading continues only until they are settled, at most
  ``LOOKBACK_MAX_BYTES`` further (unsettled context is then left out);
* a card whose existence is unsettled (a possible background terminal) blocks
  the page until it is settled, so pages never come out short; every
  resolver gives up ``LOOKBACK_MAX_BYTES`` before its own record, so one
  orphaned output cannot make a page scan the whole file;
* user-twin pairing and compaction collapsing only need the *newer*
  neighbour, which is carried between pages inside the cursor.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass

from codexremote.history.cursor import NewerUser, ReverseState
from codexremote.history.facts import (
    AssistantFact,
    CallFact,
    CompactionFact,
    OutputFact,
    RecordInfo,
    UserFact,
    record_info,
)
from codexremote.history.mapping import (
    Item,
    background_card,
    compaction_id,
    items_for_fact,
    position_key,
    text_digest,
    worked_duration,
)
from codexremote.history.models import Activity, Message
from codexremote.history.reader import RawRecord, ReadStats, iter_backward

# How far before an item's record its context (duration, background-terminal
# call and command) is looked for, and how far past a full page we read to learn
# whether older items exist. Real turns are far smaller; this only bounds
# pathological files (beyond it, context is left out).
LOOKBACK_MAX_BYTES = 64 * 1024 * 1024


@dataclass(slots=True, eq=False)
class _Produced:
    """An item produced while reading backwards, with what a cursor needs."""

    item: Item
    exists: bool | None  # None: not yet known (possible background terminal)
    record: RawRecord
    index: int  # position among the record's items, newest first
    count: int  # number of items the record produced
    state_before: ReverseState
    state_after: ReverseState
    in_page: bool = False


class _DurationResolver:
    """Fills ``workedDurationSeconds`` from the next older user record."""

    def __init__(self, owner: _Produced, message: Message) -> None:
        self.owner = owner
        self.message = message
        self.done = False

    def feed(self, info: RecordInfo) -> None:
        if any(isinstance(f, UserFact) for f in info.facts):
            self.message.workedDurationSeconds = worked_duration(
                self.message.createdAt, info.created_at
            )
            self.done = True

    def finish(self) -> None:
        self.done = True


class _BackgroundResolver:
    """Decides whether an exited-process output is a write_stdin's, and its command."""

    def __init__(self, owner: _Produced, card: Activity, call_id: str) -> None:
        self.owner = owner
        self.card = card
        self.call_id = call_id
        self.session: int | None = None
        self.found_call = False
        # Outputs that said "Process running with session ID S", newest first:
        # [call_id, session, call name or None, cmd].
        self.candidates: list[list[object]] = []
        self.done = False

    def feed(self, info: RecordInfo) -> None:
        for fact in info.facts:
            if isinstance(fact, OutputFact) and fact.running_session is not None:
                if not self.found_call or fact.running_session == self.session:
                    self.candidates.append([fact.call_id, fact.running_session, None, None])
            elif isinstance(fact, CallFact):
                for cand in self.candidates:
                    if cand[0] == fact.call_id and cand[2] is None:
                        cand[2], cand[3] = fact.name, fact.cmd
                if not self.found_call and fact.call_id == self.call_id:
                    self._own_call(fact)
                    if self.done:
                        return
        if self.found_call:
            self._settle(final=False)

    def _own_call(self, fact: CallFact) -> None:
        self.found_call = True
        if fact.name != "write_stdin":
            self.owner.exists = False
            self.done = True
            return
        self.owner.exists = True
        self.session = fact.session_id
        if self.session is None:
            self.done = True
            return
        self.candidates = [c for c in self.candidates if c[1] == self.session]

    def _settle(self, *, final: bool) -> None:
        for _call, _session, name, cmd in self.candidates:
            if name is None and not final:
                return  # the latest candidate's call is still unknown
            if name == "exec_command":
                self.card.commandPreview = cmd if isinstance(cmd, str) else None
                self.done = True
                return
        if final:
            self.done = True

    def finish(self) -> None:
        if not self.found_call:
            self.owner.exists = False
            self.done = True
            return
        if not self.done:
            self._settle(final=True)
        self.done = True


_Resolver = _DurationResolver | _BackgroundResolver


def _produce(
    chat_id: str, record: RawRecord, info: RecordInfo, state: ReverseState
) -> tuple[list[_Produced], list[_Resolver], ReverseState]:
    """Items of one record (newest first), their resolvers, and the state after it."""
    key = position_key(record, by_offset=True)
    before = state
    entries: list[tuple[Item, bool | None, str | None]] = []  # oldest first
    for fact in info.facts:
        if isinstance(fact, UserFact):
            digest = text_digest(fact.text)
            newer = state.newer_user
            absorbed = (
                newer is not None
                and not newer.absorbed
                and newer.kind != fact.kind
                and newer.digest == digest
            )
            state = dataclasses.replace(state, newer_user=NewerUser(fact.kind, digest, absorbed))
            if not absorbed:
                entries.extend((i, True, None) for i in items_for_fact(chat_id, key, info, fact))
        elif isinstance(fact, AssistantFact):
            state = dataclasses.replace(state, newer_user=None)
            need = "duration" if fact.phase == "final_answer" else None
            entries.extend((i, True, need) for i in items_for_fact(chat_id, key, info, fact))
        elif isinstance(fact, CompactionFact):
            ident = compaction_id(info, key)
            duplicate = ident == state.newer_compaction
            state = dataclasses.replace(state, newer_compaction=ident)
            if not duplicate:
                entries.extend((i, True, None) for i in items_for_fact(chat_id, key, info, fact))
        elif isinstance(fact, OutputFact):
            if fact.exit_code is not None:
                card = background_card(fact, info.created_at, None)
                entries.append((card, None, fact.call_id))
        elif not isinstance(fact, CallFact):
            entries.extend((i, True, None) for i in items_for_fact(chat_id, key, info, fact))
    produced: list[_Produced] = []
    resolvers: list[_Resolver] = []
    count = len(entries)
    for index, (item, exists, need) in enumerate(reversed(entries)):
        entry = _Produced(item, exists, record, index, count, before, state)
        produced.append(entry)
        if need == "duration" and isinstance(item, Message):
            resolvers.append(_DurationResolver(entry, item))
        elif need is not None and isinstance(item, Activity):
            resolvers.append(_BackgroundResolver(entry, item, need))
    return produced, resolvers, state


@dataclass(slots=True)
class PageResult:
    items: list[Item]  # newest first
    next_end: int | None  # None: the start of the chat was reached
    next_skip: int
    next_state: ReverseState
    stats: ReadStats


@dataclass(slots=True)
class _Pager:
    limit: int
    queue: deque[_Produced] = dataclasses.field(default_factory=deque)
    page: list[_Produced] = dataclasses.field(default_factory=list)
    boundary: _Produced | None = None
    has_more: bool | None = None

    def commit(self) -> None:
        """Move settled items from the queue onto the page, in order."""
        while self.queue and self.queue[0].exists is not None and self.has_more is None:
            entry = self.queue.popleft()
            if not entry.exists:
                continue
            if self.boundary is not None:
                self.has_more = True
                return
            entry.in_page = True
            self.page.append(entry)
            if len(self.page) == self.limit:
                self.boundary = entry


def read_page(
    fd: int,
    chat_id: str,
    end: int,
    skip: int,
    state: ReverseState,
    limit: int,
    now: int,
    *,
    lookback_max_bytes: int = LOOKBACK_MAX_BYTES,
) -> PageResult:
    """Read up to ``limit`` items that lie before ``end`` (newest first)."""
    stats = ReadStats()
    pager = _Pager(limit)
    resolvers: list[_Resolver] = []
    full_at: int | None = None
    first = True
    reached_start = True
    for record in iter_backward(fd, end, stats):
        info = record_info(record.data, now)
        if info.facts:
            if resolvers:
                for resolver in resolvers:
                    resolver.feed(info)
                resolvers = [r for r in resolvers if not r.done]
            if pager.has_more is None:
                produced, new_resolvers, state = _produce(chat_id, record, info, state)
                if first and skip and record.end == end:
                    produced = produced[skip:]
                    new_resolvers = [
                        r for r in new_resolvers if any(r.owner is p for p in produced)
                    ]
                pager.queue.extend(produced)
                resolvers.extend(new_resolvers)
                pager.commit()
        first = False
        if resolvers and resolvers[0].owner.record.offset - record.offset > lookback_max_bytes:
            # Context too far back: settle what is still open as "not found".
            for resolver in resolvers:
                if resolver.owner.record.offset - record.offset > lookback_max_bytes:
                    resolver.finish()
            resolvers = [r for r in resolvers if not r.done]
            pager.commit()
        if pager.boundary is not None:
            full_at = record.offset if full_at is None else full_at
            settled = not any(r.owner.in_page for r in resolvers)
            if pager.has_more is not None and settled:
                reached_start = False
                break
            if full_at - record.offset > lookback_max_bytes:
                reached_start = False
                break
    for resolver in resolvers:
        resolver.finish()
    pager.commit()
    return _result(pager, stats, reached_start)


def _result(pager: _Pager, stats: ReadStats, reached_start: bool) -> PageResult:
    items = [entry.item for entry in pager.page]
    last = pager.boundary
    more = pager.has_more if pager.has_more is not None else not reached_start
    if last is None or not more:
        return PageResult(items, None, 0, ReverseState(), stats)
    if last.index + 1 == last.count:
        return PageResult(items, last.record.offset, 0, last.state_after, stats)
    return PageResult(items, last.record.end, last.index + 1, last.state_before, stats)
