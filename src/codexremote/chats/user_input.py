"""Validates a message/steer body and turns it into app-server ``UserInput`` items.

Rules and error strings follow wire-api.md 4.15 so the original app's alerts read
the same; per-item limits are ours (the app's own limits, with headroom). Like the
original there is no limit on the number of attachments: the 40 MiB body limit of
the message routes bounds a message as a whole.
"""

from __future__ import annotations

from typing import Any

from codexremote.errors import BadRequest

MAX_TEXT_CHARS = 200_000
MAX_IMAGE_DATA_URL_CHARS = 12 * 1024 * 1024  # a 850 KB JPEG is ~1.2 MB as base64
MAX_TEXT_FILE_CHARS = 400_000
PLACEHOLDER_TITLES = {"", "untitled chat", "new thread"}


def parse_message_body(body: Any) -> tuple[list[dict[str, Any]], str]:
    """Returns (app-server input items, a short title candidate)."""
    if not isinstance(body, dict):
        raise BadRequest("Expected a JSON object")
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise BadRequest("Expected text to be a string")
    attachments = body.get("attachments", [])
    if attachments is None:
        attachments = []
    if not isinstance(attachments, list):
        raise BadRequest("Expected attachments to be an array")
    trimmed = (text or "").strip()
    if len(trimmed) > MAX_TEXT_CHARS:
        raise BadRequest(f"Message text is longer than {MAX_TEXT_CHARS} characters")
    items: list[dict[str, Any]] = []
    if trimmed:
        items.append({"type": "text", "text": trimmed})
    names: list[tuple[str, str]] = []
    for attachment in attachments:
        items.append(_attachment_item(attachment))
        names.append((attachment["type"], attachment["name"]))
    if not items:
        raise BadRequest("Expected text or attachments")
    return items, _title(trimmed, names)


def _attachment_item(attachment: Any) -> dict[str, Any]:
    if not isinstance(attachment, dict):
        raise BadRequest("Expected each attachment to be an object")
    for field in ("type", "name", "mimeType"):
        value = attachment.get(field)
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"Expected non-empty string for attachment {field}")
    kind = attachment["type"]
    if kind == "image":
        data_url = attachment.get("dataUrl")
        if not isinstance(data_url, str) or not data_url.startswith("data:image/"):
            raise BadRequest("Expected image attachment dataUrl to start with data:image/")
        if len(data_url) > MAX_IMAGE_DATA_URL_CHARS:
            raise BadRequest("Image attachment is too large")
        return {"type": "image", "url": data_url}
    if kind == "text_file":
        content = attachment.get("text")
        if not isinstance(content, str) or not content:
            raise BadRequest("Expected non-empty text for text_file attachment")
        if len(content) > MAX_TEXT_FILE_CHARS:
            raise BadRequest("Text file attachment is too large")
        name = attachment["name"]
        wrapped = f"Attached file: {name}\n\n--- BEGIN FILE ---\n{content}\n--- END FILE ---"
        return {"type": "text", "text": wrapped}
    raise BadRequest(f"Unsupported attachment type: {kind}")


def _title(text: str, names: list[tuple[str, str]]) -> str:
    if text:
        return text.splitlines()[0][:120]
    if len(names) == 1:
        kind, name = names[0]
        return f"Photo: {name}" if kind == "image" else f"File: {name}"
    return f"Attachments: {len(names)}"
