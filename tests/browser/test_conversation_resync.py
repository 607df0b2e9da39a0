"""REL-06 in the conversation: a gap older than the companion's replay buffer.

While the page is cut off, another client runs a turn of 21,000 deltas: more than
the 20,000 events the companion keeps for resuming. On reconnect the companion
answers `resync`; the conversation fetches the newest page, run state and
approvals again and shows the whole answer exactly once.
"""

from __future__ import annotations

import re
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
from tests.browser.guards import Guard
from tests.browser.netproxy import NetProxy
from tests.harness.model_scripts import HELLO_ANSWER, long_answer_text

NETWORK_ERRORS = r"net::ERR_|WebSocket connection to .* failed"
BEYOND_REPLAY = 21_000  # deltas: more than the companion's 20,000-event resume buffer


def test_rel06_resync_after_a_gap_shows_everything_once(
    companion: Companion, paired_page: Page, git_repo: Path, proxy: NetProxy, guard: Guard
) -> None:
    guard.allow(NETWORK_ERRORS)
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    open_chat(page, chat)
    send(page, "hello first")
    log = transcript(page)
    expect(log.get_by_text(HELLO_ANSWER, exact=True)).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    wait_idle(page)

    resyncs: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda f: resyncs.append(str(f)) if '"event":"resync"' in str(f) else None,
        ),
    )
    proxy.cut()
    expect(page.locator(".pill:visible .pill-label")).to_have_text(
        re.compile("Reconnecting|Offline")
    )
    other.send(chat["id"], f"long-answer {BEYOND_REPLAY}")
    other.wait_idle(chat["id"], timeout_s=240)
    other.wait_history_has(chat["id"], long_answer_text(BEYOND_REPLAY), timeout_s=60)
    proxy.restore()
    expect(page.locator(".pill:visible .pill-label")).to_have_text("Connected")
    final = log.get_by_text(long_answer_text(BEYOND_REPLAY), exact=True)
    expect(final).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    assert resyncs, "the companion should have answered the old lastSeq with resync"
    expect(log.get_by_text(f"long-answer {BEYOND_REPLAY}", exact=True)).to_have_count(1)
    expect(log.get_by_text(HELLO_ANSWER, exact=True)).to_have_count(1)
    expect(log.get_by_text("hello first", exact=True)).to_have_count(1)
    keys = log.locator("[data-key]").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert len(keys) == len(set(keys))
