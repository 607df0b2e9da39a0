"""WebKit, the engine of iOS Safari (MiniBrowser + WebKitWebDriver under Xvfb):
pairing from the web link, then the drawer with a live state (issue 10 "Tests").

Elements are found by role and accessible name (tests/browser/webkit.py); the
probe the proxy injects fails the test on console errors and CSP violations.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from tests.browser.companion import Companion
from tests.browser.conftest import DEVICE_NAME
from tests.browser.conversation_flows import Other
from tests.browser.webkit import by_role, find_all_by_role

WAIT_S = 30.0


def wait_until(check: Any, what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)  # poll interval, not an assertion


def pair_in_webkit(driver: Any, companion: Companion) -> None:
    driver.get(companion.web_link())
    # The nonce leaves the address as soon as the shell runs.
    wait_until(lambda: driver.execute_script("return location.hash === ''"), "the fragment removed")
    name = by_role(driver, "textbox", "Name this device")
    name.clear()
    name.send_keys(DEVICE_NAME)
    by_role(driver, "button", "Pair", exact=True).click()
    code_el = wait_until(
        lambda: driver.execute_script(
            "return document.querySelector('[aria-label^=\"Comparison code\"]')"
        ),
        "the comparison code",
    )
    code = re.sub(r"\D", "", code_el.text)
    assert len(code) == 6
    companion.approve(code)
    by_role(driver, "heading", "Chats", exact=True, timeout=WAIT_S)


def test_webkit_pair_from_web_link_and_see_live_drawer(
    webkit: Any, companion: Companion, git_repo: Path
) -> None:
    other = Other(companion)
    chat = other.new_chat(git_repo)
    pair_in_webkit(webkit, companion)
    assert any(d["deviceName"] == DEVICE_NAME for d in companion.devices())
    wait_until(
        lambda: "Connected" in webkit.find_element("css selector", ".pill").text, "Connected"
    )
    row = f'[data-chat-id="{chat["id"]}"]'
    wait_until(lambda: webkit.find_elements("css selector", row), "the chat in the drawer")
    by_role(webkit, "heading", git_repo.name, exact=True)
    other.send(chat["id"], "slow-answer 60")
    wait_until(
        lambda: "Running" in webkit.find_element("css selector", row).text, "Running in the drawer"
    )
    other.wait_idle(chat["id"])
    wait_until(
        lambda: "Running" not in webkit.find_element("css selector", row).text,
        "Running cleared",
    )
    # Revoking on the computer returns WebKit to pairing as well.
    device = next(d for d in companion.devices() if d["deviceName"] == DEVICE_NAME)
    companion.revoke(device["deviceId"])
    by_role(webkit, "heading", "Pair with your computer", exact=True, timeout=WAIT_S)
    assert find_all_by_role(webkit, "textbox", "Pairing link")
