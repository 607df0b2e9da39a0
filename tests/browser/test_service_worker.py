"""The service worker in real Chromium (issue 10 "Shell"; style.md web client 8-10):
it precaches exactly the versioned shell, serves it when the computer is
unreachable, and never answers for the API.
"""

from __future__ import annotations

import json
import re
import urllib.request

from playwright.sync_api import Page, expect

from tests.browser.companion import Companion
from tests.browser.guards import Guard
from tests.browser.netproxy import NetProxy

CACHED_URLS_JS = """async () => {
  const names = await caches.keys();
  const out = {};
  for (const name of names) {
    const cache = await caches.open(name);
    out[name] = (await cache.keys()).map((r) => new URL(r.url).pathname);
  }
  return out;
}"""

FETCH_JS = """async (path) => {
  try {
    const r = await fetch(path, { headers: { Accept: "application/json" } });
    return r.status;
  } catch (e) {
    return "failed";
  }
}"""


def shell_files(companion: Companion) -> tuple[str, list[str]]:
    """(version, precache list) from the served /sw.js."""
    with urllib.request.urlopen(companion.direct_url + "/sw.js", timeout=10) as response:
        text = response.read().decode()
    version = re.search(r'const VERSION = "([0-9a-f]+)"', text)
    files = re.search(r"const FILES = (\[.*?\]);", text, re.S)
    assert version and files, text[:400]
    return version.group(1), json.loads(files.group(1))


def test_sw_precaches_the_versioned_shell_and_never_the_api(
    paired_page: Page, companion: Companion, proxy: NetProxy, guard: Guard
) -> None:
    guard.allow(r"net::ERR_|WebSocket connection to .* failed")
    guard.allow(r"status of 401 .*/v1/projects")  # the bare fetch below carries no token
    page = paired_page
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    version, files = shell_files(companion)
    assert "/" in files and "/manifest.webmanifest" in files
    assert all(
        f == "/" or f == "/manifest.webmanifest" or f.startswith(f"/app/{version}/") for f in files
    )
    page.get_by_role("button", name="Refresh").click()  # API traffic through the worker
    cached = page.evaluate(CACHED_URLS_JS)
    assert list(cached) == [f"codexremote-shell-{version}"]
    assert sorted(cached[f"codexremote-shell-{version}"]) == sorted(files)
    proxy.cut()
    # The shell still comes from the cache; the API is never answered from it.
    assert page.evaluate(FETCH_JS, "/") == 200
    assert page.evaluate(FETCH_JS, f"/app/{version}/app.js") == 200
    assert page.evaluate(FETCH_JS, "/v1/projects") == "failed"
    assert page.evaluate(FETCH_JS, "/health") == "failed"
    proxy.restore()
    assert page.evaluate(FETCH_JS, "/v1/projects") == 401  # no token in a bare fetch: network
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()
