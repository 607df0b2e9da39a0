"""Smoke: the shell loads in real Chromium and real WebKit, with no errors (issue 10)."""

from __future__ import annotations

from typing import Any

from tests.browser.companion import Companion
from tests.browser.webkit import by_role


def test_chromium_shell_loads_to_pairing(page: Any, companion: Companion) -> None:
    from playwright.sync_api import expect

    response = page.goto("/")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert f"connect-src 'self' ws://{companion.base_url.removeprefix('http://')};" in csp
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("heading", name="Pair with your computer")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll


def test_webkit_shell_loads_to_pairing(webkit: Any, companion: Companion) -> None:
    webkit.get(companion.base_url + "/")
    assert by_role(webkit, "main").is_displayed()
    heading = by_role(webkit, "heading", "Pair with your computer", exact=True)
    assert heading.is_displayed()
