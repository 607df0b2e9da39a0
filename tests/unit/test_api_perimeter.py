"""The perimeter in process (SEC-01..05, SEC-16; T3, T4, T5, T21).

The app is the product's own: ``build_services`` + ``create_app`` with the fake
app-server process as the child, driven by Starlette's TestClient (the lifespan
runs, so pairing, the control socket and the revocation listener are live).
Routes are enumerated from the app, never listed by hand, so a new route is
audited the moment it is added.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.exceptions import StarletteDeprecationWarning
from starlette.routing import Route
from starlette.websockets import WebSocketDisconnect

from codexremote.api.auth import PUBLIC_PATHS, SELF_AUTHENTICATED_PATHS
from codexremote.api.security import CSP, Perimeter
from codexremote.app import Services, build_services, create_app
from codexremote.netcheck import UnsafeBind, check_bind_policy, is_loopback, is_tailnet
from codexremote.settings import Settings
from tests.harness.processes import fake_app_server_launcher

with warnings.catch_warnings():
    # Starlette nudges towards httpx2; the pinned httpx is what this project tests with.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient, WebSocketDenialResponse

PORT = 8787
BASE_URL = f"http://127.0.0.1:{PORT}"
WS_URL = f"ws://127.0.0.1:{PORT}/v1/stream"  # TestClient would say Host: testserver
CLIENT = ("127.0.0.1", 50000)  # a loopback peer, like a local browser or `tailscale serve`
CONFIGURED_HOST = "mac.tail1234.ts.net"  # what --allowed-host adds
# Plausible values for every path parameter of the API; an unknown one fails the audit.
PATH_VALUES = {
    "chat_id": "0199a1b2-3c4d-7e8f-9a0b-1c2d3e4f5a6b",
    "project_id": "cdf51c85823d",
    "approval_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
    "scope_key": "mcp_tool:demo/touch",
    "seq": "1",
    "subscription_id": "0123456789abcdef0123456789abcdef",
    "path": "0123456789ab/app.js",  # /app/<version>/<file> of the web shell
}
PARAM = re.compile(r"\{([a-zA-Z_]+)(?::[a-z]+)?\}")
QUERY_VALUES = {"/v1/approvals/auto-accepted": {"chatId": PATH_VALUES["chat_id"]}}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": CSP,
}
BAD_HOSTS = ["evil.example", "127.0.0.1.nip.io", "192.168.1.50", "", f"127.0.0.1:{PORT}@evil"]
GOOD_HOSTS = [
    "localhost",
    f"localhost:{PORT}",
    "127.0.0.1",
    f"127.0.0.1:{PORT}",
    "[::1]",
    f"[::1]:{PORT}",
    CONFIGURED_HOST,
    f"{CONFIGURED_HOST}:{PORT}",
]
BAD_ORIGINS = [
    "https://evil.example",
    "null",
    f"https://127.0.0.1:{PORT}",  # our host and port, other scheme
    "http://127.0.0.1:8788",  # port mismatch
    "http://127.0.0.1",  # default port is not ours
    f"http://127.0.0.1:{PORT}.evil.com",
    f"http://localhost:{PORT}.evil.com",
    f"HTTP://LOCALHOST:{PORT}",  # browsers serialise origins in lower case
    f"http://127.0.0.1:{PORT}/",  # an origin has no path
    f"http://user@127.0.0.1:{PORT}",
    "::::",
    "",
]
GOOD_ORIGINS = [
    f"http://127.0.0.1:{PORT}",
    f"http://localhost:{PORT}",
    f"http://[::1]:{PORT}",
    f"http://{CONFIGURED_HOST}:{PORT}",
]


@dataclass
class Harness:
    app: FastAPI
    services: Services
    client: TestClient
    token: str
    device_id: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


def make_app(tmp_path: Path) -> tuple[FastAPI, Services]:
    settings = Settings(
        port=PORT,
        state_dir=tmp_path / "state",
        codex_home=tmp_path / "codex_home",
        confirmer="socket",
        allowed_hosts=[CONFIGURED_HOST],
    )
    services = build_services(settings, launcher=fake_app_server_launcher())
    return create_app(services), services


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    app, services = make_app(tmp_path)
    issued = services.devices.issue("test phone")
    with TestClient(app, base_url=BASE_URL, client=CLIENT) as client:
        yield Harness(app, services, client, issued.token, issued.device_id)


# ------------------------------------------------------------------ inventory


@dataclass(frozen=True)
class Endpoint:
    kind: str  # "http" or "websocket"
    method: str
    path: str  # as declared, with {params}
    guarded: bool

    @property
    def url(self) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            assert name in PATH_VALUES, f"no test value for path parameter {name!r} ({self.path})"
            return PATH_VALUES[name]

        filled = PARAM.sub(fill, self.path)
        query = QUERY_VALUES.get(self.path)
        if query:
            filled += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        return filled


def is_require_device(call: Any) -> bool:
    return getattr(call, "__qualname__", "") == "device_dependency.<locals>.require_device"


def inventory(app: FastAPI) -> list[Endpoint]:
    """Every endpoint of the app (included routers flattened), with its guard."""
    endpoints = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = str(context.path)
        if isinstance(route, APIRoute):
            dependant = context.dependant
            guarded = any(is_require_device(dep.call) for dep in dependant.dependencies)
            for method in sorted(context.methods or ()):
                endpoints.append(Endpoint("http", method, path, guarded))
        elif isinstance(route, APIWebSocketRoute):
            endpoints.append(Endpoint("websocket", "GET", path, False))
        elif isinstance(route, Route) and path == app.openapi_url:
            endpoints.append(Endpoint("http", "GET", path, False))
        else:
            pytest.fail(f"unexpected route type {type(route).__name__} at {path}")
    return endpoints


def http_endpoints(app: FastAPI) -> list[Endpoint]:
    return [e for e in inventory(app) if e.kind == "http" and e.method != "HEAD"]


def call(client: TestClient, endpoint: Endpoint, headers: dict[str, str]) -> Any:
    body = b"{}" if endpoint.method in ("POST", "PUT", "PATCH") else None
    return client.request(
        endpoint.method,
        endpoint.url,
        content=body,
        headers={"Content-Type": "application/json", **headers},
    )


SHELL_PATHS = ("/", "/sw.js", "/manifest.webmanifest")
SEC12_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
)


def assert_security_headers(response: Any) -> None:
    """Exactly one CSP: the API's on every API or error answer; a served shell file
    carries the shell's own (its connect-src adds the ws origin), still SEC-12 strict."""
    shell_file = response.status_code < 400 and (
        response.request.url.path in SHELL_PATHS or response.request.url.path.startswith("/app/")
    )
    for name, value in SECURITY_HEADERS.items():
        where = (response.request.url, name, response.headers)
        if name == "content-security-policy" and shell_file:
            (csp,) = response.headers.get_list(name)
            assert all(d in csp.split("; ") for d in SEC12_DIRECTIVES), where
            continue
        assert response.headers.get_list(name) == [value], where


