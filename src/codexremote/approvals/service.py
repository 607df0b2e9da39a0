"""Open approvals: registry, exactly-once decisions, session and always allows.

Life cycle of one approval (statuses in ``types.ApprovalStatus``)::

    server request ──► auto-accepted by an allow ──► auto_accepted
          │
          └──► open ──► decide() ─────────────────► answered
                   ├──► serverRequest/resolved ───► resolved   (answered elsewhere)
                   ├──► turn/completed ───────────► cleared
                   └──► child restart / Gone ─────► expired    (REL-02)

Exactly once (SEC-11): an approval leaves the open registry synchronously,
before the first ``await``, so of two concurrent decisions exactly one reaches
the responder; the other finds it in the bounded "recently closed" map and gets
409 (answered) or 410 (resolved, cleared, expired). Nothing is ever answered
for a request of an older child generation. Every request the service receives
is answered exactly once or handed to ``reject_unknown``: none is left hanging.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from typing import Any

from codexremote.approvals.always_allow import AlwaysAllowStore
from codexremote.approvals.filechanges import FileChangeMemory
from codexremote.approvals.mapping import APPROVAL_METHODS, Draft, chat_of, describe, fallback
from codexremote.approvals.registry import ApprovalRegistry, OpenEntry
from codexremote.approvals.responses import automatic_response, refusal_for, response_for
from codexremote.approvals.session_allow import SessionAllows
from codexremote.approvals.types import (
    ALLOW_ALWAYS,
    ALLOW_FOR_SESSION,
    ANSWERED_STATUSES,
    Approval,
    ApprovalStatus,
    AutoAccepted,
    ChatForTurn,
    Clock,
    MatchedAllow,
    Publisher,
    RejectUnknown,
    Responder,
    ServerRequest,
    wall_clock_ms,
)
from codexremote.errors import Conflict, Gone, NotFound, Unprocessable

log = logging.getLogger(__name__)

MAX_OPEN_APPROVALS = 256  # beyond this a new request is declined at once (runaway child)

NOT_FOUND = "Approval request not found"
ALREADY_ANSWERED = "Approval was already answered"
NO_LONGER_PENDING = "Approval is no longer pending"


class ApprovalService:
    """The domain service the app-server bridge and the HTTP/stream layer call."""

    def __init__(
        self,
        *,
        responder: Responder,
        publisher: Publisher,
        reject_unknown: RejectUnknown,
        always_allow: AlwaysAllowStore,
        chat_for_turn: ChatForTurn | None = None,
        clock: Clock = wall_clock_ms,
        generation: int = 0,
    ) -> None:
        self._respond = responder
        self._publisher = publisher
        self._reject_unknown = reject_unknown
        self._chat_for_turn = chat_for_turn
        self._clock = clock
        self._generation = generation
        self.always_allow = always_allow
        self._session = SessionAllows()
        self._files = FileChangeMemory()
        self._registry = ApprovalRegistry()

    # ----------------------------------------------------------------- queries

    @property
    def generation(self) -> int:
        return self._generation

    def open_for_chat(self, chat_id: str) -> list[Approval]:
        """Open approvals of one chat, newest first (sent on every stream connect)."""
        entries = self._registry.newest_first()
        return [e.approval for e in entries if e.approval.chat_id == chat_id]

    def open_counts(self) -> dict[str, int]:
        """Open approvals per chat (the drawer's "needs you" badge)."""
        counts: dict[str, int] = {}
        for entry in self._registry.open_entries():
            chat_id = entry.approval.chat_id
            counts[chat_id] = counts.get(chat_id, 0) + 1
        return counts

    def newest_for_chat(self, chat_id: str) -> Approval | None:
        """The approval ``GET /v1/chats/{id}/pending-approval`` returns."""
        approvals = self.open_for_chat(chat_id)
        return approvals[0] if approvals else None

    def all_open(self) -> list[Approval]:
        return [entry.approval for entry in self._registry.newest_first()]

    def get(self, approval_id: str) -> Approval | None:
        """An open or recently closed approval (its ``status`` says which)."""
        entry = self._registry.open_entry(approval_id)
        return entry.approval if entry else self._registry.closed(approval_id)

    def auto_accepted(self, chat_id: str) -> list[AutoAccepted]:
        """Requests of this chat answered by an allow, oldest first (timeline rows)."""
        return self._registry.auto_rows(chat_id)

    def session_allows(self, chat_id: str) -> dict[str, Any]:
        return self._session.describe(chat_id)

    # ------------------------------------------------------ app-server inputs

    async def on_server_request(self, req: ServerRequest) -> None:
        """Open, auto-accept or refuse one server→client request."""
        if req.generation < self._generation:
            log.info("dropping %s from old app-server generation %d", req.method, req.generation)
            return
        if req.generation > self._generation:
            self.on_child_restart(req.generation)
        if req.method not in APPROVAL_METHODS:
            await self._refuse(req, "unsupported server request")
            return
        chat_id = chat_of(req.params, self._chat_for_turn)
        if chat_id is None:
            await self._refuse(req, "no chat for approval request")
            return
        try:
            draft = describe(req, self._files)
        except Exception:
            log.warning("could not describe %s; using the fallback", req.method, exc_info=True)
            draft = fallback(req)
        entry = self._new_entry(req, chat_id, draft)
        matched = self._match_allow(chat_id, draft)
        if matched is not None:
            await self._auto_accept(entry, matched, was_published=False)
            return
        if self._registry.open_count() >= MAX_OPEN_APPROVALS:
            await self._refuse(req, "too many open approvals")
            return
        self._registry.add(entry)
        self._publish("approval_required", chat_id, entry.approval.to_wire())

    def on_notification(self, method: str, params: dict[str, Any]) -> None:
        """Feed app-server notifications; only these four matter here.

        Nothing else clears approvals (unlike the original, which cleared every
        open approval of a chat on any mapped notification).
        """
        if method in ("item/started", "item/completed"):
            self._files.remember(params.get("item"))
        elif method == "serverRequest/resolved":
            self.on_resolved(params)
        elif method == "turn/completed":
            chat_id = params.get("threadId")
            turn = params.get("turn")
            turn_id = turn.get("id") if isinstance(turn, dict) else params.get("turnId")
            if isinstance(chat_id, str) and isinstance(turn_id, str):
                self.on_turn_completed(chat_id, turn_id)

    def on_resolved(self, params: dict[str, Any]) -> None:
        """``serverRequest/resolved {threadId, requestId}``: answered elsewhere."""
        request_id = params.get("requestId")
        thread_id = params.get("threadId")
        for entry in self._registry.open_entries():
            req = entry.request
            if (
                req.generation == self._generation
                and type(req.request_id) is type(request_id)
                and req.request_id == request_id
                and (thread_id is None or entry.approval.chat_id == thread_id)
            ):
                self._close_and_clear([entry], ApprovalStatus.RESOLVED)

    def on_turn_completed(self, chat_id: str, turn_id: str) -> None:
        """Close the open approvals of a finished turn."""
        done = [
            entry
            for entry in self._registry.open_entries()
            if entry.approval.chat_id == chat_id and entry.approval.turn_id == turn_id
        ]
        self._close_and_clear(done, ApprovalStatus.CLEARED)

    def on_child_restart(self, new_generation: int) -> None:
        """Expire every approval of older children; nothing is sent to the new one."""
        self._generation = max(self._generation, new_generation)
        stale = [
            e for e in self._registry.open_entries() if e.request.generation < self._generation
        ]
        self._close_and_clear(stale, ApprovalStatus.EXPIRED)

    # -------------------------------------------------------------- decisions

    async def decide(self, approval_id: str, decision: str) -> None:
        """Answer an open approval once (SEC-11).

        Raises NotFound (unknown id), Unprocessable (decision not offered),
        Conflict (already answered) or Gone (resolved elsewhere, turn ended,
        child restarted). The answer is shielded: a cancelled caller (e.g. the
        phone hung up) does not cancel a decision that is already on its way.
        """
        entry = self._registry.open_entry(approval_id)
        if entry is None:
            closed = self._registry.closed(approval_id)
            if closed is None:
                raise NotFound(NOT_FOUND)
            check_decision(closed, decision)
            if closed.status in ANSWERED_STATUSES:
                raise Conflict(ALREADY_ANSWERED)
            raise Gone(NO_LONGER_PENDING)
        check_decision(entry.approval, decision)
        if entry.request.generation < self._generation:
            self._close_and_clear([entry], ApprovalStatus.EXPIRED)
            raise Gone(NO_LONGER_PENDING)
        # Leave the open registry before the first await: this is the exactly-once point.
        self._registry.take(approval_id)
        self._registry.remember_closed(self._closed_copy(entry, ApprovalStatus.ANSWERED, decision))
        task = asyncio.ensure_future(self._answer(entry, decision))
        task.add_done_callback(_retrieve_exception)
        await asyncio.shield(task)

    async def _answer(self, entry: OpenEntry, decision: str) -> None:
        approval, req = entry.approval, entry.request
        try:
            await self._respond(req, response_for(req.method, req.params, decision))
        except Gone:
            self._registry.mark_expired(approval)
            self._publish_cleared(approval.chat_id, [approval.id], ApprovalStatus.EXPIRED)
            raise Gone(NO_LONGER_PENDING) from None
        except BaseException:
            # Never retried (it may have reached the child): the approval is over.
            self._registry.mark_expired(approval)
            self._publish_cleared(approval.chat_id, [approval.id], ApprovalStatus.EXPIRED)
            raise
        self._publish_cleared(approval.chat_id, [approval.id], ApprovalStatus.ANSWERED)
        # The answer is delivered; nothing below may turn the decision into an error.
        try:
            await self._record_allow(entry, decision)
            if decision in (ALLOW_FOR_SESSION, ALLOW_ALWAYS):
                await self._sweep(None if decision == ALLOW_ALWAYS else approval.chat_id)
        except Exception:
            log.exception("recording the allow of approval %s failed", approval.id)

    async def _record_allow(self, entry: OpenEntry, decision: str) -> None:
        chat_id, draft = entry.approval.chat_id, entry.draft
        if decision == ALLOW_FOR_SESSION:
            self._session.allow(chat_id, draft.scope_key)
        elif decision == ALLOW_ALWAYS and draft.scope_key is not None:
            try:
                await asyncio.to_thread(
                    self.always_allow.add,
                    draft.scope_key,
                    server_name=draft.server_name,
                    tool_name=draft.details.get("tool"),
                    added_at=self._clock(),
                )
            except Exception:
                log.exception("could not persist always-allow; allowing for this chat only")
                self._session.allow(chat_id, draft.scope_key)

    async def _sweep(self, chat_id: str | None) -> None:
        """Auto-accept open approvals that a just-granted allow now covers."""
        for entry in self._registry.open_entries():
            other_chat = chat_id is not None and entry.approval.chat_id != chat_id
            if other_chat or entry.request.generation != self._generation:
                continue
            matched = self._match_allow(entry.approval.chat_id, entry.draft)
            if matched is not None and self._registry.take(entry.approval.id) is not None:
                await self._auto_accept(entry, matched, was_published=True)

    # --------------------------------------------------------------- internals

    def _match_allow(self, chat_id: str, draft: Draft) -> MatchedAllow | None:
        """wire-api 6.4 order: always-allow key, session key, whole-chat session."""
        if not draft.auto_acceptable:
            return None
        key = draft.scope_key
        if key is not None:
            if self.always_allow.contains(key):
                return MatchedAllow("always", key)
            if self._session.has_scoped(chat_id, key):
                return MatchedAllow("session", key)
            return None
        if self._session.has_whole_chat(chat_id):
            return MatchedAllow("session", None)
        return None

    async def _auto_accept(
        self, entry: OpenEntry, matched: MatchedAllow, *, was_published: bool
    ) -> None:
        decision = ALLOW_ALWAYS if matched.scope == "always" else ALLOW_FOR_SESSION
        closed = self._closed_copy(entry, ApprovalStatus.AUTO_ACCEPTED, decision)
        self._registry.remember_closed(closed)
        req = entry.request
        try:
            await self._respond(req, automatic_response(req.method, req.params, matched))
        except Exception:
            log.warning("could not auto-accept %s (%s)", req.method, closed.id, exc_info=True)
            self._registry.mark_expired(closed)
            if was_published:
                self._publish_cleared(closed.chat_id, [closed.id], ApprovalStatus.EXPIRED)
            return
        row = AutoAccepted(at=self._clock(), approval=closed, matched=matched)
        self._registry.add_auto_row(row)
        if was_published:
            self._publish_cleared(closed.chat_id, [closed.id], ApprovalStatus.AUTO_ACCEPTED)
        payload = closed.to_wire() | {"matchedAllow": matched.to_wire()}
        self._publish("approval_auto_accepted", closed.chat_id, payload)

    async def _refuse(self, req: ServerRequest, why: str) -> None:
        """Answer "no" in the request's own shape, or reject it as unknown."""
        result = refusal_for(req.method, req.params)
        log.info("refusing %s (%s)", req.method, why)
        try:
            if result is None:
                await self._reject_unknown(req)
            else:
                await self._respond(req, result)
        except Exception:
            log.warning("could not refuse %s", req.method, exc_info=True)

    def _new_entry(self, req: ServerRequest, chat_id: str, draft: Draft) -> OpenEntry:
        params = req.params
        turn_id = params.get("turnId")
        item_id = params.get("itemId", params.get("callId"))
        approval = Approval(
            id=str(uuid.uuid4()),
            kind=draft.kind,
            mode=draft.mode,
            title=draft.title,
            summary=draft.summary,
            risk_level=draft.risk_level,
            created_at=self._clock(),
            supports_session_allow=draft.supports_session_allow,
            supports_always_allow=draft.supports_always_allow,
            chat_id=chat_id,
            method=req.method,
            available_decisions=draft.available_decisions,
            server_name=draft.server_name,
            turn_id=turn_id if isinstance(turn_id, str) else None,
            item_id=item_id if isinstance(item_id, str) else None,
            scope_key=draft.scope_key,
            details=draft.details,
        )
        return OpenEntry(approval, req, draft, self._registry.next_seq())

    def _closed_copy(
        self, entry: OpenEntry, status: ApprovalStatus, decision: str | None
    ) -> Approval:
        return replace(entry.approval, status=status, decision=decision, closed_at=self._clock())

    def _close_and_clear(self, entries: list[OpenEntry], status: ApprovalStatus) -> None:
        by_chat: dict[str, list[str]] = {}
        for entry in entries:
            if self._registry.take(entry.approval.id) is None:
                continue
            self._registry.remember_closed(self._closed_copy(entry, status, None))
            by_chat.setdefault(entry.approval.chat_id, []).append(entry.approval.id)
        for chat_id, ids in by_chat.items():
            self._publish_cleared(chat_id, ids, status)

    def _publish_cleared(self, chat_id: str, ids: list[str], status: ApprovalStatus) -> None:
        # "reason" is additive; the iOS app reads only "ids".
        self._publish("approval_cleared", chat_id, {"ids": ids, "reason": status.value})

    def _publish(self, event: str, chat_id: str, payload: dict[str, Any]) -> None:
        try:
            self._publisher(event, chat_id, payload)
        except Exception:
            log.exception("publishing %s failed", event)


def check_decision(approval: Approval, decision: str) -> None:
    """422 unless ``decision`` is one this approval offers (SEC-11)."""
    if decision not in approval.available_decisions:
        offered = ", ".join(approval.available_decisions)
        raise Unprocessable(f"Decision must be one of: {offered}")


def _retrieve_exception(task: asyncio.Future[None]) -> None:
    """Mark a shielded answer's exception as seen when its caller was cancelled."""
    if not task.cancelled():
        task.exception()
