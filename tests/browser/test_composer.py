"""The composer in Chromium: steer a running turn, then stop it; field sizes.

`slow-answer 400` streams for 20 s, long enough to steer and stop mid-turn.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.companion import Companion
from tests.browser.conversation_flows import (
    TURN_TIMEOUT_MS,
    Other,
    composer_input,
    open_chat,
    screenshot,
    send,
    transcript,
    wait_idle,
)
from tests.harness.model_scripts import slow_answer_text


def test_composer_steer_and_stop(companion: Companion, paired_page: Page, git_repo: Path) -> None:
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    open_chat(page, chat)
    send(page, "slow-answer 400")
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible(timeout=TURN_TIMEOUT_MS)
    log = transcript(page)
    # Wait for text to stream in, then steer.
    expect(log.get_by_text(slow_answer_text(400)[:9], exact=False)).to_be_visible(
        timeout=TURN_TIMEOUT_MS
    )
    # The steered input is a new prompt for the model: keep it slow, so Stop has a turn to stop.
    composer_input(page).fill("slow-answer 400 please steer this")
    steer = page.get_by_role("button", name="Steer the running turn")
    expect(steer).to_be_enabled()
    screenshot(page, "composer-running", readme=True)
    with page.expect_response(lambda r: r.url.endswith("/steer")) as steered:
        steer.click()
    assert steered.value.status == 202
    bubble = log.locator("article", has_text="slow-answer 400 please steer this")
    expect(bubble).to_have_count(1)
    expect(bubble.locator(".bubble-note")).to_be_hidden()  # delivered, not "Not sent"

    with page.expect_response(lambda r: r.url.endswith("/stop")) as stopped:
        stop.click()
    assert stopped.value.status == 200
    wait_idle(page)
    status, state = other.call("GET", f"/v1/chats/{chat['id']}/run-state")
    assert status == 200 and state["data"]["isRunning"] is False
    # Stopped mid-answer: the whole slow text never arrived.
    expect(log.get_by_text(slow_answer_text(400), exact=True)).to_have_count(0)


def test_composer_sizes_and_new_lines(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    open_chat(page, chat)
    field = composer_input(page)
    font_px = field.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert font_px >= 16  # no zoom on focus in iOS Safari
    for name in ("Send message", "Back to chats"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, (name, box)
    # A touch device: Enter is a new line and sends nothing; the field grows.
    height = field.bounding_box()["height"]  # type: ignore[index]
    field.click()
    page.keyboard.type("one")
    for line in ("two", "three"):
        page.keyboard.press("Enter")
        page.keyboard.type(line)
    assert field.input_value() == "one\ntwo\nthree"
    assert field.bounding_box()["height"] > height  # type: ignore[index]
    expect(transcript(page).locator("article")).to_have_count(0)
