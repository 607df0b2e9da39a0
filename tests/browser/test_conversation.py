"""The conversation screen in Chromium against the real companion and app-server.

Flows: a long history pages in from the top without moving what the reader
sees; a sent message streams its answer in place, commentary apart from the
final answer, and every item is shown exactly once, also after the newest page
is fetched again and after a reload (cached page first, then the companion's).
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.companion import Companion
from tests.browser.conversation_flows import (
    TURN_TIMEOUT_MS,
    Other,
    open_chat,
    screenshot,
    send,
    transcript,
    wait_idle,
)
from tests.harness.model_scripts import (
    HELLO_ANSWER,
    HELLO_COMMENTARY,
    REASONING_ANSWER,
    REASONING_SUMMARY,
    long_answer_text,
)

HISTORY_TURNS = 30  # 60 items: more than one page of 50


def test_conversation_long_history_loads_older_page_keeping_position(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    other = Other(companion)
    chat = other.new_chat(git_repo)
    for i in range(HISTORY_TURNS):
        other.send(chat["id"], f"long-answer {i + 1}")
        other.wait_idle(chat["id"])
    page = paired_page
    open_chat(page, chat)
    log = transcript(page)
    rows = log.locator("[data-key]")
    expect(log.get_by_text(long_answer_text(HISTORY_TURNS), exact=True)).to_be_visible()
    first_count = rows.count()
    assert 50 <= first_count < 2 * HISTORY_TURNS, first_count
    # Pinned to the bottom on open: the newest answer is in view.
    at_bottom = page.evaluate(
        "el => el.scrollHeight - el.scrollTop - el.clientHeight", log.element_handle()
    )
    assert at_bottom <= 48

    anchor_key = rows.first.get_attribute("data-key")
    anchor = log.locator(f'[data-key="{anchor_key}"]')
    # Scroll to the very top: the older page loads above the reader.
    top_before = page.evaluate(
        """([el, row]) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll'));
             return row.getBoundingClientRect().top; }""",
        [log.element_handle(), anchor.element_handle()],
    )
    expect(rows).to_have_count(2 * HISTORY_TURNS)
    top_after = anchor.evaluate("row => row.getBoundingClientRect().top")
    assert abs(top_after - top_before) <= 1, (top_before, top_after)
    # The oldest item is the first prompt, and nothing is duplicated.
    keys = rows.evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert len(keys) == len(set(keys))
    assert rows.first.inner_text().strip() == "long-answer 1"
    screenshot(page, "conversation-long-history")


def test_conversation_send_streams_answer_once(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    open_chat(page, chat)
    send(page, "hello there")
    log = transcript(page)
    final = log.locator("article.is-final", has_text=HELLO_ANSWER)
    expect(final).to_be_visible(timeout=TURN_TIMEOUT_MS)
    commentary = log.locator("article.is-commentary", has_text=HELLO_COMMENTARY)
    expect(commentary).to_have_count(1)
    wait_idle(page)
    # After the turn the newest page is fetched again: still exactly once each.
    other.wait_idle(chat["id"])
    expect(log.get_by_text("hello there", exact=True)).to_have_count(1)
    expect(log.get_by_text(HELLO_ANSWER, exact=True)).to_have_count(1)
    expect(log.get_by_text(HELLO_COMMENTARY, exact=True)).to_have_count(1)

    # A reload paints the cached page, then the companion's: still once each.
    other.wait_history_has(chat["id"], HELLO_ANSWER)
    page.reload()
    open_chat(page, chat)
    expect(log.get_by_text(HELLO_ANSWER, exact=True)).to_have_count(1)
    expect(log.get_by_text("hello there", exact=True)).to_have_count(1)
    keys = log.locator("[data-key]").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert len(keys) == len(set(keys))


def test_conversation_reader_scrolled_up_gets_pill_not_jump(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    other = Other(companion)
    chat = other.new_chat(git_repo)
    for i in range(8):
        other.send(chat["id"], f"long-answer {40 + i}")
        other.wait_idle(chat["id"])
    page = paired_page
    open_chat(page, chat)
    log = transcript(page)
    expect(log.get_by_text(long_answer_text(47), exact=True)).to_be_visible()
    # The reader scrolls up to read older text ...
    reading = page.evaluate(
        "el => { el.scrollTop = 40; el.dispatchEvent(new Event('scroll')); return el.scrollTop; }",
        log.element_handle(),
    )
    pill = page.get_by_role("button", name="New messages")
    expect(pill).to_be_hidden()
    # ... while a turn from another client (the desktop) streams in: the view stays
    # put and offers the pill. (Sending from this page scrolls to the bottom.)
    other.send(chat["id"], "long-answer 300")
    expect(pill).to_be_visible(timeout=TURN_TIMEOUT_MS)
    other.wait_idle(chat["id"])
    wait_idle(page)
    assert log.evaluate("el => el.scrollTop") == reading
    pill.click()
    expect(pill).to_be_hidden()
    expect(log.get_by_text(long_answer_text(300), exact=True)).to_be_in_viewport()
    gap = log.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight")
    assert gap <= 48


def test_conversation_reasoning_is_collapsed(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    """Reasoning streams into a closed <details>. (The rollout keeps no reasoning, so the
    row goes with the turn's other live rows once the history page holds the turn.)"""
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    open_chat(page, chat)
    log = transcript(page)
    log.evaluate(
        """el => { window.__reasoning = [];
          new MutationObserver((changes) => { for (const c of changes) for (const n of c.addedNodes)
            if (n.matches && n.matches('details.tl-reasoning')) window.__reasoning.push(n);
          }).observe(el, { childList: true, subtree: true }); }"""
    )
    send(page, "reasoning please")
    expect(log.get_by_text(REASONING_ANSWER, exact=True)).to_be_visible(timeout=TURN_TIMEOUT_MS)
    wait_idle(page)
    seen = page.evaluate(
        """() => window.__reasoning.map((d) => ({ open: d.open,
             summary: d.querySelector('summary').textContent, text: d.textContent }))"""
    )
    assert len(seen) == 1, seen
    assert seen[0]["open"] is False
    assert seen[0]["summary"] == "Thought through it"
    assert REASONING_SUMMARY.replace("**", "") in seen[0]["text"]


def test_conversation_stays_at_bottom_when_an_approval_card_shrinks_it(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    other = Other(companion)
    chat = other.new_chat(git_repo)
    for i in range(6):
        other.send(chat["id"], f"long-answer {60 + i}")
        other.wait_idle(chat["id"])
    page = paired_page
    open_chat(page, chat)
    log = transcript(page)
    expect(log.get_by_text(long_answer_text(65), exact=True)).to_be_visible()
    send(page, "run-command please")
    card = page.get_by_role("region", name="Approvals").get_by_role("group")
    expect(card).to_be_visible(timeout=TURN_TIMEOUT_MS)
    # The dock took room from the transcript; the newest row is still in view.
    gap = log.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight")
    assert gap <= 48
    expect(log.locator("details.tl-command").last).to_be_in_viewport()
