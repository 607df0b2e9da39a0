"""Pairing end to end (SEC-07, SEC-08; T11; wire-api.md 2-3) over real HTTP.

A real companion (uvicorn on 127.0.0.1, the real codex app-server) whose local
confirmation channel is the control socket, answered by the real CLI
(``python -m codexremote.cli devices ...``) in a subprocess, the way a person at
the computer would. The phone side is scripted after the original iOS app:
it parses the ``codexremote://`` URI like ``PairingView.pairFromURI`` and POSTs
``/v1/pairing/confirm`` with a 20 s timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from codexremote.app import build_services
from codexremote.launcher import app_server_launcher
from codexremote.pairing.codes import comparison_code
from codexremote.settings import Settings
from tests.harness.qr_decode import decode_terminal_qrs
from tests.integration.conftest import Companion, free_port, start_companion

pytestmark = pytest.mark.integration

IOS_REQUEST_TIMEOUT_S = 20.0  # URLRequest timeoutInterval of the original app
CLI_TIMEOUT_S = 20.0  # one `codexremote devices ...` run
PENDING_POLL_S = 0.05  # between `devices pending` runs while waiting for a request
CONCURRENT_CLAIMS = 50  # confirms racing for one offer (T11 asks 1 000; 50 show the lock)
INVALID_SESSION = "Invalid or expired pairing session"
DENIED = "Pairing denied or timed out"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# ---------------------------------------------------------------- harness


@contextlib.asynccontextmanager
async def running_companion(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path, **overrides: Any
) -> AsyncIterator[Companion]:
    """Like the ``companion`` fixture, with the socket confirmer and settings overrides."""
    port = free_port()
    values: dict[str, Any] = {
        "port": port,
        "state_dir": tmp_path / "state",
        "codex_home": codex_home,
        "confirmer": "socket",
        **overrides,
    }
    settings = Settings(**values)
    services = build_services(settings, launcher=app_server_launcher(str(codex_bin), codex_env))
    issued = services.devices.issue("test phone")
    server, task = await start_companion(settings, services)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield Companion(services, base, port, issued.token, issued.device_id, client)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@pytest.fixture
async def paired_companion(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> AsyncIterator[Companion]:
    async with running_companion(tmp_path, codex_bin, codex_env, codex_home) as companion:
        yield companion


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


async def cli(state_dir: Path, *args: str) -> CliResult:
    """The real CLI, as a person at the computer would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEXREMOTE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "codexremote.cli",
        args[0],
        "--state-dir",
        str(state_dir),
        *args[1:],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT_S)
    assert process.returncode is not None
    return CliResult(process.returncode, out.decode(), err.decode())


@dataclass
class PendingLine:
    request_id: str
    code: str
    device_name: str


