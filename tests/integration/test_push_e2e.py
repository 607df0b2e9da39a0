"""Web Push end to end (issue 13): real companion, real codex app-server, and a push
service on 127.0.0.1 that verifies the VAPID JWT and decrypts every payload with the
subscription's private key (tests/harness/push_service.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from codexremote.app import build_services
from codexremote.launcher import app_server_launcher
from codexremote.settings import Settings
from tests.harness import model_scripts as scripts
from tests.harness.push_service import FakePushService
from tests.integration.conftest import Companion, free_port, start_companion
from tests.integration.test_chats_stream import create_chat, frames_until, open_stream

pytestmark = pytest.mark.integration

CONTACT = "mailto:push-test@example.com"


@pytest.fixture
def push_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePushService]:
    with FakePushService(tmp_path) as service:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(service.cert_path))
        yield service


@pytest.fixture
async def companion(
    tmp_path: Path,
    codex_bin: Path,
    codex_env: dict[str, str],
    codex_home: Path,
    push_service: FakePushService,
) -> AsyncIterator[Companion]:
    port = free_port()
    settings = Settings(
        port=port, state_dir=tmp_path / "state", codex_home=codex_home, push_contact=CONTACT
    )
    services = build_services(settings, launcher=app_server_launcher(str(codex_bin), codex_env))
    issued = services.devices.issue("test phone")
    server, task = await start_companion(settings, services)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        companion = Companion(services, base, port, issued.token, issued.device_id, client)
        key = (await companion.get("/v1/push/vapid-public-key")).json()["data"]
        assert key["enabled"] is True
        push_service.vapid_key = key["publicKey"]
        yield companion
    server.should_exit = True
    await asyncio.wait_for(task, 15)


async def subscribe(companion: Companion, service: FakePushService, name: str) -> None:
    response = await companion.post("/v1/push/subscriptions", service.subscribe(name))
    assert response.status_code == 201, response.text


async def run_turn(companion: Companion, chat_id: str, text: str) -> None:
    sent = await companion.post(f"/v1/chats/{chat_id}/messages", {"text": text, "attachments": []})
    assert sent.status_code == 202, sent.text


async def wait_for_pushes(service: FakePushService, count: int) -> None:
    await asyncio.to_thread(service.wait_for, count, 30.0)


async def test_push_approval_and_finished_turn_each_reach_a_closed_app_once(
    companion: Companion, push_service: FakePushService, git_repo: Path
) -> None:
    await subscribe(companion, push_service, "phone")
    chat_id = await create_chat(companion, git_repo)
    await run_turn(companion, chat_id, "run-command please")
    await wait_for_pushes(push_service, 1)
    approval_push = push_service.received[0]
    assert approval_push.problems == [] and approval_push.status == 201
    payload = approval_push.payload
    assert payload is not None
    assert payload["kind"] == "approval" and payload["chatId"] == chat_id
    assert payload["summary"] == f"/bin/bash -lc '{scripts.COMMAND}'"  # as codex runs it
    assert payload["tag"] == f"chat:{chat_id}"
    assert payload["body"] == f"Approval needed: {payload['summary']}"
    assert approval_push.headers["urgency"] == "high"
    assert approval_push.headers["ttl"] == "3600"
    assert approval_push.claims["sub"] == CONTACT
    assert approval_push.claims["exp"] <= time.time() + 12 * 3600  # Apple: at most ~12 h
    pending = (await companion.get("/v1/approvals", params={"chatId": chat_id})).json()["data"]
    assert payload["approvalId"] == pending[0]["id"]
    assert pending[0]["details"]["command"] == payload["summary"]

    decided = await companion.post(f"/v1/approvals/{pending[0]['id']}", {"decision": "approve"})
    assert decided.status_code == 200, decided.text
    await wait_for_pushes(push_service, 2)
    done = push_service.received[1]
    assert done.problems == [] and done.payload is not None
    assert done.payload["kind"] == "turn_completed"
    assert done.payload["summary"] == scripts.TOOL_DONE_ANSWER
    assert done.headers["urgency"] == "normal"
    assert done.headers["topic"] == approval_push.headers["topic"]  # one per chat
    await asyncio.sleep(0.3)
    assert len(push_service.received) == 2  # each reached the phone once
    listed = (await companion.get("/v1/push/subscriptions")).json()["data"]
    assert listed[0]["lastSuccessAt"] is not None


async def test_push_visible_client_gets_none_until_its_socket_goes_away(
    companion: Companion, push_service: FakePushService, git_repo: Path
) -> None:
    await subscribe(companion, push_service, "phone")
    push = companion.services.push
    assert push is not None
    chat_id = await create_chat(companion, git_repo)
    ws = await connect(companion.ws_url, max_size=None)
    await ws.send(json.dumps({"type": "auth", "token": companion.token, "chatId": chat_id}))
    await ws.send(json.dumps({"type": "visibility", "visible": True}))
    while not companion.services.hub.device_visible(companion.device_id):
        await asyncio.sleep(0.01)
    await run_turn(companion, chat_id, "hello")
    await frames_until(ws, "turn_completed")
    assert push.stats.suppressed_visible == 1
    assert push.delivery is not None and push.delivery.pending() == 0
    assert push_service.received == []

    await ws.send(json.dumps({"type": "visibility", "visible": False}))  # app in background
    while companion.services.hub.device_visible(companion.device_id):
        await asyncio.sleep(0.01)
    await run_turn(companion, chat_id, "hello")
    await wait_for_pushes(push_service, 1)
    assert push_service.received[0].payload is not None
    assert push_service.received[0].payload["summary"] == scripts.HELLO_ANSWER

    await ws.send(json.dumps({"type": "visibility", "visible": True}))
    while not companion.services.hub.device_visible(companion.device_id):
        await asyncio.sleep(0.01)
    await ws.close()  # a socket that went away counts as not visible
    while companion.services.hub.by_device(companion.device_id):
        await asyncio.sleep(0.01)
    await run_turn(companion, chat_id, "hello")
    await wait_for_pushes(push_service, 2)
    assert push.stats.suppressed_visible == 1


async def test_sec09_push_revoked_device_loses_its_subscriptions_and_gets_nothing(
    companion: Companion, push_service: FakePushService, git_repo: Path
) -> None:
    await subscribe(companion, push_service, "phone")
    push = companion.services.push
    assert push is not None
    other = companion.services.devices.issue("second phone")
    await asyncio.to_thread(companion.services.devices.revoke, companion.device_id)
    while push.store.for_device(companion.device_id):
        await asyncio.sleep(0.01)
    stored = json.loads(
        (companion.services.settings.state_dir / "push-subscriptions.json").read_text()
    )
    assert stored == {"subscriptions": []}

    companion.token = other.token
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    await run_turn(companion, chat_id, "hello")
    await frames_until(ws, "turn_completed")
    await ws.close()
    await asyncio.sleep(0.3)
    assert push_service.received == []


async def test_rel15_push_unreachable_service_leaves_the_companion_serving(
    companion: Companion,
    push_service: FakePushService,
    git_repo: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = push_service.subscribe("phone")
    body["endpoint"] = f"https://127.0.0.1:{free_port()}/push/phone"  # nobody listens
    assert (await companion.post("/v1/push/subscriptions", body)).status_code == 201
    push = companion.services.push
    assert push is not None
    caplog.set_level(logging.WARNING, logger="codexremote.push")
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    await run_turn(companion, chat_id, "hello")
    await frames_until(ws, "turn_completed")
    await run_turn(companion, chat_id, "hello")  # a second turn is served as usual
    frames = await frames_until(ws, "turn_completed")
    assert any(f["event"] == "message_delta" for f in frames)
    assert (await companion.get("/v1/chats", params={"projectId": "x" * 12})).status_code in (
        200,
        404,
    )
    while push.stats.retried < 2:
        await asyncio.sleep(0.05)
    await ws.close()
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) == 1  # once per device, not once per attempt


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"endpoint": "http://127.0.0.1:1/push/x"}, "https"),
        ({"endpoint": "not a url"}, "https"),
        ({"endpoint": "https://push.example:["}, "https"),  # urlsplit raises: was a 500
        ({"endpoint": "HTTPS://push.example/x"}, "https"),  # the document says lower case
        ({"keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
        ({"keys": {"auth": "AAAA"}}, "p256dh"),
        ({"keys": {"p256dh": "B" + "A" * 85 + "\n", "auth": "A" * 22}}, "p256dh"),
        ({"keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 21 + "*"}}, "auth"),
        ({"expirationTime": "soon"}, "expirationTime"),
        ({"expirationTime": False}, "expirationTime"),  # not coerced to 0
        ({"expirationTime": "123"}, "expirationTime"),
    ],
)
async def test_sec22_push_subscription_route_refuses_unusable_subscriptions(
    companion: Companion, push_service: FakePushService, change: dict[str, object], message: str
) -> None:
    body = push_service.subscribe("phone") | change
    response = await companion.post("/v1/push/subscriptions", body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_subscription"
    assert message in response.json()["error"]


async def test_push_subscription_routes_list_and_delete_only_own(
    companion: Companion, push_service: FakePushService
) -> None:
    assert (await companion.client.get("/v1/push/vapid-public-key")).status_code == 401
    no_auth = await companion.client.post("/v1/push/subscriptions", json={})
    assert no_auth.status_code == 401
    await subscribe(companion, push_service, "phone")
    await subscribe(companion, push_service, "phone")  # re-sent on every launch: one entry
    listed = (await companion.get("/v1/push/subscriptions")).json()["data"]
    assert [s["endpoint"] for s in listed] == [f"{push_service.origin}/push/phone"]
    assert "keys" not in listed[0]
    other = companion.services.devices.issue("other")
    theirs = await companion.client.delete(
        f"/v1/push/subscriptions/{listed[0]['id']}",
        headers={"Authorization": f"Bearer {other.token}"},
    )
    assert theirs.status_code == 404 and theirs.json()["code"] == "not_found"
    mine = await companion.client.delete(
        f"/v1/push/subscriptions/{listed[0]['id']}", headers=companion.auth()
    )
    assert mine.status_code == 200
    assert (await companion.get("/v1/push/subscriptions")).json()["data"] == []
    openapi = (await companion.client.get("/v1/openapi.json")).json()
    assert "/v1/push/subscriptions" in openapi["paths"]