# -------------------------------------------------------------------- SEC-04


def test_sec04_route_audit(harness: Harness) -> None:
    endpoints = inventory(harness.app)
    unguarded = {
        e.path
        for e in endpoints
        if not e.guarded and e.path not in PUBLIC_PATHS | SELF_AUTHENTICATED_PATHS
    }
    assert not unguarded, f"routes neither guarded nor allowlisted: {sorted(unguarded)}"
    assert harness.app.openapi_url in PUBLIC_PATHS  # documents the API only; kept public
    guarded = [e for e in endpoints if e.guarded]
    assert len(guarded) >= 25  # the whole REST surface of wire-api.md 4

    store = harness.services.devices
    revoked = store.issue("revoked phone")
    assert store.revoke(revoked.device_id)
    cases = [
        ({}, "Missing bearer token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Missing bearer token"),
        ({"Authorization": harness.token}, "Missing bearer token"),  # no scheme at all
        ({"Authorization": "Bearer    "}, "Invalid bearer token"),
        ({"Authorization": "Bearer not-a-token"}, "Invalid token"),
        ({"Authorization": "Bearer " + "f" * 64}, "Invalid token"),
        ({"Authorization": "Bearer " + "a" * 5000}, "Invalid token"),
        ({"Authorization": f"Bearer {harness.token}x"}, "Invalid token"),
        ({"Authorization": f"Bearer {revoked.token}"}, "Invalid token"),
    ]
    calls = 0
    for endpoint in guarded:
        for headers, message in cases:
            # The bad-token limiter is tested on its own below; here every call must
            # reach the token check, so the loopback key starts clean each time.
            harness.services.token_limiter.reset(CLIENT[0])
            response = call(harness.client, endpoint, headers)
            calls += 1
            where = f"{endpoint.method} {endpoint.url} with {headers}"
            assert response.status_code == 401, (where, response.status_code, response.text)
            assert response.json()["error"] == message, where
            assert response.headers["www-authenticate"] == "Bearer", where
            assert response.headers["cache-control"] == "no-store", where
    assert calls == len(guarded) * len(cases)

    # The same token works (proves the 401s were about the token, not the route).
    ok = harness.client.get("/v1/devices", headers={"Authorization": f"bearer {harness.token}"})
    assert ok.status_code == 200, ok.text


