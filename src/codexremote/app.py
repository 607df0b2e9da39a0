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
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from codexremote import __version__
from codexremote.api.app_server import app_server_router, restart_result
from codexremote.api.approvals import approvals_router
from codexremote.api.auth import device_dependency
from codexremote.api.chats import chats_router
from codexremote.api.diagnostics import diagnostics_router
from codexremote.api.dictation import dictation_router
from codexremote.api.errors import install_error_handlers
from codexremote.api.health import health_router
from codexremote.api.history import history_router
from codexremote.api.json_body import JsonBodyGuard
from codexremote.api.openapi_doc import precise_openapi
from codexremote.api.pairing import pairing_router
from codexremote.api.projects import projects_router
from codexremote.api.push import push_router
from codexremote.api.security import Perimeter
from codexremote.api.stream import StreamHub, stream_router
from codexremote.api.stream_events import stream_events_router
from codexremote.api.web import web_router
from codexremote.approvals.always_allow import AlwaysAllowStore
from codexremote.approvals.service import ApprovalService
from codexremote.approvals.types import ServerRequest
from codexremote.chats.directory import ChatDirectory
from codexremote.chats.service import ChatService
from codexremote.chats.turns import TurnTracker
from codexremote.codex.supervisor import AppServerSupervisor, Launcher
from codexremote.desktop import DesktopSync, choose_bridge
from codexremote.dictation import DictationConfig, Transcriber
from codexremote.events.bus import EventBus
from codexremote.history.live import LiveActivities
from codexremote.history.timeline import HistoryService
from codexremote.idempotency import IdempotencyKeys
from codexremote.ids import project_id_for_cwd
from codexremote.launcher import app_server_launcher, child_environment, resolve_codex_bin
from codexremote.pairing.device_store import DeviceStore
from codexremote.pairing.links import advertised_host
from codexremote.pairing.offers import OFFER_TTL_S, PairingManager
from codexremote.pairing.present import PublicAddress, offer_links, offer_text
from codexremote.pairing.rate_limit import FailureLimiter
from codexremote.pairing.service import PairingServices, start_pairing_services
from codexremote.push import PushService, SubscriptionStore, VapidKeys
from codexremote.runtime_config import (
    effective_turn_overrides,
    effective_turn_start_overrides,
)
from codexremote.settings import Settings
from codexremote.stream.relay import NotificationRelay
from codexremote.web_shell import ShellAssets, load_shell

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
    approvals: ApprovalService
    history: HistoryService
    desktop: DesktopSync
    push: PushService | None = None
    idempotency: IdempotencyKeys = field(default_factory=IdempotencyKeys)
    pairing: PairingServices | None = None
    shell: ShellAssets | None = None  # the web client's files; loaded by create_app
    advertised_host: str = "127.0.0.1"
    announce_offer: bool = False  # serve prints a pairing offer when no device is paired
    # Where phones reach us when a proxy publishes us (`serve --tailscale`: https on 443).
    public_override: PublicAddress | None = None
    started_at: float = field(default_factory=time.monotonic)
    startup_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    shutdown_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def public_address(self) -> PublicAddress:
        """What pairing links advertise (the bind address unless a proxy publishes us)."""
        if self.public_override is not None:
            return self.public_override
        settings = self.settings
        return PublicAddress(settings.scheme, self.advertised_host, settings.port)

    def pairing_manager(self) -> PairingManager | None:
        return self.pairing.manager if self.pairing is not None else None

    def verify_token(self, token: str) -> str | None:
        record = self.devices.authenticate(token)
        return record.device_id if record is not None else None

    async def verify_token_async(self, token: str) -> str | None:
        """Like verify_token, but the store's occasional last-seen fsync runs off the loop."""
        record = await self.devices.authenticate_async(token)
        return record.device_id if record is not None else None

    def pending_approvals(self, chat_id: str | None) -> list[dict[str, Any]]:
        items = (
            self.approvals.open_for_chat(chat_id)
            if chat_id is not None
            else self.approvals.all_open()
        )
        return [item.to_wire() for item in items]


