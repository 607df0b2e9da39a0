"""Composition root: builds the services and wires them into the ASGI app.

Lifespan order (REL-13): the app-server child is started once the app is ready
to serve; on shutdown stream clients are closed (1001) before the child stops.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from codexremote import __version__
from codexremote.api.errors import install_error_handlers
from codexremote.api.health import health_router
from codexremote.api.security import Perimeter
from codexremote.codex.supervisor import AppServerSupervisor, Launcher
from codexremote.events.bus import EventBus
from codexremote.launcher import app_server_launcher, child_environment, resolve_codex_bin
from codexremote.settings import Settings

log = logging.getLogger("codexremote")


@dataclass
class Services:
    settings: Settings
    supervisor: AppServerSupervisor
    bus: EventBus
    started_at: float = field(default_factory=time.monotonic)
    shutdown_hooks: list[Any] = field(default_factory=list)


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
    return Services(settings=settings, supervisor=supervisor, bus=EventBus())


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
        await services.supervisor.start()
        try:
            yield
        finally:
            for hook in reversed(services.shutdown_hooks):
                with contextlib.suppress(Exception):
                    await hook()
            await services.supervisor.stop()

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
    app.include_router(health_router(services))
    settings = services.settings
    app.add_middleware(
        Perimeter,
        allowed_hosts=allowed_hosts(settings),
        scheme=settings.scheme,
        port=settings.port,
    )
    return app
