"""The OpenAPI document, as precise as the code (issue 14 B1, T1).

Why: the document is what a fuzzer (schemathesis) and client authors build on.
FastAPI's default is vaguer than our routes in three ways, fixed here in one
place rather than route by route:

- Most routes read their JSON body by hand (so error texts stay the original
  companion's, wire-api.md), so FastAPI sees no body at all. :data:`REQUEST_BODIES`
  documents each one with a pydantic model of what the code accepts; it is the only
  place request bodies are documented (routes pass no ``openapi_extra`` body), so a
  route cannot quietly document a laxer body than the one it checks.
- Every error is ``{"error": str, "code": str}`` (``api/errors.py``), validation
  errors included (400, not FastAPI's 422): each operation gets that shape as its
  ``default`` response, and guarded operations a documented 401 and 429.
- Guarded operations need ``Authorization: Bearer``: a ``bearer`` security scheme,
  required on every operation outside ``auth.PUBLIC_PATHS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from codexremote.api.auth import PUBLIC_PATHS
from codexremote.api.diagnostics import DeviceLogRequest
from codexremote.api.dictation import TranscribeRequest
from codexremote.api.push import SubscriptionRequest
from codexremote.chats.user_input import (
    MAX_IMAGE_DATA_URL_CHARS,
    MAX_TEXT_CHARS,
    MAX_TEXT_FILE_CHARS,
)
from codexremote.runtime_config import APPROVAL_POLICIES, SANDBOX_MODES


class _Body(BaseModel):
    # Unknown members are ignored by every route (the original's bodies grow additively).
    model_config = ConfigDict(extra="allow")


NOT_BLANK = r"\S"  # the code trims, then requires something left


class _ActionBody(_Body):
    """Bodies of actions a phone may retry after a lost answer (docs/web-client.md)."""

    idempotencyKey: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{1,128}$",
        description="Per device: a repeat with the same key gets the first answer "
        "(same status and body) and the action is not done twice.",
    )


class StopBody(_ActionBody):
    """The original app posts none (``{}``); the web client adds its idempotency key."""


class CreateChatBody(_Body):
    cwd: str | None = Field(
        None,
        pattern=r"^(/|unknown$)",
        max_length=4096,
        description="An existing absolute directory; null or `unknown`: app-server's default.",
    )
    model: str | None = Field(None, pattern=NOT_BLANK, description="Model for the new thread.")


class ImageAttachment(_Body):
    type: Literal["image"]
    name: str = Field(pattern=NOT_BLANK)
    mimeType: str = Field(pattern=NOT_BLANK)
    dataUrl: str = Field(
        pattern=r"^data:image/",
        description=f"`data:image/jpeg;base64,...`, at most {MAX_IMAGE_DATA_URL_CHARS} chars.",
    )


class TextFileAttachment(_Body):
    type: Literal["text_file"]
    name: str = Field(pattern=NOT_BLANK)
    mimeType: str = Field(pattern=NOT_BLANK)
    text: str = Field(min_length=1, description=f"At most {MAX_TEXT_FILE_CHARS} chars.")


class MessageBody(_ActionBody):
    """Text, attachments or both; at least one of them (wire-api.md 4.15)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["text"],
                    "properties": {"text": {"type": "string", "pattern": NOT_BLANK}},
                },
                {
                    "required": ["attachments"],
                    "properties": {"attachments": {"type": "array", "minItems": 1}},
                },
            ]
        },
    )
    # Size limits live in the descriptions: a fuzzer cannot build a 200,001-char string.
    text: str | None = Field(None, description=f"Trimmed; at most {MAX_TEXT_CHARS} chars.")
    attachments: list[ImageAttachment | TextFileAttachment] | None = None


class DecisionBody(_ActionBody):
    decision: Literal["approve", "decline", "allow_for_session", "allow_always"]


class PairingConfirmBody(_Body):
    pairingId: str = Field(min_length=1)
    nonce: str = Field(min_length=1)
    deviceName: str | None = None


