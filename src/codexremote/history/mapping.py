"""Rollout records -> messages and activities (wire-api 7.2, 7.3), read forwards.

Ids embed a *position key* of the record: the 1-based line number for the full
timeline (``<chatId>:user:<line>``, as the original companion does), or
``@<byte offset>`` for pages read backwards (line numbers are unknown there;
offsets stay stable while the file only grows). ``ForwardMapper`` accepts either.

Context rules, shared with the backward pager (``paging``):

* ``workedDurationSeconds`` of a final answer = its ``createdAt`` minus that of
  the latest preceding user record; included only when > 0;
* a background-terminal card (``write_stdin`` output saying "Process exited
  with code N") takes as ``commandPreview`` the ``cmd`` of the ``exec_command``
  whose output last said "Process running with session ID S" for the
  write_stdin's ``session_id`` S;
* two user records of *different* kinds (``user_message`` and ``UserMessage``)
  with the same text that are neighbours among message records are one
  message: the newer one is kept. Pairing runs from the newest record (a
  record that was absorbed does not absorb its own older neighbour), so it can
  be decided while reading backwards;
* compaction records with the same id (both records of one compaction carry
  the same timestamp) collapse into one card; as with user twins the newer
  record is kept (it is the one a backward reader sees first).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from codexremote.history.facts import (
    AssistantFact,
    CallFact,
    CompactionFact,
    Fact,
    McpFact,
    OutputFact,
    PatchFact,
    RecordInfo,
    UserFact,
    WebSearchFact,
    basename,
    record_info,
)
from codexremote.history.models import Activity, Message
from codexremote.history.reader import RawRecord

Item = Message | Activity


def text_digest(text: str) -> str:
    """Short digest used to compare user texts (also stored in page cursors)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def position_key(record: RawRecord, by_offset: bool) -> str:
    if by_offset or record.line is None:
        return f"@{record.offset}"
    return str(record.line)


def compaction_id(info: RecordInfo, key: str) -> str:
    if info.timestamp is not None:
        return f"context_compacted:{info.timestamp}"
    return f"context_compacted:line_{key}"


def activity(
    ident: str, item_id: str, kind: str, title: str, at: int, **extra: str | int | None
) -> Activity:
    """A completed rollout activity (``createdAt == updatedAt``)."""
    return Activity.model_validate(
        {
            "id": ident,
            "itemId": item_id,
            "kind": kind,
            "title": title,
            "createdAt": at,
            "updatedAt": at,
            "state": "completed",
            **{k: v for k, v in extra.items() if v is not None},
        }
    )


def items_for_fact(chat_id: str, key: str, info: RecordInfo, fact: Fact) -> list[Item]:
    """The items one fact produces, oldest first (context fields left unset)."""
    at = info.created_at
    if isinstance(fact, UserFact):
        return [Message(id=f"{chat_id}:user:{key}", role="user", text=fact.text, createdAt=at)]
    if isinstance(fact, AssistantFact):
        return [
            Message(
                id=f"{chat_id}:assistant:{key}",
                role="assistant",
                text=fact.text,
                createdAt=at,
                phase=fact.phase,
            )
        ]
    if isinstance(fact, CompactionFact):
        ident = compaction_id(info, key)
        return [activity(ident, ident, "context_compacted", "Context automatically compacted", at)]
    if isinstance(fact, WebSearchFact):
        base = fact.call_id or f"{fact.fallback_prefix}_{key}"
        return [
            activity(
                f"{base}:search:{k}", f"{base}:search:{k}", "exploring", f"Searched web for {q}", at
            )
            for k, q in enumerate(fact.queries, start=1)
        ]
    if isinstance(fact, McpFact):
        ident = fact.call_id or f"function_call_{key}"
        return [activity(ident, ident, "running_command", fact.title, at)]
    if isinstance(fact, PatchFact):
        base = fact.call_id or f"apply_patch_{key}"
        return [
            activity(
                f"{base}:{k}:{f.path}",
                f"{base}:{f.path}",
                "file_edited",
                "Edited",
                at,
                detail=f.detail or basename(f.path),
                filePath=f.path,
                additions=f.additions,
                deletions=f.deletions,
            )
            for k, f in enumerate(fact.files, start=1)
        ]
    return []


def background_card(fact: OutputFact, at: int, preview: str | None) -> Activity:
    return activity(
        fact.call_id,
        fact.call_id,
        "background_terminal",
        "Background terminal finished",
        at,
        detail=f"Exit code {fact.exit_code}",
        commandPreview=preview,
    )


