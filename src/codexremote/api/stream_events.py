"""``GET /v1/stream/events/{seq}``: the whole event behind a cut frame (issue 14 A2).

Frames longer than a socket's limit are cut (events/frame_cap.py) and name this
route in ``payload.fullEventPath``; it answers the original envelope while the
replay buffer still holds the event, and 410 once it has been dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from codexremote.errors import Gone
from codexremote.events.bus import EventBus

EVENT_GONE = "Stream event is no longer available"
MAX_SEQ = 10**18


def stream_events_router(
    bus: EventBus, require_device: Callable[[Request], Awaitable[str]]
) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_device)], tags=["stream"])

    @router.get(
        "/stream/events/{seq}",
        responses={200: {"description": '{"data": <the event envelope>}'}, 410: {}},
    )
    async def stream_event(seq: int) -> Any:
        if not 1 <= seq <= MAX_SEQ:
            raise Gone(EVENT_GONE)
        replay = bus.replay_since(seq - 1)
        if not isinstance(replay, list) or not replay or replay[0].seq != seq:
            raise Gone(EVENT_GONE)
        # The stored text is the envelope already: wrap it without decoding it.
        body = '{"data":' + replay[0].encoded + "}"
        return Response(body, media_type="application/json")

    return router
