"""Approval cards in Chromium, answered against the real app-server.

`run-command` makes codex ask to run `touch approved.txt` outside the sandbox
(item/commandExecution/requestApproval); the file in the repo shows whether the
command really ran.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.companion import Companion
from tests.browser.conversation_flows import (
    TURN_TIMEOUT_MS,
    Other,
    approval_card,
    open_chat,
    screenshot,
    send,
    transcript,
    wait_idle,
)
from tests.harness.model_scripts import (
    COMMAND,
    MCP_SERVER,
    PATCH_FILE,
    TOOL_DONE_ANSWER,
    TOOL_REJECTED_ANSWER,
)

TITLE = "Command Approval"


def _ask(page: Page, companion: Companion, git_repo: Path) -> tuple[Other, dict[str, str]]:
    other = Other(companion)
    chat = other.new_chat(git_repo)
    open_chat(page, chat)
    send(page, "run-command please")
    expect(approval_card(page, TITLE)).to_be_visible(timeout=TURN_TIMEOUT_MS)
    return other, chat


def _decision_posts(page: Page) -> list[str]:
    posts: list[str] = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.post_data or "")
            if r.method == "POST" and "/v1/approvals/" in r.url
            else None
        ),
    )
    return posts


def test_approvals_approve_command_and_see_it_run(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    page = paired_page
    posts = _decision_posts(page)
    _ask(page, companion, git_repo)
    card = approval_card(page, TITLE)
    # Exactly the decisions a command approval supports (no "Always allow").
    buttons = card.get_by_role("button").filter(visible=True)
    expect(buttons).to_have_text(["Approve", "Decline", "Allow for this chat"])
    expect(card.get_by_text(COMMAND, exact=True)).to_be_visible()
    expect(card.get_by_text(str(git_repo), exact=True)).to_be_visible()
    expect(card.get_by_text("Risk high")).to_be_visible()
    # The command's row waits for the decision, and the header took the chat's new name.
    waiting = transcript(page).locator("details.tl-command", has_text=COMMAND)
    expect(waiting.get_by_text("Waiting for approval")).to_be_visible()
    expect(page.get_by_role("heading", name="run-command please")).to_be_visible()
    screenshot(page, "conversation-approval", readme=True)

    # Two taps in the same instant: one decision leaves the page.
    card.get_by_role("button", name="Approve").evaluate("b => { b.click(); b.click(); }")
    expect(card).to_have_count(0, timeout=TURN_TIMEOUT_MS)
    log = transcript(page)
    command_row = log.locator("details.tl-command", has_text=COMMAND)
    expect(command_row).to_have_count(1)
    expect(command_row.get_by_text("Approved", exact=True)).to_be_visible()
    expect(command_row.get_by_text("Exit 0")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    expect(log.get_by_text(TOOL_DONE_ANSWER, exact=True)).to_be_visible(timeout=TURN_TIMEOUT_MS)
    wait_idle(page)
    assert (git_repo / "approved.txt").exists()
    assert len(posts) == 1 and '"decision":"approve"' in posts[0].replace(" ", "")


def test_approvals_decline(companion: Companion, paired_page: Page, git_repo: Path) -> None:
    page = paired_page
    _ask(page, companion, git_repo)
    card = approval_card(page, TITLE)
    card.get_by_role("button", name="Decline").click()
    expect(card).to_have_count(0, timeout=TURN_TIMEOUT_MS)
    log = transcript(page)
    command_row = log.locator("details.tl-command", has_text=COMMAND)
    expect(command_row.get_by_text("Declined", exact=True).first).to_be_visible()
    expect(log.get_by_text(TOOL_REJECTED_ANSWER, exact=True)).to_be_visible(timeout=TURN_TIMEOUT_MS)
    wait_idle(page)
    assert not (git_repo / "approved.txt").exists()


def test_approvals_allow_for_this_chat(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    page = paired_page
    _ask(page, companion, git_repo)
    card = approval_card(page, TITLE)
    card.get_by_role("button", name="Allow for this chat").click()
    expect(card).to_have_count(0, timeout=TURN_TIMEOUT_MS)
    log = transcript(page)
    expect(log.get_by_text("Allowed for this chat", exact=True)).to_be_visible()
    expect(log.get_by_text(TOOL_DONE_ANSWER, exact=True)).to_be_visible(timeout=TURN_TIMEOUT_MS)
    wait_idle(page)
    (git_repo / "approved.txt").unlink()
    # The next command of this chat runs without asking: no card is ever added
    # (codex's own session cache or the companion's auto-accept answers it).
    page.evaluate(
        """() => { window.__cards = 0;
          new MutationObserver((changes) => {
            for (const c of changes) window.__cards += c.addedNodes.length;
          }).observe(document.querySelector('.approval-dock'), { childList: true }); }"""
    )
    page.get_by_role("textbox", name="Message").fill("run-command again")
    page.get_by_role("button", name="Send message").click()
    expect(log.get_by_text(TOOL_DONE_ANSWER, exact=True)).to_have_count(2, timeout=TURN_TIMEOUT_MS)
    wait_idle(page)
    assert page.evaluate("() => window.__cards") == 0
    assert (git_repo / "approved.txt").exists()
    # Each command row sits before the answer that followed it.
    rows = log.locator("[data-key]")
    expect(rows).to_have_count(6)
    order = rows.evaluate_all(
        "rows => rows.map(r => r.matches('.tl-command') ? 'cmd' : r.getAttribute('aria-label'))"
    )
    assert order == ["You", "cmd", "Codex", "You", "cmd", "Codex"], order


def test_approvals_answered_elsewhere_card_goes(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    page = paired_page
    other, chat = _ask(page, companion, git_repo)
    card = approval_card(page, TITLE)
    card.get_by_role("button", name="Approve").focus()
    (approval,) = other.open_approvals(chat["id"])
    status, answer = other.call("POST", f"/v1/approvals/{approval['id']}", {"decision": "approve"})
    assert status == 200, answer
    expect(card).to_have_count(0, timeout=TURN_TIMEOUT_MS)
    log = transcript(page)
    expect(log.get_by_text("Answered elsewhere", exact=True)).to_be_visible()
    expect(log.get_by_text(TOOL_DONE_ANSWER, exact=True)).to_be_visible(timeout=TURN_TIMEOUT_MS)
    # The focused button went away with the card: focus is on the composer, not lost.
    assert page.evaluate("document.activeElement?.getAttribute('aria-label')") == "Message"


def test_approvals_file_change_card_lists_files_with_counts(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    page = paired_page
    other = Other(companion)
    chat = other.new_chat(git_repo)
    open_chat(page, chat)
    send(page, "edit-file please")
    card = approval_card(page, "File Change Approval")
    expect(card).to_be_visible(timeout=TURN_TIMEOUT_MS)
    files = card.get_by_role("list", name="Files").get_by_role("listitem")
    expect(files).to_have_count(1)
    expect(files.first).to_contain_text(PATCH_FILE)
    expect(files.first).to_contain_text("+1 -0")
    expect(card.get_by_text("Risk medium")).to_be_visible()
    card.get_by_role("button", name="Approve").click()
    expect(card).to_have_count(0, timeout=TURN_TIMEOUT_MS)
    edit_row = transcript(page).locator(".tl-file", has_text=PATCH_FILE)
    expect(edit_row.first).to_contain_text("+1 -0")
    expect(transcript(page).get_by_text(TOOL_DONE_ANSWER, exact=True)).to_be_visible(
        timeout=TURN_TIMEOUT_MS
    )
    assert (git_repo / PATCH_FILE).exists()


def test_approvals_mcp_card_shows_server_tool_and_always(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    page = paired_page
    other = Other(companion)
    chat = other.new_chat(git_repo)
    open_chat(page, chat)
    send(page, "mcp-tool please")
    card = approval_card(page, "MCP Server Access")
    expect(card).to_be_visible(timeout=TURN_TIMEOUT_MS)
    expect(card.get_by_text(f"{MCP_SERVER} · ", exact=False)).to_be_visible()
    expect(card.get_by_text("Risk high")).to_be_visible()  # the tool is destructive
    buttons = card.get_by_role("button").filter(visible=True)
    expect(buttons).to_have_text(["Approve", "Decline", "Allow for this chat", "Always allow"])
    card.get_by_role("button", name="Decline").click()
    expect(card).to_have_count(0, timeout=TURN_TIMEOUT_MS)
    expect(transcript(page).get_by_text(TOOL_REJECTED_ANSWER, exact=True)).to_be_visible(
        timeout=TURN_TIMEOUT_MS
    )
