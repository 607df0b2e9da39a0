"""Push domain (issue 13) without codex: the real bus, stores and delivery against the
harness push service on 127.0.0.1 (VAPID verified, aes128gcm decrypted)."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from codexremote.cli.doctor import check_push
from codexremote.events.bus import EventBus
from codexremote.pairing.device_store import DeviceStore
from codexremote.push import PushService, SubscriptionStore, VapidKeys
from codexremote.push.delivery import retry_after_seconds
from codexremote.push.messages import MINIMAL_TITLE
from codexremote.settings import Settings
from tests.harness.push_service import FakePushService

CONTACT = "mailto:ops@example.com"
APPROVAL = {"id": "a1", "summary": "rm -rf build\nin /repo", "details": {"command": "rm -rf build"}}


@pytest.fixture
def push_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePushService]:
    with FakePushService(tmp_path) as service:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(service.cert_path))
        yield service


class Rig:
    def __init__(self, state: Path, service: FakePushService, content: Any = "full") -> None:
        self.bus = EventBus()
        self.devices = DeviceStore(state)
        self.device = self.devices.issue("phone").device_id
        self.store = SubscriptionStore(state)
        self.visible: set[str] = set()
        self.push = PushService(
            self.bus,
            self.store,
            VapidKeys.load_or_create(state),
            contact=CONTACT,
            content=content,
            ttl_s=600,
            chat_title=lambda chat_id: f"Chat {chat_id}",
            is_visible=lambda device_id: device_id in self.visible,
            is_paired=lambda device_id: self.devices.get(device_id) is not None,
        )
        service.vapid_key = self.push.keys.public_key
        self.service = service

    def subscribe(self, name: str = "phone") -> None:
        body = self.service.subscribe(name)
        self.store.add(
            self.device, body["endpoint"], body["keys"]["p256dh"], body["keys"]["auth"], None
        )


@pytest.fixture
async def rig(tmp_path: Path, push_service: FakePushService) -> AsyncIterator[Rig]:
    made = Rig(tmp_path / "state", push_service)
    await made.push.start()
    yield made
    await made.push.aclose()


async def wait_for(service: FakePushService, count: int) -> None:
    await asyncio.to_thread(service.wait_for, count, 20.0)


async def test_sec22_push_minimal_content_sends_only_codex_needs_you(
    tmp_path: Path, push_service: FakePushService
) -> None:
    rig = Rig(tmp_path / "state", push_service, content="minimal")
    await rig.push.start()
    rig.subscribe()
    rig.bus.publish("approval_required", "chat-1", APPROVAL)
    await wait_for(push_service, 1)
    await rig.push.aclose()
    payload = push_service.received[0].payload
    assert push_service.received[0].problems == []
    assert payload == {
        "v": 1,
        "kind": "approval",
        "chatId": "chat-1",
        "tag": "chat:chat-1",
        "sentAt": payload["sentAt"] if payload else None,
        "approvalId": "a1",
        "title": MINIMAL_TITLE,
        "body": "",
    }
    assert "rm -rf" not in json.dumps(payload) and "Chat chat-1" not in json.dumps(payload)


async def test_push_full_content_and_ttl(rig: Rig) -> None:
    rig.subscribe()
    rig.bus.publish("approval_required", "chat-1", APPROVAL)
    await wait_for(rig.service, 1)
    got = rig.service.received[0]
    assert got.payload is not None and got.problems == []
    assert got.payload["title"] == "Chat chat-1"
    assert got.payload["body"] == "Approval needed: rm -rf build"
    assert got.headers["ttl"] == "600" and got.headers["urgency"] == "high"
    assert len(got.headers["topic"]) <= 32


async def test_rel15_push_410_drops_the_subscription(rig: Rig) -> None:
    rig.subscribe()
    rig.service.script["phone"] = [410]
    rig.bus.publish("approval_required", "chat-1", APPROVAL)
    await wait_for(rig.service, 1)
    while rig.store.for_device(rig.device):
        await asyncio.sleep(0.01)
    assert rig.push.stats.gone == 1
    rig.bus.publish("approval_required", "chat-2", APPROVAL)
    await asyncio.sleep(0.3)
    assert len(rig.service.received) == 1  # nothing more is sent to a dead subscription


async def test_rel15_push_429_with_retry_after_is_retried_later_not_lost(rig: Rig) -> None:
    rig.subscribe()
    rig.service.script["phone"] = [429]
    rig.service.retry_after = "1"
    rig.bus.publish("approval_required", "chat-1", APPROVAL)
    await wait_for(rig.service, 2)
    first, second = rig.service.received
    assert (first.status, second.status) == (429, 201)
    assert second.payload == first.payload  # the same message, not lost
    assert second.at - first.at >= 0.9  # Retry-After honoured (lower bound only)
    while rig.push.stats.sent == 0:  # the 201 is on its way back to the companion
        await asyncio.sleep(0.01)
    assert rig.push.stats.retried == 1 and rig.push.stats.sent == 1


async def test_rel15_push_5xx_is_retried_with_backoff(rig: Rig) -> None:
    rig.subscribe()
    rig.service.script["phone"] = [503]
    rig.bus.publish("turn_completed", "chat-1", {"turn": {"status": "completed", "items": []}})
    await wait_for(rig.service, 2)
    assert [r.status for r in rig.service.received] == [503, 201]


async def test_push_agent_restart_with_a_turn_running_notifies_that_chat(rig: Rig) -> None:
    rig.subscribe()
    rig.bus.publish("turn_started", "chat-run", {"turn": {"id": "t1"}})
    rig.bus.publish("turn_started", "chat-done", {"turn": {"id": "t2"}})
    rig.bus.publish("turn_completed", "chat-done", {"turn": {"status": "interrupted"}})
    rig.bus.publish("agent_restarted", "", {"generation": 2})
    await wait_for(rig.service, 1)
    await asyncio.sleep(0.3)
    assert [r.payload["kind"] for r in rig.service.received if r.payload] == ["agent_restarted"]
    assert rig.service.received[0].payload is not None
    assert rig.service.received[0].payload["chatId"] == "chat-run"


async def test_sec09_push_revoked_device_subscriptions_deleted_and_nothing_sent(rig: Rig) -> None:
    rig.subscribe()
    rig.devices.add_revocation_listener(rig.push.on_revoked, loop=asyncio.get_running_loop())
    await asyncio.to_thread(rig.devices.revoke, rig.device)
    rig.bus.publish("approval_required", "chat-1", APPROVAL)  # before the listener ran
    while rig.store.for_device(rig.device):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    assert rig.service.received == []


def test_sec22_push_vapid_key_is_private_and_kept(tmp_path: Path) -> None:
    first = VapidKeys.load_or_create(tmp_path / "state")
    path = tmp_path / "state" / "vapid-private.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert VapidKeys.load_or_create(tmp_path / "state").public_key == first.public_key


@pytest.mark.parametrize(
    "contact",
    ["localhost", "mailto:me@localhost", "https://localhost", "http://example.com", "mailto:x"],
)
def test_push_contact_must_be_a_real_mailto_or_https(contact: str) -> None:
    with pytest.raises(ValidationError):
        Settings(push_contact=contact)


@pytest.mark.parametrize("ttl", [299, 3601])
def test_push_ttl_stays_between_5_minutes_and_an_hour(ttl: int) -> None:
    with pytest.raises(ValidationError):
        Settings(push_ttl_s=ttl)
    assert Settings(push_contact="https://example.com/ops").push_contact is not None


def test_push_retry_after_values() -> None:
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(None) == 30
    assert retry_after_seconds("99999") == 600
    assert 1 <= retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") <= 600


async def test_push_doctor_reports_devices_and_last_delivery(rig: Rig, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    rig.subscribe()
    assert check_push(settings).ok is False  # subscriptions but no contact: says so
    before = check_push(settings.model_copy(update={"push_contact": CONTACT}))
    assert before.ok and "1 device(s) with push" in before.detail and "never" in before.detail
    rig.bus.publish("approval_required", "chat-1", APPROVAL)
    await wait_for(rig.service, 1)
    while rig.store.for_device(rig.device)[0].lastSuccessAt is None:
        await asyncio.sleep(0.01)
    after = check_push(settings.model_copy(update={"push_contact": CONTACT}))
    assert "never" not in after.detail
    assert check_push(Settings(state_dir=tmp_path / "empty")).ok


async def test_push_trusts_the_service_through_ssl_cert_file_too(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)  # it would win over SSL_CERT_FILE
    monkeypatch.setenv("SSL_CERT_FILE", str(rig.service.cert_path))
    rig.subscribe()
    rig.bus.publish("approval_required", "chat-1", APPROVAL)
    await wait_for(rig.service, 1)
    assert rig.service.received[0].problems == []


async def test_rel15_push_untrusted_certificate_is_never_sent_to(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # no test switch: without the bundle, TLS fails
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    rig.subscribe()
    rig.bus.publish("approval_required", "chat-1", APPROVAL)
    while rig.push.stats.retried == 0:
        await asyncio.sleep(0.02)
    assert rig.service.received == []
    assert any("unreachable" in r.getMessage() for r in caplog.records)


async def test_push_newer_message_for_a_chat_replaces_one_waiting_to_retry(rig: Rig) -> None:
    rig.subscribe()
    rig.service.script["phone"] = [429]
    rig.service.retry_after = "1"
    rig.bus.publish("approval_required", "chat-1", APPROVAL)
    await wait_for(rig.service, 1)  # answered 429: waits a second to retry
    done = {"turn": {"status": "completed", "items": [{"type": "agentMessage", "text": "ok\nx"}]}}
    rig.bus.publish("turn_completed", "chat-1", done)
    await wait_for(rig.service, 2)
    await asyncio.sleep(1.5)  # past the approval's retry time: it must not come back
    kinds = [(r.status, r.payload["kind"] if r.payload else None) for r in rig.service.received]
    assert kinds == [(429, "approval"), (201, "turn_completed")]  # one per chat
    assert rig.service.received[1].payload is not None
    assert rig.service.received[1].payload["summary"] == "ok"


async def test_push_failed_turn_says_why(rig: Rig) -> None:
    rig.subscribe()
    failed = {"turn": {"status": "failed", "error": {"message": "model overloaded\ntrace"}}}
    rig.bus.publish("turn_completed", "chat-1", failed)
    await wait_for(rig.service, 1)
    payload = rig.service.received[0].payload
    assert payload is not None and payload["kind"] == "turn_failed"
    assert payload["body"] == "Failed: model overloaded"


async def test_rel15_push_rate_limit_delays_but_loses_nothing(rig: Rig) -> None:
    rig.subscribe()
    for i in range(12):
        rig.bus.publish("approval_required", f"chat-{i}", APPROVAL | {"id": f"a{i}"})
    received = await asyncio.to_thread(rig.service.wait_for, 12, 60.0)
    assert sorted(r.payload["approvalId"] for r in received if r.payload) == sorted(
        f"a{i}" for i in range(12)
    )
    # 10 at once, then one per 6 s: the 11th waits for a token (a lower bound only)
    assert received[10].at - received[0].at >= 5.0
