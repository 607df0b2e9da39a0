"""``/v1/stream``: the live WebSocket (wire-api.md 5; REL-05, REL-06, REL-07, SEC-09, SEC-10).

Handshake: the original app sends ``Authorization: Bearer`` on the upgrade and a
``chatId`` query. Browsers cannot set headers, so a socket without one is
accepted and must send ``{"type": "auth", "token": ...}`` as its first message
within ``AUTH_TIMEOUT_S`` (the token never travels in the URL).

Bad tokens follow REST's rule with REST's limiter (SEC-05): only a *failed* token
consults it, so a valid token is never locked out by other clients' failures from
the same address, and a revoked device's token is refused (1008) without counting
(issue 14 A3); past the limit a header token gets HTTP 429 (+ Retry-After),
a first-message token close 1013. At most ``MAX_UNAUTHENTICATED_SOCKETS`` accepted
sockets wait for their auth message; a newcomer takes the place of the one that
has waited longest (closed 1013), so silent sockets cannot keep a browser out.

Resume: ``lastSeq`` (query, or in the auth/first message) replays every missed
event from the bus, or sends one ``resync`` event when the gap is too old. Open
approvals are re-sent on every (re)connect. Each client has a bounded queue; a
client that cannot keep up is closed with 1013 without slowing the others.
Without ``chatId`` a socket receives every chat's events (our clients only).
A ``{"type": "visibility", "visible": bool}`` message marks the socket as (not)
on screen; Web Push skips devices with a visible socket (push/service.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.websockets import WebSocketState

from codexremote.api.auth import FailureLimiter, RevokedCheck
from codexremote.errors import TooManyRequests
from codexremote.events.bus import TOO_OLD, EventBus, StreamEvent
from codexremote.events.frame_cap import (
    DEFAULT_MAX_FRAME_BYTES,
    MAX_MAX_FRAME_BYTES,
    MIN_MAX_FRAME_BYTES,
    FrameCapper,
    capped_text,
)

log = logging.getLogger("codexremote.stream")

AUTH_TIMEOUT_S = 10.0  # first-message auth window for browsers
CLIENT_QUEUE_MAX = 10_000  # events buffered per client before it is dropped (REL-05)
CLOSE_POLICY = 1008
CLOSE_UNSUPPORTED = 1003  # a binary frame where a text message is required
CLOSE_TRY_AGAIN = 1013
CLOSE_GOING_AWAY = 1001
CLOSE_TIMEOUT_S = 0.5  # SEC-09: revoked/overflowing sockets are gone well within 1 s
MAX_INBOUND_PER_MINUTE = 120  # SEC-10: control messages are rare
MAX_UNAUTHENTICATED_SOCKETS = 32  # browsers waiting to send their auth message

Authenticator = Callable[[str], str | None]  # token → device id
PendingApprovals = Callable[[str | None], list[dict[str, Any]]]  # chat (None=all) → approvals


_STOP = StreamEvent(seq=-1, event="", chat_id="", timestamp_ms=0, encoded="")


class AuthMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=256)
    lastSeq: int | None = Field(None, ge=0)
    chatId: str | None = Field(None, max_length=128)
    maxFrameBytes: int | None = Field(None, ge=0, le=MAX_MAX_FRAME_BYTES)


class ResumeMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["resume", "ping"]
    lastSeq: int | None = Field(None, ge=0)


class VisibilityMessage(BaseModel):
    """The page is (not) on screen; push skips devices with a visible client (issue 13)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["visibility"]
    visible: bool


@dataclass(eq=False)
class StreamClient:
    websocket: WebSocket
    device_id: str
    chat_id: str | None
    # Frames longer than this are cut (events/frame_cap.py); None: no limit.
    max_frame_bytes: int | None = DEFAULT_MAX_FRAME_BYTES
    queue: asyncio.Queue[StreamEvent] = field(
        default_factory=lambda: asyncio.Queue(CLIENT_QUEUE_MAX)
    )
    overflowed: bool = False
    closing: bool = False
    visible: bool = False  # last "visibility" message; a closed socket leaves the hub
    task: asyncio.Task[Any] | None = None  # the handler serving this socket

    def wants(self, event: StreamEvent) -> bool:
        return self.chat_id is None or event.chat_id in (self.chat_id, "")


