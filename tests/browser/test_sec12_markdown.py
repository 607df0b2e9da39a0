"""SEC-12 in a real browser: lib/markdown.js renders hostile agent text inert.

The module under test is the shipped ``web/lib/markdown.js`` with the vendored
marked + DOMPurify, served from a loopback static server with the shell's CSP
(no inline script or style). A small page of this test imports it; every test
fails on a console error, an uncaught exception or a CSP violation.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

WEB = Path(__file__).resolve().parents[2] / "src" / "codexremote" / "web"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HARNESS_HTML = b"""<!doctype html><html><head><meta charset="utf-8">
<link rel="icon" href="data:,"><script type="module" src="/harness.js"></script></head>
<body><div id="out"></div></body></html>"""
HARNESS_JS = b"""
import { renderMarkdown, sanitiserReady } from "/web/lib/markdown.js";
import { createStreamingText } from "/web/views/timeline-text.js";
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI);
});
const out = document.getElementById("out");
window.render = (text) => {
  out.replaceChildren(renderMarkdown(text));
  return out.textContent;
};
window.stream = () => {
  const jobs = [];
  const s = createStreamingText((fn) => jobs.push(fn));
  out.replaceChildren(s.element);
  window.streamed = s;
  window.flushStream = () => { while (jobs.length) jobs.shift()(); };
};
window.ready = sanitiserReady();
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        body: bytes | None
        kind = "text/javascript"
        if path == "/":
            body, kind = HARNESS_HTML, "text/html"
        elif path == "/harness.js":
            body = HARNESS_JS
        elif path.startswith("/web/") and ".." not in path:
            file = WEB / path[len("/web/") :]
            body = file.read_bytes() if file.is_file() else None
        else:
            body = None
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def static_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, static_url: str) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=static_url.rstrip("/"))
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.goto(static_url)
    pg.wait_for_function("window.ready === true")
    yield pg
    assert problems == []
    context.close()


HOSTILE = """Hello <img src=x onerror="window.__pwned=1"> there.

<script>window.__pwned = 2</script>

[click me](javascript:window.__pwned=3) and [also](JaVaScRiPt:alert(1))
and [data](data:text/html,hi)

<a href="javascript:window.__pwned=4" onclick="window.__pwned=5">raw link</a>

![tracker](https://tracker.invalid/pixel.png)

<iframe src="https://evil.invalid/"></iframe><svg onload="window.__pwned=6"></svg>

```html
<img src=x onerror="window.__pwned=7"><script>window.__pwned=8</script>
```

A [safe link](https://example.org/docs) stays.
"""


def test_sec12_hostile_markdown_renders_inert(page: Page) -> None:
    text = page.evaluate("t => window.render(t)", HOSTILE)
    out = page.locator("#out")
    # Nothing active survived: no element that loads or runs anything.
    for selector in ("img", "script", "iframe", "svg", "object", "embed", "style", "form"):
        assert out.locator(selector).count() == 0, selector
    handlers = page.evaluate(
        "() => [...document.querySelectorAll('#out *')]"
        ".flatMap(el => [...el.attributes].map(a => a.name)).filter(n => n.startsWith('on'))"
    )
    assert handlers == []
    hrefs = page.evaluate(
        "() => [...document.querySelectorAll('#out a')].map(a => a.getAttribute('href'))"
    )
    assert hrefs == ["https://example.org/docs"]
    # The raw HTML and the code are shown as text, not swallowed.
    assert "<script>window.__pwned = 2</script>" in text
    assert '<img src=x onerror="window.__pwned=7">' in text
    assert "click me" in text and "raw link" in text
    assert page.evaluate("() => window.__pwned") is None
    # Clicking the neutralised links does nothing either.
    page.get_by_text("click me").click()
    page.get_by_text("raw link").click()
    assert page.evaluate("() => window.__pwned") is None


def test_sec12_links_open_safely(page: Page) -> None:
    page.evaluate(
        "t => window.render(t)", "See [docs](https://example.org/a?b=1) and <http://example.com>."
    )
    links = page.locator("#out a")
    assert links.count() == 2
    for i in range(2):
        assert links.nth(i).get_attribute("rel") == "noopener noreferrer"
        assert links.nth(i).get_attribute("target") == "_blank"


def test_sec12_code_block_scrolls_and_copies(page: Page) -> None:
    long_line = "x = " + "'abc' + " * 80 + "'end'"
    page.evaluate("t => window.render(t)", f"```python\n{long_line}\n```")
    pre = page.locator("#out .md-code pre")
    assert pre.get_attribute("tabindex") == "0"  # scrollable by keyboard too
    assert pre.locator("code").get_attribute("class") == "language-python"
    page.get_by_role("button", name="Copy code").click()
    page.get_by_text("Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == long_line


def test_sec12_streaming_rerenders_only_the_last_block(page: Page) -> None:
    page.evaluate("() => window.stream()")
    page.evaluate(
        "() => { window.streamed.append('First paragraph.\\n\\nSecond'); window.flushStream(); }"
    )
    page.evaluate("() => { window.firstP = document.querySelector('#out .md-frozen p'); }")
    for delta in [" grows", " more", "\n\nThird <b onmouseover=x>bold</b>"]:
        page.evaluate("d => { window.streamed.append(d); window.flushStream(); }", delta)
    same = page.evaluate("() => document.querySelector('#out .md-frozen p') === window.firstP")
    assert same, "a finished block was re-rendered"
    page.evaluate("() => { window.streamed.finish(); window.flushStream(); }")
    paragraphs = page.locator("#out p").all_inner_texts()
    assert paragraphs == [
        "First paragraph.",
        "Second grows more",
        "Third <b onmouseover=x>bold</b>",
    ]
    assert page.locator("#out b").count() == 0


def test_sec12_streaming_plain_words_extend_text_then_render_markup(page: Page) -> None:
    page.evaluate("() => window.stream()")
    page.evaluate("() => { window.streamed.append('Hello '); window.flushStream(); }")
    page.evaluate(
        "() => { window.tailText = document.querySelector('#out .md-tail p').firstChild; }"
    )
    for delta in ["big ", "wide ", "world"]:
        page.evaluate("d => { window.streamed.append(d); window.flushStream(); }", delta)
    # Plain words joined the same Text node (no re-parse), spaces kept.
    assert page.evaluate(
        "() => document.querySelector('#out .md-tail p').firstChild === window.tailText"
    )
    assert page.locator("#out .md-tail p").inner_text() == "Hello big wide world"
    # Markup in a delta is parsed and sanitised, never appended raw.
    page.evaluate("d => { window.streamed.append(d); window.flushStream(); }", " <img src=x> *em*")
    assert page.locator("#out img").count() == 0
    assert page.locator("#out em").inner_text() == "em"
    page.evaluate("() => { window.streamed.finish(); window.flushStream(); }")
    assert page.locator("#out p").inner_text() == "Hello big wide world <img src=x> em"
