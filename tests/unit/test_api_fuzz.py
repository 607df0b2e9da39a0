"""T1-style fuzz: every route with random path values, queries and JSON bodies.

Against the real app (perimeter, auth, routes, domain code) with the small fake
app-server as the child. Whatever comes in, the answer is never a 500, always a
JSON ``{"error": <string>, "code": ...}`` when it is an error, and never a trace.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_api_perimeter import PARAM, Harness, harness, http_endpoints  # noqa: F401

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
KNOWN_KEYS = [
    "cwd",
    "model",
    "text",
    "attachments",
    "decision",
    "branch",
    "message",
    "approvalPolicy",
    "sandboxMode",
    "deviceId",
    "pairingId",
    "nonce",
    "deviceName",
    "filename",
    "mimeType",
    "audioBase64",
    "language",
    "contents",
]
BODIES = (
    st.dictionaries(st.sampled_from(KNOWN_KEYS), JSON_VALUES, max_size=4)
    | JSON_VALUES
    | st.binary(max_size=64)
)
PATH_TEXT = st.text(min_size=1, max_size=40)


def assert_sane(response: Any) -> None:
    assert response.status_code != 500, response.text
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body["error"], str) and body["error"]
        assert isinstance(body.get("code"), str)


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_t1_every_route_survives_random_input(harness: Harness, method: str) -> None:  # noqa: F811
    endpoints = [e for e in http_endpoints(harness.app) if e.method == method]
    assert endpoints or method == "PATCH" or method == "DELETE"

    @settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        index=st.integers(min_value=0, max_value=max(len(endpoints) - 1, 0)),
        segment=PATH_TEXT,
        query=st.dictionaries(
            st.sampled_from(["path", "projectId", "chatId", "cursor", "limit"]),
            st.text(max_size=20),
            max_size=2,
        ),
        body=BODIES,
    )
    def run(index: int, segment: str, query: dict[str, str], body: Any) -> None:
        if not endpoints:
            return
        endpoint = endpoints[index]
        url = PARAM.sub(lambda _m: quote(segment, safe=""), endpoint.path)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = harness.client.request(
            method,
            url,
            params=query,
            content=content if method != "GET" else None,
            # A fresh token each time: a fuzzed revoke may revoke the caller itself.
            headers={**harness.auth(token()), "Content-Type": "application/json"},
        )
        assert_sane(response)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    def token() -> str:
        return harness.services.devices.issue("fuzz").token

    statuses: dict[int, int] = {}
    run()
    assert sum(statuses.values()) >= 80
    print(method, dict(sorted(statuses.items())))  # shown with -s: what the fuzz reached