def test_sec04_stream_authenticates_itself(harness: Harness) -> None:
    """/v1/stream is on SELF_AUTHENTICATED_PATHS: it must refuse every bad credential."""
    store = harness.services.devices
    revoked = store.issue("revoked phone")
    store.revoke(revoked.device_id)
    for header in ("Basic abc", "Bearer ", "Bearer nope", f"Bearer {revoked.token}", "bearer x"):
        # Refused before accept (a close before accept: uvicorn answers the upgrade with 403).
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            harness.client.websocket_connect(WS_URL, headers={"Authorization": header}),
        ):
            pass
        assert closed.value.code == 1008, header
    first_messages = [
        json.dumps({"type": "auth", "token": revoked.token}),
        json.dumps({"type": "auth", "token": "f" * 64}),
        json.dumps({"type": "auth", "token": harness.token, "extra": 1}),  # extra="forbid"
        json.dumps({"token": harness.token}),
        "not json",
    ]
    for message in first_messages:
        with harness.client.websocket_connect(WS_URL) as ws:
            ws.send_text(message)
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
        assert closed.value.code == 1008, message
    # The right token, either way, is served.
    with harness.client.websocket_connect(WS_URL, headers=harness.auth()) as ws:
        assert harness.services.hub.by_device(harness.device_id) or wait_registered(harness)
    with harness.client.websocket_connect(WS_URL) as ws:
        ws.send_text(json.dumps({"type": "auth", "token": harness.token}))
        assert wait_registered(harness)