class StreamHub:
    """Every open stream socket, by device, so revocation and shutdown reach them."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.clients: set[StreamClient] = set()
        # Accepted sockets still waiting for their auth message, oldest first; the
        # future is set when a newcomer needs the place.
        self.waiting: OrderedDict[WebSocket, asyncio.Future[None]] = OrderedDict()
        self.capper = FrameCapper()  # frames within each client's size limit

    @property
    def unauthenticated(self) -> int:
        return len(self.waiting)

    def enter_waiting_room(self, websocket: WebSocket) -> asyncio.Future[None]:
        """Register a socket awaiting its auth message; evicts the longest waiter when full."""
        while len(self.waiting) >= MAX_UNAUTHENTICATED_SOCKETS:
            _, evicted = self.waiting.popitem(last=False)
            if not evicted.done():
                evicted.set_result(None)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting[websocket] = future
        return future

    def leave_waiting_room(self, websocket: WebSocket) -> None:
        self.waiting.pop(websocket, None)

    def frame(self, client: StreamClient, event: StreamEvent) -> str:
        """A bus event's frame within the client's size limit."""
        return self.capper.text(event, client.max_frame_bytes)

    def by_device(self, device_id: str) -> list[StreamClient]:
        return [c for c in self.clients if c.device_id == device_id]

    def device_visible(self, device_id: str) -> bool:
        return any(c.visible for c in self.clients if c.device_id == device_id)

    async def close_device(self, device_id: str, reason: str = "device revoked") -> int:
        clients = self.by_device(device_id)
        await asyncio.gather(*(self._close(c, CLOSE_POLICY, reason) for c in clients))
        return len(clients)

    async def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "shutting down") -> None:
        await asyncio.gather(*(self._close(c, code, reason) for c in list(self.clients)))

    @staticmethod
    async def _close(client: StreamClient, code: int, reason: str) -> None:
        """Close politely; a peer that stopped reading cannot take a close frame, so
        after ``CLOSE_TIMEOUT_S`` its handler is cancelled and the socket dropped."""
        client.closing = True
        with contextlib.suppress(asyncio.QueueFull):
            client.queue.put_nowait(_STOP)
        try:
            await asyncio.wait_for(
                client.websocket.close(code=code, reason=reason), CLOSE_TIMEOUT_S
            )
        except Exception:
            if client.task is not None and not client.task.done():
                client.task.cancel()


def companion_event(event: str, chat_id: str, payload: Any, seq: int) -> StreamEvent:
    """A frame the companion sends to one socket only (resync, re-sent approvals): the
    bus's envelope, with the seq the client has already seen so it never skips ahead."""
    return StreamEvent.create(seq, event, chat_id, payload, int(time.time() * 1000))


def companion_frame(event: str, chat_id: str, payload: Any, seq: int) -> str:
    return companion_event(event, chat_id, payload, seq).text()


def max_frame_bytes(value: int | str | None) -> int | None:
    """A client's ``maxFrameBytes``: 0 = no limit; below the minimum or not a number
    → the default (the original app's 1 MiB)."""
    number = value if isinstance(value, int) else _int_or_none(value)
    if number == 0:
        return None
    if number is None or not MIN_MAX_FRAME_BYTES <= number <= MAX_MAX_FRAME_BYTES:
        return DEFAULT_MAX_FRAME_BYTES
    return number


