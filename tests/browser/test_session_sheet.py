"""The session sheet (web client, issue 11 section 3) in Chromium against the real
companion, the real app-server and real git repositories (the chat's cwd).

Flows: the approval policy changed from the sheet (asked first; config.toml, the
companion's CODEX_HOME, changes only that key); a file's diff with +/- colours, line
numbers and sideways scroll, and a diff over 64,000 characters shown as truncated;
checkout refused by git because of local changes (git's own reason shown), then
checkout of an existing branch; commit with nothing staged (the companion's refusal
shown), then commit of the staged changes. The sheet reloads after every write.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.browser.companion import Companion
from tests.browser.conversation_flows import Other, open_chat, screenshot
from tests.browser.guards import Guard

GIT_TIMEOUT_S = 30


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=GIT_TIMEOUT_S
    )
    return done.stdout


SHEET_LOADED = """() => performance.getEntriesByType("resource")
    .filter((e) => /session-sheet[^/]*[.](js|css)$/.test(e.name)).length"""


def open_sheet(page: Page, companion: Companion, repo: Path) -> Locator:
    chat = Other(companion).new_chat(repo)
    open_chat(page, chat)
    loaded_before = page.evaluate(SHEET_LOADED)
    page.get_by_role("button", name="Session", exact=True).click()
    sheet = page.get_by_role("dialog", name="Session")
    expect(sheet).to_be_visible()
    expect(sheet.get_by_text(str(repo), exact=True)).to_be_visible()
    # Loaded lazily: none of the sheet's five files before the tap (page's own requests).
    assert loaded_before == 0
    assert page.evaluate(SHEET_LOADED) == 5
    return sheet


def confirm(sheet: Locator, action: str) -> None:
    question = sheet.get_by_role("alertdialog")
    expect(question).to_be_visible()
    question.get_by_role("button", name=action, exact=True).click()
    expect(question).to_be_hidden()


def test_session_sheet_approval_policy_writes_only_that_key(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    config = companion.codex_home / "config.toml"
    before = config.read_text()
    assert 'approval_policy = "on-request"' in before
    # Something in every group, for the screenshot.
    git(git_repo, "branch", "feature")
    (git_repo / "README.md").write_text("# test repo\nchanged\n")
    (git_repo / "staged.txt").write_text("staged\n")
    git(git_repo, "add", "staged.txt")
    (git_repo / "new.txt").write_text("untracked\n")
    page = paired_page
    sheet = open_sheet(page, companion, git_repo)
    approval = sheet.get_by_role("combobox", name="Approval policy")
    expect(approval).to_have_value("on-request")
    expect(sheet.get_by_role("combobox", name="Sandbox mode")).to_have_value("read-only")
    expect(sheet.get_by_text("from the next turn of every chat")).to_be_visible()
    expect(sheet.get_by_text("1 staged · 1 unstaged · 1 untracked")).to_be_visible()
    screenshot(page, "session-sheet", readme=True)

    # Cancelled: nothing written, the select shows what is in effect.
    approval.select_option("never")
    sheet.get_by_role("alertdialog").get_by_role("button", name="Cancel").click()
    expect(approval).to_have_value("on-request")
    assert config.read_text() == before

    approval.select_option("never")
    expect(sheet.get_by_role("alertdialog")).to_contain_text("approval policy to never")
    confirm(sheet, "Change")
    expect(approval).to_have_value("never")
    after = config.read_text()
    changed = [
        (old, new)
        for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
        if old != new
    ]
    assert changed == [('approval_policy = "on-request"', 'approval_policy = "never"')]
    screenshot(page, "session-sheet-after")


def test_session_sheet_diff_colours_numbers_scroll_and_truncation(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    long_line = "x" * 400
    (git_repo / "big.txt").write_text("start\n")
    git(git_repo, "add", "big.txt")
    git(git_repo, "commit", "-q", "-m", "Add big.txt")
    (git_repo / "README.md").write_text(f"# agent notes\nsecond line\n{long_line}\n")
    (git_repo / "big.txt").write_text("".join(f"line {i:05d} {'y' * 70}\n" for i in range(1000)))
    page = paired_page
    sheet = open_sheet(page, companion, git_repo)
    unstaged = sheet.get_by_role("list", name="Unstaged files")
    unstaged.get_by_role("button", name="README.md").click()
    table = sheet.get_by_role("table", name="Diff of README.md")
    expect(table).to_be_visible()
    added = table.locator(".diff-add", has_text="+second line")
    removed = table.locator(".diff-del", has_text="-# test repo")
    expect(added).to_have_count(1)
    expect(removed).to_have_count(1)
    # Numbers from the hunk header: "-# test repo" is old line 1, "+second line" new line 2.
    expect(removed.get_by_label("old line 1")).to_have_count(1)
    expect(added.get_by_label("new line 2")).to_have_count(1)
    colours = page.evaluate(
        """() => ["diff-add", "diff-del", "diff-meta"].map((k) =>
            getComputedStyle(document.querySelector("." + k)).backgroundColor)"""
    )
    print(f"diff backgrounds add/del/meta: {colours}")
    assert colours[0] != colours[1]
    assert "rgba(0, 0, 0, 0)" not in colours[:2]
    assert colours[2] == "rgba(0, 0, 0, 0)"
    widths = page.evaluate(
        """() => {
            const box = document.querySelector(".diff-scroll");
            return [box.scrollWidth, box.clientWidth,
                    document.documentElement.scrollWidth, window.innerWidth];
        }"""
    )
    print(f"diff scroll width {widths[0]} in a box of {widths[1]}; page {widths[2]}/{widths[3]}")
    assert widths[0] > widths[1]  # the 400-character line scrolls inside the diff box
    assert widths[2] <= widths[3]  # the page itself never scrolls sideways
    expect(sheet.get_by_text("[Diff truncated]")).to_have_count(0)
    screenshot(page, "diff", readme=True)
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate(
        """() => ["diff-add", "diff-del"].map((k) =>
            getComputedStyle(document.querySelector("." + k)).backgroundColor)"""
    )
    print(f"diff backgrounds add/del, dark: {dark}")
    assert dark != colours[:2]  # the dark scheme has its own colours
    screenshot(page, "diff-dark")
    page.emulate_media(color_scheme="light")

    unstaged.get_by_role("button", name="big.txt").click()
    big = sheet.get_by_role("table", name="Diff of big.txt")
    expect(big).to_be_visible()
    expect(sheet.get_by_role("note")).to_contain_text("[Diff truncated]")
    rows = big.locator(".diff-add").count()
    print(f"truncated diff: {rows} added rows shown of 1000")
    assert 0 < rows < 1000
    screenshot(page, "diff-truncated")


def test_session_sheet_checkout_refused_then_done(
    companion: Companion, paired_page: Page, git_repo: Path, guard: Guard
) -> None:
    guard.allow(r"status of 409 \(Conflict\) \(.*/git/checkout\)")  # Chromium's own line
    git(git_repo, "checkout", "-q", "-b", "feature")
    (git_repo / "README.md").write_text("# feature\n")
    git(git_repo, "commit", "-q", "-am", "Feature readme")
    git(git_repo, "checkout", "-q", "main")
    (git_repo / "README.md").write_text("# local edit\n")
    page = paired_page
    sheet = open_sheet(page, companion, git_repo)
    expect(sheet.get_by_text("Branch main", exact=True)).to_be_visible()
    picker = sheet.get_by_role("combobox", name="Switch to branch")
    expect(picker).to_have_value("feature")
    sheet.get_by_role("button", name="Check out", exact=True).click()
    expect(sheet.get_by_role("alertdialog")).to_contain_text("Check out branch feature?")
    confirm(sheet, "Check out")
    error = sheet.get_by_role("alert")
    expect(error).to_contain_text("would be overwritten by checkout")
    expect(sheet.get_by_text("Branch main", exact=True)).to_be_visible()
    assert git(git_repo, "branch", "--show-current").strip() == "main"
    screenshot(page, "session-sheet-checkout-refused")

    git(git_repo, "checkout", "-q", "--", "README.md")
    sheet.get_by_role("button", name="Check out", exact=True).click()
    confirm(sheet, "Check out")
    expect(sheet.get_by_text("Branch feature", exact=True)).to_be_visible()
    expect(error).to_have_count(0)  # an empty alert is not shown
    assert git(git_repo, "branch", "--show-current").strip() == "feature"
    # After the refresh the picker offers the branch we came from.
    expect(picker).to_have_value("main")


def test_session_sheet_commit_nothing_staged_then_staged(
    companion: Companion, paired_page: Page, git_repo: Path, guard: Guard
) -> None:
    guard.allow(r"status of 400 \(Bad Request\) \(.*/git/commit\)")  # Chromium's own line
    (git_repo / "README.md").write_text("# not staged\n")
    page = paired_page
    sheet = open_sheet(page, companion, git_repo)
    message = sheet.get_by_role("textbox", name="Commit message")
    message.fill("Phone commit")
    sheet.get_by_role("button", name="Commit staged changes").click()
    confirm(sheet, "Commit")
    expect(sheet.get_by_role("alert")).to_have_text("There are no staged changes to commit")
    assert git(git_repo, "rev-list", "--count", "HEAD").strip() == "1"
    screenshot(page, "session-sheet-nothing-staged")

    (git_repo / "added.txt").write_text("from the agent\n")
    git(git_repo, "add", "added.txt")
    # Refresh reads the work tree again (the companion caches status for 1 s: poll).
    counts = sheet.get_by_text("1 staged · 1 unstaged · 0 untracked")
    deadline = time.monotonic() + 15
    while counts.count() == 0:
        assert time.monotonic() < deadline, "the staged file never appeared"
        sheet.get_by_role("button", name="Refresh").click()
        page.wait_for_timeout(300)  # poll interval, not an assertion
    expect(sheet.get_by_role("list", name="Staged files", exact=True)).to_contain_text("added.txt")
    sheet.get_by_role("button", name="Commit staged changes").click()
    expect(sheet.get_by_role("alertdialog")).to_contain_text("Phone commit")
    confirm(sheet, "Commit")
    expect(sheet.get_by_text("0 staged · 1 unstaged · 0 untracked")).to_be_visible()
    expect(message).to_have_value("")
    expect(sheet.get_by_role("alert")).to_have_count(0)
    assert git(git_repo, "log", "-1", "--format=%s").strip() == "Phone commit"
    assert git(git_repo, "show", "--name-only", "--format=", "HEAD").split() == ["added.txt"]


def test_session_sheet_commit_without_identity_shows_gits_reason(
    companion: Companion, paired_page: Page, git_repo: Path, guard: Guard
) -> None:
    guard.allow(r"status of 400 \(Bad Request\) \(.*/git/commit\)")  # Chromium's own line
    # No identity anywhere, and git told not to guess one from the host name.
    git(git_repo, "config", "--unset", "user.name")
    git(git_repo, "config", "--unset", "user.email")
    git(git_repo, "config", "user.useConfigOnly", "true")
    (git_repo / "added.txt").write_text("from the agent\n")
    git(git_repo, "add", "added.txt")
    page = paired_page
    sheet = open_sheet(page, companion, git_repo)
    sheet.get_by_role("textbox", name="Commit message").fill("Phone commit")
    sheet.get_by_role("button", name="Commit staged changes").click()
    confirm(sheet, "Commit")
    error = sheet.get_by_role("alert")
    expect(error).to_contain_text("Please tell me who you are")
    print(f"no identity: {error.inner_text()!r}")
    expect(sheet.get_by_text("1 staged · 0 unstaged · 0 untracked")).to_be_visible()
    assert git(git_repo, "rev-list", "--count", "HEAD").strip() == "1"
    screenshot(page, "session-sheet-no-identity")
