"""Benchmark: time from an approval being raised to its push request leaving the companion.

Drives the **event bus directly** (no app-server): 50 ``approval_required`` events are
published, one after the other, each waiting for its push to arrive. The rest is the
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

Usage: ``.venv/bin/python -m bench.push_latency [--count 50]``
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

from bench._common import machine_line, median, percentile, table
from codexremote.events.bus import EventBus
from codexremote.pairing.device_store import DeviceStore
from codexremote.push import PushService, SubscriptionStore, VapidKeys
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
    print(machine_line())
    print(f"{count} approvals over the event bus, {DEVICES} devices, harness push service (https)")
    rows = [
        [name, f"{median(values):.2f}", f"{percentile(values, 95):.2f}", f"{max(values):.2f}"]
        for name, values in (
            ("raised -> request leaves the companion", leaves),
            ("raised -> push service decrypted it", to_service),
        )
    ]
    print(table(rows, ["figure (ms)", "p50", "p95", "max"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50)
    asyncio.run(run(parser.parse_args().count))


if __name__ == "__main__":
    main()
