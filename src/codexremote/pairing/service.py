"""Build and start the pairing pieces from ``Settings`` (one call in the app lifespan).

Start order: device store (load + permission check), confirmation channels,
control socket, external-change watcher. ``aclose`` stops them in reverse and
writes pending lastUsedAt values.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from codexremote.pairing.confirmers import CompositeConfirmer, PlatformInfo, choose_confirmer
from codexremote.pairing.control import ControlServer, SocketConfirmer
from codexremote.pairing.device_store import DeviceStore
from codexremote.pairing.offers import PairingManager
from codexremote.pairing.rate_limit import FailureLimiter
from codexremote.settings import Settings


@dataclass
class PairingServices:
    store: DeviceStore
    manager: PairingManager
    confirmer: CompositeConfirmer
    socket_confirmer: SocketConfirmer
    control: ControlServer
    limiter: FailureLimiter  # pairing failures; the auth layer may share it or make its own
    watcher: asyncio.Task[None]

    async def aclose(self) -> None:
        self.watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.watcher
        await self.control.close()
        await asyncio.to_thread(self.store.flush)


async def start_pairing_services(
    settings: Settings,
    *,
    store: DeviceStore | None = None,
    platform: PlatformInfo | None = None,
) -> PairingServices:
    """Start everything; pass ``store`` to share a DeviceStore the app already has.

    Raises InsecurePermissions, DeviceStoreCorrupt, ConfirmerUnavailable,
    ControlSocketInUse or OSError when pairing cannot be offered safely.
    """
    if store is None:
        store = await asyncio.to_thread(DeviceStore, settings.state_dir)
    socket_confirmer = SocketConfirmer()
    confirmer = choose_confirmer(
        settings.confirmer,
        socket=socket_confirmer,
        timeout_s=settings.pairing_confirm_timeout_s,
        platform=platform,
    )
    limiter = FailureLimiter()
    manager = PairingManager(
        store,
        confirmer,
        confirm_timeout_s=settings.pairing_confirm_timeout_s,
        limiter=limiter,
    )
    control = ControlServer(settings.state_dir, socket_confirmer, store)
    await control.start()
    watcher = asyncio.create_task(store.watch_for_external_changes(), name="device-store-watch")
    return PairingServices(store, manager, confirmer, socket_confirmer, control, limiter, watcher)
