"""Page guards: every browser test fails on a console error, an unhandled rejection,
an uncaught exception or a CSP violation, unless the test names it as expected.

Chromium (Playwright) reports console messages and page errors as events; the
init script below adds CSP violations (``securitypolicyviolation`` is not a
console event). WebKit (classic WebDriver) has neither events nor init scripts,
so the same collector runs as ``/__probe__.js`` injected by the test proxy
(:mod:`tests.browser.netproxy`) before the shell's own scripts, and the test
reads what it collected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Runs before any page script. Reports CSP violations to the console (Chromium's
# listener sees them there) and keeps everything in sessionStorage so a reload
# (update banner, unpair) does not lose what was seen before (WebKit reads it).
COLLECTOR_JS = (Path(__file__).resolve().parent / "collector.js").read_text()


@dataclass
class Guard:
    """Errors seen on one page; ``allow`` names the ones a test expects."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect errors matching ``pattern`` (e.g. the browser's own console line
        for a 401 in a revocation test, or a refused connection while offline)."""
        self.allowed.append(re.compile(pattern))

    def allow_network_errors(self) -> None:
        """The browser's own lines for requests a network cut broke (called by
        ``proxy.cut()``): a fetch in flight ends in ``net::ERR_EMPTY_RESPONSE``, a
        reset, or ``ERR_SOCKET_NOT_CONNECTED`` (its socket aborted while the request
        was being written), the stream socket "failed". Page errors and rejections
        still count."""
        self.allow(
            r"net::ERR_(EMPTY_RESPONSE|SOCKET_NOT_CONNECTED|CONNECTION_(RESET|REFUSED|CLOSED|ABORTED))"
        )
        self.allow(r"WebSocket connection to .* failed")

    def add(self, text: str) -> None:
        self.errors.append(text)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def assert_clean(self) -> None:
        bad = self.unexpected()
        assert not bad, "browser reported errors:\n" + "\n".join(bad)
