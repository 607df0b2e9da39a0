"""Steps shared by the conversation, composer and approval browser tests.

The page is the real shell served by a real companion (``codexremote serve``
with the real app-server and the fake model); a second, non-browser client
(paired through the real flow) creates chats and plays "the desktop / another
phone". Elements are found by role and accessible name.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.companion import Companion

TURN_TIMEOUT_MS = 60_000  # a turn through the real app-server on a busy 2-core box


class Other:
    """A second client of the same companion (HTTP only)."""

    def __init__(self, companion: Companion, name: str = "desktop") -> None:
        self.companion = companion
        self.token, self.device_id = companion.pair_token(name)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.companion.request(method, path, body, token=self.token)

    def new_chat(self, cwd: Path) -> dict[str, Any]:
        status, answer = self.call("POST", "/v1/chats", {"cwd": str(cwd)})
        assert status == 201, answer
        return dict(answer["data"])

    def send(self, chat_id: str, text: str) -> None:
        status, answer = self.call("POST", f"/v1/chats/{chat_id}/messages", {"text": text})
        assert status == 202, answer

    def wait_idle(self, chat_id: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status, answer = self.call("GET", f"/v1/chats/{chat_id}/run-state")
            if status == 200 and not answer["data"]["isRunning"]:
                return
            time.sleep(0.1)
        raise AssertionError(f"chat {chat_id} still running after {timeout_s} s")

    def wait_history_has(self, chat_id: str, text: str, timeout_s: float = 30.0) -> None:
        """Until the newest history page (the rollout) holds `text`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status, answer = self.call("GET", f"/v1/chats/{chat_id}/history?limit=50")
            if status == 200 and any(i.get("text") == text for i in answer["data"]["items"]):
                return
            time.sleep(0.2)
        raise AssertionError(f"history of {chat_id} never showed {text!r}")

    def open_approvals(self, chat_id: str) -> list[dict[str, Any]]:
        status, answer = self.call("GET", f"/v1/approvals?chatId={chat_id}")
        assert status == 200, answer
        return list(answer["data"])


def open_chat(page: Page, chat: dict[str, Any]) -> Locator:
    """Open `chat` from the drawer (refreshing it until the chat is listed). After a
    reload the shell reopens the chat that was open: then it is already there."""
    conversation = page.get_by_role("region", name="Conversation")
    row = page.locator(f'[data-chat-id="{chat["id"]}"] button')
    refresh = page.get_by_role("button", name="Refresh")
    deadline = time.monotonic() + 30
    while row.count() == 0:
        if conversation.count() and conversation.is_visible():
            return conversation
        assert time.monotonic() < deadline, "chat never appeared in the drawer"
        if refresh.count():
            refresh.first.click()
        page.wait_for_timeout(300)  # poll interval, not an assertion
    row.first.click()
    expect(conversation).to_be_visible()
    return conversation


def composer_input(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Message")


def send(page: Page, text: str) -> None:
    composer_input(page).fill(text)
    page.get_by_role("button", name="Send message").click()


def wait_idle(page: Page) -> None:
    """The composer offers Send again (the turn ended)."""
    expect(page.get_by_role("button", name="Stop")).to_be_hidden(timeout=TURN_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Send message")).to_be_attached()


def transcript(page: Page) -> Locator:
    return page.get_by_role("log", name="Transcript")


def approval_card(page: Page, title: str) -> Locator:
    return page.get_by_role("region", name="Approvals").get_by_role("group", name=title)


def screenshot(page: Page, name: str, *, readme: bool = False) -> Path:
    """Save an artifact screenshot (tests/browser/artifacts); README ones also to docs/."""
    from tests.browser.conftest import readme_shot, shot

    if readme:  # without the shell's transient toast over the content
        expect(page.locator("#status.visible")).to_have_count(0, timeout=10_000)
        page.wait_for_function(
            "() => getComputedStyle(document.getElementById('status')).opacity === '0'"
        )
        return readme_shot(page, name)
    return shot(page, name)