def wait_registered(harness: Harness, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if harness.services.hub.by_device(harness.device_id):
            return True
        time.sleep(0.005)
    return False


def test_sec09_revocation_during_the_handshake_still_closes_the_socket(harness: Harness) -> None:
    """A revoke landing between the stream's token check and its accept must not
    leave a live socket behind (the hub only knows sockets registered after accept)."""
    store = harness.services.devices
    victim = store.issue("victim phone")
    check_token = store.authenticate

    def check_then_revoke(token: str) -> Any:
        record = check_token(token)
        if record is not None and record.device_id == victim.device_id:
            store.revoke(victim.device_id)  # the revoke lands right after the check
        return record

    store.authenticate = check_then_revoke  # type: ignore[method-assign]
    with harness.client.websocket_connect(WS_URL, headers=harness.auth(victim.token)) as ws:
        time.sleep(0.3)  # long enough for a revocation listener to have run
        assert not harness.services.hub.by_device(victim.device_id)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1008


def test_sec05_bad_tokens_are_rate_limited(harness: Harness) -> None:
    from codexremote.app import BAD_TOKEN_LIMIT_PER_MINUTE

    for _ in range(BAD_TOKEN_LIMIT_PER_MINUTE):
        response = harness.client.get("/v1/projects", headers=harness.auth("f" * 64))
        assert response.status_code == 401
    limited = harness.client.get("/v1/projects", headers=harness.auth("f" * 64))
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"].startswith("Too many failed attempts")
    # A paired device on the same address is not locked out by someone else's
    # failures (behind `tailscale serve` every phone comes from 127.0.0.1).
    assert harness.client.get("/v1/devices", headers=harness.auth()).status_code == 200
    # A missing header is not a guess and is never counted.
    harness.services.token_limiter.reset(CLIENT[0])
    for _ in range(BAD_TOKEN_LIMIT_PER_MINUTE + 5):
        assert harness.client.get("/v1/projects").status_code == 401


# -------------------------------------------------------------------- SEC-02


def test_sec02_host_matrix(harness: Harness) -> None:
    endpoints = http_endpoints(harness.app)
    rejected = 0
    for endpoint in endpoints:
        for host in BAD_HOSTS:
            response = call(harness.client, endpoint, {"Host": host, **harness.auth()})
            where = f"{endpoint.method} {endpoint.url} Host={host!r}"
            assert response.status_code == 421, (where, response.status_code, response.text)
            assert response.json() == {"error": "Host not allowed", "code": "misdirected_request"}
            assert_security_headers(response)
            rejected += 1
    for host in BAD_HOSTS:
        with (
            pytest.raises(WebSocketDenialResponse) as denied,
            harness.client.websocket_connect(WS_URL, headers={"Host": host, **harness.auth()}),
        ):
            pass
        assert denied.value.status_code == 421, host
        rejected += 1
    assert rejected == (len(endpoints) + 1) * len(BAD_HOSTS)

    expected_public = {
        "/health": 200,
        "/v1/openapi.json": 200,
        "/v1/pairing/request": 200,
        "/v1/pairing/confirm": 400,  # {} lacks the fields
        "/app/{path:path}": 404,  # a version that is not this shell's
    }
    shell = harness.services.shell
    assert shell is not None
    for path, asset in (
        ("/", shell.index),
        ("/sw.js", shell.service_worker),
        ("/manifest.webmanifest", shell.manifest),
    ):  # served once the client ships the file (test_web_shell covers both cases)
        expected_public[path] = 200 if asset is not None else 404
    for endpoint in endpoints:
        for host in GOOD_HOSTS:
            response = call(harness.client, endpoint, {"Host": host})
            expected = expected_public.get(endpoint.path, 401)
            assert response.status_code == expected, (endpoint, host, response.text)
    for host in GOOD_HOSTS:
        with harness.client.websocket_connect(WS_URL, headers={"Host": host, **harness.auth()}):
            assert wait_registered(harness), host


# -------------------------------------------------------------------- SEC-03


def test_sec03_cswsh_matrix(harness: Harness) -> None:
    for origin in BAD_ORIGINS:
        with (
            pytest.raises(WebSocketDenialResponse) as denied,
            harness.client.websocket_connect(WS_URL, headers={"Origin": origin, **harness.auth()}),
        ):
            pass
        assert denied.value.status_code == 403, origin
        assert denied.value.json()["error"] == "Origin not allowed"
    # A browser that hides its Origin still says where the request comes from.
    with (
        pytest.raises(WebSocketDenialResponse) as denied,
        harness.client.websocket_connect(
            WS_URL, headers={"Sec-Fetch-Site": "cross-site", **harness.auth()}
        ),
    ):
        pass
    assert denied.value.status_code == 403
    assert not harness.services.hub.clients  # nothing was ever accepted

    for origin in GOOD_ORIGINS:
        headers = {"Origin": origin, "Sec-Fetch-Site": "same-origin", **harness.auth()}
        with harness.client.websocket_connect(WS_URL, headers=headers):
            assert wait_registered(harness), origin
    with harness.client.websocket_connect(WS_URL, headers=harness.auth()):
        assert wait_registered(harness)  # native client: no Origin at all


def test_sec03_state_changing_requests_check_origin(harness: Harness) -> None:
    state_changing = [e for e in http_endpoints(harness.app) if e.method != "GET"]
    assert state_changing
    for endpoint in state_changing:
        for headers in (
            *({"Origin": origin} for origin in BAD_ORIGINS),
            {"Sec-Fetch-Site": "cross-site"},
            {"Origin": GOOD_ORIGINS[0], "Sec-Fetch-Site": "cross-site"},
        ):
            response = call(harness.client, endpoint, {**headers, **harness.auth()})
            assert response.status_code == 403, (endpoint, headers, response.text)
            assert response.json()["error"] == "Origin not allowed"
            assert_security_headers(response)
    # A correct Origin passes the perimeter (then the route decides).
    response = harness.client.post(
        "/v1/pairing/request", headers={"Origin": GOOD_ORIGINS[0], "Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 200
    # Reads are not state-changing: a foreign Origin on a GET is not a CSRF.
    response = harness.client.get(
        "/v1/devices", headers={"Origin": BAD_ORIGINS[0], **harness.auth()}
    )
    assert response.status_code == 200


# -------------------------------------------------------------------- SEC-16


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


def test_sec16_body_limits(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    over = 1024 * 1024 + 1
    json_headers = {"Content-Type": "application/json"}
    # Routes that read their body first (a route may refuse before reading it: 404 etc.).
    for method, path, headers in (
        ("POST", "/v1/pairing/confirm", json_headers),
        ("POST", "/v1/chats", {**json_headers, **harness.auth()}),
        ("PATCH", "/v1/runtime/config", {**json_headers, **harness.auth()}),
    ):
        with_length = harness.client.request(method, path, content=b" " * over, headers=headers)
        assert with_length.status_code == 413, (path, with_length.text)
        assert with_length.json()["error"] == "Request body too large"
        chunked = harness.client.request(method, path, content=chunks(over), headers=headers)
        assert "content-length" not in chunked.request.headers
        assert chunked.status_code == 413, (path, chunked.text)
        assert_security_headers(chunked)
    # Exactly 1 MiB is allowed through to the route (which then reads the JSON).
    at_limit = harness.client.post(
        "/v1/pairing/confirm", content=b" " * (1024 * 1024), headers=json_headers
    )
    assert at_limit.status_code == 400
    # Message routes carry attachments: up to 40 MiB as the original took (issue 14 A5).
    photo = {"type": "image", "name": "p.jpg", "mimeType": "image/jpeg",
             "dataUrl": "data:image/jpeg;base64," + "A" * (1024 * 1024)}  # fmt: skip
    big = json.dumps({"text": "x", "attachments": [photo] * 30}).encode()
    assert 16 * 1024 * 1024 < len(big) < 40 * 1024 * 1024
    for route in ("messages", "steer"):
        message = harness.client.post(
            f"/v1/chats/{PATH_VALUES['chat_id']}/{route}",
            content=big,
            headers={**json_headers, **harness.auth()},
        )
        assert message.status_code != 413, message.text
        assert message.json()["error"] != "Request body too large"
    too_big = harness.client.post(
        f"/v1/chats/{PATH_VALUES['chat_id']}/messages",
        content=chunks(40 * 1024 * 1024 + 1),
        headers={**json_headers, **harness.auth()},
    )
    assert too_big.status_code == 413
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


def test_sec16_json_only_bodies(harness: Harness) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = harness.client.post(
            "/v1/pairing/confirm", content=b'{"a": 1}', headers={"Content-Type": content_type}
        )
        assert response.status_code == 415, content_type
        assert response.json()["error"] == "Request body must be application/json"
    no_type = harness.client.post("/v1/pairing/confirm", content=b'{"a": 1}')
    assert no_type.status_code == 415
    chunked = harness.client.post(
        "/v1/pairing/confirm", content=iter([b'{"a": 1}']), headers={"Content-Type": "text/plain"}
    )
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 415
    charset = harness.client.post(
        "/v1/pairing/confirm",
        content=b"{}",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert charset.status_code == 400  # past the perimeter, the route wants the fields
    # The original app sends Content-Type: application/json with an empty body.
    spare = harness.services.devices.issue("spare phone")
    empty = harness.client.post(
        "/v1/pairing/revoke",
        headers={"Content-Type": "application/json", **harness.auth(spare.token)},
    )
    assert empty.status_code == 200 and empty.json() == {"revoked": True}


def test_sec16_unknown_paths_and_methods_are_json(harness: Harness) -> None:
    missing = harness.client.get("/v1/nope", headers=harness.auth())
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not found", "code": "not_found"}
    for method, path in (("PROPFIND", "/health"), ("DELETE", "/v1/projects"), ("PUT", "/health")):
        response = harness.client.request(method, path, headers=harness.auth())
        assert response.status_code == 405, (method, path)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["code"] == "method_not_allowed"
        assert_security_headers(response)


def test_sec16_t21_security_headers_on_every_response(harness: Harness) -> None:
    responses = []
    for endpoint in http_endpoints(harness.app):
        responses.append(call(harness.client, endpoint, {}))
        responses.append(call(harness.client, endpoint, harness.auth()))
        responses.append(call(harness.client, endpoint, {"Host": "evil.example"}))
    responses.append(harness.client.get("/nope"))
    responses.append(harness.client.request("PROPFIND", "/health"))
    responses.append(harness.client.post("/v1/pairing/confirm", content=b"x", headers={}))
    statuses = set()
    for response in responses:
        statuses.add(response.status_code)
        assert_security_headers(response)
        if response.status_code == 200 and response.request.url.path in SHELL_PATHS:
            continue  # a shell file: its caching and types are test_web_shell's subject
        assert response.headers["cache-control"] == "no-store", response.request.url
        assert response.headers["content-type"].startswith("application/json")
        assert "Traceback" not in response.text
    assert {200, 400, 401, 404, 405, 415, 421} <= statuses, statuses


def test_sec13_access_log_lines_cannot_be_forged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="codexremote.access")
    forged = "%0a2026-01-01 00:00:00,000 INFO codexremote.access: GET /v1/devices 200"
    harness.client.get(f"/v1/nope{forged}")
    harness.client.post(f"/v1/x{forged}", headers={"Host": "evil.example"})
    harness.client.post(f"/v1/chats/x%0d{forged}/messages", headers={"Origin": "null"})
    lines = [r.getMessage() for r in caplog.records if r.name == "codexremote.access"]
    assert len(lines) == 3, lines
    for line in lines:
        assert "\n" not in line and "\r" not in line, line
        assert "\\n2026-01-01" in line  # escaped, still readable


def test_sec16_unexpected_errors_carry_no_traceback(tmp_path: Path) -> None:
    app, _services = make_app(tmp_path)

    async def boom() -> None:
        raise RuntimeError("secret internals /home/user/.codex")

    app.add_api_route("/v1/test-boom", boom, methods=["GET"])
    with TestClient(app, base_url=BASE_URL, client=CLIENT, raise_server_exceptions=False) as c:
        response = c.get("/v1/test-boom")
    assert response.status_code == 500
    body = response.json()
    assert re.fullmatch(r"Internal error \(request [0-9a-f]{12}\)", body["error"])
    assert response.headers["x-request-id"] in body["error"]
    for leak in ("Traceback", "RuntimeError", "secret internals", ".codex"):
        assert leak not in response.text
    assert_security_headers(response)


# -------------------------------------------------------------------- SEC-01


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "[::1]", "127.0.0.2"])
def test_sec01_loopback_binds_need_nothing(host: str) -> None:
    assert check_bind_policy(host, tls=False, insecure_http=False) is None


@pytest.mark.parametrize("host", ["100.64.0.1", "100.127.255.254", "fd7a:115c:a1e0::1"])
def test_sec01_tailnet_binds_pass_the_policy(host: str) -> None:
    assert check_bind_policy(host, tls=False, insecure_http=False) is None


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "192.168.1.50", "100.128.0.1", "fd7a:115c:a1e1::1", "example.com"]
)
def test_sec01_other_binds_need_tls_or_the_flag(host: str) -> None:
    with pytest.raises(UnsafeBind):
        check_bind_policy(host, tls=False, insecure_http=False)
    assert check_bind_policy(host, tls=True, insecure_http=False) is None
    warning = check_bind_policy(host, tls=False, insecure_http=True)
    assert warning is not None and "--insecure-http" in warning


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_pairing_offers_for_loopback_peers_only(tmp_path: Path, peer: str) -> None:
    """A dual-stack bind (--host ::) reports local IPv4 peers as ::ffff:127.0.0.1."""
    app, _services = make_app(tmp_path)
    with TestClient(app, base_url=BASE_URL, client=(peer, 40000)) as client:
        assert client.post("/v1/pairing/request").status_code == 200
    assert not is_loopback("::ffff:192.168.1.50")
    assert is_tailnet("::ffff:100.64.0.1")


