"""SEC-12 end to end: hostile agent output streamed by the real app-server renders inert.

The fake model's `hostile-answer` streams, word by word, an answer with
`<img onerror>`, `<script>`, `javascript:` links, a raw `<a onclick>` and HTML
inside a code block; each payload would set `window.__pwned` if it ever ran.
The page guard also fails the test on any console error or CSP violation.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.companion import Companion
from tests.browser.conversation_flows import (
    TURN_TIMEOUT_MS,
    Other,
    open_chat,
    send,
    transcript,
    wait_idle,
)
from tests.harness.model_scripts import HOSTILE_ANSWER


def _check_inert(page: Page) -> None:
    log = transcript(page)
    answer = log.locator("article.is-final")
    expect(answer.get_by_text("Safe:", exact=False)).to_be_visible(timeout=TURN_TIMEOUT_MS)
    for selector in ("img", "script", "iframe", "svg", "object", "embed", "style", "b"):
        expect(answer.locator(selector)).to_have_count(0)
    handlers = answer.evaluate(
        "el => [...el.querySelectorAll('*')].flatMap(n => [...n.attributes].map(a => a.name))"
        ".filter(n => n.startsWith('on'))"
    )
    assert handlers == []
    links = answer.locator("a")
    expect(links).to_have_count(1)
    assert links.get_attribute("href") == "https://example.org/docs"
    assert links.get_attribute("rel") == "noopener noreferrer"
    assert links.get_attribute("target") == "_blank"
    # The markup is shown as text; the code block keeps it verbatim.
    shown = "<script>window.__pwned='script'</script>"
    expect(answer.get_by_text(shown, exact=False)).to_be_visible()
    code = answer.locator(".md-code pre code")
    expect(code).to_have_text("<img src=x onerror=\"window.__pwned='code'\"><b>bold?</b>\n")
    # Tapping the neutralised links runs nothing.
    expect(
        answer.get_by_text("onclick=\"window.__pwned='click'\">raw", exact=False)
    ).to_be_visible()
    answer.get_by_text("open me").click()
    assert page.evaluate("() => window.__pwned") is None


def test_sec12_hostile_agent_output_renders_inert(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_chat(page, chat)
    send(page, "hostile-answer")
    _check_inert(page)  # as streamed
    wait_idle(page)
    # Copy writes the code itself, inside the tap.
    answer = transcript(page).locator("article.is-final")
    answer.get_by_role("button", name="Copy code").click()
    expect(answer.get_by_text("Copied")).to_be_visible()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == "<img src=x onerror=\"window.__pwned='code'\"><b>bold?</b>"
    # From history (after a reload) too.
    other.wait_history_has(chat["id"], HOSTILE_ANSWER)
    page.reload()
    open_chat(page, chat)
    _check_inert(page)