def worked_duration(final_at: int, user_at: int | None) -> int | None:
    if user_at is None:
        return None
    seconds = round(final_at - user_at)
    return seconds if seconds > 0 else None


@dataclass(slots=True)
class _UserSlot:
    """A user message in the forward list, kept for the newest-first pairing pass."""

    index: int
    kind: str
    digest: str


class ForwardMapper:
    """Left fold over records in file order; resumable (feed more records later)."""

    def __init__(self, chat_id: str, *, by_offset: bool = False) -> None:
        self.chat_id = chat_id
        self.by_offset = by_offset
        self._items: list[Item] = []
        # Message-record sequence for user pairing: _UserSlot, or None for an assistant.
        self._msg_seq: list[_UserSlot | None] = []
        self._last_user_at: int | None = None
        self._last_compaction: str | None = None
        self._last_compaction_index: int | None = None
        self._dropped: set[int] = set()
        self._call_name: dict[str, str] = {}
        self._call_cmd: dict[str, str | None] = {}
        self._call_session: dict[str, int | None] = {}
        self._session_cmd: dict[int, str | None] = {}

    def feed(self, record: RawRecord, now: int) -> None:
        info = record_info(record.data, now)
        if info.facts:
            self.feed_info(info, position_key(record, self.by_offset))

    def feed_info(self, info: RecordInfo, key: str) -> None:
        for fact in info.facts:
            self._feed_fact(info, key, fact)

    def _feed_fact(self, info: RecordInfo, key: str, fact: Fact) -> None:
        if isinstance(fact, CallFact):
            self._call_name[fact.call_id] = fact.name
            self._call_cmd[fact.call_id] = fact.cmd
            self._call_session[fact.call_id] = fact.session_id
            return
        if isinstance(fact, OutputFact):
            self._feed_output(info, fact)
            return
        if isinstance(fact, CompactionFact):
            ident = compaction_id(info, key)
            if ident == self._last_compaction and self._last_compaction_index is not None:
                self._dropped.add(self._last_compaction_index)  # keep the newer twin
            self._last_compaction = ident
            self._last_compaction_index = len(self._items)
        new = items_for_fact(self.chat_id, key, info, fact)
        if isinstance(fact, UserFact):
            self._last_user_at = info.created_at
            self._msg_seq.append(_UserSlot(len(self._items), fact.kind, text_digest(fact.text)))
        elif isinstance(fact, AssistantFact):
            self._msg_seq.append(None)
            if fact.phase == "final_answer":
                message = new[0]
                assert isinstance(message, Message)
                message.workedDurationSeconds = worked_duration(info.created_at, self._last_user_at)
        self._items.extend(new)

    def _feed_output(self, info: RecordInfo, fact: OutputFact) -> None:
        name = self._call_name.get(fact.call_id)
        if fact.running_session is not None and name == "exec_command":
            self._session_cmd[fact.running_session] = self._call_cmd.get(fact.call_id)
        if fact.exit_code is not None and name == "write_stdin":
            session = self._call_session.get(fact.call_id)
            preview = self._session_cmd.get(session) if session is not None else None
            self._items.append(background_card(fact, info.created_at, preview))

    def items(self) -> list[Item]:
        """All items so far in file order, with paired user twins removed."""
        dropped = self._dropped.union(absorbed_user_indexes(self._msg_seq))
        if not dropped:
            return list(self._items)
        return [item for i, item in enumerate(self._items) if i not in dropped]


def absorbed_user_indexes(seq: list[_UserSlot | None]) -> Iterable[int]:
    """Item indexes of older user twins absorbed by their newer neighbour."""
    newer: _UserSlot | None = None
    newer_absorbed = False
    for slot in reversed(seq):
        absorbed = False
        if (
            slot is not None
            and newer is not None
            and not newer_absorbed
            and newer.kind != slot.kind
            and newer.digest == slot.digest
        ):
            absorbed = True
            yield slot.index
        newer, newer_absorbed = slot, absorbed


def forward_items(
    records: Iterable[RawRecord], chat_id: str, now: int, *, by_offset: bool = False
) -> list[Item]:
    """Map records (file order) to items (file order)."""
    mapper = ForwardMapper(chat_id, by_offset=by_offset)
    for record in records:
        mapper.feed(record, now)
    return mapper.items()
