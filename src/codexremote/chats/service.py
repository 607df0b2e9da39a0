"""Chat actions on top of app-server (wire-api.md 4.9-4.17), free of HTTP.

Runtime settings from the phone reach running chats because every thread and
turn we start carries the effective ``approvalPolicy``/``sandbox(Policy)`` as
overrides (app-server's own config only affects threads started later; see
docs/runtime-config.md). The providers are injected so this module stays free of
config-file details.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from codexremote.chats.directory import ChatDirectory, ThreadInfo
from codexremote.chats.models import (
    Activation,
    ChatThread,
    RunState,
    SendResult,
    SteerResult,
    StopResult,
)
from codexremote.chats.turns import TurnTracker
from codexremote.chats.user_input import parse_message_body
from codexremote.codex.errors import AppServerError
from codexremote.errors import BadGateway, BadRequest, NotFound
from codexremote.ids import UNKNOWN_CWD

log = logging.getLogger("codexremote.chats")

CHAT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
RUN_STATE_ERROR = "Failed to load chat run state"  # the original app matches this phrase
# What codex 0.169's thread/read says of a chat whose rollout does not exist yet, or exists
# but is still empty (the moment its first turn starts): no turn has run, so it is idle.
_NO_ROLLOUT_YET = ("not loaded", "no rollout", "is empty")


def _rollout_not_there_yet(message: str) -> bool:
    lowered = message.lower()
    return any(phrase in lowered for phrase in _NO_ROLLOUT_YET)


Requester = Callable[..., Awaitable[Any]]
OverridesProvider = Callable[[], Awaitable[dict[str, Any]]]
ActivityHook = Callable[[str, str], None]  # (chat id, reason) for the desktop bridge


async def _no_overrides() -> dict[str, Any]:
    return {}


def validate_chat_id(chat_id: str) -> str:
    if not CHAT_ID_PATTERN.match(chat_id):
        raise NotFound("Chat not found")
    return chat_id


class ChatService:
    def __init__(
        self,
        request: Requester,
        directory: ChatDirectory,
        turns: TurnTracker,
        *,
        thread_params: OverridesProvider = _no_overrides,
        turn_params: OverridesProvider = _no_overrides,
        on_activity: ActivityHook | None = None,
    ) -> None:
        self._request = request
        self.directory = directory
        self.turns = turns
        self._thread_params = thread_params
        self._turn_params = turn_params
        self._on_activity = on_activity
        self._active_chats: set[str] = set()

    def on_child_restart(self) -> None:
        """Nothing is loaded in a fresh app-server: chats must be resumed again."""
        self._active_chats.clear()
        self.turns.clear()
        self.directory.mark_stale()

    # -- lookups -----------------------------------------------------------
    async def require_chat(self, chat_id: str) -> ThreadInfo:
        validate_chat_id(chat_id)
        await self.directory.ensure_loaded()
        info = self.directory.get(chat_id)
        if info is not None:
            return info
        try:
            result = await self._request("thread/read", {"threadId": chat_id})
        except AppServerError:
            raise NotFound("Chat not found") from None
        thread = result.get("thread") if isinstance(result, dict) else None
        if isinstance(thread, dict) and self.directory.upsert(thread) is not None:
            found = self.directory.get(chat_id)
            if found is not None:
                return found
        raise NotFound("Chat not found")

    async def knows_project(self, project_id: str) -> bool:
        """Whether a project exists (re-listing once before saying no)."""
        try:
            await self.require_project_cwd(project_id)
        except NotFound:
            return False
        return True

    async def require_project_cwd(self, project_id: str) -> str:
        await self.directory.ensure_loaded()
        cwd = self.directory.cwd_for_project(project_id)
        if cwd is None:
            await self.directory.relist()
            cwd = self.directory.cwd_for_project(project_id)
        if cwd is None:
            raise NotFound("Project not found")
        return cwd

    def drawer_rows(
        self, project_id: str | None, open_approvals: Mapping[str, int]
    ) -> list[dict[str, Any]]:
        """The drawer's rows with their live state, so the phone needs no request per
        chat: ``isRunning`` from the turns we know are running (our sends and the
        relay's turn notifications), ``pendingApprovals`` from the approvals registry."""
        rows = self.directory.chat_rows(project_id)
        active = self.turns.active_turn
        for row in rows:
            row["isRunning"] = active(row["id"]) is not None
            row["pendingApprovals"] = open_approvals.get(row["id"], 0)
        return rows

    # -- actions -----------------------------------------------------------
    async def create(self, cwd: Any, model: Any = None) -> ChatThread:
        if cwd is not None and not isinstance(cwd, str):
            raise BadRequest("Expected cwd to be a string or null")
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise BadRequest("Expected model to be a non-empty string")
        params: dict[str, Any] = {}
        # The original app sends the selected project's cwd, and the "No Project"
        # group's cwd is the sentinel "unknown": such a chat starts without a cwd
        # (app-server's default), as with null, instead of failing with 400.
        if cwd is not None and cwd != UNKNOWN_CWD:
            params["cwd"] = self._checked_cwd(cwd)
        if model:
            params["model"] = model
        params.update(await self._thread_params())
        try:
            result = await self._request("thread/start", params)
        except AppServerError as exc:
            raise BadGateway(f"Failed to create thread: {exc.message}") from exc
        thread = result.get("thread") if isinstance(result, dict) else None
        chat = self.directory.upsert(thread) if isinstance(thread, dict) else None
        if chat is None:
            raise BadGateway("Failed to create thread")
        self._active_chats.add(chat.id)
        return chat

    @staticmethod
    def _checked_cwd(cwd: str) -> str:
        if not cwd.strip() or "\x00" in cwd or len(cwd) > 4096:
            raise BadRequest("Expected cwd to be an absolute directory path")
        path = Path(cwd)
        if not path.is_absolute():
            raise BadRequest("Expected cwd to be an absolute directory path")
        if not path.is_dir():
            raise BadRequest(f"Directory does not exist: {cwd}")
        if not os.access(path, os.R_OK | os.X_OK):
            raise BadRequest(f"Directory is not readable: {cwd}")
        return cwd

    async def activate(self, chat_id: str) -> Activation:
        await self.require_chat(chat_id)
        status = await self._activate(chat_id)
        if self._on_activity is not None:
            self._on_activity(chat_id, "chat_activated")
        return Activation(chatId=chat_id, status=status)

    async def _activate(self, chat_id: str) -> Any:
        if chat_id in self._active_chats:
            return "already_active"
        params: dict[str, Any] = {"threadId": chat_id, "excludeTurns": True}
        params.update(await self._thread_params())
        try:
            result = await self._request("thread/resume", params)
        except AppServerError as exc:
            if "no rollout found" in exc.message.lower():
                return "no_rollout"
            raise BadGateway(exc.message) from exc
        thread = result.get("thread") if isinstance(result, dict) else None
        if isinstance(thread, dict):
            self.directory.upsert(thread)
        self._active_chats.add(chat_id)
        return "resumed"

    async def run_state(self, chat_id: str) -> RunState:
        await self.require_chat(chat_id)
        turn_id = await self._active_turn(chat_id)
        return RunState(chatId=chat_id, isRunning=turn_id is not None, activeTurnId=turn_id)

    async def _active_turn(self, chat_id: str) -> str | None:
        known = self.turns.active_turn(chat_id)
        if known is not None:
            return known
        try:
            result = await self._request("thread/read", {"threadId": chat_id})
        except AppServerError as exc:
            if _rollout_not_there_yet(exc.message):
                return None
            log.info("run-state: thread/read failed: %s", exc.message)
            raise BadGateway(RUN_STATE_ERROR) from exc
        thread = result.get("thread") if isinstance(result, dict) else None
        status = thread.get("status") if isinstance(thread, dict) else None
        if not isinstance(status, dict) or status.get("type") != "active":
            return None
        try:
            page = await self._request(
                "thread/turns/list", {"threadId": chat_id, "limit": 1, "itemsView": "notLoaded"}
            )
        except AppServerError as exc:
            raise BadGateway(RUN_STATE_ERROR) from exc
        for turn in page.get("data", []) if isinstance(page, dict) else []:
            if isinstance(turn, dict) and turn.get("status") == "inProgress":
                turn_id = turn.get("id")
                if isinstance(turn_id, str):
                    self.turns.started(chat_id, turn_id)
                    return turn_id
        return None

    async def send(self, chat_id: str, body: Any) -> SendResult:
        items, title = parse_message_body(body)
        await self.require_chat(chat_id)
        turn_id = await self._start_turn(chat_id, items, title)
        return SendResult(chatId=chat_id, turnId=turn_id)

    async def _start_turn(self, chat_id: str, items: list[dict[str, Any]], title: str) -> str:
        try:
            await self._activate(chat_id)
        except BadGateway as exc:
            log.info("activation before send failed: %s", exc.message)
        params: dict[str, Any] = {"threadId": chat_id, "input": items}
        params.update(await self._turn_params())
        try:
            result = await self._request("turn/start", params)
        except AppServerError as exc:
            raise BadGateway(f"Failed to start the turn: {exc.message}") from exc
        turn = result.get("turn") if isinstance(result, dict) else None
        turn_id = turn.get("id") if isinstance(turn, dict) else None
        if not isinstance(turn_id, str):
            raise BadGateway("Failed to start the turn")
        self.turns.started(chat_id, turn_id)
        self.directory.note_title(chat_id, title)
        if self._on_activity is not None:
            self._on_activity(chat_id, "message_sent")
        return turn_id

    async def steer(self, chat_id: str, body: Any) -> SteerResult:
        items, title = parse_message_body(body)
        await self.require_chat(chat_id)
        active = await self._active_turn(chat_id)
        if active is not None:
            try:
                result = await self._request(
                    "turn/steer", {"threadId": chat_id, "input": items, "expectedTurnId": active}
                )
            except AppServerError as exc:
                # The turn ended between our check and the steer: never lose the
                # follow-up, start a new turn with it instead.
                log.info("steer fell back to a new turn: %s", exc.message)
                self.turns.finished(chat_id, active)
            else:
                steered = result.get("turnId") if isinstance(result, dict) else None
                if self._on_activity is not None:
                    self._on_activity(chat_id, "message_sent")
                return SteerResult(
                    chatId=chat_id,
                    mode="steered",
                    turnId=steered if isinstance(steered, str) else active,
                )
        turn_id = await self._start_turn(chat_id, items, title)
        return SteerResult(chatId=chat_id, mode="started", turnId=turn_id)

    async def stop(self, chat_id: str) -> StopResult:
        await self.require_chat(chat_id)
        active = await self._active_turn(chat_id)
        if active is None:
            return StopResult(chatId=chat_id, interrupted=False)
        try:
            await self._request("turn/interrupt", {"threadId": chat_id, "turnId": active})
        except AppServerError as exc:
            log.info("interrupt failed (turn probably ended): %s", exc.message)
            self.turns.finished(chat_id, active)
            return StopResult(chatId=chat_id, interrupted=False)
        self.turns.finished(chat_id, active)
        return StopResult(chatId=chat_id, interrupted=True, turnId=active)
