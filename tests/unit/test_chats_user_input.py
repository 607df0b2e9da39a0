"""Message bodies as the original iOS app sends them (wire-api 4.15)."""

from __future__ import annotations

from codexremote.chats.user_input import parse_message_body


def test_original_app_many_attachments_are_accepted_like_the_original() -> None:
    """The original companion had no attachment count limit (issue 14 A5)."""
    photos = [
        {"type": "image", "name": f"p{i}.jpg", "mimeType": "image/jpeg",
         "dataUrl": "data:image/jpeg;base64,/9j/AA=="}
        for i in range(30)
    ]  # fmt: skip
    items, title = parse_message_body({"text": " look ", "attachments": photos})
    assert items[0] == {"type": "text", "text": "look"}
    assert [i["type"] for i in items[1:]] == ["image"] * 30
    assert items[1]["url"] == "data:image/jpeg;base64,/9j/AA=="
    assert title == "look"
