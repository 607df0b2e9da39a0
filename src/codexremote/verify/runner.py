"""Runs the steps in order, one line each, then cleans up and writes the report.

With ``start`` it first starts its own companion (``codexremote serve`` on a
free loopback port with a throw-away state dir and the socket confirmer), so
the loop also works where no companion runs; that companion is stopped at the
end. The token it paired is revoked at the end unless ``--token`` was given.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from codexremote.verify.client import CompanionClient
from codexremote.verify.desktop import desktop_proof, desktop_supported
from codexremote.verify.report import Report, Status, StepFailed, StepResult, StepSkipped
from codexremote.verify.steps import (
    LoopState,
    Outcome,
    step_chat,
    step_context,
    step_git,
    step_message,
    step_rollout,
    step_runtime_config,
    step_token,
)
from codexremote.verify.workspace import make_workspace, remove_workspace

OWN_COMPANION_READY_S = 60.0
OWN_COMPANION_STOP_S = 10.0
SOCKET_DIR_MAX = 60  # + "/crv-xxxxxxxx/state/control.sock" stays under 104 bytes


@dataclass(frozen=True)
class VerifyOptions:
    url: str | None  # None: http://127.0.0.1:<port>
    port: int
    state_dir: Path  # where the report goes (and the running companion's control socket)
    codex_home: Path
    token: str | None = None
    start: bool = False
    codex_bin: str | None = None
    timeout_s: float = 60.0
    desktop_app_name: str = "Codex"


Step = Callable[[LoopState], Awaitable[Outcome]]


async def _desktop(state: LoopState) -> Outcome:
    desktop_supported()  # SKIP before anything else: no earlier failure makes it a FAIL
    message = state.need(state.answer and state.message, "a sent message (the message step)")
    work = Path(tempfile.mkdtemp(prefix="codexremote-ocr-"))
    try:
        detail, lines = await desktop_proof(message, state.data["desktop_app"], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return detail, {"ocrPreview": "\n".join(lines)[:400]}


async def _workspace_then(step: Step, state: LoopState) -> Outcome:
    if state.workspace is None and state.client.token is not None:
        state.workspace = await make_workspace()
    return await step(state)


STEPS: tuple[tuple[str, Step], ...] = (
    ("token", step_token),
    ("chat", lambda s: _workspace_then(step_chat, s)),
    ("context", step_context),
    ("git", step_git),
    ("runtime-config", step_runtime_config),
    ("message", step_message),
    ("rollout", step_rollout),
    ("desktop", _desktop),
)


async def run_steps(state: LoopState, report: Report, on_line: Callable[[str], None]) -> None:
    for name, step in STEPS:
        started = time.monotonic()
        status: Status
        try:
            detail, data = await step(state)
            status = "PASS"
        except StepSkipped as exc:
            status, detail, data = "SKIP", str(exc), {}
        except StepFailed as exc:
            status, detail, data = "FAIL", str(exc), {}
        except Exception as exc:  # a bug or an odd answer: the loop still goes on
            status, detail, data = "FAIL", f"unexpected {type(exc).__name__}: {exc!s:.200}", {}
        detail = " ".join(detail.split())  # one line, whatever a server answered
        result = StepResult(name, status, round(time.monotonic() - started, 2), detail, data)
        report.steps.append(result)
        on_line(result.line())


def _short_temp_dir() -> str | None:
    """A Unix socket path must stay under ~104 bytes (macOS) and the companion puts
    ``state/control.sock`` in it: a long $TMPDIR falls back to /tmp."""
    base = tempfile.gettempdir()
    return base if len(base) <= SOCKET_DIR_MAX and os.path.isdir(base) else "/tmp"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def own_companion(options: VerifyOptions) -> AsyncIterator[tuple[str, Path]]:
    """``codexremote serve`` on a free port; yields (url, its state dir)."""
    root = Path(tempfile.mkdtemp(prefix="crv-", dir=_short_temp_dir()))
    state_dir = root / "state"
    port = _free_port()
    argv = [sys.executable, "-m", "codexremote.cli", "serve", "--port", str(port)]
    argv += ["--state-dir", str(state_dir), "--codex-home", str(options.codex_home)]
    argv += ["--confirmer", "socket"]
    if options.codex_bin:
        argv += ["--codex-bin", options.codex_bin]
    with (root / "companion.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, env=dict(os.environ)
        )
    url = f"http://127.0.0.1:{port}"
    try:
        client = CompanionClient(url, "verify-start")
        try:
            deadline = time.monotonic() + OWN_COMPANION_READY_S
            while time.monotonic() < deadline and process.returncode is None:
                if await client.alive():
                    break
                await asyncio.sleep(0.1)
        finally:
            await client.aclose()
        yield url, state_dir
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), OWN_COMPANION_STOP_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        if os.environ.get("CODEXREMOTE_VERIFY_KEEP"):
            print(f"own companion's files kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


async def run_verify(options: VerifyOptions, on_line: Callable[[str], None] = print) -> Report:
    if options.start:
        async with own_companion(options) as (url, state_dir):
            return await _run(options, url, state_dir, on_line)
    url = options.url or f"http://127.0.0.1:{options.port}"
    return await _run(options, url, options.state_dir, on_line)


async def _run(
    options: VerifyOptions, url: str, companion_state: Path, on_line: Callable[[str], None]
) -> Report:
    trace_id = f"verify-{uuid.uuid4().hex}"
    client = CompanionClient(url, trace_id)
    client.token = options.token
    state = LoopState(
        client=client,
        state_dir=companion_state,
        codex_home=options.codex_home,
        message=f"codexremote-verify-{trace_id[-8:]}",
        timeout_s=options.timeout_s,
        token_given=options.token is not None,
        data={"desktop_app": options.desktop_app_name},
    )
    report = Report(companion_url=url, trace_id=trace_id)
    try:
        await run_steps(state, report, on_line)
    finally:
        if state.device_id is not None:  # our own pairing: leave no device behind
            with contextlib.suppress(StepFailed):
                await client.call("POST", "/v1/pairing/revoke", {})
        if state.workspace is not None:
            await asyncio.to_thread(remove_workspace, state.workspace)
        await client.aclose()
    return report
