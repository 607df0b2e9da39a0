"""Benchmark: time from an approval being raised to its push request leaving the companion.

Two modes. Default: the **event bus directly** (no app-server): 50 ``approval_required``
events are published, one after the other, each waiting for its push to arrive.
``--app-server``: the **real codex app-server** with the fake model's ``run-command``
script, 50 turns each raising a command approval through the product's supervisor and
approvals service (answered ``decline`` after its push arrived). Either way the rest is the
product: ``PushService`` (bus subscriber, visibility rule), ``Delivery`` (per-device queue,
rate limit, pywebpush in a worker thread: VAPID signing, aes128gcm, POST), the real
subscription store and VAPID key. The push service is the test harness's
(``tests/harness/push_service.py``: https on 127.0.0.1, verifies the JWT and decrypts every
payload), in a thread of this process.

The rate limit allows 10 pushes per device at once, then one per 6 s, so the 50 approvals go
to 5 paired devices in turn (the others report a visible client for that approval); each
device sees 10, within its burst, so the figures show the pipeline, not the limiter.

Figures: raised (``bus.publish``) → request leaves (just before the POST, after the VAPID
JWT is signed; measured inside the companion), and raised → the push service has decrypted
it (includes TLS, encryption, the service's own checks). p50/p95 in ms. Issue 13 asks for the
figures; there is no target.

In ``--app-server`` mode the visibility the pages would report on their stream sockets is
set by the bench (no sockets): the round's device is "not visible" until its approval push
arrived, then every device is "visible", so the turn's own ``turn_completed`` push is
suppressed and does not use up the rate limit.

Usage: ``.venv/bin/python -m bench.push_latency [--count 50] [--app-server]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # `python bench/<name>.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import NPM_CODEX, machine_line, median, percentile, table
from codexremote.app import build_services
from codexremote.events.bus import EventBus, StreamEvent
from codexremote.launcher import app_server_launcher
from codexremote.pairing.device_store import DeviceStore
from codexremote.push import PushService, SubscriptionStore, VapidKeys
from codexremote.settings import Settings
from tests.harness.codex_home import codex_env, make_codex_home
from tests.harness.fake_model import FakeModel
from tests.harness.push_service import FakePushService

DEVICES = 5
WAIT_S = 30.0


async def run(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakePushService(Path(tmp)) as service:
        os.environ["REQUESTS_CA_BUNDLE"] = str(service.cert_path)
        state = Path(tmp) / "state"
        devices = DeviceStore(state)
        ids = [devices.issue(f"phone {i}").device_id for i in range(DEVICES)]
        store = SubscriptionStore(state)
        for i, device_id in enumerate(ids):
            body = service.subscribe(f"d{i}")
            store.add(
                device_id, body["endpoint"], body["keys"]["p256dh"], body["keys"]["auth"], None
            )
        bus = EventBus()
        target = {"device": ids[0]}
        push = PushService(
            bus,
            store,
            VapidKeys.load_or_create(state),
            contact="mailto:bench@example.com",
            content="full",
            ttl_s=600,
            chat_title=lambda chat_id: f"Chat {chat_id}",
            is_visible=lambda device_id: device_id != target["device"],
            is_paired=lambda device_id: devices.get(device_id) is not None,
        )
        service.vapid_key = push.keys.public_key
        await push.start()
        to_service: list[float] = []
        for i in range(count):
            target["device"] = ids[i % DEVICES]
            approval = {"id": f"a{i}", "summary": "x", "details": {"command": f"make test {i}"}}
            raised = time.monotonic()
            bus.publish("approval_required", f"chat-{i}", approval)
            received = await asyncio.to_thread(service.wait_for, i + 1, WAIT_S)
            to_service.append((received[i].at - raised) * 1000)
            assert not received[i].problems, received[i].problems
        await push.aclose()
        leaves = list(push.stats.latencies_ms)
    report("event bus driven directly", count, leaves, to_service)


def report(mode: str, count: int, leaves: list[float], to_service: list[float]) -> None:
    print(machine_line())
    print(f"{count} approvals, {mode}, {DEVICES} devices, harness push service (https)")
    rows = [
        [name, f"{median(values):.2f}", f"{percentile(values, 95):.2f}", f"{max(values):.2f}"]
        for name, values in (
            ("raised -> request leaves the companion", leaves),
            ("raised -> push service decrypted it", to_service),
        )
    ]
    print(table(rows, ["figure (ms)", "p50", "p95", "max"]))


async def run_app_server(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakePushService(Path(tmp)) as service:
        os.environ["REQUESTS_CA_BUNDLE"] = str(service.cert_path)
        root = Path(tmp)
        async with FakeModel() as model:
            codex_home = make_codex_home(root / "codex_home", model.url, mcp_demo=False)
            env = codex_env(codex_home, root / "home")
            repo = root / "repo"
            repo.mkdir()
            settings = Settings(
                state_dir=root / "state", codex_home=codex_home, push_contact="mailto:b@example.com"
            )
            services = build_services(settings, launcher=app_server_launcher(str(NPM_CODEX), env))
            push = services.push
            assert push is not None
            ids = [services.devices.issue(f"phone {i}").device_id for i in range(DEVICES)]
            for i, device_id in enumerate(ids):
                body = service.subscribe(f"d{i}")
                keys = body["keys"]
                push.store.add(device_id, body["endpoint"], keys["p256dh"], keys["auth"], None)
            service.vapid_key = push.keys.public_key
            target: dict[str, str | None] = {"device": None}
            push.is_visible = lambda device_id: device_id != target["device"]
            approvals: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
            done: asyncio.Queue[str] = asyncio.Queue()

            def on_event(event: StreamEvent) -> None:
                if event.event == "approval_required":
                    approvals.put_nowait((str(event.payload["id"]), time.monotonic()))
                elif event.event == "turn_completed":
                    done.put_nowait(event.chat_id)

            services.bus.subscribe(on_event)
            supervisor = services.supervisor
            await supervisor.start()
            await push.start()
            to_service: list[float] = []
            try:
                assert await supervisor.wait_ready(30), supervisor.health()
                for i in range(count):
                    target["device"] = ids[i % DEVICES]
                    started = await supervisor.request("thread/start", {"cwd": str(repo)})
                    thread_id = started["thread"]["id"]
                    text = [{"type": "text", "text": "run-command"}]
                    await supervisor.request("turn/start", {"threadId": thread_id, "input": text})
                    approval_id, raised = await asyncio.wait_for(approvals.get(), WAIT_S)
                    received = await asyncio.to_thread(service.wait_for, i + 1, WAIT_S)
                    target["device"] = None
                    assert not received[i].problems, received[i].problems
                    to_service.append((received[i].at - raised) * 1000)
                    await services.approvals.decide(approval_id, "decline")
                    await asyncio.wait_for(done.get(), WAIT_S)
                leaves = list(push.stats.latencies_ms)
            finally:
                await push.aclose()
                await supervisor.stop()
    report("real codex app-server (run-command)", count, leaves, to_service)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--app-server", action="store_true")
    args = parser.parse_args()
    asyncio.run(run_app_server(args.count) if args.app_server else run(args.count))


if __name__ == "__main__":
    main()
