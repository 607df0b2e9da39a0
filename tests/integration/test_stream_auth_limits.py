"""SEC-05 on the stream: one limiter, one rule; unauthenticated sockets cannot starve
authenticated ones (issue 9, defects 7 and 8). Real uvicorn as `serve` runs it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from codexremote.api.stream import MAX_UNAUTHENTICATED_SOCKETS
from codexremote.app import BAD_TOKEN_LIMIT_PER_MINUTE
from codexremote.connguard import ConnectionGuard
from tests.integration.test_connection_guard import Guarded, guarded_companion

pytestmark = pytest.mark.integration

SILENT_SOCKETS = MAX_UNAUTHENTICATED_SOCKETS + 8
BAD_TOKENS = BAD_TOKEN_LIMIT_PER_MINUTE + 5


async def first_message_auth(companion: Guarded, token: str) -> ClientConnection:
    ws = await connect(f"{companion.ws_url}?chatId=T")
    await ws.send(json.dumps({"type": "auth", "token": token}))
    return ws


async def receives_events(companion: Guarded, ws: ClientConnection) -> bool:
    await asyncio.sleep(0.1)  # let the handler register the socket
    companion.services.bus.publish("turn_started", "T", {"turnId": "U"})
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return bool(frame["event"] == "turn_started")


async def test_sec05_stream_token_is_accepted_past_silent_sockets_and_others_bad_tokens(
    tmp_path: Path,
) -> None:
    async with guarded_companion(tmp_path, ConnectionGuard()) as companion:
        hub = companion.services.hub
        silent = [await connect(f"{companion.ws_url}?chatId=T") for _ in range(SILENT_SOCKETS)]
        await asyncio.sleep(0.1)
        assert hub.unauthenticated == MAX_UNAUTHENTICATED_SOCKETS
        # The oldest waiters gave their places to the newer ones (close 1013).
        for ws in silent[: SILENT_SOCKETS - MAX_UNAUTHENTICATED_SOCKETS]:
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1013
        # Another client from the same address keeps sending bad tokens.
        codes = []
        for _ in range(BAD_TOKENS):
            bad = await first_message_auth(companion, "f" * 64)
            await asyncio.wait_for(bad.wait_closed(), 5)
            codes.append(bad.close_code)
        assert codes == [1008] * BAD_TOKEN_LIMIT_PER_MINUTE + [1013] * 5
        # Meanwhile a browser and a native client with valid tokens get in.
        browser = await first_message_auth(companion, companion.token)
        assert await receives_events(companion, browser)
        native = await connect(f"{companion.ws_url}?chatId=T", additional_headers=companion.auth())
        assert await receives_events(companion, native)
        assert len(hub.clients) == 2
        for ws in [*silent, browser, native]:
            await ws.close()


async def test_sec05_bad_stream_header_tokens_hit_rests_limiter(tmp_path: Path) -> None:
    async with guarded_companion(tmp_path, ConnectionGuard()) as companion:
        bad = {"Authorization": "Bearer " + "f" * 64}
        half = BAD_TOKEN_LIMIT_PER_MINUTE // 2
        async with httpx.AsyncClient(base_url=companion.base_url) as client:
            for _ in range(half):
                assert (await client.get("/v1/projects", headers=bad)).status_code == 401
            statuses = []
            for _ in range(BAD_TOKEN_LIMIT_PER_MINUTE - half + 2):
                with pytest.raises(InvalidStatus) as refused:
                    await connect(companion.ws_url, additional_headers=bad)
                statuses.append(refused.value.response.status_code)
            # The same count as REST, then REST's answer: 429 with Retry-After.
            assert statuses == [403] * (BAD_TOKEN_LIMIT_PER_MINUTE - half) + [429, 429]
            response = refused.value.response
            assert int(response.headers["Retry-After"]) > 0
            assert json.loads(response.body)["code"] == "rate_limited"
            assert (await client.get("/v1/projects", headers=bad)).status_code == 429
            # Valid tokens are never locked out by that.
            assert (await client.get("/v1/projects", headers=companion.auth())).status_code == 200
            ws = await connect(f"{companion.ws_url}?chatId=T", additional_headers=companion.auth())
            assert await receives_events(companion, ws)
            await ws.close()


async def test_original_app_revoked_phone_keeps_getting_401_not_429(tmp_path: Path) -> None:
    """Issue 14 A3: a revoked phone polls on; it must see 401 ("please pair again"),
    never the limiter's 429, on REST and on the stream, while guesses stay limited."""
    async with guarded_companion(tmp_path, ConnectionGuard()) as companion:
        devices = companion.services.devices
        (phone,) = devices.list()
        assert await asyncio.to_thread(devices.revoke, phone.device_id)
        polls = 3 * BAD_TOKEN_LIMIT_PER_MINUTE
        async with httpx.AsyncClient(base_url=companion.base_url) as client:
            statuses = [
                (await client.get("/v1/chats", headers=companion.auth())).status_code
                for _ in range(polls)
            ]
            assert statuses == [401] * polls
            body = (await client.get("/v1/projects", headers=companion.auth())).json()
            assert body == {"error": "Invalid token", "code": "unauthorized"}
            ws_statuses = []
            for _ in range(BAD_TOKEN_LIMIT_PER_MINUTE + 2):
                with pytest.raises(InvalidStatus) as refused:
                    await connect(companion.ws_url, additional_headers=companion.auth())
                ws_statuses.append(refused.value.response.status_code)
            assert ws_statuses == [403] * (BAD_TOKEN_LIMIT_PER_MINUTE + 2)
            closes = []
            for _ in range(BAD_TOKEN_LIMIT_PER_MINUTE + 2):
                ws = await first_message_auth(companion, companion.token)
                await asyncio.wait_for(ws.wait_closed(), 5)
                closes.append(ws.close_code)
            assert closes == [1008] * (BAD_TOKEN_LIMIT_PER_MINUTE + 2)
            # Unknown tokens from the same address are still guesses: 429 after the limit.
            guess = {"Authorization": "Bearer " + "e" * 64}
            guessed = [
                (await client.get("/v1/chats", headers=guess)).status_code
                for _ in range(BAD_TOKEN_LIMIT_PER_MINUTE + 1)
            ]
            assert guessed == [401] * BAD_TOKEN_LIMIT_PER_MINUTE + [429]
            # ...and the revoked phone still gets its 401 while guesses are locked out.
            assert (await client.get("/v1/chats", headers=companion.auth())).status_code == 401
