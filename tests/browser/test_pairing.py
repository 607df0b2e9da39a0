"""Pairing in real Chromium against a real companion (issue 10 "Pairing"; SEC-07, SEC-08).

The page pairs through the QR's web link or a pasted ``codexremote://`` link; the
person at the computer answers with the real CLI (``codexremote devices approve`` /
``reject``). The comparison code the page shows is the one the computer shows.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.companion import Companion
from tests.browser.conftest import DEVICE_NAME, PAIRING_TIMEOUT_MS, pair_page, readme_shot
from tests.browser.guards import Guard

STORED_PAIRING_JS = """async () => {
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("codexremote");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
  const tx = db.transaction("meta", "readonly");
  const value = await new Promise((ok) => {
    const r = tx.objectStore("meta").get(location.origin + "|pairing");
    r.onsuccess = () => ok(r.result ?? null);
  });
  db.close();
  return value;
}"""


def stored_pairing(page: Page) -> Any:
    return page.evaluate(STORED_PAIRING_JS)


def device_named(companion: Companion, name: str) -> dict[str, Any] | None:
    return next((d for d in companion.devices() if d["deviceName"] == name), None)


def test_sec07_pair_from_web_link_removes_fragment_and_stores_token(
    page: Page, companion: Companion
) -> None:
    offer = companion.new_offer()
    page.goto(companion.web_link(offer))
    # The nonce leaves the address bar and the history entry at once.
    assert page.evaluate("location.hash") == ""
    assert offer["nonce"] not in page.url
    field = page.get_by_label("Name this device")
    expect(field).to_have_value("iPhone")  # default from the iPhone user agent
    field.fill(DEVICE_NAME)
    page.get_by_role("button", name="Pair", exact=True).click()
    code_el = page.get_by_label(re.compile(r"^Comparison code"))
    expect(code_el).to_be_visible()
    expect(page.get_by_text("Confirm on your computer")).to_be_visible()
    code = re.sub(r"\D", "", code_el.inner_text())
    readme_shot(page, "pairing")
    # SEC-08: the computer lists the same code for this request.
    assert code in companion.pending_codes()
    companion.approve(code)
    expect(page.get_by_role("heading", name="Chats")).to_be_visible(timeout=PAIRING_TIMEOUT_MS)
    expect(page.get_by_text("Connected")).to_be_visible()
    record = device_named(companion, DEVICE_NAME)
    assert record is not None
    stored = stored_pairing(page)
    assert stored["deviceId"] == record["deviceId"]
    assert stored["deviceName"] == DEVICE_NAME
    assert re.fullmatch(r"[0-9a-f]{64}", stored["token"])
    assert stored["scheme"] == "http"
    assert offer["nonce"] not in page.evaluate("JSON.stringify(history.state) + location.href")
    page.get_by_role("button", name="Settings", exact=True).click()
    settings = page.get_by_role("region", name="Settings")
    expect(settings.get_by_text(f"Paired as {DEVICE_NAME}")).to_be_visible()
    # The app's announcement (Settings has a status line of its own, for diagnostics).
    announced = page.get_by_role("status").filter(has_text=f"Paired as {DEVICE_NAME}")
    expect(announced).to_have_text(f"Paired as {DEVICE_NAME}")


def test_sec07_pair_with_pasted_app_link(page: Page, companion: Companion) -> None:
    page.goto("/")
    page.get_by_label("Pairing link").fill(companion.app_link())
    page.get_by_role("button", name="Pair with link").click()
    page.get_by_label("Name this device").fill("Pasted phone")
    page.get_by_role("button", name="Pair", exact=True).click()
    code_el = page.get_by_label(re.compile(r"^Comparison code"))
    expect(code_el).to_be_visible()
    companion.approve(re.sub(r"\D", "", code_el.inner_text()))
    expect(page.get_by_role("heading", name="Chats")).to_be_visible(timeout=PAIRING_TIMEOUT_MS)
    assert device_named(companion, "Pasted phone") is not None


def test_pairing_link_that_is_not_one_is_explained(page: Page, companion: Companion) -> None:
    page.goto("/")
    page.get_by_label("Pairing link").fill("https://example.invalid/not-a-pairing-link")
    page.get_by_role("button", name="Pair with link").click()
    expect(page.get_by_text("That is not a pairing link")).to_be_visible()
    assert companion.pending_codes() == []


def test_sec08_declined_on_the_computer_says_so(
    page: Page, companion: Companion, guard: Guard
) -> None:
    guard.allow(r"status of 403 .*/v1/pairing/confirm")  # Chromium logs the refused confirm
    page.goto(companion.web_link())
    page.get_by_role("button", name="Pair", exact=True).click()
    code_el = page.get_by_label(re.compile(r"^Comparison code"))
    expect(code_el).to_be_visible()
    code = re.sub(r"\D", "", code_el.inner_text())
    companion.cli("devices", "reject", code)
    expect(page.get_by_text("Pairing was declined on your computer")).to_be_visible(
        timeout=PAIRING_TIMEOUT_MS
    )
    expect(page.get_by_role("heading", name="Pair with your computer")).to_be_visible()
    assert companion.devices() == []
    assert stored_pairing(page) is None


def test_pairing_again_in_an_open_page_replaces_the_stored_device(
    page: Page, companion: Companion
) -> None:
    pair_page(page, companion, "First name")
    first = stored_pairing(page)["deviceId"]
    # The second link changes only the fragment of the open page (hashchange).
    pair_page(page, companion, "Second name")
    stored = stored_pairing(page)
    assert stored["deviceId"] != first
    assert stored["deviceId"] == device_named(companion, "Second name")["deviceId"]
    assert page.evaluate("location.hash") == ""
    # The first token is revoked with the new one: no forgotten device stays paired.
    deadline = time.monotonic() + 15
    while device_named(companion, "First name") is not None:
        assert time.monotonic() < deadline, companion.devices()
        time.sleep(0.1)  # poll interval


NONCE = "00112233445566778899aabbccddeeff"  # docs/pairing.md's test vector
PAIRING_LIB_JS = """async () => {
  const base = document.querySelector('script[type=module]').src.replace(/app\\.js$/, "");
  const lib = await import(base + "lib/pairing.js");
  const { hmacSha256 } = await import(base + "lib/sha256.js");
  const nonce = "00112233445566778899aabbccddeeff";
  const id = "123e4567-e89b-42d3-a456-426614174000";
  const key = new Uint8Array(nonce.match(/../g).map((b) => parseInt(b, 16)));
  const mac = hmacSha256(key, new TextEncoder().encode(id + "\\niPhone"));
  const fallback = String(new DataView(mac.buffer).getUint32(0) % 1000000).padStart(6, "0");
  const link = (text) => JSON.stringify(lib.offerFromLink(text));
  return {
    webCrypto: await lib.comparisonCode(nonce, id, "iPhone"),
    fallback,
    app: link(`codexremote://pair?scheme=https&host=mac.ts.net&port=8787&pairingId=${id}&nonce=${nonce}`),
    web: link(`https://mac.ts.net:8787/#pairingId=${id}&nonce=${nonce}`),
    upper: link(`codexremote://pair?pairingId=${id}&nonce=${nonce.toUpperCase()}`),
    badNonce: link(`codexremote://pair?pairingId=${id}&nonce=abc`),
    badId: link(`codexremote://pair?pairingId=../x&nonce=${nonce}`),
    other: link("https://example.com/?pairingId=x"),
    names: [
      lib.defaultDeviceName("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)"),
      lib.defaultDeviceName("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari"),
    ],
  };
}"""


def test_sec08_comparison_code_and_link_parsing_in_the_page(
    page: Page, companion: Companion
) -> None:
    """docs/pairing.md's test vector, with Web Crypto and with the plain-http fallback."""
    page.goto("/")
    got = page.evaluate(PAIRING_LIB_JS)
    assert got["webCrypto"] == "256800"
    assert got["fallback"] == "256800"
    offer = json.dumps(
        {"pairingId": "123e4567-e89b-42d3-a456-426614174000", "nonce": NONCE}
    ).replace(" ", "")
    assert got["app"] == offer
    assert got["web"] == offer
    assert got["upper"] == offer  # the nonce is normalised to lower case
    assert got["badNonce"] == got["badId"] == got["other"] == "null"
    assert got["names"] == ["iPhone", "Android phone"]
