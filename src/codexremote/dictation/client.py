"""Sends one recording to ``<base>/audio/transcriptions`` and returns its text.

The request is the OpenAI shape (multipart: ``file`` with the phone's file name
and MIME type, ``model``, ``response_format=json``, optional ``language``), so
OpenAI and compatible servers (a local whisper server, for instance) work alike.

Lifecycle: one ``httpx.AsyncClient`` (connection reuse) made on first use in a
worker thread (building its TLS context reads the CA bundle from disk), closed by
:meth:`Transcriber.aclose` at shutdown. Every transcription is bounded by
``timeout_s`` in total, not per read, so a server that trickles bytes cannot hold
the phone past its own 90 s timeout.

Errors (statuses and strings of wire-api.md 9, except that a time-out or an
unreachable server is a 504/502 here, not the original's 400):

* not configured → 503 ``dictation_not_configured``
* upstream non-2xx → 502 with the upstream's ``error.message`` (key redacted)
* empty text → 502 "OpenAI transcription returned no text."
* unreachable → 502 ``upstream_unreachable``; over time → 504 ``upstream_timeout``

Nothing here logs audio, transcripts or the key.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from codexremote.dictation.config import NOT_CONFIGURED, DictationConfig
from codexremote.dictation.upload import AudioUpload
from codexremote.errors import BadGateway, GatewayTimeout, ServiceUnavailable

log = logging.getLogger("codexremote.dictation")

RESPONSE_LIMIT_BYTES = 4 * 1024 * 1024  # a transcript of 25 MB of speech is ~100 KB
MAX_UPSTREAM_MESSAGE_CHARS = 500  # shown on the phone as an alert


@dataclass(frozen=True)
class Transcript:
    text: str
    model: str


class Transcriber:
    def __init__(self, config: DictationConfig) -> None:
        self.config = config
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()

    async def transcribe(self, upload: AudioUpload) -> Transcript:
        config = self.config
        if not config.configured:
            raise ServiceUnavailable(NOT_CONFIGURED, code="dictation_not_configured")
        data = {"model": config.model, "response_format": "json"}
        if upload.language is not None:
            data["language"] = upload.language
        # A file object, not bytes: httpx then streams it in 64 KiB chunks instead of
        # handing h11 and the socket buffer one 25 MB block to copy.
        files = {"file": (upload.filename, io.BytesIO(upload.audio), upload.mime_type)}
        client = await self._get_client()
        started = time.monotonic()
        try:
            async with asyncio.timeout(config.timeout_s):
                request = client.build_request(
                    "POST", config.endpoint, data=data, files=files, headers=config.auth_headers()
                )
                response = await client.send(request, stream=True)
                try:
                    body = await _read_capped(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            log.warning("dictation: no answer from %s within %g s", config.host, config.timeout_s)
            raise GatewayTimeout(
                f"Transcription timed out after {config.timeout_s:g} s.", code="upstream_timeout"
            ) from None
        except httpx.HTTPError as exc:
            log.warning("dictation: %s unreachable: %s", config.host, type(exc).__name__)
            reason = config.redact(str(exc))[:MAX_UPSTREAM_MESSAGE_CHARS] or type(exc).__name__
            raise BadGateway(
                f"Could not reach the transcription service at {config.host}: {reason}",
                code="upstream_unreachable",
            ) from None
        elapsed = time.monotonic() - started
        log.info(
            "dictation: %d bytes of %s sent to %s, status %d in %.2f s",
            len(upload.audio),
            upload.mime_type,
            config.host,
            response.status_code,
            elapsed,
        )
        return Transcript(self._text(response.status_code, body), config.model)

    def _text(self, status: int, body: bytes) -> str:
        payload = _json(body)
        if not 200 <= status < 300:
            message = _upstream_message(payload)
            if message:
                raise BadGateway(
                    self.config.redact(message)[:MAX_UPSTREAM_MESSAGE_CHARS], code="upstream_error"
                )
            raise BadGateway(
                f"OpenAI transcription failed with status {status}.", code="upstream_error"
            )
        if not isinstance(payload, dict):
            raise BadGateway(
                "The transcription service returned an unreadable answer.", code="upstream_error"
            )
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadGateway("OpenAI transcription returned no text.", code="empty_transcript")
        return text.strip()

    async def _get_client(self) -> httpx.AsyncClient:
        async with self._lock:
            if self._client is None:
                self._client = await asyncio.to_thread(self._make_client)
            return self._client

    def _make_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.config.timeout_s),
            follow_redirects=False,  # a redirect would carry the key elsewhere
            trust_env=not self.config.loopback,  # proxies, but never for our own computer
        )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > RESPONSE_LIMIT_BYTES:
            raise BadGateway(
                "The transcription service returned an oversized answer.", code="upstream_error"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _upstream_message(payload: Any) -> str | None:
    """OpenAI's ``{"error": {"message": ...}}``; some servers put a string there."""
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    if isinstance(error, str) and error.strip():
        return error.strip()
    return None