async def wait_pending(state_dir: Path, timeout_s: float = 10.0) -> list[PendingLine]:
    """Run `devices pending` until it lists something."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = await cli(state_dir, "devices", "pending")
        assert result.returncode == 0, result.stderr
        found = [
            PendingLine(m.group(1), m.group(2), m.group(3))
            for m in re.finditer(r"^(\S+)  code (\d{6})  (.*?)  \(expires in", result.stdout, re.M)
        ]
        if found:
            return found
        await asyncio.sleep(PENDING_POLL_S)
    raise AssertionError("no pairing request was listed by `devices pending`")


@dataclass
class PairingLink:
    base_url: str  # <scheme>://<host>:<port>
    scheme: str
    host: str
    port: int
    pairing_id: str
    nonce: str


def parse_like_ios(uri: str) -> PairingLink:
    """``PairingView.pairFromURI`` (wire-api.md 2.3): URLComponents, first item wins."""
    parts = urlsplit(uri)
    if parts.scheme != "codexremote":
        raise ValueError("Invalid pairing URI.")
    items: dict[str, str] = {}
    for item in parts.query.split("&") if parts.query else []:
        name, _, value = item.partition("=")
        items.setdefault(unquote(name), unquote(value))
    host, pairing_id, nonce = items.get("host"), items.get("pairingId"), items.get("nonce")
    if not host or not pairing_id or not nonce:
        raise ValueError("Pairing URI is missing required values.")
    try:
        port = int(items.get("port", "8787"))
    except ValueError:
        port = 8787
    if "://" in host:
        scheme, _, host = host.partition("://")
    else:
        raw = items.get("scheme") or "https"
        scheme = "https" if raw in ("https", "wss") else "http"
    return PairingLink(f"{scheme}://{host}:{port}", scheme, host, port, pairing_id, nonce)


async def request_offer(companion: Companion) -> dict[str, Any]:
    response = await companion.client.post("/v1/pairing/request", json={})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def confirm(
    client: httpx.AsyncClient, pairing_id: Any, nonce: Any, device_name: Any = "iPhone"
) -> httpx.Response:
    body = {"pairingId": pairing_id, "nonce": nonce, "deviceName": device_name}
    return await client.post("/v1/pairing/confirm", json=body, timeout=IOS_REQUEST_TIMEOUT_S)


# ---------------------------------------------------------------- SEC-07


async def test_sec07_offer_links_parse_like_the_ios_app(paired_companion: Companion) -> None:
    companion = paired_companion
    before_ms = int(time.time() * 1000)
    offer = await request_offer(companion)
    assert set(offer) >= {"pairingId", "nonce", "expiresAt", "scheme", "pairingUri", "qrDataUrl"}
    assert uuid.UUID(offer["pairingId"]).version == 4
    assert HEX32.match(offer["nonce"])  # 128 bits
    assert 0 < offer["expiresAt"] - before_ms <= 120_000 + 1000  # TTL <= 120 s
    assert offer["scheme"] == "http"
    assert offer["qrDataUrl"].startswith("data:image/png;base64,")

    link = parse_like_ios(offer["pairingUri"])
    assert offer["pairingUri"].startswith("codexremote://pair?scheme=http&host=")
    assert (link.scheme, link.host, link.port) == ("http", "127.0.0.1", companion.port)
    assert (link.pairing_id, link.nonce) == (offer["pairingId"], offer["nonce"])

    web = urlsplit(offer["webLink"])
    assert (web.scheme, web.hostname, web.port, web.path) == (
        "http",
        "127.0.0.1",
        companion.port,
        "/",
    )
    assert web.query == ""  # the offer only in the fragment: never sent, logged or referred
    assert offer["nonce"] not in offer["webLink"].split("#", 1)[0]
    assert web.fragment == f"pairingId={offer['pairingId']}&nonce={offer['nonce']}"


async def test_sec07_confirm_rejects_bad_input(paired_companion: Companion) -> None:
    companion = paired_companion
    client = companion.client
    offer = await request_offer(companion)
    pid, nonce = offer["pairingId"], offer["nonce"]

    async def expect(response: httpx.Response, status: int, message: str) -> None:
        assert response.status_code == status, response.text
        assert response.json()["error"] == message
        assert response.headers["cache-control"] == "no-store"

    # Field checks come before the limiter and do not count as guesses.
    for field in ("pairingId", "nonce", "deviceName"):
        for bad in (None, "", "   ", 7, ["x"]):
            body = {"pairingId": pid, "nonce": nonce, "deviceName": "iPhone", field: bad}
            if bad is None:
                del body[field]
            response = await client.post("/v1/pairing/confirm", json=body)
            await expect(response, 400, f"Expected non-empty string for {field}")
    await expect(await confirm(client, pid, nonce, "x" * 101), 400, "Device name is too long")
    raw = {"Content-Type": "application/json"}
    await expect(
        await client.post("/v1/pairing/confirm", content=b"{nope", headers=raw),
        400,
        "Request body is not valid JSON",
    )
    await expect(
        await client.post("/v1/pairing/confirm", content=b"[1, 2]", headers=raw),
        400,
        "Expected a JSON object",
    )
    form = await client.post(
        "/v1/pairing/confirm",
        content=f"pairingId={pid}&nonce={nonce}&deviceName=iPhone".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415

    # Guesses: wrong nonce (does not consume the offer), unknown id, the nonce of
    # another offer.
    other = await request_offer(companion)
    await expect(await confirm(client, pid, "0" * 32), 400, INVALID_SESSION)
    await expect(await confirm(client, pid, nonce.upper()), 400, INVALID_SESSION)
    await expect(await confirm(client, str(uuid.uuid4()), nonce), 400, INVALID_SESSION)
    await expect(await confirm(client, other["pairingId"], nonce), 400, INVALID_SESSION)
    assert companion.services.pairing is not None
    assert companion.services.pairing.manager.pending_count() == 2  # nothing consumed

    # The right nonce still works after the wrong ones: it reaches the local prompt.
    waiting = asyncio.create_task(confirm(client, pid, nonce))
    pending = await wait_pending(companion.services.settings.state_dir)
    assert [p.device_name for p in pending] == ["iPhone"]
    result = await cli(companion.services.settings.state_dir, "devices", "reject", pending[0].code)
    assert result.returncode == 0, result.stderr
    await expect(await waiting, 403, DENIED)


async def test_sec07_guess_flood_is_rate_limited(paired_companion: Companion) -> None:
    companion = paired_companion
    offer = await request_offer(companion)
    guesses = 200
    started = time.perf_counter()
    responses = await asyncio.gather(
        *(
            confirm(companion.client, offer["pairingId"], os.urandom(16).hex())
            for _ in range(guesses)
        )
    )
    elapsed = time.perf_counter() - started
    statuses = [r.status_code for r in responses]
    assert 200 not in statuses and 403 not in statuses  # no guess ever reached the prompt
    assert statuses.count(400) == 10  # MAX_FAILURES_PER_KEY, then the limiter answers
    assert statuses.count(429) == guesses - 10
    limited = next(r for r in responses if r.status_code == 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["error"].startswith("Too many failed attempts")
    assert companion.services.pairing is not None
    assert companion.services.pairing.manager.pending_count() == 1  # guesses consume nothing
    # Issue 9.6: the limiter answers failures only; the phone with the right nonce,
    # from the very address the guesses came from, still reaches the local prompt.
    right = asyncio.create_task(confirm(companion.client, offer["pairingId"], offer["nonce"]))
    state_dir = companion.services.settings.state_dir
    pending = await wait_pending(state_dir)
    result = await cli(state_dir, "devices", "approve", pending[0].code)
    assert result.returncode == 0, result.stderr
    answer = await right
    assert answer.status_code == 200, answer.text
    print(f"\n{guesses} concurrent nonce guesses answered in {elapsed:.2f} s")


async def test_sec07_nonce_single_use(paired_companion: Companion) -> None:
    companion = paired_companion
    state_dir = companion.services.settings.state_dir
    offer = await request_offer(companion)
    # The original app's scanner may fire twice; here 50 confirms race for one offer.
    claims = [
        asyncio.create_task(confirm(companion.client, offer["pairingId"], offer["nonce"]))
        for _ in range(CONCURRENT_CLAIMS)
    ]
    pending = await wait_pending(state_dir)
    assert len(pending) == 1  # exactly one request reached the computer
    # The other 49 are refused without waiting for anyone; on a busy machine some of
    # their answers may still be on the way when the prompt appears.
    deadline = time.monotonic() + 10
    while sum(c.done() for c in claims) < CONCURRENT_CLAIMS - 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    losers = [c for c in claims if c.done()]
    assert len(losers) == CONCURRENT_CLAIMS - 1
    for loser in losers:  # 400 while guesses count, then the limiter's 429
        response = loser.result()
        assert response.status_code in (400, 429), response.text
    assert [c.result().status_code for c in losers].count(400) == 10
    approved = await cli(state_dir, "devices", "approve", pending[0].request_id)
    assert approved.returncode == 0, approved.stderr
    (winner,) = [c for c in claims if c not in losers]
    response = await winner
    assert response.status_code == 200, response.text
    assert HEX64.match(response.json()["token"])
    assert [d.device_name for d in companion.services.devices.list()] == ["test phone", "iPhone"]
    assert companion.services.pairing is not None
    companion.services.pairing.limiter.reset("127.0.0.1")  # the 49 losers counted as guesses
    reuse = await confirm(companion.client, offer["pairingId"], offer["nonce"])
    assert reuse.status_code == 400 and reuse.json()["error"] == INVALID_SESSION


async def test_sec07_cli_pair_prints_a_fresh_offer(paired_companion: Companion) -> None:
    """`codexremote pair` asks the running companion over loopback."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "codexremote.cli",
        "pair",
        "--port",
        str(paired_companion.port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT_S)
    assert process.returncode == 0, err.decode()
    text = out.decode()
    web = next(line.split()[-1] for line in text.splitlines() if "web client:" in line)
    uri = next(line.split()[-1] for line in text.splitlines() if "native app:" in line)
    link = parse_like_ios(uri)
    expected = f"http://127.0.0.1:{paired_companion.port}/#pairingId={link.pairing_id}"
    assert web == f"{expected}&nonce={link.nonce}"
    # Both QR codes, as scanners read them: the camera's web link, then the app's URI.
    assert decode_terminal_qrs(text) == [web, uri]