def _bearer(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization")
    if header is None:
        return None
    if not header.startswith("Bearer "):
        return ""
    return header[len("Bearer ") :].strip()


def _int_or_none(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def stream_router(
    hub: StreamHub,
    authenticate: Authenticator,
    pending_approvals: PendingApprovals,
    limiter: FailureLimiter | None = None,
    was_revoked: RevokedCheck | None = None,
) -> APIRouter:
    router = APIRouter()

    def bad_token(key: str, token: str | None) -> int | None:
        """REST's rule: seconds to wait if ``key`` is locked out, else count the failure."""
        if limiter is None or (token and was_revoked is not None and was_revoked(token)):
            return None
        try:
            limiter.check(key)
        except TooManyRequests as exc:
            return exc.retry_after
        limiter.record_failure(key)
        return None

    @router.websocket("/v1/stream")
    async def stream(websocket: WebSocket) -> None:
        chat_id = websocket.query_params.get("chatId") or None
        last_seq = _int_or_none(websocket.query_params.get("lastSeq"))
        frame_limit = max_frame_bytes(websocket.query_params.get("maxFrameBytes"))
        key = websocket.client.host if websocket.client else "unknown"
        if chat_id is not None and len(chat_id) > 128:
            await websocket.close(code=CLOSE_POLICY)
            return
        token = _bearer(websocket)
        device_id: str | None = None
        if token is not None:
            device_id = authenticate(token) if token else None
            if device_id is None:
                retry_after = bad_token(key, token)
                if retry_after is not None:
                    await _deny_rate_limited(websocket, retry_after)
                else:
                    await websocket.close(code=CLOSE_POLICY)  # before accept → 403
                return
        await websocket.accept()
        if token and authenticate(token) is None:
            # Revoked while the handshake completed: the revocation listener found no
            # socket to close yet. From here to registration with the hub nothing awaits.
            await _quiet_close(websocket, CLOSE_POLICY, "device revoked")
            return
        if device_id is None:
            evicted = hub.enter_waiting_room(websocket)
            try:
                auth, gone = await _first_message_auth(websocket, evicted)
            finally:
                hub.leave_waiting_room(websocket)
            if gone:
                return  # left, stayed silent or gave up its place: nothing to count
            device_id = authenticate(auth.token) if auth is not None else None
            if auth is None or device_id is None:
                if bad_token(key, auth.token if auth is not None else None) is not None:
                    await _quiet_close(websocket, CLOSE_TRY_AGAIN, "too many failed attempts")
                else:
                    await _quiet_close(websocket, CLOSE_POLICY, "authentication failed")
                return
            chat_id = auth.chatId or chat_id
            last_seq = auth.lastSeq if auth.lastSeq is not None else last_seq
            if auth.maxFrameBytes is not None:
                frame_limit = max_frame_bytes(auth.maxFrameBytes)
        client = StreamClient(websocket, device_id, chat_id, frame_limit)
        await _serve(hub, client, last_seq, pending_approvals)

    return router


async def _first_message_auth(
    websocket: WebSocket, evicted: asyncio.Future[None]
) -> tuple[AuthMessage | None, bool]:
    """(the auth message or None if it was not one, whether the peer is gone/silent)."""
    receive = asyncio.ensure_future(websocket.receive())
    waiters: set[asyncio.Future[Any]] = {receive, evicted}
    done, _ = await asyncio.wait(
        waiters, timeout=AUTH_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
    )
    if receive not in done:
        receive.cancel()
        with contextlib.suppress(BaseException):
            await receive
        if evicted in done:
            await _quiet_close(websocket, CLOSE_TRY_AGAIN, "too many sockets waiting")
        else:
            await _quiet_close(websocket, CLOSE_POLICY, "authentication timed out")
        return None, True
    try:
        message = receive.result()
    except (WebSocketDisconnect, RuntimeError):
        return None, True
    if message["type"] == "websocket.disconnect":
        return None, True
    raw = message.get("text")
    if not isinstance(raw, str):
        # A binary first message: say why (was: the handler returned and the peer saw 1006).
        await _quiet_close(websocket, CLOSE_UNSUPPORTED, "auth message must be text")
        return None, True
    try:
        return AuthMessage.model_validate_json(raw), False
    except ValidationError:
        return None, False


async def _deny_rate_limited(websocket: WebSocket, retry_after: int) -> None:
    """HTTP 429 before the upgrade, REST's answer (else the close the handshake allows)."""
    if "websocket.http.response" not in websocket.scope.get("extensions", {}):
        await websocket.close(code=CLOSE_TRY_AGAIN)
        return
    error = TooManyRequests(
        f"Too many failed attempts; try again in {retry_after} s", retry_after=retry_after
    )
    body = json.dumps({"error": error.message, "code": error.code})
    headers = {"Retry-After": str(retry_after), "Cache-Control": "no-store"}
    response = Response(body, status_code=429, media_type="application/json", headers=headers)
    await websocket.send_denial_response(response)


async def _quiet_close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close unless the peer already went away (then there is nothing to tell it)."""
    with contextlib.suppress(Exception):
        await websocket.close(code=code, reason=reason)


async def _serve(
    hub: StreamHub, client: StreamClient, last_seq: int | None, pending: PendingApprovals
) -> None:
    websocket = client.websocket
    client.task = asyncio.current_task()

    def on_event(event: StreamEvent) -> None:
        if client.overflowed or not client.wants(event):
            return
        try:
            client.queue.put_nowait(event)
        except asyncio.QueueFull:
            client.overflowed = True
            log.warning("stream client too slow; closing it (queue full)")
            asyncio.get_running_loop().create_task(
                hub._close(client, CLOSE_TRY_AGAIN, "client too slow")
            )

    unsubscribe = hub.bus.subscribe(on_event)
    hub.clients.add(client)
    receiver = asyncio.create_task(_receive_loop(client))

    def stop(_task: object) -> None:
        client.closing = True
        with contextlib.suppress(asyncio.QueueFull):
            client.queue.put_nowait(_STOP)

    receiver.add_done_callback(stop)
    try:
        sent_upto = await _send_backlog(hub, client, last_seq, pending)
        while not client.closing:
            event = await client.queue.get()  # no suspension while events are queued
            if event is _STOP:
                break
            if event.seq <= sent_upto:
                continue
            await websocket.send_text(hub.frame(client, event))
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    except asyncio.CancelledError:
        if not client.closing:
            raise  # a real cancellation (shutdown), not our own drop
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
    finally:
        unsubscribe()
        hub.clients.discard(client)
        receiver.cancel()
        with contextlib.suppress(BaseException):
            await receiver
        if websocket.application_state != WebSocketState.DISCONNECTED and not client.closing:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(code=CLOSE_GOING_AWAY), CLOSE_TIMEOUT_S)


async def _send_backlog(
    hub: StreamHub, client: StreamClient, last_seq: int | None, pending: PendingApprovals
) -> int:
    """Replay (or resync), then open approvals; returns the highest seq sent."""
    websocket, bus = client.websocket, hub.bus
    sent_upto = bus.last_seq if last_seq is None else last_seq
    if last_seq is not None:
        replay = bus.replay_since(last_seq)
        if replay is TOO_OLD:
            payload = {"reason": "gap_too_old", "lastSeq": last_seq, "currentSeq": bus.last_seq}
            await websocket.send_text(
                companion_frame("resync", client.chat_id or "", payload, bus.last_seq)
            )
            sent_upto = bus.last_seq
        elif isinstance(replay, list):
            for event in replay:
                if client.wants(event):
                    await websocket.send_text(hub.frame(client, event))
                sent_upto = max(sent_upto, event.seq)
    approvals = pending(client.chat_id)
    if client.chat_id is not None:
        approvals = approvals[:1]  # the original app shows the newest one
    for approval in approvals:
        chat = str(approval.get("chatId") or client.chat_id or "")
        frame = companion_event("approval_required", chat, approval, sent_upto)
        # Not through the cache: this frame borrows the seq of a bus event.
        await websocket.send_text(capped_text(frame, client.max_frame_bytes))
    return sent_upto


async def _receive_loop(client: StreamClient) -> None:
    """Reads control messages (resume/ping); anything else is ignored, floods close."""
    window_start = time.monotonic()
    count = 0
    while True:
        message = await client.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        count += 1
        now = time.monotonic()
        if now - window_start > 60:
            window_start, count = now, 1
        if count > MAX_INBOUND_PER_MINUTE:
            await client.websocket.close(code=CLOSE_POLICY, reason="too many messages")
            return
        text = message.get("text")
        if not isinstance(text, str):
            continue
        with contextlib.suppress(ValidationError):
            client.visible = VisibilityMessage.model_validate_json(text).visible
            continue
        with contextlib.suppress(ValidationError):
            ResumeMessage.model_validate_json(text)
