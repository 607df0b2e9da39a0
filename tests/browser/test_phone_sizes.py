"""Phone details in real Chromium (issue 10 "iPhone details"): from iPhone SE (375x667) to
Pro Max (430x932), light and dark, the pairing screen, the drawer and settings have no
horizontal page scroll, inputs of at least 16 px (no zoom on focus) and touch targets of
at least 44 px. A screenshot of each is saved as an artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.companion import Companion
from tests.browser.conftest import pair_page, shot
from tests.browser.conversation_flows import Other

SIZES = [(375, 667), (430, 932)]
MIN_TARGET_PX = 44
MIN_INPUT_FONT_PX = 16

MEASURE_JS = """() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const small = [];
  for (const el of document.querySelectorAll("button, input, textarea, a[href]")) {
    if (!visible(el) || el.closest(".conversation")) continue;
    const r = el.getBoundingClientRect();
    const label = el.textContent || el.getAttribute("aria-label") || el.placeholder;
    const size = `${Math.round(r.width)}x${Math.round(r.height)}`;
    if (r.height < 44 || r.width < 44) small.push(`${el.tagName} ${label} ${size}`);
  }
  const fonts = [...document.querySelectorAll("input, textarea")].filter(visible)
    .map((el) => parseFloat(getComputedStyle(el).fontSize));
  return {
    scrollWidth: document.documentElement.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    small,
    minInputFont: fonts.length ? Math.min(...fonts) : null,
  };
}"""


def check(page: Page, width: int, name: str) -> None:
    got: dict[str, Any] = page.evaluate(MEASURE_JS)
    assert got["scrollWidth"] <= width and got["bodyScrollWidth"] <= width, got
    assert got["small"] == [], got["small"]
    if got["minInputFont"] is not None:
        assert got["minInputFont"] >= MIN_INPUT_FONT_PX, got
    shot(page, name)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_phone_sizes_pairing_drawer_settings(
    page: Page, companion: Companion, git_repo: Path, width: int, height: int, scheme: str
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    tag = f"{width}x{height}-{scheme}"
    other = Other(companion)
    chat = other.new_chat(git_repo)
    other.send(chat["id"], "a long first message that names this chat and is longer than a phone")
    page.goto("/")
    expect(page.get_by_role("heading", name="Pair with your computer")).to_be_visible()
    check(page, width, f"phone-pairing-{tag}")
    pair_page(page, companion)
    row = page.locator(f'[data-chat-id="{chat["id"]}"]')
    expect(row).to_be_visible()
    expect(page.locator("#status.visible")).to_have_count(0)
    check(page, width, f"phone-drawer-{tag}")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(20, 20, 22)") == (scheme == "dark"), background
    page.get_by_role("button", name="Settings", exact=True).click()
    expect(page.get_by_role("region", name="Settings")).to_be_visible()
    check(page, width, f"phone-settings-{tag}")
