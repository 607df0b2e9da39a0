"""Composition root: builds the services and wires them into the ASGI app.

Lifespan order (REL-13): the app-server child is started once the app is ready
to serve; on shutdown stream clients are closed (1001) before the child stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from codexremote import __version__
from codexremote.api.auth import device_dependency
from codexremote.api.chats import chats_router
from codexremote.api.errors import install_error_handlers
from codexremote.api.health import health_router
from codexremote.api.security import Perimeter
from codexremote.api.stream import StreamHub, stream_router
from codexremote.chats.directory import ChatDirectory
from codexremote.chats.service import ChatService
from codexremote.chats.turns import TurnTracker
from codexremote.codex.supervisor import AppServerSupervisor, Launcher
from codexremote.events.bus import EventBus
from codexremote.launcher import app_server_launcher, child_environment, resolve_codex_bin
from codexremote.pairing.device_store import DeviceStore
from codexremote.pairing.rate_limit import FailureLimiter
from codexremote.settings import Settings
from codexremote.stream.relay import NotificationRelay

log = logging.getLogger("codexremote")

BAD_TOKEN_LIMIT_PER_MINUTE = 20  # per client address; 429 with Retry-After beyond


@dataclass
class Services:
    settings: Settings
    supervisor: AppServerSupervisor
    bus: EventBus
    turns: TurnTracker
    directory: ChatDirectory
    chats: ChatService
    relay: NotificationRelay
    hub: StreamHub
    devices: DeviceStore
    token_limiter: FailureLimiter
    started_at: float = field(default_factory=time.monotonic)
    startup_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    shutdown_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def verify_token(self, token: str) -> str | None:
        record = self.devices.authenticate(token)
        return record.device_id if record is not None else None

    def pending_approvals(self, chat_id: str | None) -> list[dict[str, Any]]:
        return []


def build_services(
    settings: Settings,
    *,
    launcher: Launcher | None = None,
    child_env: Mapping[str, str] | None = None,
) -> Services:
    if launcher is None:
        launcher = app_server_launcher(
            resolve_codex_bin(settings), child_environment(settings, child_env)
        )
    supervisor = AppServerSupervisor(launcher)
    bus = EventBus()
    turns = TurnTracker()
    directory = ChatDirectory(supervisor.request)
    chats = ChatService(supervisor.request, directory, turns)
    relay = NotificationRelay(bus, turns, directory)
    supervisor.add_notification_handler(relay.on_notification)

    def on_new_generation(generation: int) -> None:
        chats.on_child_restart()
        relay.child_restarted(generation)

    supervisor.add_generation_listener(on_new_generation)
    services = Services(
        settings=settings,
        supervisor=supervisor,
        bus=bus,
        turns=turns,
        directory=directory,
        chats=chats,
        relay=relay,
        hub=StreamHub(bus),
        devices=DeviceStore(settings.state_dir),
        token_limiter=FailureLimiter(
            max_failures=BAD_TOKEN_LIMIT_PER_MINUTE, global_max_failures=None
        ),
    )
    services.shutdown_hooks.append(services.hub.close_all)
    return services


def allowed_hosts(settings: Settings) -> list[str]:
    hosts = list(settings.allowed_hosts)
    if settings.advertise_host:
        hosts.append(settings.advertise_host)
    if settings.host not in ("0.0.0.0", "::", ""):
        hosts.append(settings.host)
    return hosts


def create_app(services: Services) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        closing: set[asyncio.Task[int]] = set()

        def on_revoked(device_id: str) -> None:
            task = loop.create_task(services.hub.close_device(device_id))
            closing.add(task)
            task.add_done_callback(closing.discard)

        services.devices.add_revocation_listener(on_revoked, loop=loop)
        for hook in services.startup_hooks:
            await hook()
        await services.supervisor.start()
        try:
            yield
        finally:
            for hook in reversed(services.shutdown_hooks):
                with contextlib.suppress(Exception):
                    await hook()
            await services.supervisor.stop()
            with contextlib.suppress(Exception):
                services.devices.flush()

    app = FastAPI(
        title="codex-remote companion",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    require_device = device_dependency(services.verify_token, services.token_limiter)
    app.include_router(health_router(services))
    app.include_router(chats_router(services.chats, require_device))
    app.include_router(
        stream_router(services.hub, services.verify_token, services.pending_approvals)
    )
    settings = services.settings
    app.add_middleware(
        Perimeter,
        allowed_hosts=allowed_hosts(settings),
        scheme=settings.scheme,
        port=settings.port,
    )
    return app
