"""Unpairing and revocation in real Chromium (issue 10 "Pairing"; SEC-09).

A device revoked on the computer (``codexremote devices revoke``) returns to the
pairing screen with a clear message, at once through the stream's 1008 close, or
through the first 401 when the page was away; a stale token never leaves a blank
screen. Unpair in Settings revokes the device's own token on the companion.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.companion import Companion
from tests.browser.conftest import DEVICE_NAME
from tests.browser.guards import Guard
from tests.browser.netproxy import NetProxy
from tests.browser.test_pairing import stored_pairing

PAIRING_HEADING = "Pair with your computer"


def this_device(companion: Companion) -> dict[str, Any]:
    return next(d for d in companion.devices() if d["deviceName"] == DEVICE_NAME)


def test_sec09_revoke_from_cli_returns_page_to_pairing(
    paired_page: Page, companion: Companion
) -> None:
    page = paired_page
    expect(page.get_by_text("Connected")).to_be_visible()
    companion.revoke(this_device(companion)["deviceId"])
    expect(page.get_by_role("heading", name=PAIRING_HEADING)).to_be_visible()
    expect(page.get_by_text("This device was unpaired on your computer")).to_be_visible()
    assert stored_pairing(page) is None
    # The page is usable at once: a new pairing link works without a reload.
    expect(page.get_by_label("Pairing link")).to_be_editable()


def test_sec09_stale_token_after_being_away_returns_to_pairing(
    paired_page: Page, companion: Companion, proxy: NetProxy, guard: Guard
) -> None:
    guard.allow(r"status of 401")  # Chromium logs the refused API call
    guard.allow(r"WebSocket connection to .* failed")
    page = paired_page
    proxy.cut()  # the phone is away: the revocation's close frame never arrives
    companion.revoke(this_device(companion)["deviceId"])
    proxy.restore()
    page.reload()
    expect(page.get_by_role("heading", name=PAIRING_HEADING)).to_be_visible()
    expect(page.get_by_text("Pair it again")).to_be_visible()
    assert stored_pairing(page) is None


def test_sec09_unpair_in_settings_revokes_own_token(
    paired_page: Page, companion: Companion
) -> None:
    page = paired_page
    device_id = this_device(companion)["deviceId"]
    page.get_by_role("button", name="Settings", exact=True).click()
    settings = page.get_by_role("region", name="Settings")
    expect(settings.get_by_text(f"Paired as {DEVICE_NAME}")).to_be_visible()
    page.get_by_role("button", name="Unpair this device").click()
    assert this_device(companion)["deviceId"] == device_id  # one tap only arms the button
    page.get_by_role("button", name="Tap again to unpair").click()
    expect(page.get_by_role("heading", name=PAIRING_HEADING)).to_be_visible()
    expect(page.get_by_text("This device is unpaired")).to_be_visible()
    assert device_id not in [d["deviceId"] for d in companion.devices()]
    assert stored_pairing(page) is None
    page.reload()
    expect(page.get_by_role("heading", name=PAIRING_HEADING)).to_be_visible()


def test_settings_shows_codex_state_and_restart_answer(
    paired_page: Page, companion: Companion, guard: Guard
) -> None:
    page = paired_page
    page.get_by_role("button", name="Settings", exact=True).click()
    settings = page.get_by_role("region", name="Settings")
    expect(settings.get_by_text(re.compile(r"^Running · codex \d"))).to_be_visible()
    page.get_by_role("button", name="Restart Codex").click()
    expect(settings.get_by_text("Codex restarted.")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Restart Codex")).to_be_enabled()
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()
