"""Supervises the ``codex app-server`` child (REL-01, REL-02, REL-03, REL-05).

Lifecycle contract:

* ``start()`` launches the run loop: spawn → ``initialize`` → ``ready``.
* The child's exit is noticed within ``EXIT_POLL_S`` (we wait on the process
  itself, not only on EOF, because a grandchild may keep the pipe open); every
  in-flight request then fails with ``AppServerGone`` and generation listeners
  are told, so open approvals are closed and never sent to the new child.
* Restarts back off exponentially with jitter (``BACKOFF_*``); a child that
  stayed up ``STABLE_UPTIME_S`` resets the failure count; after
  ``MAX_FAST_FAILURES`` consecutive failures the state is ``dead``: requests
  fail at once (503) instead of waiting, and the supervisor keeps trying with a
  long backoff (``DEAD_RETRY_*``: 60 s doubling to 5 min), so a fix made at the
  computer (a codex update, a repaired config) is picked up without
  restarting the companion. Each such attempt shows ``restarting``, then
  ``ready`` or ``dead`` again; ``health()`` says when the next one is due.
* ``restart()`` (the phone's ``POST /v1/app-server/restart``, the CLI's
  ``codexremote app-server restart``) restarts at once, dead or running, and
  resets the failure count; a running child's in-flight requests fail with
  ``AppServerGone`` and its open approvals expire, exactly as on a crash.
* ``stop()`` closes stdin, then SIGTERM, then SIGKILL the process group
  (``StdioTransport.close``), within ``SHUTDOWN_BUDGET_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from codexremote import __version__
from codexremote.codex.backoff import (
    BACKOFF_INITIAL_S,
    DEAD_RETRY_INITIAL_S,
    MAX_FAST_FAILURES,
    STABLE_UPTIME_S,
    backoff_delay,
    dead_retry_delay,
)
from codexremote.codex.dispatcher import (
    DEFAULT_REQUEST_TIMEOUT_S,
    Dispatcher,
    IncomingRequest,
    NotificationHandler,
)
from codexremote.codex.errors import (
    SERVER_OVERLOADED,
    AppServerError,
    AppServerGone,
    AppServerUnavailable,
)
from codexremote.codex.transport import Transport
from codexremote.errors import Gone

log = logging.getLogger("codexremote.codex")

State = Literal["starting", "ready", "restarting", "dead", "stopped"]

INITIALIZE_TIMEOUT_S = 30.0  # fresh CODEX_HOME: ~0.12 s here; slow disks and first runs need more
RESTART_READY_WAIT_S = 10.0  # a manual restart answers once ready, or after this long
READY_WAIT_S = 5.0  # how long a request waits for a (re)starting child before 503
OVERLOAD_RETRIES = 4  # -32001 "server overloaded": retry with backoff this many times
OVERLOAD_BACKOFF_S = 0.2
SHUTDOWN_BUDGET_S = 4.5

Launcher = Callable[[], Awaitable[Transport]]
GenerationListener = Callable[[int], None]
ServerRequestSink = Callable[[IncomingRequest], Awaitable[None]]


class AppServerSupervisor:
    def __init__(
        self,
        launcher: Launcher,
        *,
        client_name: str = "codexremote",
        backoff_initial: float = BACKOFF_INITIAL_S,
        dead_retry_initial: float = DEAD_RETRY_INITIAL_S,
    ) -> None:
        self._launcher = launcher
        self._backoff_initial = backoff_initial
        self._dead_retry_initial = dead_retry_initial
        self._client_name = client_name
        self.state: State = "stopped"
        self.generation = 0
        self.codex_version: str | None = None
        self.user_agent: str | None = None
        self.last_error: str | None = None
        self.stderr_tail: list[str] = []
        self.restarts = 0
        self.spawns = 0
        self.consecutive_failures = 0
        self._dispatcher: Dispatcher | None = None
        self._transport: Transport | None = None
        self._notification_handlers: list[NotificationHandler] = []
        self._server_request_sink: ServerRequestSink | None = None
        self._generation_listeners: list[GenerationListener] = []
        self._state_listeners: list[Callable[[State], None]] = []
        self._ready = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.started_at: float | None = None
        self.next_retry_at: float | None = None  # monotonic time of the next restart attempt
        self._restart_lock = asyncio.Lock()

    # -- wiring -----------------------------------------------------------
    def add_notification_handler(self, handler: NotificationHandler) -> None:
        self._notification_handlers.append(handler)

    def set_server_request_sink(self, sink: ServerRequestSink) -> None:
        self._server_request_sink = sink

    def add_generation_listener(self, listener: GenerationListener) -> None:
        """Called with the new generation number whenever a child is gone."""
        self._generation_listeners.append(listener)

    def add_state_listener(self, listener: Callable[[State], None]) -> None:
        self._state_listeners.append(listener)

    # -- lifecycle --------------------------------------------------------
    async def start(self) -> None:
        if self._loop_task is not None:
            return
        self._stopping = False
        self._set_state("starting")
        self._loop_task = asyncio.create_task(self._run_loop())

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        transport = self._transport
        if transport is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(transport.close(), SHUTDOWN_BUDGET_S)
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop_task
            self._loop_task = None
        self._set_state("stopped")

    async def restart(self, *, ready_wait_s: float = RESTART_READY_WAIT_S) -> None:
        """Manual restart, dead or running (module docstring); returns once the new
        child is ready or ``ready_wait_s`` passed. Concurrent calls restart once each,
        one after the other."""
        async with self._restart_lock:
            log.info("app-server restart requested (state %s)", self.state)
            await self.stop()
            self.consecutive_failures = 0
            await self.start()
            await self.wait_ready(ready_wait_s)

    async def wait_ready(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- requests ---------------------------------------------------------
    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        for attempt in range(OVERLOAD_RETRIES + 1):
            dispatcher = await self._ready_dispatcher()
            try:
                return await dispatcher.request(
                    method, params, timeout=timeout or DEFAULT_REQUEST_TIMEOUT_S
                )
            except AppServerError as exc:
                if exc.rpc_code != SERVER_OVERLOADED or attempt == OVERLOAD_RETRIES:
                    raise
                await asyncio.sleep(OVERLOAD_BACKOFF_S * (2**attempt) * random.uniform(0.8, 1.2))
        raise AssertionError("unreachable")

    async def respond(self, request: IncomingRequest, result: Any) -> None:
        dispatcher = self._dispatcher
        if dispatcher is None or dispatcher.generation != request.generation:
            raise Gone("Approval is no longer pending: app-server restarted")
        await dispatcher.respond(request, result)

    async def respond_error(self, request: IncomingRequest, code: int, message: str) -> None:
        dispatcher = self._dispatcher
        if dispatcher is None or dispatcher.generation != request.generation:
            return
        with contextlib.suppress(Exception):
            await dispatcher.respond_error(request, code, message)

    async def _ready_dispatcher(self) -> Dispatcher:
        if self.state == "dead":
            raise AppServerUnavailable("Codex app-server is not running (it failed to start)")
        if self.state != "ready" and not await self.wait_ready(READY_WAIT_S):
            raise AppServerUnavailable(f"Codex app-server is {self.state}")
        dispatcher = self._dispatcher
        if dispatcher is None or dispatcher.closed:
            raise AppServerGone("Codex app-server is restarting")
        return dispatcher

    # -- health -----------------------------------------------------------
    def health(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "state": self.state,
            "codexVersion": self.codex_version,
            "generation": self.generation,
            "restarts": self.restarts,
            "uptimeSeconds": (
                round(time.monotonic() - self.started_at, 1)
                if self.started_at is not None and self.state == "ready"
                else None
            ),
        }
        if self.state in ("dead", "restarting") and self.last_error:
            info["lastError"] = self.last_error
            info["lastStderr"] = meaningful_stderr(self.stderr_tail)
        if self._dispatcher is not None:
            info["malformedLines"] = self._dispatcher.stats.malformed_lines
        if self.state in ("dead", "restarting"):
            info["consecutiveFailures"] = self.consecutive_failures
            if self.next_retry_at is not None:
                info["nextRetrySeconds"] = round(max(0.0, self.next_retry_at - time.monotonic()), 1)
        return info

    # -- the loop ---------------------------------------------------------
    @property
    def stopping(self) -> bool:
        return self._stopping

    def _set_state(self, state: State) -> None:
        if state == self.state:
            return
        self.state = state
        if state == "ready":
            self._ready.set()
        else:
            self._ready.clear()
        log.info("app-server state: %s", state)
        for listener in list(self._state_listeners):
            with contextlib.suppress(Exception):
                listener(state)

    async def _run_loop(self) -> None:
        while not self._stopping:
            lived = await self._run_one_child()
            if self.stopping:
                return
            if lived >= STABLE_UPTIME_S:
                self.consecutive_failures = 0
            self.consecutive_failures += 1
            dead_failures = self.consecutive_failures - MAX_FAST_FAILURES
            if dead_failures >= 0:
                delay = dead_retry_delay(dead_failures, initial=self._dead_retry_initial)
                log.error(
                    "app-server failed %d times in a row (%s); next try in %.0f s",
                    self.consecutive_failures,
                    self.last_error,
                    delay,
                )
                self._set_state("dead")
            else:
                delay = backoff_delay(self.consecutive_failures, initial=self._backoff_initial)
                self._set_state("restarting")
            self.restarts += 1
            self.next_retry_at = time.monotonic() + delay
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self.next_retry_at = None
            if not self._stopping:
                self._set_state("restarting")  # an attempt is under way (also after dead)

    async def _run_one_child(self) -> float:
        """Spawn, initialize and watch one child; returns how long it was ready."""
        self.generation += 1
        self.spawns += 1
        generation = self.generation
        try:
            transport = await self._launcher()
        except (OSError, ValueError) as exc:
            self.last_error = f"could not start codex app-server: {exc}"
            log.error("%s", self.last_error)
            return 0.0
        self._transport = transport
        dispatcher = Dispatcher(
            transport,
            generation=generation,
            on_notification=self._fan_out,
            on_server_request=self._deliver_server_request,
        )
        self._dispatcher = dispatcher
        reader = asyncio.create_task(dispatcher.run())
        exited = asyncio.create_task(transport.wait_exit())
        ready_since: float | None = None
        try:
            init = asyncio.create_task(self._initialize(dispatcher))
            done, _ = await asyncio.wait({init, exited}, return_when=asyncio.FIRST_COMPLETED)
            if init in done and init.exception() is None:
                ready_since = time.monotonic()
                self.started_at = ready_since
                self.last_error = None
                self._set_state("ready")
                await asyncio.wait({reader, exited}, return_when=asyncio.FIRST_COMPLETED)
            else:
                init.cancel()
                with contextlib.suppress(BaseException):
                    await init
                error = None if init.cancelled() else init.exception()
                self.last_error = f"app-server failed to initialize: {error or 'exited'}"
        finally:
            if not self._stopping:
                log.warning("app-server (generation %d) is gone", generation)
            dispatcher.fail_pending("app-server exited")
            self._capture_stderr(transport)
            # Before any await: stop() (a manual restart) may cancel this task while it
            # waits below, and open approvals must expire all the same (REL-02).
            for listener in list(self._generation_listeners):
                with contextlib.suppress(Exception):
                    listener(generation + 1)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(transport.close(), SHUTDOWN_BUDGET_S)
            for task in (reader, exited):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            self._capture_stderr(transport)
            if self.last_error is None and not self._stopping:
                code = exited.result() if exited.done() and not exited.cancelled() else None
                self.last_error = f"app-server exited (code {code})"
        return 0.0 if ready_since is None else time.monotonic() - ready_since

    def _capture_stderr(self, transport: Transport) -> None:
        tail = getattr(transport, "stderr_tail", None)
        if tail:
            self.stderr_tail = list(tail)

    async def _initialize(self, dispatcher: Dispatcher) -> None:
        result = await dispatcher.request(
            "initialize",
            {
                "clientInfo": {
                    "name": self._client_name,
                    "title": "codex-remote companion",
                    "version": __version__,
                },
                "capabilities": {"experimentalApi": True},
            },
            timeout=INITIALIZE_TIMEOUT_S,
        )
        user_agent = result.get("userAgent") if isinstance(result, dict) else None
        self.user_agent = user_agent if isinstance(user_agent, str) else None
        self.codex_version = parse_codex_version(self.user_agent)
        with contextlib.suppress(AppServerGone):
            await dispatcher.notify("initialized")

    def _fan_out(self, method: str, params: dict[str, Any]) -> None:
        for handler in list(self._notification_handlers):
            try:
                handler(method, params)
            except Exception:
                log.exception("notification handler failed for %s", method)

    async def _deliver_server_request(self, request: IncomingRequest) -> None:
        sink = self._server_request_sink
        if sink is None:
            await self.respond_error(request, -32601, "no handler for server requests")
            return
        await sink(request)


_BACKTRACE_LINE = re.compile(r"^\s*(\d+: |at |Stack backtrace:)")
STDERR_LINES_SHOWN = 10


def meaningful_stderr(lines: list[str]) -> list[str]:
    """The last stderr lines without Rust backtrace frames, which hide the real error."""
    kept = [line for line in lines if line.strip() and not _BACKTRACE_LINE.match(line)]
    return kept[-STDERR_LINES_SHOWN:]


_VERSION = re.compile(r"/(\d+\.\d+\.\d+[^\s)]*)")


def parse_codex_version(user_agent: str | None) -> str | None:
    """``codexremote/0.169.0 (Linux ...)`` → ``0.169.0``."""
    if not user_agent:
        return None
    match = _VERSION.search(user_agent)
    return match.group(1) if match else None