async def test_sec02_hosts_learned_after_startup_join_the_allowlist() -> None:
    """Perimeter(extra_hosts=...) is read per request (the tailnet name is found at startup)."""

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    learned: list[str] = []
    perimeter = Perimeter(
        ok, allowed_hosts=[], scheme="http", port=PORT, extra_hosts=lambda: learned
    )
    transport = httpx.ASGITransport(app=perimeter)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        host = {"Host": f"{CONFIGURED_HOST}:{PORT}"}
        assert (await client.get("/health", headers=host)).status_code == 421
        learned.append(CONFIGURED_HOST.upper())
        assert (await client.get("/health", headers=host)).status_code == 200
        origin = {**host, "Origin": f"http://{CONFIGURED_HOST}:{PORT}"}
        assert (await client.post("/v1/x", headers=origin)).status_code == 200
        assert (await client.get("/health", headers={"Host": "evil.example"})).status_code == 421


def test_sec02_the_advertised_tailnet_name_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host in the pairing link is the host the phone will send."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    status = {"BackendState": "Running", "Self": {"DNSName": f"{CONFIGURED_HOST}."}}
    fake = bin_dir / "tailscale"  # stands in for the tailscale CLI, not for our code
    fake.write_text(f"#!/bin/sh\necho '{json.dumps(status)}'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    settings = Settings(
        port=PORT, state_dir=tmp_path / "state", codex_home=tmp_path / "ch", confirmer="socket"
    )
    services = build_services(settings, launcher=fake_app_server_launcher())
    with TestClient(create_app(services), base_url=BASE_URL, client=CLIENT) as client:
        offer = client.post("/v1/pairing/request").json()
        assert f"host={CONFIGURED_HOST}&" in offer["pairingUri"]
        response = client.get("/health", headers={"Host": f"{CONFIGURED_HOST}:{PORT}"})
    assert response.status_code == 200


def test_sec18_forwarding_headers_do_not_make_a_remote_peer_local(tmp_path: Path) -> None:
    app, _services = make_app(tmp_path)
    with TestClient(app, base_url=BASE_URL, client=("100.101.102.103", 40000)) as client:
        response = client.post(
            "/v1/pairing/request",
            headers={"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1"},
        )
    assert response.status_code == 403
