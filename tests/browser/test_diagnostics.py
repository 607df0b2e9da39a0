"""Settings → "Send diagnostics to the computer" (issue 11 §4) in real Chromium.

The page's own log (connection events and errors) is saved by the companion's
``POST /v1/debug/ios-log`` in its state directory; it holds no token, no chat text
and no device name.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.browser.companion import Companion
from tests.browser.conftest import DEVICE_NAME
from tests.browser.test_pairing import stored_pairing

LOG_FILE = "ios-device.ndjson"


def test_sec13_diagnostics_reach_the_computer_without_secrets(
    paired_page: Page, companion: Companion
) -> None:
    page = paired_page
    token = stored_pairing(page)["token"]
    page.get_by_role("button", name="Settings", exact=True).click()
    settings = page.get_by_role("region", name="Settings")
    settings.get_by_role("button", name="Send diagnostics to the computer").click()
    saved_note = re.compile(r"^Saved on your computer as .*ios-device\.ndjson")
    expect(settings.get_by_text(saved_note)).to_be_visible()

    saved = (companion.state_dir / LOG_FILE).read_text()
    entries = [json.loads(line) for line in saved.splitlines() if line.strip()]
    events = [entry["event"] for entry in entries]
    assert events[0] == "launch" and "stream" in events and events[-1] == "diagnostics"
    assert {"t", "event", "state"} <= set(next(e for e in entries if e["event"] == "stream"))
    assert token not in saved and DEVICE_NAME not in saved
    assert (companion.state_dir / LOG_FILE).stat().st_mode & 0o777 == 0o600
