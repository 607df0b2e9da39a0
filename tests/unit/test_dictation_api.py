"""``POST /v1/dictation/transcribe`` against a loopback OpenAI-compatible server.

The product's own app (perimeter, auth, route, transcription client) sends real
recordings (espeak-ng → sox → ffmpeg, m4a and webm) to the fake transcription
server of the harness, which parses the multipart and probes the audio with
ffprobe. Every error status of wire-api.md 9 is driven from a real cause.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codexremote.dictation.upload import UPSTREAM_FILE_LIMIT_BYTES
from tests.harness.audio import PHRASE, Recording, make_recordings
from tests.harness.fake_transcriber import FakeTranscriber
from tests.unit.dictation_support import TRANSCRIBE, Phone, phone_for

KEY = "sk-test-" + "k3y" * 16  # what the companion is configured with
CONTAINERS = {"m4a": "mov,mp4,m4a,3gp,3g2,mj2", "webm": "matroska,webm"}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    return make_recordings(tmp_path_factory.mktemp("audio"))


@pytest.fixture
def upstream() -> Iterator[FakeTranscriber]:
    with FakeTranscriber() as fake:
        yield fake


@pytest.fixture
def phone(tmp_path: Path, upstream: FakeTranscriber) -> Iterator[Phone]:
    with phone_for(tmp_path, dictation_base_url=upstream.url) as device:
        yield device


@pytest.mark.parametrize("kind", ["m4a", "webm"])
def test_transcribes_a_recording(
    kind: str, phone: Phone, upstream: FakeTranscriber, recordings: dict[str, Recording]
) -> None:
    upstream.transcript = f"  {PHRASE} \n"
    recording = recordings[kind]
    response = phone.transcribe(recording)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"text": PHRASE, "model": "gpt-4o-transcribe"}}
    [got] = upstream.received
    assert got.problems == []
    assert got.filename == recording.filename
    assert got.content_type == recording.mime_type  # the phone's mimeType, as the part's type
    assert got.fields == {"model": "gpt-4o-transcribe", "response_format": "json", "language": "en"}
    assert got.audio == recording.data()
    assert got.container == CONTAINERS[kind]
    assert "authorization" not in got.headers  # loopback: no key needed, none sent


def test_language_is_optional_and_model_and_key_are_settings(
    tmp_path: Path, upstream: FakeTranscriber, recordings: dict[str, Recording]
) -> None:
    upstream.api_key = KEY
    settings = {
        "dictation_base_url": upstream.url,
        "dictation_model": "whisper-1",
        "dictation_api_key": KEY,
    }
    with phone_for(tmp_path, **settings) as phone:
        response = phone.transcribe(recordings["m4a"], language=None)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"text": PHRASE, "model": "whisper-1"}
    [got] = upstream.received
    assert "language" not in got.fields
    assert got.fields["model"] == "whisper-1"
    assert got.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("field", ["audioBase64", "filename", "mimeType"])
@pytest.mark.parametrize("value", [None, "", "   ", 42, ["x"]])
def test_missing_field_is_400(
    field: str, value: object, phone: Phone, upstream: FakeTranscriber
) -> None:
    body: dict[str, object] = {
        "filename": "dictation.m4a",
        "mimeType": "audio/m4a",
        "audioBase64": base64.b64encode(b"not empty").decode(),
    }
    if value is None:
        del body[field]
    else:
        body[field] = value
    response = phone.post(TRANSCRIBE, body)
    assert response.status_code == 400
    assert response.json()["error"] == f"Expected non-empty string for {field}"
    assert upstream.received == []


@pytest.mark.parametrize("body", [{}, None, [], "text"])
def test_no_object_is_400(body: object, phone: Phone) -> None:
    response = phone.post(TRANSCRIBE, body)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


def test_empty_audio_is_400(phone: Phone, upstream: FakeTranscriber) -> None:
    body = {"filename": "dictation.m4a", "mimeType": "audio/m4a", "audioBase64": "===="}
    response = phone.post(TRANSCRIBE, body)
    assert response.status_code == 400
    assert response.json()["error"] == "Audio recording is empty."
    assert upstream.received == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"audioBase64": "not base64 at all!"}, "Expected base64 audio in audioBase64"),
        ({"mimeType": "audio/m4a\r\nX-Evil: 1"}, "Expected a MIME type such as audio/m4a"),
        ({"language": "en\r\nX-Evil: 1"}, "Expected a language code such as en"),
    ],
)
def test_malformed_fields_are_400(
    extra: dict[str, str],
    message: str,
    phone: Phone,
    upstream: FakeTranscriber,
    recordings: dict[str, Recording],
) -> None:
    response = phone.transcribe(recordings["m4a"], **extra)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert upstream.received == []


def test_filename_cannot_break_the_multipart_header(
    phone: Phone, upstream: FakeTranscriber, recordings: dict[str, Recording]
) -> None:
    response = phone.transcribe(recordings["m4a"], filename='../../x"\r\nX-Evil: 1\r\n.m4a')
    assert response.status_code == 200, response.text
    [got] = upstream.received
    assert got.filename is not None
    assert "\r" not in got.filename and "\n" not in got.filename and "/" not in got.filename
    assert got.filename.endswith(".m4a")
    assert "x-evil" not in {k.lower() for k in got.headers}


def test_lone_surrogate_in_filename(
    phone: Phone, upstream: FakeTranscriber, recordings: dict[str, Recording]
) -> None:
    body = {
        "filename": "take\ud800.m4a",  # valid JSON (ASCII-escaped), not encodable as UTF-8
        "mimeType": "audio/m4a",
        "audioBase64": base64.b64encode(recordings["m4a"].data()).decode(),
    }
    response = phone.client.post(
        TRANSCRIBE,
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {phone.token}", "Content-Type": "application/json"},
    )
    # Strict JSON bodies (issue 9.3): a lone surrogate is a 400 before any route runs.
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "json_invalid_unicode"
    assert upstream.received == []


def test_not_configured_is_503(tmp_path: Path, recordings: dict[str, Recording]) -> None:
    """The default base URL is OpenAI's; without a key nothing is sent anywhere."""
    with phone_for(tmp_path) as phone:
        response = phone.transcribe(recordings["m4a"])
    assert response.status_code == 503
    body = response.json()
    assert body["error"].startswith("OpenAI transcription is not configured.")
    assert "OPENAI_API_KEY" in body["error"]
    assert body["code"] == "dictation_not_configured"


