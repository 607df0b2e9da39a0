"""Benchmark: dictation through the companion vs straight to the transcription server.

Figures (no target in the issue; reported for the record):

* round trip of ``POST /v1/dictation/transcribe`` (JSON + base64, as the phone sends
  it) against the same recording posted as multipart straight to the fake
  OpenAI-compatible server: the companion's overhead, for the phone's short m4a
  and for a ~20 MB m4a near the upstream's 25 MB limit;
* the event loop while a 20 MB transcription runs: ``GET /health`` is polled every
  20 ms alongside, its latency compared with an idle baseline (nothing may block
  the loop: the 27 MB of JSON is parsed and the base64 decoded in worker threads);
* the companion's peak RSS (VmHWM) after the big uploads.

The companion runs in its own process (``bench/_companion_host.py``) with the
harness's ``FakeTranscriber`` (ffprobe checks every upload) as its upstream, in a
third process (``bench/_fake_transcriber_host.py``), so neither shares a GIL with
the poller here.

Usage: ``.venv/bin/python -m bench.dictation [--rounds 10] [--big-rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

if not __package__:  # `python bench/<name>.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import CompanionHost, hwm_mib, machine_line, median, percentile, table
from tests.harness.audio import Recording, make_recordings

FAKE_HOST = Path(__file__).with_name("_fake_transcriber_host.py")

HTTP_TIMEOUT_S = 120.0
BIG_SECONDS = 620  # at 256 kbit/s AAC: ~19.8 MB
HEALTH_POLL_S = 0.02
TOOL_TIMEOUT_S = 300.0


def big_recording(root: Path) -> Recording:
    wav, m4a = root / "long.wav", root / "long.m4a"
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "1", str(wav), "synth", str(BIG_SECONDS),
         "pinknoise", "vol", "0.3"],
        check=True, capture_output=True, timeout=TOOL_TIMEOUT_S,
    )  # fmt: skip
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
         "-c:a", "aac", "-b:a", "256k", str(m4a)],
        check=True, capture_output=True, timeout=TOOL_TIMEOUT_S,
    )  # fmt: skip
    return Recording(m4a, "long.m4a", "audio/m4a")


async def direct(client: httpx.AsyncClient, url: str, rec: Recording, data: bytes) -> float:
    started = time.perf_counter()
    response = await client.post(
        f"{url}/audio/transcriptions",
        data={"model": "gpt-4o-transcribe", "response_format": "json", "language": "en"},
        files={"file": (rec.filename, data, rec.mime_type)},
    )
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


async def via_companion(
    client: httpx.AsyncClient, host: CompanionHost, rec: Recording, b64: str
) -> float:
    body = {"filename": rec.filename, "mimeType": rec.mime_type, "audioBase64": b64,
            "language": "en"}  # fmt: skip
    started = time.perf_counter()
    response = await client.post("/v1/dictation/transcribe", json=body, headers=host.auth())
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


async def health_latencies(client: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    samples: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        await client.get("/health")
        samples.append(time.perf_counter() - started)
        await asyncio.sleep(HEALTH_POLL_S)
    return samples


async def run(args: argparse.Namespace, root: Path, upstream_url: str) -> None:
    small = make_recordings(root)["m4a"]
    big = big_recording(root)
    print(machine_line())
    print(f"recordings: short m4a {small.path.stat().st_size} B, long m4a "
          f"{big.path.stat().st_size / 1e6:.1f} MB")  # fmt: skip
    host = CompanionHost(root / "companion", {"BENCH_DICTATION_BASE_URL": upstream_url})
    with host:
        async with (
            httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, trust_env=False) as raw,
            httpx.AsyncClient(base_url=host.base_url, timeout=HTTP_TIMEOUT_S) as phone,
            httpx.AsyncClient(base_url=host.base_url, timeout=HTTP_TIMEOUT_S) as poller,
        ):
            rows = []
            for rec, rounds in ((small, args.rounds), (big, args.big_rounds)):
                data = rec.data()
                b64 = base64.b64encode(data).decode()
                await via_companion(phone, host, rec, b64)  # warm-up (client, TLS-less pool)
                straight = [await direct(raw, upstream_url, rec, data) for _ in range(rounds)]
                through = [await via_companion(phone, host, rec, b64) for _ in range(rounds)]
                rows.append([
                    f"{len(data) / 1e6:.2f} MB", str(rounds),
                    f"{median(straight) * 1000:.0f}", f"{median(through) * 1000:.0f}",
                    f"{(median(through) - median(straight)) * 1000:.0f}",
                ])  # fmt: skip
            print(table(rows, ["audio", "rounds", "direct ms (p50)", "companion ms (p50)",
                               "overhead ms"]))  # fmt: skip

            stop = asyncio.Event()
            idle_task = asyncio.create_task(health_latencies(poller, stop))
            await asyncio.sleep(2.0)
            stop.set()
            idle = await idle_task
            stop = asyncio.Event()
            busy_task = asyncio.create_task(health_latencies(poller, stop))
            data = big.data()
            b64 = base64.b64encode(data).decode()
            for _ in range(args.big_rounds):
                await via_companion(phone, host, big, b64)
            stop.set()
            busy = await busy_task
            print(table(
                [[label, str(len(s)), f"{median(s) * 1000:.1f}", f"{percentile(s, 99) * 1000:.1f}",
                  f"{max(s) * 1000:.1f}"] for label, s in (("idle", idle), ("during 20 MB", busy))],
                ["GET /health", "samples", "p50 ms", "p99 ms", "max ms"],
            ))  # fmt: skip
            print(f"companion peak RSS (VmHWM): {hwm_mib(host.pid):.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--big-rounds", type=int, default=3)
    args = parser.parse_args()
    fake = subprocess.Popen(
        [sys.executable, str(FAKE_HOST)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert fake.stdout is not None
        url = fake.stdout.readline().strip()
        with tempfile.TemporaryDirectory(prefix="bench-dictation-") as tmp:
            asyncio.run(run(args, Path(tmp), url))
    finally:
        assert fake.stdin is not None
        fake.stdin.close()
        fake.wait(TOOL_TIMEOUT_S)


if __name__ == "__main__":
    main()
