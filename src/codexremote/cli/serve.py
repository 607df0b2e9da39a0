"""``codexremote serve``: checks, then uvicorn with the companion app.

Start-up order: the cheap checks first (each failure is one line and exit 2),
then the ``codex app-server`` child is spawned *before* the web stack is
imported, so the child initialises while Python loads FastAPI (about half a
second on a 2-core machine); the app then adopts the already running
supervisor.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import signal
import ssl
import sys
from typing import Any

from codexremote import logguard
from codexremote.cli import tailnet
from codexremote.codex.supervisor import AppServerSupervisor
from codexremote.fdlimit import raise_open_file_limit
from codexremote.launcher import (
    CodexNotFound,
    app_server_launcher,
    child_environment,
    resolve_codex_bin,
)
from codexremote.netcheck import UnsafeBind, check_bind_policy, port_available
from codexremote.pairing.device_store import DeviceStore, DeviceStoreCorrupt
from codexremote.settings import Settings
from codexremote.storage import InsecurePermissions
from codexremote.tailnet import ServeRefused, TailnetPublication

log = logging.getLogger("codexremote")

# SEC-13: uvicorn hands this logger to `websockets`, which at DEBUG dumps every
# handshake header (``authorization: Bearer ...`` included) and every frame (the
# first-message auth carries the token). It never goes below INFO.
PROTOCOL_LOGGER = "uvicorn.error"


def _fail(message: str) -> int:
    print(f"codexremote: {message}", file=sys.stderr)
    return 2


def keep_tokens_out_of_logs() -> None:
    """Stop websockets' protocol dumps whatever --log-level says and strip query
    strings from uvicorn's own WebSocket lines (SEC-13); a client's bad frame is not
    logged as our error (issue 14 B2). Idempotent."""
    logger = logging.getLogger(PROTOCOL_LOGGER)
    logger.setLevel(max(logging.INFO, logger.getEffectiveLevel()))
    if not any(isinstance(f, logguard.ScrubQueryStrings) for f in logger.filters):
        logger.addFilter(logguard.ScrubQueryStrings())
    if not any(isinstance(f, logguard.ClientFaultsAreWarnings) for f in logger.filters):
        logger.addFilter(logguard.ClientFaultsAreWarnings())


def tls_problem(settings: Settings) -> str | None:
    """Why the certificate/key pair cannot be served (uvicorn would print a traceback)."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            settings.tls_cert, settings.tls_key
        )
    except OSError as exc:  # ssl.SSLError included
        return (
            f"cannot use --tls-cert {settings.tls_cert} with --tls-key {settings.tls_key}: "
            f"{exc.strerror or exc}"
        )
    return None


def run(args: argparse.Namespace, settings: Settings) -> int:
    return serve(settings)


def serve(settings: Settings) -> int:
    if (settings.tls_cert is None) != (settings.tls_key is None):
        return _fail("pass both --tls-cert and --tls-key, or neither")
    problem = tls_problem(settings)
    if problem:
        return _fail(problem)
    try:
        warning = check_bind_policy(
            settings.host, tls=settings.tls_enabled, insecure_http=settings.insecure_http
        )
    except UnsafeBind as exc:
        return _fail(str(exc))
    if warning:
        log.warning("%s", warning)
    try:
        codex_bin = resolve_codex_bin(settings)
    except CodexNotFound as exc:
        return _fail(str(exc))
    if not port_available(settings.host, settings.port):
        return _fail(f"port {settings.port} on {settings.host} is already in use (try --port)")
    try:
        devices = DeviceStore(settings.state_dir)  # refuses unsafe modes, never "repairs"
    except (InsecurePermissions, DeviceStoreCorrupt) as exc:
        return _fail(str(exc))
    publication = None
    if settings.tailscale:
        publication, problems = tailnet.prepare_lines(settings)
        if publication is None:
            for line in problems:
                _fail(line)
            return 2
        settings = settings.model_copy(update={"advertise_host": publication.info.dns_name})
    try:
        return asyncio.run(_serve(settings, codex_bin, devices, publication))
    except asyncio.CancelledError:  # a signal during start-up; the child was stopped
        return 130


async def _serve(
    settings: Settings,
    codex_bin: str,
    devices: DeviceStore,
    publication: TailnetPublication | None = None,
) -> int:
    keep_tokens_out_of_logs()
    logguard.install(logging.getLogger().handlers)  # SEC-20, before anything can flood
    before, after = raise_open_file_limit()  # SEC-19: the connection cap derives from it
    log.info("open-file limit %d (was %d)", after, before)
    supervisor = AppServerSupervisor(app_server_launcher(codex_bin, child_environment(settings)))
    await supervisor.start()  # the child starts while the web stack is imported
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):  # until uvicorn installs its own handlers
        loop.add_signal_handler(sig, task.cancel)
    try:
        try:
            app_module, server_module = await asyncio.to_thread(_import_web_stack)
            services = app_module.build_services(settings, supervisor=supervisor, devices=devices)
            services.announce_offer = True
            if publication is not None:
                # Removed in the lifespan's shutdown: uvicorn re-raises SIGTERM right
                # after it, so a `finally` here would not run on a signal.
                services.shutdown_hooks.append(publication.withdraw)
                services.public_override = tailnet.public_address(publication)
                await publication.publish()
                print(f"Published on your tailnet: {publication.url}", flush=True)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        config = server_module.uvicorn_config(app_module.create_app(services), settings)
        keep_tokens_out_of_logs()  # again: uvicorn.Config may have set levels
        log.info(
            "codexremote listening on %s://%s:%d", settings.scheme, settings.host, settings.port
        )
        await server_module.CompanionServer(config, services.hub).serve()
    except ServeRefused as exc:
        return _fail(str(exc))
    finally:
        if publication is not None:
            await publication.withdraw()  # idempotent; normally done in the lifespan
        await supervisor.stop()  # idempotent; the app's lifespan normally stopped it
    return 0


def _import_web_stack() -> tuple[Any, Any]:
    return importlib.import_module("codexremote.app"), importlib.import_module("codexremote.server")