def build_services(
    settings: Settings,
    *,
    launcher: Launcher | None = None,
    child_env: Mapping[str, str] | None = None,
    supervisor: AppServerSupervisor | None = None,
    devices: DeviceStore | None = None,
) -> Services:
    """``supervisor``: adopt one that is already running (``serve`` starts the child
    before importing the web stack); otherwise one is made from ``launcher``."""
    if supervisor is None:
        if launcher is None:
            launcher = app_server_launcher(
                resolve_codex_bin(settings), child_environment(settings, child_env)
            )
        supervisor = AppServerSupervisor(launcher)
    bus = EventBus(max_bytes=settings.stream_replay_mib * 1024 * 1024)
    turns = TurnTracker()
    directory = ChatDirectory(supervisor.request)
    desktop = _desktop_sync(settings)

    def on_activity(chat_id: str, reason: str) -> None:
        info = directory.get(chat_id)
        if info is not None:  # siblings first, so the fallback title has candidates
            for chat in directory.chats(project_id_for_cwd(info.cwd)):
                desktop.remember(chat.id, chat.cwd, chat.title, updated_at=chat.updatedAt)
            desktop.remember(chat_id, info.cwd, info.chat().title, updated_at=info.updated_at)
        desktop.fire(chat_id, reason)

    chats = ChatService(
        supervisor.request,
        directory,
        turns,
        thread_params=_provider(effective_turn_overrides, settings),
        turn_params=_provider(effective_turn_start_overrides, settings),
        on_activity=on_activity,
    )
    relay = NotificationRelay(bus, turns, directory)
    supervisor.add_notification_handler(relay.on_notification)

    def on_new_generation(generation: int) -> None:
        chats.on_child_restart()
        relay.child_restarted(generation)

    supervisor.add_generation_listener(on_new_generation)
    approvals = _approval_service(settings, supervisor, bus, turns)
    relay.listeners.append(lambda method, params, _chat: approvals.on_notification(method, params))
    live = LiveActivities()

    def feed_live(method: str, params: dict[str, Any], chat_id: str | None) -> None:
        if method in ("item/started", "item/completed", "turn/completed"):
            live.on_notification(method, params, int(time.time() * 1000), chat_id=chat_id)

    relay.listeners.append(feed_live)
    history = HistoryService(settings.codex_home / "sessions", live)

    def refresh_history(_method: str, _params: dict[str, Any], chat_id: str | None) -> None:
        if chat_id is not None:
            history.on_chat_activity(chat_id)

    relay.listeners.append(refresh_history)
    supervisor.add_generation_listener(approvals.on_child_restart)
    services = Services(
        settings=settings,
        supervisor=supervisor,
        bus=bus,
        turns=turns,
        directory=directory,
        chats=chats,
        relay=relay,
        hub=StreamHub(bus),
        devices=devices if devices is not None else DeviceStore(settings.state_dir),
        token_limiter=FailureLimiter(
            max_failures=BAD_TOKEN_LIMIT_PER_MINUTE, global_max_failures=None
        ),
        approvals=approvals,
        history=history,
        desktop=desktop,
    )
    services.shutdown_hooks.append(desktop.aclose)
    services.shutdown_hooks.append(services.hub.close_all)
    services.push = push = _push_service(services)
    services.startup_hooks.append(push.start)
    services.shutdown_hooks.append(push.aclose)
    services.startup_hooks.append(lambda: _start_pairing(services))
    return services


def _push_service(services: Services) -> PushService:
    """Web Push (issue 13): fed by the bus, asks the hub who is looking."""
    settings, directory = services.settings, services.directory

    def chat_title(chat_id: str) -> str:
        info = directory.get(chat_id)
        return info.chat().title if info is not None else ""

    return PushService(
        services.bus,
        SubscriptionStore(settings.state_dir),
        VapidKeys.load_or_create(settings.state_dir),
        contact=settings.push_contact,
        content=settings.push_content,
        ttl_s=settings.push_ttl_s,
        chat_title=chat_title,
        is_visible=services.hub.device_visible,
        is_paired=lambda device_id: services.devices.get(device_id) is not None,
    )


def _desktop_sync(settings: Settings) -> DesktopSync:
    return DesktopSync(
        choose_bridge(
            settings.desktop_sync,
            app_name=settings.desktop_app_name,
            bundle_id=settings.desktop_bundle_id,
            app_path=settings.desktop_app_path,
            delay_s=settings.desktop_sync_delay_s,
            command_timeout_s=settings.desktop_sync_command_timeout_s,
        )
    )


