"""Pairing offers and the confirm flow (SEC-07, SEC-08, T11)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import threading
from pathlib import Path

import pytest

from codexremote.errors import BadRequest, Forbidden, TooManyRequests
from codexremote.pairing.codes import comparison_code
from codexremote.pairing.confirmation import ConfirmationRequest, NoAnswer
from codexremote.pairing.control import SocketConfirmer
from codexremote.pairing.device_store import DeviceStore
from codexremote.pairing.offers import (
    DENIED,
    INVALID_SESSION,
    MAX_PENDING_OFFERS,
    OFFER_TTL_S,
    PairingManager,
)
from codexremote.pairing.rate_limit import (
    MAX_FAILURES_GLOBAL,
    MAX_FAILURES_PER_KEY,
    FailureLimiter,
)
from codexremote.storage import ensure_private_dir


class FakeClock:
    def __init__(self, start: float = 1_775_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class ScriptedConfirmer:
    """A stand-in for the person at the computer: records requests, answers as told."""

    def __init__(self, answer: bool | None = True, delay_s: float = 0.0) -> None:
        self.answer = answer
        self.delay_s = delay_s
        self.requests: list[ConfirmationRequest] = []

    async def confirm(self, request: ConfirmationRequest) -> bool:
        self.requests.append(request)
        await asyncio.sleep(self.delay_s)
        if self.answer is None:
            raise NoAnswer("nobody there")
        return self.answer


@pytest.fixture
def store(tmp_path: Path) -> DeviceStore:
    return DeviceStore(ensure_private_dir(tmp_path / "state"))


def generous_limiter() -> FailureLimiter:
    return FailureLimiter(max_failures=100_000, global_max_failures=None)


async def test_sec07_offer_format(store: DeviceStore) -> None:
    clock = FakeClock()
    manager = PairingManager(store, ScriptedConfirmer(), clock=clock)
    offers = [manager.create_offer() for _ in range(20)]
    for offer in offers:
        assert re.fullmatch(r"[0-9a-f]{32}", offer.nonce)  # 16 bytes = 128 bits
        assert re.fullmatch(r"[0-9a-f-]{36}", offer.pairing_id) and offer.pairing_id[14] == "4"
        assert offer.expires_at_ms == int(clock.now * 1000) + int(OFFER_TTL_S * 1000)
        assert offer.created_at_ms == int(clock.now * 1000)
    assert len({o.nonce for o in offers}) == 20
    assert OFFER_TTL_S <= 120


async def test_sec07_ttl_cannot_exceed_two_minutes(store: DeviceStore) -> None:
    with pytest.raises(ValueError):
        PairingManager(store, ScriptedConfirmer(), ttl_s=OFFER_TTL_S + 1)


async def test_confirm_issues_a_working_token(store: DeviceStore) -> None:
    confirmer = ScriptedConfirmer()
    manager = PairingManager(store, confirmer)
    offer = manager.create_offer()
    result = await manager.confirm(offer.pairing_id, offer.nonce, "  Anna's iPhone ")
    assert re.fullmatch(r"[0-9a-f]{64}", result.token)
    record = store.authenticate(result.token)
    assert record is not None and record.device_id == result.device_id
    assert record.device_name == "Anna's iPhone"
    (request,) = confirmer.requests
    assert request.device_name == "Anna's iPhone"
    assert request.pairing_id == offer.pairing_id
    assert request.comparison_code == result.comparison_code


async def test_sec07_nonce_single_use(store: DeviceStore) -> None:
    manager = PairingManager(store, ScriptedConfirmer())
    offer = manager.create_offer()
    await manager.confirm(offer.pairing_id, offer.nonce, "iPhone")
    with pytest.raises(BadRequest, match=INVALID_SESSION):
        await manager.confirm(offer.pairing_id, offer.nonce, "iPhone")
    assert len(store.list()) == 1


async def test_sec07_expired_offer_rejected_at_ttl_plus_one_second(store: DeviceStore) -> None:
    clock = FakeClock()
    manager = PairingManager(store, ScriptedConfirmer(), clock=clock)
    stale = manager.create_offer()
    clock.now += OFFER_TTL_S + 1
    with pytest.raises(BadRequest, match=INVALID_SESSION):
        await manager.confirm(stale.pairing_id, stale.nonce, "iPhone")
    assert manager.pending_count() == 0
    alive = manager.create_offer()
    clock.now += OFFER_TTL_S - 1
    await manager.confirm(alive.pairing_id, alive.nonce, "iPhone")


async def test_sec07_wrong_nonce_does_not_consume_but_counts_as_failure(
    store: DeviceStore,
) -> None:
    limiter = FailureLimiter()
    manager = PairingManager(store, ScriptedConfirmer(), limiter=limiter)
    offer = manager.create_offer()
    with pytest.raises(BadRequest, match=INVALID_SESSION):
        await manager.confirm(offer.pairing_id, secrets.token_hex(16), "iPhone", client_key="ip")
    with pytest.raises(BadRequest, match=INVALID_SESSION):
        await manager.confirm(offer.pairing_id, offer.nonce.upper(), "iPhone", client_key="ip")
    assert manager.pending_count() == 1
    for _ in range(MAX_FAILURES_PER_KEY - 2):
        with pytest.raises(BadRequest):
            await manager.confirm("nope", offer.nonce, "iPhone", client_key="ip")
    assert limiter.retry_after("ip") > 0
    result = await manager.confirm(offer.pairing_id, offer.nonce, "iPhone", client_key="other")
    assert store.get(result.device_id) is not None


async def test_sec07_race_of_200_concurrent_confirms_has_exactly_one_winner(
    store: DeviceStore,
) -> None:
    confirmer = ScriptedConfirmer(delay_s=0.05)
    manager = PairingManager(store, confirmer, limiter=generous_limiter())
    offer = manager.create_offer()
    outcomes = await asyncio.gather(
        *(manager.confirm(offer.pairing_id, offer.nonce, f"phone {i}") for i in range(200)),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(winners) == 1
    assert len(losers) == 199
    assert all(isinstance(o, BadRequest) and o.message == INVALID_SESSION for o in losers)
    assert len(confirmer.requests) == 1
    assert len(store.list()) == 1


def test_sec07_race_across_threads_has_exactly_one_winner(store: DeviceStore) -> None:
    confirmer = ScriptedConfirmer(delay_s=0.02)
    manager = PairingManager(store, confirmer, limiter=generous_limiter())
    offer = manager.create_offer()
    outcomes: list[object] = []
    barrier = threading.Barrier(8)

    def claim_from_a_thread() -> None:
        async def claims() -> list[object]:
            barrier.wait()
            return await asyncio.gather(
                *(manager.confirm(offer.pairing_id, offer.nonce, "phone") for _ in range(25)),
                return_exceptions=True,
            )

        outcomes.extend(asyncio.run(claims()))

    threads = [threading.Thread(target=claim_from_a_thread) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 200
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert sum(isinstance(o, BadRequest) for o in outcomes) == 199
    assert len(confirmer.requests) == 1


async def test_sec07_at_most_max_pending_offers(store: DeviceStore) -> None:
    manager = PairingManager(store, ScriptedConfirmer())
    offers = [manager.create_offer() for _ in range(MAX_PENDING_OFFERS + 1)]
    assert manager.pending_count() == MAX_PENDING_OFFERS
    with pytest.raises(BadRequest, match=INVALID_SESSION):
        await manager.confirm(offers[0].pairing_id, offers[0].nonce, "iPhone")
    for offer in offers[1:]:
        await manager.confirm(offer.pairing_id, offer.nonce, "iPhone")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pairing_id": None}, "pairingId"),
        ({"pairing_id": "  "}, "pairingId"),
        ({"nonce": 12}, "nonce"),
        ({"nonce": ""}, "nonce"),
        ({"device_name": ["x"]}, "deviceName"),
        ({"device_name": "\t"}, "deviceName"),
    ],
)
async def test_confirm_validates_fields(
    store: DeviceStore, body: dict[str, object], field: str
) -> None:
    limiter = FailureLimiter()
    manager = PairingManager(store, ScriptedConfirmer(), limiter=limiter)
    offer = manager.create_offer()
    args: dict[str, object] = {
        "pairing_id": offer.pairing_id,
        "nonce": offer.nonce,
        "device_name": "iPhone",
        **body,
    }
    with pytest.raises(BadRequest) as caught:
        await manager.confirm(args["pairing_id"], args["nonce"], args["device_name"])
    assert caught.value.message == f"Expected non-empty string for {field}"
    assert manager.pending_count() == 1  # validation errors neither consume nor count
    assert limiter.retry_after("unknown") == 0


async def test_confirm_rejects_a_too_long_device_name(store: DeviceStore) -> None:
    manager = PairingManager(store, ScriptedConfirmer())
    offer = manager.create_offer()
    with pytest.raises(BadRequest, match="Device name is too long"):
        await manager.confirm(offer.pairing_id, offer.nonce, "x" * 101)
    assert manager.pending_count() == 1


async def test_sec08_denial_is_forbidden_and_burns_the_offer(store: DeviceStore) -> None:
    manager = PairingManager(store, ScriptedConfirmer(answer=False))
    offer = manager.create_offer()
    with pytest.raises(Forbidden, match=DENIED):
        await manager.confirm(offer.pairing_id, offer.nonce, "iPhone")
    with pytest.raises(BadRequest, match=INVALID_SESSION):
        await manager.confirm(offer.pairing_id, offer.nonce, "iPhone")
    assert store.list() == []


async def test_sec08_no_answer_is_a_denial(store: DeviceStore) -> None:
    manager = PairingManager(store, ScriptedConfirmer(answer=None))
    offer = manager.create_offer()
    with pytest.raises(Forbidden, match=DENIED):
        await manager.confirm(offer.pairing_id, offer.nonce, "iPhone")
    assert store.list() == []


async def test_sec08_timeout_means_reject(store: DeviceStore) -> None:
    nobody = SocketConfirmer()  # a real channel that nobody answers
    manager = PairingManager(store, nobody, confirm_timeout_s=0.2)
    offer = manager.create_offer()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(Forbidden, match=DENIED):
        await manager.confirm(offer.pairing_id, offer.nonce, "iPhone")
    assert 0.2 <= loop.time() - started < 1.0
    assert nobody.pending() == []
    assert store.list() == []


async def test_sec08_comparison_code_is_derived_from_nonce_id_and_name(
    store: DeviceStore,
) -> None:
    # Known-answer vector (documented in docs/pairing.md for client authors).
    assert (
        comparison_code(
            "00112233445566778899aabbccddeeff", "123e4567-e89b-42d3-a456-426614174000", "iPhone"
        )
        == "256800"
    )
    confirmer = ScriptedConfirmer()
    manager = PairingManager(store, confirmer)
    offer = manager.create_offer()
    sent_name = " Bob's\u202e iPad "
    result = await manager.confirm(offer.pairing_id, offer.nonce, sent_name)
    mac = hmac.new(
        bytes.fromhex(offer.nonce), f"{offer.pairing_id}\n{sent_name}".encode(), hashlib.sha256
    ).digest()
    expected = f"{int.from_bytes(mac[:4], 'big') % 1_000_000:06d}"
    assert result.comparison_code == expected == confirmer.requests[0].comparison_code
    assert result.device_name == "Bob's iPad"


async def test_t11_10000_random_nonce_guesses_fail_and_the_limiter_engages(
    store: DeviceStore,
) -> None:
    clock = FakeClock()
    limiter = FailureLimiter(clock=clock)
    confirmer = ScriptedConfirmer()
    manager = PairingManager(store, confirmer, limiter=limiter, clock=clock)
    offer = manager.create_offer()
    rng = secrets.SystemRandom()
    invalid = limited = 0
    retry_afters: set[int] = set()
    for _ in range(10_000):
        guess = f"{rng.getrandbits(128):032x}"
        try:
            await manager.confirm(offer.pairing_id, guess, "attacker", client_key="100.64.0.9")
        except BadRequest:
            invalid += 1
        except TooManyRequests as exc:
            limited += 1
            retry_afters.add(exc.retry_after)
            assert exc.message == f"Too many failed attempts; try again in {exc.retry_after} s"
    assert invalid == MAX_FAILURES_PER_KEY
    assert limited == 10_000 - MAX_FAILURES_PER_KEY
    assert retry_afters and all(1 <= r <= 60 for r in retry_afters)
    assert confirmer.requests == [] and store.list() == []
    # The limiter only answers failures: the right nonce still works at once.
    result = await manager.confirm(offer.pairing_id, offer.nonce, "iPhone", client_key="100.64.0.9")
    assert store.authenticate(result.token) is not None


async def test_t11_guesses_from_rotating_addresses_hit_the_global_limit(
    store: DeviceStore,
) -> None:
    clock = FakeClock()
    manager = PairingManager(
        store, ScriptedConfirmer(), limiter=FailureLimiter(clock=clock), clock=clock
    )
    offer = manager.create_offer()
    invalid = limited = 0
    for i in range(10_000):
        try:
            await manager.confirm(
                offer.pairing_id,
                secrets.token_hex(16),
                "x",
                client_key=f"10.0.{i // 256}.{i % 256}",
            )
        except BadRequest:
            invalid += 1
        except TooManyRequests:
            limited += 1
    assert invalid == MAX_FAILURES_GLOBAL
    assert limited == 10_000 - MAX_FAILURES_GLOBAL
    assert store.list() == []


async def test_sec07_right_nonce_is_not_refused_after_other_clients_failures(
    store: DeviceStore,
) -> None:
    """Issue 9.6: 30 wrong nonces a minute from anyone locked the real phone out."""
    clock = FakeClock()
    manager = PairingManager(
        store, ScriptedConfirmer(), limiter=FailureLimiter(clock=clock), clock=clock
    )
    offer = manager.create_offer()
    for i in range(MAX_FAILURES_GLOBAL + 5):
        with pytest.raises((BadRequest, TooManyRequests)):
            await manager.confirm(
                offer.pairing_id, secrets.token_hex(16), "x", client_key=f"10.0.0.{i}"
            )
    # Everyone together is over the limit, and so is the shared loopback key.
    with pytest.raises(TooManyRequests):
        await manager.confirm(offer.pairing_id, secrets.token_hex(16), "x", client_key="phone")
    result = await manager.confirm(offer.pairing_id, offer.nonce, "iPhone", client_key="phone")
    assert store.authenticate(result.token) is not None


@pytest.mark.parametrize("field", ["pairingId", "nonce", "deviceName"])
async def test_sec07_lone_surrogate_is_a_400_and_keeps_the_offer(
    store: DeviceStore, field: str
) -> None:
    """Issue 9.3: a lone surrogate in the device name burned a valid offer (500)."""
    confirmer = ScriptedConfirmer()
    manager = PairingManager(store, confirmer, limiter=generous_limiter())
    offer = manager.create_offer()
    values = {"pairingId": offer.pairing_id, "nonce": offer.nonce, "deviceName": "iPhone"}
    values[field] = values[field] + "\ud800"
    with pytest.raises(BadRequest) as caught:
        await manager.confirm(values["pairingId"], values["nonce"], values["deviceName"])
    assert caught.value.message == f"Expected valid Unicode text for {field}"
    assert manager.pending_count() == 1 and confirmer.requests == []
    result = await manager.confirm(offer.pairing_id, offer.nonce, "iPhone")
    assert store.authenticate(result.token) is not None
