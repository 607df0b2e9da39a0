"""Pairing and device routes (wire-api.md 2-4): transport only.

``/v1/pairing/request`` creates an offer only for loopback callers (the
original app never calls it; a remote caller has no business minting offers).
``/v1/pairing/confirm`` is public but rate-limited and blocks on the local
confirmation (SEC-08). Responses are not enveloped, as in the original.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request

from codexremote.api.auth import client_key, request_caller
from codexremote.api.common import Envelope, read_object
from codexremote.errors import BadRequest, Forbidden, ServiceUnavailable
from codexremote.pairing.device_store import DeviceStore
from codexremote.pairing.links import qr_png_data_url
from codexremote.pairing.offers import PairingManager
from codexremote.pairing.present import PublicAddress, offer_links

log = logging.getLogger("codexremote.pairing")


def pairing_router(
    pairing_manager: Callable[[], PairingManager | None],
    devices: DeviceStore,
    public_address: Callable[[], PublicAddress],
    require_device: Callable[[Request], Awaitable[str]],
) -> APIRouter:
    """``pairing_manager`` and ``public_address`` are read per request: both are
    known only once the app has started (pairing services, tailnet name)."""
    public = APIRouter(prefix="/v1/pairing", tags=["pairing"])
    guarded = APIRouter(prefix="/v1", dependencies=[Depends(require_device)], tags=["pairing"])

    def manager() -> PairingManager:
        found = pairing_manager()
        if found is None:
            raise ServiceUnavailable("Pairing is not available right now")
        return found

    @public.post("/request")
    async def request_pairing(request: Request) -> dict[str, Any]:
        if not request_caller(request).local:  # not through tailscale serve either
            raise Forbidden("Pairing offers can only be created on this computer")
        offer = manager().create_offer()
        address = public_address()
        links = offer_links(offer, address.scheme, address.host, address.port)
        return {
            "pairingId": offer.pairing_id,
            "nonce": offer.nonce,
            "expiresAt": offer.expires_at_ms,
            "scheme": address.scheme,
            "pairingUri": links.app_uri,
            "webLink": links.web_link,
            "qrDataUrl": qr_png_data_url(links.app_uri),
        }

    @public.post("/confirm")
    async def confirm_pairing(request: Request) -> dict[str, Any]:
        body = await read_object(request)
        caller = request_caller(request)
        result = await manager().confirm(
            body.get("pairingId"),
            body.get("nonce"),
            body.get("deviceName"),
            client_key=client_key(request),
        )
        if caller.tailnet_login:
            log.info("paired device %s for tailnet user %s", result.device_id, caller.tailnet_login)
        return {
            "deviceId": result.device_id,
            "token": result.token,
            "scheme": public_address().scheme,
            "comparisonCode": result.comparison_code,
        }

    @guarded.post("/pairing/revoke")
    async def revoke(request: Request) -> dict[str, Any]:
        body = await read_object(request)
        target = body.get("deviceId")
        if target is None:
            target = request.state.device_id
        if not isinstance(target, str) or not target.strip():
            raise BadRequest("Expected deviceId to be a non-empty string")
        # The store fsyncs: keep that off the event loop (the listeners hop back to it).
        return {"revoked": await asyncio.to_thread(devices.revoke, target.strip())}

    @guarded.get("/devices", response_model=Envelope[list[dict[str, Any]]])
    async def list_devices(request: Request) -> Any:
        current = request.state.device_id
        listed = []
        for record in devices.list():
            public_record = record.to_public()
            public_record["current"] = record.device_id == current
            listed.append(public_record)
        return {"data": listed}

    router = APIRouter()
    router.include_router(public)
    router.include_router(guarded)
    return router
