"""``parse_upload``: the phone's fields checked and decoded (domain code, no HTTP)."""

from __future__ import annotations

import base64
import os

import pytest

from codexremote.dictation.upload import UPSTREAM_FILE_LIMIT_BYTES, parse_upload
from codexremote.errors import BadRequest, PayloadTooLarge

AUDIO = os.urandom(300_001)
ENCODED = base64.b64encode(AUDIO).decode()


def body(audio: str, **extra: object) -> dict[str, object]:
    return {"filename": "dictation.m4a", "mimeType": "audio/m4a", "audioBase64": audio, **extra}


@pytest.mark.parametrize(
    "encoded",
    [
        ENCODED,
        ENCODED.rstrip("="),  # unpadded
        "\r\n".join(ENCODED[i : i + 76] for i in range(0, len(ENCODED), 76)),  # MIME-wrapped
    ],
)
def test_decodes_base64_variants(encoded: str) -> None:
    upload = parse_upload(body(encoded))
    assert upload.audio == AUDIO
    assert str(len(AUDIO)) in repr(upload) and ENCODED[:16] not in repr(upload)


@pytest.mark.parametrize(
    "encoded",
    [
        ENCODED[:1000] + "!" + ENCODED[1001:],  # one character outside the alphabet
        ENCODED[:1000] + "==" + ENCODED[1000:],  # padding in the middle
        "é" * 8,
        "a",
    ],
)
def test_rejects_what_is_not_base64(encoded: str) -> None:
    with pytest.raises(BadRequest, match="Expected base64 audio"):
        parse_upload(body(encoded))


def test_size_limit_is_checked_before_decoding() -> None:
    too_big = "A" * ((UPSTREAM_FILE_LIMIT_BYTES // 3 + 1) * 4)
    with pytest.raises(PayloadTooLarge, match="at most 25 MB"):
        parse_upload(body(too_big))
    at_limit = base64.b64encode(b"\0" * UPSTREAM_FILE_LIMIT_BYTES).decode()
    assert len(parse_upload(body(at_limit)).audio) == UPSTREAM_FILE_LIMIT_BYTES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C:\\Users\\me\\rec.m4a", "rec.m4a"),
        ("/var/mobile/rec.webm", "rec.webm"),
        ('a"b.m4a', "a_b.m4a"),
        ("..", "dictation"),
        ("x" * 300 + ".m4a", "x" * 196 + ".m4a"),
    ],
)
def test_filename_is_a_safe_base_name(raw: str, expected: str) -> None:
    assert parse_upload(body(ENCODED, filename=raw)).filename == expected


@pytest.mark.parametrize(("given", "sent"), [("en", "en"), (" pt-BR ", "pt-BR"), ("", None),
                                             (None, None), (7, None)])  # fmt: skip
def test_language_is_optional(given: object, sent: str | None) -> None:
    assert parse_upload(body(ENCODED, language=given)).language == sent
