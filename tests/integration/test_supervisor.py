"""The supervisor against the real codex app-server, and the fake one for failures."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from codexremote.codex.backoff import DEAD_RETRY_INITIAL_S, dead_retry_delay
from codexremote.codex.errors import AppServerGone, AppServerUnavailable, RequestTimeout
from codexremote.codex.supervisor import MAX_FAST_FAILURES, AppServerSupervisor
from codexremote.codex.transport import StdioTransport, Transport
from codexremote.launcher import app_server_launcher
from tests.harness.processes import alive, fake_app_server_launcher, rss_mb


def recording(launcher: Any, transports: list[Any]) -> Any:
    """Wraps a launcher so the test can reach each spawned child (to kill it)."""

    async def launch() -> Transport:
        transport = await launcher()
        transports.append(transport)
        return transport

    return launch


async def wait_for(predicate, timeout: float = 10.0, step: float = 0.01) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(step)
    return time.monotonic() - start


@pytest.mark.integration
async def test_initialize_and_stream_a_turn_with_the_real_app_server(
    codex_bin: Path, codex_env: dict[str, str], git_repo: Path
) -> None:
    supervisor = AppServerSupervisor(app_server_launcher(str(codex_bin), codex_env))
    events: list[tuple[str, dict[str, Any]]] = []
    supervisor.add_notification_handler(lambda m, p: events.append((m, p)))
    await supervisor.start()
    try:
        assert await supervisor.wait_ready(30)
        assert supervisor.codex_version == "0.169.0"
        started = await supervisor.request("thread/start", {"cwd": str(git_repo)})
        thread_id = started["thread"]["id"]
        turn = await supervisor.request(
            "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "hello"}]}
        )
        turn_id = turn["turn"]["id"]
        await wait_for(
            lambda: any(m == "turn/completed" and p["turn"]["id"] == turn_id for m, p in events),
            timeout=30,
        )
        methods = [m for m, _ in events]
        assert methods.index("turn/started") < methods.index("item/agentMessage/delta")
        assert methods.index("item/agentMessage/delta") < methods.index("turn/completed")
        completed = next(p for m, p in events if m == "turn/completed")
        assert completed["turn"]["status"] == "completed"
    finally:
        await supervisor.stop()
    assert supervisor.state == "stopped"


@pytest.mark.integration
async def test_rel01_kill_9_mid_turn_restarts_and_fails_inflight(
    codex_bin: Path, codex_env: dict[str, str], git_repo: Path
) -> None:
    transports: list[StdioTransport] = []
    real = app_server_launcher(str(codex_bin), codex_env)
    supervisor = AppServerSupervisor(recording(real, transports), backoff_initial=0.1)
    generations: list[int] = []
    supervisor.add_generation_listener(generations.append)
    deltas: list[str] = []
    supervisor.add_notification_handler(
        lambda m, p: deltas.append(p["delta"]) if m == "item/agentMessage/delta" else None
    )
    await supervisor.start()
    try:
        assert await supervisor.wait_ready(30)
        thread = await supervisor.request("thread/start", {"cwd": str(git_repo)})
        await supervisor.request(
            "turn/start",
            {
                "threadId": thread["thread"]["id"],
                "input": [{"type": "text", "text": "slow-answer 200"}],
            },
        )
        await wait_for(lambda: len(deltas) >= 3, timeout=20)
        first = transports[0]
        os.kill(first.pid, signal.SIGKILL)
        detected = await wait_for(lambda: supervisor.state != "ready", timeout=5)
        assert detected <= 1.0, f"exit detected after {detected:.2f}s"
        assert supervisor.health()["state"] == "restarting"
        restart = await wait_for(lambda: supervisor.state == "ready", timeout=20)
        print(
            f"\nT7 kill -9 mid-turn: exit detected {detected:.2f} s, "
            f"ready again {restart:.2f} s later"
        )
        assert restart <= 5.0
        assert supervisor.generation == 2
        assert generations == [2]
        # The new child works.
        again = await supervisor.request("thread/start", {"cwd": str(git_repo)})
        assert again["thread"]["id"]
        # No orphans of the killed generation.
        await wait_for(lambda: not alive(first.pid), timeout=5)
    finally:
        await supervisor.stop()
    for transport in transports:
        assert transport.process.returncode is not None


async def test_rel01_crash_on_start_ends_dead_after_five_attempts() -> None:
    supervisor = AppServerSupervisor(
        fake_app_server_launcher(FAKE_FAIL_ON_START="1"), backoff_initial=0.02
    )
    await supervisor.start()
    try:
        dead_after = await wait_for(lambda: supervisor.state == "dead", timeout=15)
        print(f"\nT8 fails on start: {supervisor.spawns} attempts, dead after {dead_after:.2f} s")
        assert supervisor.spawns == MAX_FAST_FAILURES
        health = supervisor.health()
        assert health["state"] == "dead"
        assert health["lastError"]
        assert any("fail" in line.lower() for line in health["lastStderr"])
        assert health["consecutiveFailures"] == MAX_FAST_FAILURES
        # The slow retry is due in about a minute (60 s ± 20 %), not right away.
        next_retry = health["nextRetrySeconds"]
        assert 0.75 * DEAD_RETRY_INITIAL_S <= next_retry <= 1.2 * DEAD_RETRY_INITIAL_S
        await asyncio.sleep(0.3)
        assert supervisor.spawns == MAX_FAST_FAILURES  # no spinning after dead
        with pytest.raises(AppServerUnavailable):
            await supervisor.request("thread/list", {})
    finally:
        await supervisor.stop()


def test_rel01_dead_retry_backs_off_from_a_minute_to_five() -> None:
    rng = random.Random(7)
    delays = [dead_retry_delay(n, rng) for n in range(8)]
    bases = [60, 120, 240, 300, 300, 300, 300, 300]
    for delay, base in zip(delays, bases, strict=True):
        assert base * 0.8 <= delay <= base * 1.2


async def test_rel01_dead_keeps_retrying_and_recovers_once_the_cause_is_fixed(
    tmp_path: Path,
) -> None:
    """Issue 9.10: after five quick crashes the child stayed dead until the companion
    was restarted. Now the slow retry (shortened here) brings it back by itself."""
    broken = tmp_path / "broken"
    broken.write_text("x")
    failing = fake_app_server_launcher(FAKE_FAIL_ON_START="1")
    healthy = fake_app_server_launcher()
    states: list[str] = []

    async def launch() -> Transport:
        return await (failing() if broken.exists() else healthy())

    supervisor = AppServerSupervisor(launch, backoff_initial=0.02, dead_retry_initial=0.2)
    supervisor.add_state_listener(states.append)
    await supervisor.start()
    try:
        await wait_for(lambda: supervisor.state == "dead", timeout=15)
        await wait_for(lambda: supervisor.spawns >= MAX_FAST_FAILURES + 2, timeout=15)
        assert supervisor.state in ("dead", "restarting")  # still failing: still dead
        broken.unlink()  # the user fixes the cause at the computer
        await wait_for(lambda: supervisor.state == "ready", timeout=15)
        assert await supervisor.request("thread/start", {"cwd": str(tmp_path)})
        first_dead = states.index("dead")
        assert "restarting" in states[first_dead:]  # each attempt is shown honestly
    finally:
        await supervisor.stop()


async def test_rel01_manual_restart_of_a_dead_child_resets_the_failure_count() -> None:
    attempts: list[int] = []
    failing = fake_app_server_launcher(FAKE_FAIL_ON_START="1")
    healthy = fake_app_server_launcher()

    async def launch() -> Transport:
        attempts.append(1)
        return await (failing() if len(attempts) <= MAX_FAST_FAILURES else healthy())

    supervisor = AppServerSupervisor(launch, backoff_initial=0.02)  # dead retry: a minute
    await supervisor.start()
    try:
        await wait_for(lambda: supervisor.state == "dead", timeout=15)
        generation = supervisor.generation
        await supervisor.restart()  # at once, not in a minute
        assert supervisor.state == "ready"
        assert supervisor.generation == generation + 1
        assert supervisor.consecutive_failures == 0
        assert await supervisor.request("thread/start", {"cwd": "/"})
    finally:
        await supervisor.stop()


async def test_rel02_manual_restart_of_a_running_child_fails_inflight_typed() -> None:
    supervisor = AppServerSupervisor(fake_app_server_launcher(FAKE_HANG="1"))
    generations: list[int] = []
    supervisor.add_generation_listener(generations.append)
    await supervisor.start()
    try:
        assert await supervisor.wait_ready(10)
        first = supervisor.generation
        hung = asyncio.create_task(supervisor.request("thread/list", {}, timeout=60))
        await asyncio.sleep(0.1)
        restart = asyncio.create_task(supervisor.restart(ready_wait_s=10))
        with pytest.raises(AppServerGone):
            await hung
        await restart
        assert supervisor.state == "ready" and supervisor.generation == first + 1
        assert generations and generations[0] == first + 1  # approvals expire as on a crash
    finally:
        await supervisor.stop()


async def test_rel02_crash_fails_inflight_requests_within_a_second() -> None:
    transports: list[Any] = []
    supervisor = AppServerSupervisor(
        recording(fake_app_server_launcher(FAKE_HANG="1"), transports), backoff_initial=0.05
    )
    await supervisor.start()
    try:
        assert await supervisor.wait_ready(10)
        calls = [asyncio.create_task(supervisor.request("thread/list", {})) for _ in range(5)]
        await asyncio.sleep(0.05)
        os.kill(transports[0].pid, signal.SIGKILL)
        started = time.monotonic()
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert time.monotonic() - started <= 1.0
        assert all(isinstance(r, AppServerGone) for r in results)
        await wait_for(lambda: supervisor.generation == 2 and supervisor.state == "ready")
    finally:
        await supervisor.stop()


async def test_rel03_hung_child_request_times_out_and_shutdown_is_bounded() -> None:
    transports: list[Any] = []
    supervisor = AppServerSupervisor(
        recording(fake_app_server_launcher(FAKE_HANG="1", FAKE_IGNORE_SIGTERM="1"), transports)
    )
    await supervisor.start()
    assert await supervisor.wait_ready(10)
    with pytest.raises(RequestTimeout):
        await supervisor.request("thread/list", {}, timeout=0.2)
    started = time.monotonic()
    await supervisor.stop()
    shutdown = time.monotonic() - started
    print(f"\nT9 hung child (ignores SIGTERM): request timed out typed, shutdown {shutdown:.2f} s")
    assert shutdown <= 4.5
    assert transports[0].process.returncode is not None
    assert not alive(transports[0].pid)


@pytest.mark.parametrize("line_mib", [10, 40])
async def test_rel04_garbage_and_oversize_lines_do_not_kill_the_reader(line_mib: int) -> None:
    supervisor = AppServerSupervisor(
        fake_app_server_launcher(
            FAKE_GARBAGE_LINE="1", FAKE_OVERSIZE_LINE=str(line_mib * 1024 * 1024)
        )
    )
    before = rss_mb()
    await supervisor.start()
    try:
        assert await supervisor.wait_ready(10)
        await asyncio.sleep(0.5)
        result = await supervisor.request("thread/start", {"cwd": "/"}, timeout=10)
        assert result["thread"]["id"]
        assert supervisor.health()["malformedLines"] >= 1
        print(
            f"\nT9 {line_mib} MiB line + garbage line: reader alive, RSS "
            f"{before:.0f} -> {rss_mb():.0f} MB, malformed lines "
            f"{supervisor.health()['malformedLines']}"
        )
        assert supervisor.state == "ready"
    finally:
        await supervisor.stop()


async def test_rel05_overloaded_is_retried_with_backoff() -> None:
    supervisor = AppServerSupervisor(fake_app_server_launcher(FAKE_OVERLOADED="2"))
    await supervisor.start()
    try:
        assert await supervisor.wait_ready(10)
        result = await supervisor.request("thread/start", {"cwd": "/"})
        assert result["thread"]["id"]
    finally:
        await supervisor.stop()


async def test_rel04_flooding_child_keeps_answering_and_memory_stays_bounded() -> None:
    supervisor = AppServerSupervisor(
        fake_app_server_launcher(FAKE_FLOOD="1", FAKE_FLOOD_LINES="200000")
    )
    seen = 0

    def count(_method: str, _params: dict[str, Any]) -> None:
        nonlocal seen
        seen += 1

    supervisor.add_notification_handler(count)
    await supervisor.start()
    try:
        assert await supervisor.wait_ready(10)
        before = rss_mb()
        for _ in range(20):
            result = await supervisor.request("thread/start", {"cwd": "/"}, timeout=10)
            assert result["thread"]["id"]
        flooded = await wait_for(lambda: seen >= 200_000, timeout=60)
        growth = rss_mb() - before
        print(f"\nT9 flooding child: 200,000 lines in {flooded:.1f} s, RSS growth {growth:.1f} MB")
        assert growth < 50
    finally:
        await supervisor.stop()
