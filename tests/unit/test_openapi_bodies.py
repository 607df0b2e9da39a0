"""SEC-04 / T1: the OpenAPI document says no less about a request body than the route checks.

schemathesis' ``positive_data_acceptance`` caught routes whose document said "no body
needed, every member optional" while the code answered 400 to ``{}`` (messages, steer,
approvals, push subscriptions): a route-level ``openapi_extra`` had replaced the precise
model of ``api/openapi_doc.py``. This proves the same property for every JSON route on
one fixed input, quickly and deterministically, where the fuzzer finds it by chance.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs

from codexremote.api.openapi_doc import REQUEST_BODIES
from tests.unit.test_api_perimeter import Harness, call, harness, http_endpoints

__all__ = ["harness"]  # the fixture, shared with the perimeter audit

BODY_METHODS = ("POST", "PUT", "PATCH")


def body_accepts(document: dict[str, Any], operation: dict[str, Any], body: Any) -> bool:
    """Would a client reading ``document`` think ``body`` is a valid request body?"""
    request_body = operation.get("requestBody")
    if request_body is None:
        return True  # undocumented: anything goes, which is what a fuzzer will assume
    schema = request_body["content"]["application/json"]["schema"]
    root = {**schema, "components": document["components"]}
    return bool(jsonschema_rs.validator_for(root).is_valid(body))


def test_sec04_every_json_route_documents_its_body_in_one_place(harness: Harness) -> None:
    document = harness.client.get("/v1/openapi.json").json()
    documented = {
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    assert documented == set(REQUEST_BODIES)
    for (method, path), model in REQUEST_BODIES.items():
        content = document["paths"][path][method]["requestBody"]["content"]
        assert content == {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
        }, f"{method.upper()} {path} documents its body outside api/openapi_doc.py"


def test_sec04_an_empty_object_refused_by_a_route_is_refused_by_its_document(
    harness: Harness,
) -> None:
    document = harness.client.get("/v1/openapi.json").json()
    refused = []
    for endpoint in http_endpoints(harness.app):
        if endpoint.method not in BODY_METHODS:
            continue
        # A fresh token each time: `{}` on pairing/revoke revokes the caller (wire-api.md 3).
        token = harness.services.devices.issue("audit phone").token
        response = call(harness.client, endpoint, harness.auth(token))  # sends `{}`
        operation = document["paths"][endpoint.path][endpoint.method.lower()]
        if response.status_code == 400:
            refused.append(endpoint.path)
            assert not body_accepts(document, operation, {}), (
                f"{endpoint.method} {endpoint.path} answers 400 to {{}} "
                f"({response.json()['error']}) but its document accepts it"
            )
    # The routes whose laxer document schemathesis caught are among those audited.
    assert {
        "/v1/chats/{chat_id}/messages",
        "/v1/chats/{chat_id}/steer",
        "/v1/approvals/{approval_id}",
        "/v1/push/subscriptions",
    } <= set(refused)