def test_sec16_audio_over_the_upstream_file_limit_is_413(
    phone: Phone, upstream: FakeTranscriber
) -> None:
    audio = base64.b64encode(b"\0" * (UPSTREAM_FILE_LIMIT_BYTES + 1)).decode()
    body = {"filename": "long.m4a", "mimeType": "audio/m4a", "audioBase64": audio}
    response = phone.post(TRANSCRIBE, body)
    assert response.status_code == 413
    assert response.json()["code"] == "audio_too_large"
    assert "25 MB" in response.json()["error"]
    assert upstream.received == []


def test_sec16_body_over_40_mb_is_413(phone: Phone) -> None:
    response = phone.client.post(
        TRANSCRIBE,
        content=b'{"audioBase64": "' + b"A" * (40 * 1024 * 1024) + b'"}',
        headers={"Authorization": f"Bearer {phone.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (500, "The server had an error processing your request.", None),
        (400, "Audio file might be corrupted or unsupported", None),
        (500, None, "OpenAI transcription failed with status 500."),
        (429, None, "OpenAI transcription failed with status 429."),
    ],
)
def test_upstream_failure_is_502(
    status: int,
    message: str | None,
    expected: str | None,
    phone: Phone,
    upstream: FakeTranscriber,
    recordings: dict[str, Recording],
) -> None:
    upstream.status, upstream.error_message = status, message
    response = phone.transcribe(recordings["m4a"])
    assert response.status_code == 502
    assert response.json() == {"error": expected or message, "code": "upstream_error"}


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_transcript_is_502(
    text: str, phone: Phone, upstream: FakeTranscriber, recordings: dict[str, Recording]
) -> None:
    upstream.transcript = text
    response = phone.transcribe(recordings["webm"])
    assert response.status_code == 502
    assert response.json()["error"] == "OpenAI transcription returned no text."


def test_unreadable_answer_is_502(
    phone: Phone, upstream: FakeTranscriber, recordings: dict[str, Recording]
) -> None:
    upstream.raw_answer = b"<html>proxy error</html>"
    response = phone.transcribe(recordings["m4a"])
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_error"


def test_unreachable_upstream_is_502(tmp_path: Path, recordings: dict[str, Recording]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with phone_for(tmp_path, dictation_base_url=f"http://127.0.0.1:{port}/v1") as phone:
        response = phone.transcribe(recordings["m4a"])
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_unreachable"


def test_slow_upstream_is_504(
    tmp_path: Path, upstream: FakeTranscriber, recordings: dict[str, Recording]
) -> None:
    upstream.delay_s = 60.0
    timeout_s = 0.5
    settings = {"dictation_base_url": upstream.url, "dictation_timeout_s": timeout_s}
    with phone_for(tmp_path, **settings) as phone:
        started = time.monotonic()
        response = phone.transcribe(recordings["m4a"])
        elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.json() == {
        "error": "Transcription timed out after 0.5 s.",
        "code": "upstream_timeout",
    }
    print(f"slow upstream: 504 after {elapsed:.2f} s with a {timeout_s} s timeout")


def test_sec13_key_audio_and_transcript_never_logged(
    tmp_path: Path,
    upstream: FakeTranscriber,
    recordings: dict[str, Recording],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    upstream.transcript = "secret words nobody may log"
    audio_b64 = base64.b64encode(recordings["m4a"].data()).decode()
    settings = {"dictation_base_url": upstream.url, "dictation_api_key": KEY}
    with phone_for(tmp_path, **settings) as phone:
        ok = phone.transcribe(recordings["m4a"])
        upstream.api_key = "sk-another-key"  # now the upstream refuses ours and echoes it
        refused = phone.transcribe(recordings["m4a"])
    assert ok.status_code == 200
    assert refused.status_code == 502
    assert refused.json()["error"] == "Incorrect API key provided: ***."
    assert KEY not in refused.text
    assert upstream.received[1].headers["authorization"] == f"Bearer {KEY}"
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "dictation:" in logged  # the companion did log the request, without secrets
    for secret in (KEY, "secret words", audio_b64[:64]):
        assert secret not in logged
