"""index.html of the web client: every file it names exists in the shell, and the
preloaded modules are exactly the first screen's static module graph (a stale
preload would cost a 404 and a console error; a missing one a round trip)."""

from __future__ import annotations

import re

from codexremote.web_shell import WEB_DIR, load_shell
from tests.unit.test_web_budget import module_graph

REF = re.compile(r'(?:href|src)="/app/__SHELL_VERSION__/([^"]+)"')
PRELOAD = re.compile(r'<link rel="modulepreload" href="/app/__SHELL_VERSION__/([^"]+)">')


def test_index_names_only_shipped_files() -> None:
    html = (WEB_DIR / "index.html").read_text()
    shell = load_shell(WEB_DIR)
    for rel in REF.findall(html):
        assert rel in shell.files, f"index.html names {rel}, which is not shipped"


def test_modulepreload_is_the_first_screens_static_graph() -> None:
    html = (WEB_DIR / "index.html").read_text()
    shell = load_shell(WEB_DIR)
    preloaded = set(PRELOAD.findall(html))
    graph = set(module_graph(shell, "app.js"))
    assert preloaded == graph, {"missing": graph - preloaded, "extra": preloaded - graph}
    # The conversation (Markdown parser, sanitiser) is loaded later with import().
    assert not any(p.startswith(("vendor/", "views/conversation")) for p in preloaded)


def test_index_has_the_phone_essentials() -> None:
    html = (WEB_DIR / "index.html").read_text()
    assert 'content="width=device-width, initial-scale=1, viewport-fit=cover"' in html
    assert '<meta name="apple-mobile-web-app-capable" content="yes">' in html
    assert 'rel="apple-touch-icon"' in html and 'rel="manifest"' in html
    assert html.count("<main") == 1 and html.count('role="status"') == 1
    assert "<script>" not in html and "style=" not in html  # CSP: nothing inline
