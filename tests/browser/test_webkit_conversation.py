"""WebKit (iOS Safari's engine): open a chat, send and see the streamed answer,
approve a command and see the turn finish (issue 10 "Tests", the WebKit set).

Pairing goes through the real web-link flow (``pair_in_webkit``); a second
client creates the chat. Elements are found by role and accessible name; the
probe the proxy injects fails the test on console errors and CSP violations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.companion import Companion
from tests.browser.conversation_flows import Other
from tests.browser.test_webkit_pairing import WAIT_S, pair_in_webkit, wait_until
from tests.browser.webkit import by_role, find_all_by_role
from tests.harness.model_scripts import HELLO_ANSWER, TOOL_DONE_ANSWER

TURN_S = 60.0  # a turn through the real app-server on a busy 2-core box


def transcript_text(driver: Any) -> str:
    return str(by_role(driver, "log", "Transcript", exact=True).text)


def open_chat(driver: Any, chat: dict[str, Any]) -> None:
    row = f'[data-chat-id="{chat["id"]}"] button'
    wait_until(lambda: driver.find_elements("css selector", row), "the chat in the drawer")
    driver.find_element("css selector", row).click()
    by_role(driver, "region", "Conversation", exact=True, timeout=WAIT_S)


def send(driver: Any, text: str) -> None:
    field = by_role(driver, "textbox", "Message", exact=True)
    field.send_keys(text)
    by_role(driver, "button", "Send message", exact=True).click()


def test_webkit_send_and_see_the_streamed_answer_then_approve_a_command(
    webkit: Any, companion: Companion, git_repo: Path
) -> None:
    other = Other(companion)
    chat = other.new_chat(git_repo)
    pair_in_webkit(webkit, companion)
    open_chat(webkit, chat)

    send(webkit, "hello from WebKit")
    wait_until(lambda: HELLO_ANSWER in transcript_text(webkit), "the streamed answer", TURN_S)
    assert transcript_text(webkit).count(HELLO_ANSWER) == 1
    assert "hello from WebKit" in transcript_text(webkit)
    other.wait_idle(chat["id"])

    send(webkit, "run-command please")
    approve = by_role(webkit, "button", "Approve", exact=True, timeout=TURN_S)
    approve.click()
    wait_until(lambda: (git_repo / "approved.txt").exists(), "the approved command ran", TURN_S)
    wait_until(lambda: TOOL_DONE_ANSWER in transcript_text(webkit), "the final answer", TURN_S)
    wait_until(
        lambda: not find_all_by_role(webkit, "button", "Approve", exact=True), "the card answered"
    )
    assert other.open_approvals(chat["id"]) == []
