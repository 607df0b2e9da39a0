"""The error guards themselves: they really see console errors, rejections and CSP
violations in both engines (otherwise every other browser test proves nothing)."""

from __future__ import annotations

import time
from typing import Any

from tests.browser.companion import Companion
from tests.browser.conftest import collect_probe
from tests.browser.guards import Guard
from tests.browser.webkit import by_role, probe_errors

PROVOKE = """
console.error("guard-test console error");
Promise.reject(new Error("guard-test rejection"));
setTimeout(() => { throw new Error("guard-test uncaught"); }, 0);
const s = document.createElement("style");
s.textContent = "body { --inline-ran: 1; }";  // inline style: style-src 'self' refuses it
document.head.append(s);
new Image().src = "http://elsewhere.invalid/pixel.png";  // img-src: blocked before any request
"""
EXPECTED = ("guard-test console error", "guard-test rejection", "guard-test uncaught", "CSP")
# the browsers' own console lines for the refused inline style and image
CHROMIUM_CSP_LINE = "violates the following Content Security Policy directive"
BLOCKED_STYLE = "resource error: <style>"  # the refused element's own error event


def wait_for(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def test_chromium_guard_sees_errors_and_csp_violations(page: Any, guard: Guard) -> None:
    page.goto("/")
    page.evaluate(PROVOKE)
    page.wait_for_timeout(200)
    collect_probe(page, guard)
    assert all(any(e in g for g in guard.errors) for e in EXPECTED), guard.errors
    assert any(g.startswith("pageerror: ") for g in guard.errors), "Playwright's own event too"
    assert page.evaluate("getComputedStyle(document.body).getPropertyValue('--inline-ran')") == ""
    for expected in (*EXPECTED, CHROMIUM_CSP_LINE, BLOCKED_STYLE):
        guard.allow(expected)
    guard.assert_clean()


def test_webkit_probe_sees_errors_and_csp_violations(webkit: Any, companion: Companion) -> None:
    webkit.get(companion.base_url + "/")
    by_role(webkit, "main")
    webkit.execute_script(PROVOKE)
    seen = wait_for(
        lambda: (
            (errors := probe_errors(webkit))
            and all(any(e in g for g in errors) for e in EXPECTED)
            and errors
        )
    )
    assert seen, probe_errors(webkit)
    ran = webkit.execute_script(
        "return getComputedStyle(document.body).getPropertyValue('--inline-ran')"
    )
    assert ran == ""
    for expected in (*EXPECTED, BLOCKED_STYLE):
        webkit.webkit_guard.allow(expected)
