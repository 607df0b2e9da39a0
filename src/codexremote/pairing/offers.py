"""Pairing offers and the confirm flow (SEC-07, SEC-08; wire-api.md 2.4).

An offer is ``{pairingId (uuid4), nonce (16 random bytes, 32 hex), expiresAt}``
kept in memory only (lost on restart, like the original). ``confirm`` runs:

1. validate the three fields (400 "Expected non-empty string for <field>",
   or "Expected valid Unicode text for <field>" for a string that cannot be
   encoded, e.g. one holding a lone surrogate) and compute everything that
   could still fail, so a malformed attempt never touches an offer;
2. look the offer up and compare the nonce in constant time; an unknown,
   expired or wrong-nonce attempt counts as a failure for the client and is
   400 "Invalid or expired pairing session", or 429 once the client or
   everyone together is over the failure limit (a wrong nonce does *not*
   consume the offer). The limiter is consulted only after a failed
   comparison, as for bearer tokens: the right nonce is never refused because
   of other clients' failures (behind ``tailscale serve`` every phone is
   127.0.0.1), and refusing it would not make a 128-bit guess any likelier to
   fail, while wrong guesses still end in 429;
3. consume the offer atomically **before** asking anyone, so of any number of
   concurrent confirms exactly one proceeds (a local denial or time-out burns
   it: an attacker who got as far as the prompt gets no second try);
4. ask the local :class:`Confirmer` with a timeout below the iOS app's 20 s;
   deny, no answer, error or time-out -> 403 "Pairing denied or timed out";
5. issue a device token.

At most :data:`MAX_PENDING_OFFERS` offers are pending; creating another drops
the oldest. SEC-07 asks for a single pending pairing; three keeps a second QR
(e.g. a terminal QR and a web page opened together) from silently breaking the
first, while every offer stays single-use and short-lived.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from codexremote.errors import BadRequest, Forbidden
from codexremote.pairing.codes import comparison_code
from codexremote.pairing.confirmation import ConfirmationRequest, Confirmer
from codexremote.pairing.device_store import DeviceStore, clean_device_name
from codexremote.pairing.rate_limit import FailureLimiter

log = logging.getLogger(__name__)

OFFER_TTL_S = 120.0  # SEC-07: a pairing offer lives at most two minutes
MAX_PENDING_OFFERS = 3  # older offers are dropped when a new one is created
NONCE_BYTES = 16  # 128-bit nonce (SEC-07), 32 lowercase hex chars on the wire
DEFAULT_CONFIRM_TIMEOUT_S = 18.0  # local confirmation window; the iOS app gives up at 20 s
UNKNOWN_CLIENT = "unknown"  # limiter key when the transport cannot tell clients apart

INVALID_SESSION = "Invalid or expired pairing session"
DENIED = "Pairing denied or timed out"


@dataclass(frozen=True)
class PairingOffer:
    pairing_id: str
    nonce: str
    expires_at_ms: int  # wire `expiresAt`
    created_at_ms: int


@dataclass(frozen=True)
class ConfirmResult:
    device_id: str
    token: str  # shown once
    comparison_code: str  # additive `comparisonCode` in the confirm response
    device_name: str  # as stored (cleaned)


class PairingManager:
    """Creates offers and turns a confirmed offer into a device token."""

    def __init__(
        self,
        store: DeviceStore,
        confirmer: Confirmer,
        *,
        confirm_timeout_s: float = DEFAULT_CONFIRM_TIMEOUT_S,
        ttl_s: float = OFFER_TTL_S,
        limiter: FailureLimiter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < ttl_s <= OFFER_TTL_S:
            raise ValueError(f"ttl_s must be in (0, {OFFER_TTL_S}]")
        self._store = store
        self._confirmer = confirmer
        self._confirm_timeout_s = confirm_timeout_s
        self._ttl_ms = int(ttl_s * 1000)
        self._limiter = limiter if limiter is not None else FailureLimiter()
        self._clock = clock
        self._lock = threading.Lock()
        self._offers: OrderedDict[str, PairingOffer] = OrderedDict()

    def create_offer(self) -> PairingOffer:
        now_ms = self._now_ms()
        offer = PairingOffer(
            pairing_id=str(uuid.uuid4()),
            nonce=secrets.token_hex(NONCE_BYTES),
            expires_at_ms=now_ms + self._ttl_ms,
            created_at_ms=now_ms,
        )
        with self._lock:
            self._purge_expired_locked(now_ms)
            while len(self._offers) >= MAX_PENDING_OFFERS:
                self._offers.popitem(last=False)
            self._offers[offer.pairing_id] = offer
        return offer

    def pending_count(self) -> int:
        with self._lock:
            self._purge_expired_locked(self._now_ms())
            return len(self._offers)

    async def confirm(
        self,
        pairing_id: object,
        nonce: object,
        device_name: object,
        *,
        client_key: str = UNKNOWN_CLIENT,
    ) -> ConfirmResult:
        """Run the confirm flow (module docstring); raises BadRequest, Forbidden,
        TooManyRequests. ``client_key`` identifies the caller for rate limiting
        (the client IP)."""
        pid = _required_string("pairingId", pairing_id)
        given_nonce = _required_string("nonce", nonce)
        raw_name = _required_string("deviceName", device_name, strip=False)
        name = clean_device_name(raw_name)
        offer = self._consume(pid, given_nonce)
        if offer is None:
            self._limiter.check(client_key)
            self._limiter.record_failure(client_key)
            raise BadRequest(INVALID_SESSION)

        code = comparison_code(offer.nonce, offer.pairing_id, raw_name)
        request = ConfirmationRequest(
            request_id=str(uuid.uuid4()),
            device_name=name,
            comparison_code=code,
            pairing_id=offer.pairing_id,
            expires_at_ms=self._now_ms() + int(self._confirm_timeout_s * 1000),
        )
        if not await self._ask(request):
            raise Forbidden(DENIED)
        issued = await asyncio.to_thread(self._store.issue, name)
        return ConfirmResult(issued.device_id, issued.token, code, name)

    async def _ask(self, request: ConfirmationRequest) -> bool:
        try:
            allowed = await asyncio.wait_for(
                self._confirmer.confirm(request), self._confirm_timeout_s
            )
        except TimeoutError:
            log.info("pairing %s: no local answer in time", request.pairing_id)
            return False
        except Exception:
            log.exception("pairing %s: confirmer failed; treating as deny", request.pairing_id)
            return False
        log.info(
            "pairing %s for %r %s locally",
            request.pairing_id,
            request.device_name,
            "allowed" if allowed is True else "denied",
        )
        return allowed is True

    def _consume(self, pairing_id: str, nonce: str) -> PairingOffer | None:
        """Remove and return the offer if the nonce matches (constant-time compare)."""
        now_ms = self._now_ms()
        with self._lock:
            self._purge_expired_locked(now_ms)
            offer = self._offers.get(pairing_id)
            if offer is None:
                return None
            if not hmac.compare_digest(offer.nonce.encode(), nonce.encode("utf-8")):
                return None
            del self._offers[pairing_id]
            return offer

    def _purge_expired_locked(self, now_ms: int) -> None:
        expired = [pid for pid, offer in self._offers.items() if offer.expires_at_ms <= now_ms]
        for pid in expired:
            del self._offers[pid]

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)


def _required_string(field: str, value: object, *, strip: bool = True) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"Expected non-empty string for {field}")
    try:
        value.encode("utf-8")  # the comparison code and the store encode it later
    except UnicodeEncodeError:
        raise BadRequest(f"Expected valid Unicode text for {field}") from None
    return value.strip() if strip else value
