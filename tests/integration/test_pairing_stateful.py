"""T1's stateful run (SEC-06, SEC-07, SEC-09; issue 14 B1): pair → use → revoke, in any order.

A Hypothesis state machine plays phones and the person at the computer against the real
served companion (uvicorn on loopback, the real app-server, the socket confirmer answered
over the real control socket, as ``codexremote devices approve`` does). Each step is one of:
pair (with a generated device name; the person approves or rejects), use a token, revoke a
device (itself, another one over HTTP, or from the computer), use a revoked token, replay a
spent offer. After every step the invariant holds: every live token is served and sees
exactly the live devices; every revoked token gets 401 "Invalid token", never 429 (A3).

The machine runs in a worker thread (blocking httpx and control-socket calls) while the
companion's event loop serves.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from codexremote.errors import BadRequest
from codexremote.pairing.control import control_request
from codexremote.pairing.device_store import clean_device_name
from tests.integration.conftest import Companion
from tests.integration.test_pairing_e2e import running_companion

EXAMPLES = 25  # state machines per run
STEPS = 15  # steps per machine (a pairing, the slowest, takes ~0.1 s)
PENDING_TIMEOUT_S = 10.0
PAIRING_FAILURES_PER_MINUTE = 10  # SEC-07's limiter, per client address (pairing/rate_limit.py)
DENIED = "Pairing denied or timed out"
INVALID_SESSION = "Invalid or expired pairing session"
REQUIRED_OUTCOMES = (  # the run must have reached each of these at least once
    "paired",
    "rejected at the computer",
    "bad name refused, offer kept",
    "used",
    "revoked by itself",
    "revoked by another phone",
    "revoked by the computer",
    "revoked token refused x3",
    "replay refused",
)
NAMES = st.one_of(
    st.none(),
    st.sampled_from(["iPhone", "  Ana's iPhone  ", "iPad\u200b", "x" * 101]),
    st.text(max_size=30),
)


def expected_name(raw: Any) -> str | None:
    """What the store keeps for ``raw``, or None when the confirm must answer 400."""
    if not isinstance(raw, str):
        return None  # required: the original app always sends one
    try:
        return clean_device_name(raw)
    except BadRequest:
        return None


class PairUseRevoke(RuleBasedStateMachine):
    base_url = ""
    state_dir = Path()
    fixture_token = ""
    failures: list[float] = []  # replays answered 400, across machines (one companion)
    outcomes: Counter[str] = Counter()  # what the run exercised, printed at the end

    def __init__(self) -> None:
        super().__init__()
        self.http = httpx.Client(base_url=self.base_url, timeout=30)
        self.live: dict[str, str] = {}  # device id -> token
        self.revoked: dict[str, str] = {}
        self.spent: list[tuple[str, str]] = []  # (pairingId, nonce) of used offers

    def teardown(self) -> None:
        for device_id in list(self.live):  # the next machine starts from the fixture device
            control_request(self.state_dir, {"cmd": "revoke", "deviceId": device_id})
        self.http.close()

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    # -- pairing -----------------------------------------------------------
    @rule(raw_name=NAMES, approve=st.booleans())
    def pair(self, raw_name: Any, approve: bool) -> None:
        offer = self.http.post("/v1/pairing/request", json={}).json()
        name = expected_name(raw_name)
        if name is None:  # refused before any prompt, and the offer is still live
            response = self.http.post("/v1/pairing/confirm", json=self.body(offer, raw_name))
            assert response.status_code == 400, response.text
            assert set(response.json()) == {"error", "code"}
            self.outcomes["bad name refused, offer kept"] += 1
            raw_name = name = "iPhone"
        answer: dict[str, httpx.Response] = {}
        body = self.body(offer, raw_name)
        phone = threading.Thread(
            target=lambda: answer.update(r=self.http.post("/v1/pairing/confirm", json=body))
        )
        phone.start()  # the confirm waits for the person at the computer
        self.answer_prompt(approve)
        phone.join(PENDING_TIMEOUT_S)
        self.check_confirmed(answer["r"], offer, name, approve)

    @staticmethod
    def body(offer: dict[str, Any], raw_name: Any) -> dict[str, Any]:
        return {"pairingId": offer["pairingId"], "nonce": offer["nonce"], "deviceName": raw_name}

    def answer_prompt(self, approve: bool) -> None:
        """The person at the computer: waits for the request, then answers it."""
        deadline = time.monotonic() + PENDING_TIMEOUT_S
        while time.monotonic() < deadline:
            pending = control_request(self.state_dir, {"cmd": "pending"})["pending"]
            if pending:
                command = "approve" if approve else "reject"
                target = pending[0]["requestId"]
                reply = control_request(self.state_dir, {"cmd": command, "target": target})
                assert reply["ok"] is True, reply
                return
            time.sleep(0.02)
        raise AssertionError("no pairing request reached the computer")

    def check_confirmed(
        self, response: httpx.Response, offer: dict[str, Any], name: str, approved: bool
    ) -> None:
        self.spent.append((offer["pairingId"], offer["nonce"]))  # approved or not: burnt
        if not approved:
            assert response.status_code == 403, response.text
            assert response.json()["error"] == DENIED
            self.outcomes["rejected at the computer"] += 1
            return
        self.outcomes["paired"] += 1
        assert response.status_code == 200, response.text
        paired = response.json()
        assert paired["deviceId"] not in self.live
        self.live[paired["deviceId"]] = paired["token"]
        listed = self.devices(paired["token"])
        assert listed[paired["deviceId"]] == name

    @precondition(lambda self: bool(self.spent))
    @rule(data=st.data())
    def replay_a_spent_offer(self, data: st.DataObject) -> None:
        pairing_id, nonce = data.draw(st.sampled_from(self.spent))
        body = {"pairingId": pairing_id, "nonce": nonce, "deviceName": "Replayed"}
        now = time.monotonic()
        recent = [t for t in self.failures if now - t < 60.0]
        response = self.http.post("/v1/pairing/confirm", json=body)
        if len(recent) >= PAIRING_FAILURES_PER_MINUTE and now - recent[0] < 59.0:
            assert response.status_code == 429, response.text  # the guess limiter holds
            assert "Retry-After" in response.headers
            self.outcomes["replay rate-limited"] += 1
        elif len(recent) < PAIRING_FAILURES_PER_MINUTE:
            assert response.status_code == 400, response.text
            assert response.json()["error"] == INVALID_SESSION
            self.failures.append(now)
            self.outcomes["replay refused"] += 1
        # else: the oldest failure is leaving the window as we ask: either answer is right

    # -- use and revoke ----------------------------------------------------
    def devices(self, token: str) -> dict[str, str]:
        response = self.http.get("/v1/devices", headers=self.auth(token))
        assert response.status_code == 200, response.text
        return {d["deviceId"]: d["deviceName"] for d in response.json()["data"]}

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data())
    def use(self, data: st.DataObject) -> None:
        token = self.live[data.draw(st.sampled_from(sorted(self.live)))]
        response = self.http.get("/v1/projects", headers=self.auth(token))
        assert response.status_code == 200, response.text
        self.outcomes["used"] += 1

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data(), how=st.sampled_from(["itself", "another phone", "the computer"]))
    def revoke(self, data: st.DataObject, how: str) -> None:
        device_id = data.draw(st.sampled_from(sorted(self.live)))
        token = self.live.pop(device_id)
        if how == "the computer":
            reply = control_request(self.state_dir, {"cmd": "revoke", "deviceId": device_id})
            assert reply == {"ok": True, "revoked": True}, reply
        else:
            caller = token if how == "itself" else self.fixture_token
            body = {} if how == "itself" else {"deviceId": device_id}
            response = self.http.post("/v1/pairing/revoke", json=body, headers=self.auth(caller))
            assert response.status_code == 200, response.text
            assert response.json() == {"revoked": True}
        self.revoked[device_id] = token
        self.outcomes[f"revoked by {how}"] += 1

    @precondition(lambda self: bool(self.revoked))
    @rule(data=st.data())
    def use_a_revoked_token(self, data: st.DataObject) -> None:
        token = self.revoked[data.draw(st.sampled_from(sorted(self.revoked)))]
        for _ in range(3):  # polling like the app: still 401, never the limiter's 429
            response = self.http.get("/v1/projects", headers=self.auth(token))
            assert response.status_code == 401, response.text
            assert response.json()["error"] == "Invalid token"
        self.outcomes["revoked token refused x3"] += 1

    # -- after every step --------------------------------------------------
    @invariant()
    def live_tokens_see_exactly_the_live_devices(self) -> None:
        expected = set(self.live) | {"fixture"}
        for token in [*self.live.values(), self.fixture_token]:
            seen = set(self.devices(token))
            assert len(seen) == len(expected), (seen, expected)
            assert set(self.live) <= seen
            assert not set(self.revoked) & seen


def run_machine(base_url: str, state_dir: Path, fixture_token: str) -> None:
    PairUseRevoke.base_url = base_url
    PairUseRevoke.state_dir = state_dir
    PairUseRevoke.fixture_token = fixture_token
    machine = PairUseRevoke.TestCase
    machine.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    machine("runTest").runTest()


async def test_t1_sec06_stateful_pair_use_revoke(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> None:
    async with running_companion(tmp_path, codex_bin, codex_env, codex_home) as companion:
        await run_stateful(companion)


async def run_stateful(companion: Companion) -> None:
    state_dir = companion.services.settings.state_dir
    started = time.monotonic()
    await asyncio.to_thread(run_machine, companion.base_url, state_dir, companion.token)
    elapsed = time.monotonic() - started
    outcomes = dict(sorted(PairUseRevoke.outcomes.items()))
    print(f"\nT1 stateful: {EXAMPLES} machines x <= {STEPS} steps in {elapsed:.1f} s: {outcomes}")
    for needed in REQUIRED_OUTCOMES:
        assert PairUseRevoke.outcomes[needed] > 0, f"the run never got to: {needed}"
