"""``POST /v1/dictation/transcribe`` (wire-api.md 4.19, 9): transport only.

The body is read by hand, not by a pydantic body model, so the errors keep the
original's texts ("Expected non-empty string for filename", ...); the model below
only documents the request in the OpenAPI document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from codexremote.api.common import Envelope, read_large_object
from codexremote.dictation import Transcriber, parse_upload
from codexremote.dictation.upload import MAX_LANGUAGE_CHARS, MIME_TYPE

# What the decoder takes, unwrapped (it also takes line breaks): at least one byte.
BASE64_AUDIO = (
    r"^(?:[A-Za-z0-9+/]{4})+$"
    r"|^(?:[A-Za-z0-9+/]{4})*[A-Za-z0-9+/]{2}(?:==)?$"
    r"|^(?:[A-Za-z0-9+/]{4})*[A-Za-z0-9+/]{3}=?$"
)


class TranscribeRequest(BaseModel):
    filename: str = Field(
        pattern=r"\S", description="File name with extension, e.g. dictation.m4a."
    )
    mimeType: str = Field(
        pattern=MIME_TYPE.pattern,
        max_length=255,
        description="Sent as the audio part's Content-Type, e.g. audio/m4a.",
    )
    audioBase64: str = Field(
        pattern=BASE64_AUDIO, description="The recording, base64 (at most 25 MB decoded)."
    )
    language: Any = Field(
        None,
        description="ISO-639-1 code; anything but a non-blank string means unknown.",
        json_schema_extra={
            "anyOf": [
                {"not": {"type": "string"}},
                {"type": "string", "pattern": r"^\s*$"},
                {
                    "type": "string",
                    "pattern": rf"^\s*[A-Za-z0-9_-]{{1,{MAX_LANGUAGE_CHARS}}}\s*$",
                },
            ]
        },
    )


class TranscriptData(BaseModel):
    text: str = Field(description="The trimmed transcript.")
    model: str = Field(description="The transcription model that produced it.")


def dictation_router(
    transcriber: Transcriber, require_device: Callable[[Request], Awaitable[str]]
) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_device)], tags=["dictation"])

    @router.post(
        "/dictation/transcribe",
        response_model=Envelope[TranscriptData],
        responses={
            400: {"description": "A field is missing or the audio is empty."},
            413: {"description": "Audio over the upstream's 25 MB file limit."},
            502: {"description": "The transcription service failed or returned no text."},
            503: {"description": "Transcription is not configured."},
            504: {"description": "The transcription service did not answer in time."},
        },
    )
    async def transcribe(request: Request) -> Any:
        body = await read_large_object(request)
        upload = await asyncio.to_thread(parse_upload, body)
        del body  # the base64 text (a third larger than the audio) is not needed any more
        transcript = await transcriber.transcribe(upload)
        return {"data": {"text": transcript.text, "model": transcript.model}}

    return router
