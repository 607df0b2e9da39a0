"""Companion memory over many large turns with the real app-server (issue 9.4, REL-06)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from codexremote.app import build_services
from codexremote.events.bus import StreamEvent
from codexremote.launcher import app_server_launcher
from codexremote.settings import Settings
from tests.harness.fake_model import FakeModel
from tests.harness.model_scripts import Prompt, Reply, message, stream
from tests.harness.processes import rss_mb

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
DELTAS = 64  # 64 deltas of 16 KiB = a 1 MiB answer


def mib_answer(p: Prompt) -> Reply:
    size = MIB // DELTAS
    return stream(
        p, message(f"msg_{p.seq}_mib", [(f"{p.seq}-{i} " * size)[:size] for i in range(DELTAS)])
    )


async def test_rel06_rss_flat_over_100_real_turns_of_1_mib_answers(
    tmp_path: Path,
    codex_bin: Path,
    codex_env: dict[str, str],
    codex_home: Path,
    fake_model: FakeModel,
    git_repo: Path,
) -> None:
    """No stream client connected, as in the issue; each turn in a fresh thread."""
    fake_model.add_script("mib-answer", mib_answer)
    settings = Settings(state_dir=tmp_path / "state", codex_home=codex_home)
    services = build_services(settings, launcher=app_server_launcher(str(codex_bin), codex_env))
    completed: dict[str, asyncio.Event] = {}

    def on_event(event: StreamEvent) -> None:
        if event.event == "turn_completed" and event.chat_id in completed:
            completed[event.chat_id].set()

    services.bus.subscribe(on_event)
    supervisor = services.supervisor
    await supervisor.start()
    samples: dict[int, float] = {}
    try:
        assert await supervisor.wait_ready(30), supervisor.health()
        gc.collect()
        samples[0] = rss_mb()
        for turn in range(1, 101):
            thread = (await supervisor.request("thread/start", {"cwd": str(git_repo)}))["thread"]
            completed[thread["id"]] = asyncio.Event()
            await supervisor.request(
                "turn/start",
                {"threadId": thread["id"], "input": [{"type": "text", "text": "mib-answer"}]},
            )
            await asyncio.wait_for(completed[thread["id"]].wait(), 60)
            del completed[thread["id"]]
            if turn in (10, 30, 50, 100):
                gc.collect()
                samples[turn] = rss_mb()
    finally:
        await supervisor.stop()
    print("\ncompanion RSS by turn (MB):", {t: round(mb) for t, mb in samples.items()})
    # 300 MiB of frames went through (deltas + completed items); what stays is the bound.
    assert samples[100] - samples[0] < 64 + 40
    assert samples[100] - samples[50] < 16  # flat once the buffer is full
    print(f"buffer {services.bus.buffered_bytes / MIB:.1f} MiB in {services.bus.buffered_events}")
    assert services.bus.buffered_bytes <= 64 * MIB  # the default stream_replay_mib
