"""A fake OpenAI-compatible transcription server on 127.0.0.1 (``/v1/audio/transcriptions``).

It checks what the companion sends the way the real API would: a multipart body
with a ``file`` part (file name and content type), ``model``, ``response_format``
and optional ``language``; ``ffprobe`` must recognise the file as audio. Every
request is recorded (fields, file bytes, probed container) for the test to
inspect; a malformed one gets a 400 whose message says what was wrong, so the test
sees it in the companion's 502.

Knobs (attributes, set before the request): ``transcript`` (the text returned),
``api_key`` (require ``Authorization: Bearer <key>``, else a 401 whose message
echoes the key sent, as OpenAI's does), ``status`` + ``error_message`` (fail),
``delay_s`` (answer late; ``stop()`` releases it), ``raw_answer`` (bytes sent
instead of JSON).

Lifecycle: ``ThreadingHTTPServer`` in a daemon thread; ``start()`` returns once the
port is bound, ``stop()`` releases delayed answers, shuts down and joins.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"
PATH = "/v1/audio/transcriptions"
FFPROBE_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass
class Received:
    headers: dict[str, str]
    fields: dict[str, str]
    filename: str | None = None
    content_type: str | None = None
    audio: bytes = b""
    container: str | None = None  # ffprobe's format_name
    problems: list[str] = field(default_factory=list)


class FakeTranscriber:
    def __init__(self) -> None:
        self.transcript = "hello from the phone"
        self.api_key: str | None = None
        self.status = 200
        self.error_message: str | None = None
        self.delay_s = 0.0
        self.raw_answer: bytes | None = None
        self.received: list[Received] = []
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{HOST}:{self._server.server_address[1]}/v1"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:  # the doctor's probe: GET /v1/models
                fake._handle_get(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-transcriber", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> FakeTranscriber:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- request handling (server threads) -------------------------------

    def _authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        if self.api_key is None:
            return True
        sent = handler.headers.get("Authorization", "")
        if sent == f"Bearer {self.api_key}":
            return True
        given = sent.removeprefix("Bearer ")
        self._answer(handler, 401, {"error": {"message": f"Incorrect API key provided: {given}."}})
        return False

    def _handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path != "/v1/models":
            self._answer(handler, 404, {"error": {"message": "not found"}})
        elif self._authorised(handler):
            self._answer(handler, 200, {"data": [{"id": "whisper-1"}]})

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(min(length, MAX_BODY_BYTES))
        received = _parse(dict(handler.headers.items()), body)
        self.received.append(received)
        if handler.path != PATH:
            received.problems.append(f"unexpected path {handler.path}")
        if not self._authorised(handler):
            return
        if self.delay_s and self._released.wait(self.delay_s):
            return  # stopped while waiting: the companion gave up long ago
        if received.problems:
            self._answer(handler, 400, {"error": {"message": "; ".join(received.problems)}})
        elif self.raw_answer is not None:
            self._send(handler, 200, self.raw_answer, "text/plain")
        elif self.status != 200:
            error = {"message": self.error_message} if self.error_message else {}
            self._answer(handler, self.status, {"error": error})
        else:
            self._answer(handler, 200, {"text": self.transcript})

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        self._send(handler, status, json.dumps(payload).encode(), "application/json")

    def _send(self, handler: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the companion timed out and hung up


def _parse(headers: dict[str, str], body: bytes) -> Received:
    lowered = {k.lower(): v for k, v in headers.items()}
    received = Received(headers=lowered, fields={})
    ctype = lowered.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        received.problems.append(f"content type {ctype!r} is not multipart/form-data")
        return received
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        received.problems.append("body is not a multipart message")
        return received
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "file":
            received.filename = part.get_filename()
            received.content_type = part.get_content_type() if part["content-type"] else None
            received.audio = payload
        elif isinstance(name, str):
            received.fields[name] = payload.decode("utf-8")
    _check(received)
    return received


def _check(received: Received) -> None:
    if not received.audio:
        received.problems.append("no file part")
        return
    if not received.filename:
        received.problems.append("file part has no filename")
    if received.content_type is None:
        received.problems.append("file part has no content type")
    if not received.fields.get("model"):
        received.problems.append("no model")
    if received.fields.get("response_format") != "json":
        received.problems.append("response_format is not json")
    received.container = _probe(received.audio)
    if received.container is None:
        received.problems.append("ffprobe does not recognise the file as audio")


def _probe(audio: bytes) -> str | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(audio)
        done = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-show_entries",
                "format=format_name:stream=codec_type",
                "-of",
                "json",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=FFPROBE_TIMEOUT_S,
        )
    if done.returncode != 0:
        return None
    info = json.loads(done.stdout)
    streams = [s.get("codec_type") for s in info.get("streams", [])]
    if "audio" not in streams:
        return None
    return str(info.get("format", {}).get("format_name"))
