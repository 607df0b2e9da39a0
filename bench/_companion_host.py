"""Runs the real companion (build_services + create_app + uvicorn) for a benchmark.

The app-server child is ``bench/_fake_app_server.py``, spawned through the real
supervisor with ``StdioTransport.spawn`` (its knobs come from this process's
``BENCH_*`` environment). Prints one JSON line ``{port, token, pid, historyPath}``
on stdout once uvicorn listens and the child is ready, then serves until SIGTERM
(uvicorn's own graceful shutdown: stream clients closed, child stopped).

``--stage-file``: record, per emitted delta, the lag from the fake app-server's
stamp to the moment the relay has published it (before any WebSocket send).

``--history-route``: when the app has no history paging route yet, mount a
bench-only ``GET /bench/history/{chat_id}?cursor=&limit=`` that calls
``HistoryService.page`` in this process, so the memory benchmark measures the
same work in the same process; ``historyPath`` says which route to use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from codexremote.app import Services, build_services, create_app
from codexremote.cli.serve import keep_tokens_out_of_logs
from codexremote.codex.transport import StdioTransport, Transport
from codexremote.server import WS_MAX_MESSAGE_BYTES, WS_PING_INTERVAL_S, WS_PING_TIMEOUT_S
from codexremote.settings import Settings

FAKE_APP_SERVER = Path(__file__).with_name("_fake_app_server.py")
READY_TIMEOUT_S = 30.0  # uvicorn listening + fake child initialized
POLL_S = 0.01


def existing_history_route(app: FastAPI) -> str | None:
    """The product's history paging route, if someone has wired one in already.

    Read from the OpenAPI schema: FastAPI includes routers lazily, so ``app.routes``
    does not list the included paths.
    """
    for path, operations in app.openapi().get("paths", {}).items():
        if "get" in operations and path.startswith("/v1/chats/") and path.endswith("/history"):
            return re.sub(r"\{[^}]+\}", "{chat_id}", str(path))
    return None


def mount_bench_history(app: FastAPI, services: Services) -> str:
    from codexremote.history import HistoryService, LiveActivities

    history = HistoryService(services.settings.codex_home / "sessions", LiveActivities())

    async def bench_history(chat_id: str, cursor: str | None = None, limit: int = 50) -> Any:
        page = await history.page(chat_id, cursor, limit)
        return {"data": page.to_wire()}

    app.add_api_route("/bench/history/{chat_id}", bench_history, methods=["GET"])
    return "/bench/history/{chat_id}"


async def main(args: argparse.Namespace) -> None:
    values = {"port": args.port, "state_dir": args.state_dir, "codex_home": args.codex_home}
    if os.environ.get("BENCH_DICTATION_BASE_URL"):  # bench/dictation.py's fake upstream
        values["dictation_base_url"] = os.environ["BENCH_DICTATION_BASE_URL"]
    settings = Settings.model_validate(values)
    child_env = dict(os.environ)
    child_env["CODEX_HOME"] = args.codex_home

    async def launch() -> Transport:
        return await StdioTransport.spawn([sys.executable, str(FAKE_APP_SERVER)], child_env)

    services = build_services(settings, launcher=launch)
    dispatch_lags_ns: list[int] = []
    if args.stage_file:
        # Registered after the relay: runs once the event is published to every client
        # queue, so this lag is pipe + read + parse + relay, before any WebSocket send.
        def on_delta(method: str, params: dict[str, Any]) -> None:
            stamp = params.get("emittedAtNs")
            if method == "item/agentMessage/delta" and isinstance(stamp, int):
                dispatch_lags_ns.append(time.monotonic_ns() - stamp)

        services.supervisor.add_notification_handler(on_delta)
    token = services.devices.issue("bench").token
    if args.web_dir:  # a web client other than the package's own (bench experiments)
        from codexremote.web_shell import load_shell

        services.shell = load_shell(Path(args.web_dir))
    app = create_app(services)
    keep_tokens_out_of_logs()  # as `serve`: a client's bad frame is a WARNING, no traceback
    history_path = ""
    if args.history_route:
        history_path = existing_history_route(app) or mount_bench_history(app, services)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        server_header=False,
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        ws_per_message_deflate=False,
        ws_ping_interval=WS_PING_INTERVAL_S,
        ws_ping_timeout=WS_PING_TIMEOUT_S,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    while not server.started and not task.done() and loop.time() < deadline:
        await asyncio.sleep(POLL_S)
    ready = server.started and await services.supervisor.wait_ready(READY_TIMEOUT_S)
    if not ready:
        server.should_exit = True
        await task
        raise SystemExit("companion host: not ready")
    info = {"port": args.port, "token": token, "pid": os.getpid(), "historyPath": history_path}
    print(json.dumps(info), flush=True)
    try:
        await task
    finally:
        if args.stage_file:
            Path(args.stage_file).write_text(json.dumps(dispatch_lags_ns))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--codex-home", required=True)
    parser.add_argument("--history-route", action="store_true")
    parser.add_argument("--web-dir", help="serve this web client directory instead of web/")
    parser.add_argument("--stage-file", help="write per-event dispatch lags (ns) here at exit")
    parser.add_argument("--profile", help="write cProfile stats of the whole run to this file")
    parsed = parser.parse_args()
    # uvicorn re-raises the SIGTERM it handled once it has shut down: exit cleanly (0)
    # so the profile below is written.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if parsed.profile:
        import cProfile

        profiler = cProfile.Profile()
        try:
            profiler.runcall(asyncio.run, main(parsed))
        finally:
            profiler.dump_stats(parsed.profile)
    else:
        asyncio.run(main(parsed))
