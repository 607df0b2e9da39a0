"""What the phone sends to ``POST /v1/dictation/transcribe``, checked and decoded.

Field rules and error strings are the original companion's (wire-api.md 9):
``audioBase64``, ``filename`` and ``mimeType`` must be non-empty strings,
``language`` is optional. Beyond the original, the file name and MIME type are
made safe to put in a multipart header, and audio over the upstream's 25 MB file
limit is refused here with a clear 413 instead of an opaque upstream error.

Decoding megabytes of base64 takes a while: callers run :func:`parse_upload` in a
worker thread.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from codexremote.errors import BadRequest, PayloadTooLarge

UPSTREAM_FILE_LIMIT_BYTES = 25 * 1024 * 1024  # OpenAI's /audio/transcriptions file limit
DECODE_SLICE = 256 * 1024  # base64 characters per C call (a multiple of 4): well under 1 ms
WHITESPACE = " \t\r\n\f\v"
MAX_FILENAME_CHARS = 200
MAX_LANGUAGE_CHARS = 35  # the longest BCP 47 tags in practical use
REQUIRED_FIELDS = ("audioBase64", "filename", "mimeType")  # checked in the original's order
# type/subtype with optional parameters, RFC 9110 token characters only: nothing
# that could end the part's header line.
MIME_TYPE = re.compile(
    r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+"
    r"(?:\s*;\s*[A-Za-z0-9!#$&^_.+-]+=(?:[A-Za-z0-9!#$&^_.+-]+|\"[^\"\\\r\n]*\"))*$"
)
UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f"\\]')


@dataclass(frozen=True)
class AudioUpload:
    filename: str
    mime_type: str
    audio: bytes
    language: str | None

    def __repr__(self) -> str:  # never the audio itself
        return f"AudioUpload({self.filename!r}, {self.mime_type!r}, {len(self.audio)} bytes)"


def parse_upload(body: dict[str, Any]) -> AudioUpload:
    for name in REQUIRED_FIELDS:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"Expected non-empty string for {name}")
    mime_type = body["mimeType"].strip()
    if len(mime_type) > 255 or not MIME_TYPE.match(mime_type):
        raise BadRequest("Expected a MIME type such as audio/m4a for mimeType")
    audio = _decode(body["audioBase64"])
    if not audio:
        raise BadRequest("Audio recording is empty.")
    return AudioUpload(_safe_filename(body["filename"]), mime_type, audio, _language(body))


def _decode(text: str) -> bytes:
    """Base64 → bytes in slices of the text itself: one C call over 30 MB would hold
    the GIL (and so the event loop, even from a worker thread) for a tenth of a
    second, and a whole-string copy would cost as much memory again."""
    if not text.isascii():  # O(1) for str
        raise _not_base64()
    if any(char in text for char in WHITESPACE):  # line-wrapped base64 is still base64
        text = "".join(
            "".join(text[i : i + DECODE_SLICE].split()) for i in range(0, len(text), DECODE_SLICE)
        )
    padding = 0
    while padding < min(len(text), 3) and text[-1 - padding] == "=":
        padding += 1
    if padding == len(text) or (padding == 3 and text.count("=") == len(text)):
        return b""  # padding only: an empty recording, as the original decodes it
    length = len(text) - padding  # base64 characters that carry data
    expected = length * 3 // 4
    if expected > UPSTREAM_FILE_LIMIT_BYTES:  # refuse before decoding
        raise _too_large(expected)
    if length % 4 == 1:
        raise _not_base64()
    slices = [text[i : i + DECODE_SLICE] for i in range(0, length, DECODE_SLICE)]
    slices[-1] = slices[-1][: length % DECODE_SLICE or DECODE_SLICE]
    slices[-1] += "=" * (-length % 4)  # unpadded base64 is common (and Node accepts it)
    try:
        audio = b"".join(binascii.a2b_base64(part) for part in slices)
    except (binascii.Error, ValueError):
        raise _not_base64() from None
    if len(audio) != expected:  # the lenient decoder skipped characters outside base64
        raise _not_base64()
    return audio


def _not_base64() -> BadRequest:
    return BadRequest("Expected base64 audio in audioBase64")


def _too_large(size: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Audio recording is too large ({size / 1_048_576:.1f} MB); the transcription "
        f"service accepts at most {UPSTREAM_FILE_LIMIT_BYTES // 1_048_576} MB.",
        code="audio_too_large",
    )


def _safe_filename(raw: str) -> str:
    """The base name only, without quotes, backslashes or control characters; the
    extension is kept because OpenAI infers the audio format from it."""
    name = PureWindowsPath(PurePosixPath(raw.strip()).name).name
    name = UNSAFE_NAME_CHARS.sub("_", name).encode("utf-8", "replace").decode("utf-8")
    if len(name) > MAX_FILENAME_CHARS:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: MAX_FILENAME_CHARS - len(suffix)] + suffix
    return name if name.strip(". _") else "dictation"


def _language(body: dict[str, Any]) -> str | None:
    """Optional, as in the original: anything but a non-empty string means "unknown"."""
    value = body.get("language")
    if not isinstance(value, str) or not value.strip():
        return None
    language = value.strip()
    if len(language) > MAX_LANGUAGE_CHARS or not re.fullmatch(r"[A-Za-z0-9_-]+", language):
        raise BadRequest("Expected a language code such as en for language")
    return language