# ---------------------------------------------------------------- SEC-08


async def test_sec08_local_reject_via_cli_denies_and_burns_the_offer(
    paired_companion: Companion,
) -> None:
    companion = paired_companion
    state_dir = companion.services.settings.state_dir
    devices_before = len(companion.services.devices.list())
    offer = await request_offer(companion)
    waiting = asyncio.create_task(confirm(companion.client, offer["pairingId"], offer["nonce"]))
    pending = await wait_pending(state_dir)
    rejected = await cli(state_dir, "devices", "reject", pending[0].code)
    assert rejected.returncode == 0, rejected.stderr
    assert "Rejected pairing of 'iPhone'" in rejected.stdout
    response = await waiting
    assert response.status_code == 403
    assert response.json()["error"] == DENIED
    assert "token" not in response.json()
    assert len(companion.services.devices.list()) == devices_before
    again = await confirm(companion.client, offer["pairingId"], offer["nonce"])
    assert again.status_code == 400 and again.json()["error"] == INVALID_SESSION
    nothing = await cli(state_dir, "devices", "approve", pending[0].code)
    assert nothing.returncode == 1 and "No pending pairing request" in nothing.stderr


async def test_sec08_no_local_answer_times_out(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> None:
    async with running_companion(
        tmp_path, codex_bin, codex_env, codex_home, pairing_confirm_timeout_s=1.0
    ) as companion:
        offer = await request_offer(companion)
        started = time.monotonic()
        response = await confirm(companion.client, offer["pairingId"], offer["nonce"])
        waited = time.monotonic() - started
        assert response.status_code == 403 and response.json()["error"] == DENIED
        assert 0.9 <= waited < 5, waited
        assert [d.device_name for d in companion.services.devices.list()] == ["test phone"]
        late = await cli(companion.services.settings.state_dir, "devices", "pending")
        assert "No pending pairing requests." in late.stdout


async def test_sec08_done_when_scripted_ios_client_pairs_via_cli_approval(
    paired_companion: Companion,
) -> None:
    """The issue's "done when": the original app's pairing, confirmed with the CLI."""
    companion = paired_companion
    state_dir = companion.services.settings.state_dir
    offer = await request_offer(companion)  # what `codexremote pair` shows as a QR
    started = time.perf_counter()
    link = parse_like_ios(offer["pairingUri"])

    async def phone() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=link.base_url) as app:
            paired = await confirm(app, link.pairing_id, link.nonce, "iPhone")
            assert paired.status_code == 200, paired.text
            token = paired.json()["token"]
            projects = await app.get(
                "/v1/projects",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            return paired, projects

    async def person_at_the_computer() -> str:
        pending = await wait_pending(state_dir)
        assert len(pending) == 1 and pending[0].device_name == "iPhone"
        # The code the phone could show while it waits equals the computer's.
        assert pending[0].code == comparison_code(link.nonce, link.pairing_id, "iPhone")
        result = await cli(state_dir, "devices", "approve", pending[0].code)
        assert result.returncode == 0, result.stderr
        assert "Approved pairing of 'iPhone'" in result.stdout
        return pending[0].code

    (paired, projects), code = await asyncio.gather(phone(), person_at_the_computer())
    elapsed = time.perf_counter() - started
    body = paired.json()
    assert set(body) == {"deviceId", "token", "scheme", "comparisonCode"}
    assert uuid.UUID(body["deviceId"]).version == 4
    assert HEX64.match(body["token"])
    assert body["scheme"] == "http" and body["comparisonCode"] == code
    assert projects.status_code == 200, projects.text
    assert isinstance(projects.json()["data"], list)

    devices = await companion.client.get(
        "/v1/devices", headers={"Authorization": f"Bearer {body['token']}"}
    )
    mine = [d for d in devices.json()["data"] if d["deviceId"] == body["deviceId"]]
    assert mine and mine[0]["deviceName"] == "iPhone" and mine[0]["current"] is True
    assert "tokenHash" not in mine[0]
    listed = await cli(state_dir, "devices", "list")
    assert body["deviceId"] in listed.stdout and "iPhone" in listed.stdout
    assert body["token"] not in (state_dir / "devices.json").read_text()  # only its hash
    print(f"\npairing (scan -> token -> first call) took {elapsed:.2f} s incl. 2+ CLI runs")


async def test_rel01_cli_restarts_the_real_app_server_through_the_control_socket(
    paired_companion: Companion, tmp_path: Path
) -> None:
    """`codexremote app-server restart` at the computer (issue 9.10)."""
    companion = paired_companion
    supervisor = companion.services.supervisor
    generation = supervisor.generation
    result = await cli(companion.services.settings.state_dir, "app-server", "restart")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"app-server: ready (generation {generation + 1})"
    assert supervisor.state == "ready"
    projects = await companion.get("/v1/projects")  # the new child answers
    assert projects.status_code == 200, projects.text
    nobody = await cli(tmp_path / "no-companion-here", "app-server", "restart")
    assert nobody.returncode == 2 and "no companion is running" in nobody.stderr
