"""T2's hostile stream client, in its own process (``bench.stream_latency --hostile``).

In the test (tests/integration/test_stream_fuzz.py) the attacker, the healthy client and
the companion share one event loop, so the healthy client's latency also counts the
attacker's own work. Here the attacker is a separate process, as a hostile peer on the
tailnet would be, and loops over the test's generated frames until ``--seconds`` are up:
ignorable frames on authenticated sockets, closing frames (invalid UTF-8, oversize),
garbage as a first message, and bursts of 10,000 pings. Prints one JSON line of counts.

Usage: ``python -m bench._stream_attacker --port P --token T --seconds S``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness.stream_frames import close_code, generated_frames, send_frame

PER_SOCKET = 100  # ignorable frames per authenticated socket (the limit is 120 a minute)
BURST = 10_000
FIRST_MESSAGE_SAMPLE = 40


async def attack(port: int, token: str, seconds: float) -> Counter[str]:
    url = f"ws://127.0.0.1:{port}/v1/stream?chatId=Z"
    auth = {"Authorization": f"Bearer {token}"}
    frames = generated_frames()
    ignorable = [f for f in frames if f[0] in ("binary", "not_json", "wrong_json")]
    closing = [f for f in frames if f[0] in ("bad_utf8", "oversize")]
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

    async def one(step: str, kind: str, data: object, headers: dict[str, str] | None) -> None:
        try:
            ws = await connect(url, additional_headers=headers, max_size=None)
        except (InvalidStatus, OSError):
            counts[f"{step}: refused at connect"] += 1
            return
        with contextlib.suppress(ConnectionClosed):
            await send_frame(ws, kind, data)
        counts[f"{step}: close {await close_code(ws)}"] += 1

    while time.monotonic() < deadline:
        for i in range(0, len(ignorable), PER_SOCKET):
            try:
                ws = await connect(url, additional_headers=auth, max_size=None)
            except (InvalidStatus, OSError):
                counts["ignorable: refused at connect"] += 1
                continue
            for kind, data in ignorable[i : i + PER_SOCKET]:
                await send_frame(ws, kind, data)
                counts["ignorable frames"] += 1
            await ws.close()
        for kind, data in closing:
            await one("closing", kind, data, auth)
        for kind, data in frames[:FIRST_MESSAGE_SAMPLE]:
            await one("first message", kind, data, None)
        try:
            ws = await connect(url, additional_headers=auth, max_size=None)
            for _ in range(BURST):
                await ws.send('{"type": "ping"}')
                counts["burst pings"] += 1
        except (InvalidStatus, OSError, ConnectionClosed):
            pass
        counts["rounds"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="hostile stream client (T2)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    counts = asyncio.run(attack(args.port, args.token, args.seconds))
    print(json.dumps(dict(counts)), flush=True)


if __name__ == "__main__":
    main()
