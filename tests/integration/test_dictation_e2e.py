"""Dictation and the phone's debug log through the real companion (uvicorn on loopback,
real codex app-server child), with the fake OpenAI-compatible transcription server as
the upstream. The unit tests cover every status; this proves the wiring end to end,
the OpenAPI document and log secrecy with every logger at DEBUG (T19)."""

from __future__ import annotations

import asyncio
import base64
import logging
import stat
from pathlib import Path

import httpx
import pytest

from codexremote.app import build_services
from codexremote.launcher import app_server_launcher
from codexremote.settings import Settings
from tests.harness.audio import PHRASE, make_recordings
from tests.harness.fake_transcriber import FakeTranscriber
from tests.integration.conftest import free_port, start_companion

pytestmark = pytest.mark.integration

KEY = "sk-e2e-" + "q7" * 24


async def test_sec13_dictation_and_ios_log_end_to_end(
    tmp_path: Path,
    codex_bin: Path,
    codex_env: dict[str, str],
    codex_home: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    recording = (await asyncio.to_thread(make_recordings, tmp_path / "audio"))["m4a"]
    upstream = FakeTranscriber()
    upstream.api_key = KEY
    upstream.transcript = f"{PHRASE} nobody logs this"
    await asyncio.to_thread(upstream.start)
    port = free_port()
    settings = Settings(
        port=port,
        state_dir=tmp_path / "state",
        codex_home=codex_home,
        dictation_base_url=upstream.url,
        dictation_api_key=KEY,
    )
    services = build_services(settings, launcher=app_server_launcher(str(codex_bin), codex_env))
    token = services.devices.issue("test phone").token
    server, task = await start_companion(settings, services)
    auth = {"Authorization": f"Bearer {token}"}
    audio_b64 = base64.b64encode(recording.data()).decode()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            spoken = await client.post(
                "/v1/dictation/transcribe",
                headers=auth,
                json={"filename": recording.filename, "mimeType": recording.mime_type,
                      "audioBase64": audio_b64, "language": "en"},
            )  # fmt: skip
            logged = await client.post(
                "/v1/debug/ios-log", headers=auth, json={"contents": '{"event":"launch"}\n'}
            )
            schema = (await client.get("/v1/openapi.json")).json()
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        await asyncio.to_thread(upstream.stop)

    assert spoken.status_code == 200, spoken.text
    assert spoken.json() == {"data": {"text": upstream.transcript, "model": "gpt-4o-transcribe"}}
    assert spoken.headers["cache-control"] == "no-store"
    [received] = upstream.received
    assert received.problems == [] and received.audio == recording.data()
    assert received.headers["authorization"] == f"Bearer {KEY}"

    assert logged.status_code == 200, logged.text
    log_path = tmp_path / "state" / "ios-device.ndjson"
    assert logged.json()["data"] == {"path": str(log_path), "bytes": 19}
    assert log_path.read_text() == '{"event":"launch"}\n'
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600

    paths = schema["paths"]
    for path, model in (
        ("/v1/dictation/transcribe", "TranscribeRequest"),
        ("/v1/debug/ios-log", "DeviceLogRequest"),
    ):
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model}"}
        assert schema["components"]["schemas"][model]["title"] == model
    response = paths["/v1/dictation/transcribe"]["post"]["responses"]
    assert {"200", "400", "413", "502", "503", "504"} <= set(response)

    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (KEY, token, "nobody logs this", audio_b64[:64]):
        assert secret not in text