def _provider(
    compute: Callable[[Path, Path], dict[str, Any]], settings: Settings
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """Runtime overrides for every thread/turn start; a broken config.toml sends none."""

    async def provide() -> dict[str, Any]:
        try:
            return await asyncio.to_thread(compute, settings.codex_home, settings.state_dir)
        except Exception as exc:
            log.warning("runtime overrides unavailable: %s", exc)
            return {}

    return provide


def _approval_service(
    settings: Settings, supervisor: AppServerSupervisor, bus: EventBus, turns: TurnTracker
) -> ApprovalService:
    """Bridges app-server's server requests into the approvals domain and back."""

    async def respond(req: ServerRequest, result: Any) -> None:
        await supervisor.respond(req, result)

    async def reject_unknown(req: ServerRequest) -> None:
        await supervisor.respond_error(
            req, -32601, f"{req.method} is not supported by codex-remote"
        )

    def publish(event: str, chat_id: str, payload: dict[str, Any]) -> None:
        bus.publish(event, chat_id, payload)

    approvals = ApprovalService(
        responder=respond,
        publisher=publish,
        reject_unknown=reject_unknown,
        always_allow=AlwaysAllowStore(settings.state_dir),
        chat_for_turn=turns.chat_for_turn,
    )

    supervisor.set_server_request_sink(approvals.on_server_request)
    return approvals


async def _start_pairing(services: Services) -> None:
    """Pairing is optional at run time: without it the companion still serves paired devices."""
    try:
        services.advertised_host = await advertised_host(services.settings)
    except Exception as exc:  # a broken `tailscale` must not stop the companion
        log.warning("could not determine the advertised host: %s", exc)
        services.advertised_host = services.settings.host
    try:
        services.pairing = await start_pairing_services(services.settings, store=services.devices)
    except Exception as exc:
        log.error("pairing is unavailable: %s", exc)
        return
    pairing = services.pairing
    services.shutdown_hooks.append(pairing.aclose)
    pairing.control.add_command("app-server-restart", lambda _msg: _restart(services))
    if services.announce_offer and not services.devices.list():
        offer = pairing.manager.create_offer()
        address = services.public_address()
        links = offer_links(offer, address.scheme, address.host, address.port)
        print(offer_text(links, int(OFFER_TTL_S), services.settings.pairing_qr), flush=True)


async def _restart(services: Services) -> dict[str, Any]:
    """``codexremote app-server restart`` over the control socket (same as the route)."""
    await services.supervisor.restart()
    return restart_result(services.supervisor)


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
            services.idempotency.forget_device(device_id)
            task = loop.create_task(services.hub.close_device(device_id))
            closing.add(task)
            task.add_done_callback(closing.discard)

        services.devices.add_revocation_listener(on_revoked, loop=loop)
        if services.push is not None:
            services.devices.add_revocation_listener(services.push.on_revoked, loop=loop)
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
    app.openapi = precise_openapi(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    require_device = device_dependency(
        services.verify_token_async, services.token_limiter, services.devices.was_revoked
    )
    app.include_router(
        health_router(
            services.supervisor.health,
            services.started_at,
            services.verify_token_async,
            services.token_limiter,
        )
    )
    keys = services.idempotency
    app.include_router(
        chats_router(services.chats, require_device, keys, services.approvals.open_counts)
    )
    app.include_router(approvals_router(services.approvals, services.chats, require_device, keys))
    app.include_router(
        pairing_router(
            services.pairing_manager, services.devices, services.public_address, require_device
        )
    )
    app.include_router(
        history_router(services.history, services.chats, services.approvals, require_device)
    )
    app.include_router(projects_router(services.settings, services.chats, require_device))
    app.include_router(stream_events_router(services.bus, require_device))
    transcriber = Transcriber(DictationConfig.from_settings(services.settings))
    services.shutdown_hooks.append(transcriber.aclose)
    app.include_router(dictation_router(transcriber, require_device))
    app.include_router(diagnostics_router(services.settings.state_dir, require_device))
    app.include_router(app_server_router(services.supervisor, require_device))
    if services.push is not None:
        app.include_router(push_router(services.push, require_device))
    app.include_router(
        stream_router(
            services.hub,
            services.verify_token,
            services.pending_approvals,
            services.token_limiter,
            services.devices.was_revoked,
        )
    )
    settings = services.settings
    shell = services.shell if services.shell is not None else load_shell()
    services.shell = shell
    log.debug(
        "web shell %s: %d files, %d bytes, %d gzip, loaded in %.1f ms",
        shell.version,
        shell.figures.files,
        shell.figures.raw_bytes,
        shell.figures.gzip_bytes,
        shell.figures.load_ms,
    )
    app.include_router(web_router(shell, settings.scheme))
    app.add_middleware(JsonBodyGuard)  # inside the Perimeter: bodies arrive capped
    app.add_middleware(
        Perimeter,
        allowed_hosts=allowed_hosts(settings),
        scheme=settings.scheme,
        port=settings.port,
        extra_hosts=lambda: (services.advertised_host,),  # known only after startup
        extra_origins=lambda: services.public_address().origins(),
    )
    return app