class RevokeBody(_Body):
    deviceId: str | None = Field(
        None, pattern=NOT_BLANK, description="Omitted or null: the calling device itself."
    )


class CheckoutBody(_Body):
    branch: str = Field(min_length=1)


class CommitBody(_Body):
    message: str = Field(min_length=1)


def _setting(allowed: tuple[str, ...], description: str) -> dict[str, Any]:
    # Non-strings and "" are ignored (wire-api.md 8.4), other strings must be allowed ones.
    return {
        "description": description,
        "anyOf": [{"enum": list(allowed)}, {"const": ""}, {"not": {"type": "string"}}],
    }


class RuntimeConfigBody(_Body):
    """At least one of the two, as an allowed value (wire-api.md 8.4)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "properties": {
                "approvalPolicy": _setting(APPROVAL_POLICIES, "Written to config.toml."),
                "sandboxMode": _setting(SANDBOX_MODES, "Written to config.toml."),
            },
            "anyOf": [
                {"required": [key], "properties": {key: {"enum": list(allowed)}}}
                for key, allowed in (
                    ("approvalPolicy", APPROVAL_POLICIES),
                    ("sandboxMode", SANDBOX_MODES),
                )
            ],
        },
    )


class ErrorBody(BaseModel):
    error: str = Field(description="Human-readable; the original app shows it verbatim.")
    code: str = Field(description="Machine-readable (additive to the original's shape).")


REQUIRED_BODIES: set[type[BaseModel]] = {
    MessageBody,
    DecisionBody,
    CheckoutBody,
    CommitBody,
    RuntimeConfigBody,
    SubscriptionRequest,
    DeviceLogRequest,
    TranscribeRequest,
}
REQUEST_BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/v1/chats"): CreateChatBody,
    ("post", "/v1/chats/{chat_id}/messages"): MessageBody,
    ("post", "/v1/chats/{chat_id}/steer"): MessageBody,
    ("post", "/v1/chats/{chat_id}/stop"): StopBody,
    ("post", "/v1/approvals/{approval_id}"): DecisionBody,
    ("post", "/v1/pairing/confirm"): PairingConfirmBody,
    ("post", "/v1/pairing/revoke"): RevokeBody,
    ("post", "/v1/projects/{project_id}/git/checkout"): CheckoutBody,
    ("post", "/v1/projects/{project_id}/git/commit"): CommitBody,
    ("patch", "/v1/runtime/config"): RuntimeConfigBody,
    ("post", "/v1/push/subscriptions"): SubscriptionRequest,
    ("post", "/v1/debug/ios-log"): DeviceLogRequest,
    ("post", "/v1/dictation/transcribe"): TranscribeRequest,
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def precise_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """A replacement for ``app.openapi`` that builds (once) the precise document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, routes=app.routes, openapi_version="3.1.0"
        )
        components = document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        models: list[type[BaseModel]] = [*REQUEST_BODIES.values(), ErrorBody]
        for model in models:
            body_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(body_schema.pop("$defs", {}))
            schemas[model.__name__] = body_schema
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                _refine(path, method, operation)
        app.openapi_schema = document
        return document

    return openapi


def _refine(path: str, method: str, operation: dict[str, Any]) -> None:
    model = REQUEST_BODIES.get((method, path))
    if model is not None and "requestBody" not in operation:
        operation["requestBody"] = {
            # Elsewhere optional: the original app sends no body with a JSON content type.
            "required": model in REQUIRED_BODIES,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    responses: dict[str, Any] = operation.setdefault("responses", {})
    validation = responses.pop("422", None)
    if validation is not None:
        responses.setdefault("400", _error("Invalid parameters or body."))
    for status, spec in list(responses.items()):
        if status[0] in "45" and "content" not in spec:
            responses[status] = _error(spec.get("description", "Error"))
    if path not in PUBLIC_PATHS:
        operation["security"] = [{"bearer": []}]
        responses.setdefault("401", _error("Missing, invalid or revoked device token."))
        responses.setdefault("429", _error("Too many failed tokens from this address."))
    responses.setdefault("default", _error("Any other error, always this shape."))
