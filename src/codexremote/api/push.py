"""Web Push routes (issue 13, docs/push.md): transport only.

``GET /v1/push/vapid-public-key`` gives the page its ``applicationServerKey``;
``/v1/push/subscriptions`` stores, lists and removes the calling device's
subscriptions (the body of ``POST`` is ``PushSubscription.toJSON()``).
Validation of the subscription itself lives in ``push/subscriptions.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from codexremote.api.common import Envelope, read_object
from codexremote.errors import BadRequest, NotFound
from codexremote.push.service import PushService
from codexremote.push.subscriptions import (
    AUTH_PATTERN,
    ENDPOINT_PATTERN,
    MAX_ENDPOINT_CHARS,
    P256DH_PATTERN,
)


class SubscriptionKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")
    # The patterns are documented here and checked by push/subscriptions.py (its error
    # texts are clearer than pydantic's "should match pattern").
    p256dh: str = Field(
        max_length=200,
        json_schema_extra={"pattern": P256DH_PATTERN},
        description="The browser's uncompressed P-256 key, base64url.",
    )
    auth: str = Field(
        max_length=100,
        json_schema_extra={"pattern": AUTH_PATTERN},
        description="16 secret bytes, base64url.",
    )


class SubscriptionRequest(BaseModel):
    """``PushSubscription.toJSON()``; unknown members are ignored (browsers add some)."""

    model_config = ConfigDict(extra="ignore")
    endpoint: str = Field(
        max_length=MAX_ENDPOINT_CHARS,
        json_schema_extra={"pattern": ENDPOINT_PATTERN},
        description="The push service's https: URL.",
    )
    expirationTime: int | None = Field(None, ge=0, description="Epoch ms, or null.")
    keys: SubscriptionKeys

    @field_validator("expirationTime", mode="before")
    @classmethod
    def _a_json_number(cls, value: Any) -> Any:
        # JSON Schema's integer: 692 and 692.0 are, false and "692" are not (pydantic's
        # lax mode would read them as 0 and 692).
        if isinstance(value, bool | str):
            raise ValueError("expirationTime must be a number of epoch ms or null")
        return value


class VapidKeyData(BaseModel):
    publicKey: str = Field(description="applicationServerKey: uncompressed P-256, base64url.")
    enabled: bool = Field(description="False while push_contact is unset: nothing is sent.")


class SubscriptionData(BaseModel):
    id: str = Field(description="Handle for DELETE /v1/push/subscriptions/{id}.")
    endpoint: str
    expirationTime: int | None
    createdAt: int = Field(description="Epoch ms.")
    lastSuccessAt: int | None = Field(description="Epoch ms of the last delivered push.")


def _parse(model: type[Any], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadRequest(f"{where}: {first['msg']}", code="invalid_subscription") from None


def push_router(
    push: PushService, require_device: Callable[[Request], Awaitable[str]]
) -> APIRouter:
    router = APIRouter(prefix="/v1/push", tags=["push"])

    @router.get("/vapid-public-key", response_model=Envelope[VapidKeyData])
    async def vapid_public_key(_device: str = Depends(require_device)) -> Any:
        return {"data": {"publicKey": push.keys.public_key, "enabled": push.enabled}}

    @router.get("/subscriptions", response_model=Envelope[list[SubscriptionData]])
    async def list_subscriptions(device_id: str = Depends(require_device)) -> Any:
        return {"data": [s.to_public() for s in push.store.for_device(device_id)]}

    @router.post(
        "/subscriptions",
        status_code=201,
        response_model=Envelope[SubscriptionData],
        responses={400: {"description": "Not a usable https: subscription."}},
    )
    async def subscribe(request: Request, device_id: str = Depends(require_device)) -> Any:
        body: SubscriptionRequest = _parse(SubscriptionRequest, await read_object(request))
        saved = await asyncio.to_thread(
            push.store.add,
            device_id,
            body.endpoint,
            body.keys.p256dh,
            body.keys.auth,
            body.expirationTime,
        )
        return {"data": saved.to_public()}

    @router.delete(
        "/subscriptions/{subscription_id}",
        responses={404: {"description": "This device has no such subscription."}},
    )
    async def unsubscribe(subscription_id: str, device_id: str = Depends(require_device)) -> Any:
        if len(subscription_id) > 64:
            raise NotFound("No such push subscription for this device")
        if not await asyncio.to_thread(push.store.remove, device_id, subscription_id):
            raise NotFound("No such push subscription for this device")
        return {"ok": True}

    return router
