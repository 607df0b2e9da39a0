"""The drawer in real Chromium (issue 10 "Drawer"): projects and chats newest first,
live state from the stream, a chat made elsewhere appearing by itself, a new chat
in a project, and 5,000 chats searched without 5,000 rows in the DOM.

Chats are made by a second client of the same companion (the real app-server
behind it); live state comes from real turns of the scripted model.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from playwright.sync_api import Locator, Page, Route, expect

from tests.browser.companion import Companion
from tests.browser.conftest import readme_shot
from tests.browser.conversation_flows import TURN_TIMEOUT_MS, Other
from tests.browser.guards import Guard
from tests.browser.netproxy import NetProxy

MAX_DOM_ROWS = 120  # what a phone screen plus overscan can hold; 5,000 must never be there
POLL_MS = 15_000  # drawer-flow.js: the open drawer re-reads the list this often
POLL_CHECK_MS = 5_000  # ... checking the list's age this often


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    return path


def chat_row(page: Page, chat_id: str) -> Locator:
    return page.locator(f'[data-chat-id="{chat_id}"]')


def top_of(row: Locator) -> float:
    return float(row.evaluate("el => el.getBoundingClientRect().top"))


def refresh_until(page: Page, row: Locator) -> None:
    deadline = time.monotonic() + 30
    while row.count() == 0:
        assert time.monotonic() < deadline, "row never appeared in the drawer"
        page.get_by_role("button", name="Refresh").click()
        page.wait_for_timeout(300)  # poll interval, not an assertion


def test_drawer_shows_projects_with_chats_newest_first(
    companion: Companion, paired_page: Page, git_repo: Path, tmp_path: Path
) -> None:
    other = Other(companion)
    second_repo = make_repo(tmp_path / "second-project")
    older = other.new_chat(git_repo)
    elsewhere = other.new_chat(second_repo)
    time.sleep(1.1)  # updatedAt has one-second resolution
    newer = other.new_chat(git_repo)
    page = paired_page
    refresh_until(page, chat_row(page, newer["id"]))
    for chat in (older, elsewhere, newer):
        expect(chat_row(page, chat["id"])).to_be_visible()
    expect(page.get_by_role("heading", name=git_repo.name)).to_be_visible()
    expect(page.get_by_role("heading", name="second-project")).to_be_visible()
    # Newest first inside a project, and the project with the newest chat first.
    assert top_of(chat_row(page, newer["id"])) < top_of(chat_row(page, older["id"]))
    assert top_of(page.get_by_role("heading", name=git_repo.name)) < top_of(
        page.get_by_role("heading", name="second-project")
    )
    row = chat_row(page, newer["id"]).get_by_role("button")
    expect(row).to_contain_text("Untitled chat")
    expect(row.locator("time")).to_have_text("now")


def test_drawer_live_state_running_and_needs_approval(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    other = Other(companion)
    first = other.new_chat(git_repo)
    time.sleep(1.1)
    second = other.new_chat(git_repo)
    page = paired_page
    refresh_until(page, chat_row(page, second["id"]))
    assert top_of(chat_row(page, second["id"])) < top_of(chat_row(page, first["id"]))
    # The older chat starts a turn that asks for a command approval: no reload.
    other.send(first["id"], "run-command please")
    row = chat_row(page, first["id"])
    expect(row.get_by_text("Needs you")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    expect(row.get_by_text("Running")).to_be_visible()
    assert top_of(row) < top_of(chat_row(page, second["id"]))  # it moved up
    expect(page.locator("#status.visible")).to_have_count(0)  # the "Paired" toast has gone
    readme_shot(page, "drawer")
    approval = other.open_approvals(first["id"])[0]
    status, answer = other.call("POST", f"/v1/approvals/{approval['id']}", {"decision": "decline"})
    assert status == 200, answer
    expect(row.get_by_text("Needs you")).to_have_count(0)
    expect(row.get_by_text("Running")).to_have_count(0, timeout=TURN_TIMEOUT_MS)
    # A reload shows the same state from GET /v1/chats (isRunning / pendingApprovals).
    page.reload()
    expect(chat_row(page, first["id"])).to_be_visible()
    expect(chat_row(page, first["id"]).get_by_text("Running")).to_have_count(0)


def test_drawer_shows_a_chat_made_elsewhere_without_a_refresh(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    """A chat created by another client and not yet run sends no stream event; the
    open drawer still shows it within one poll, with nobody touching Refresh."""
    page = paired_page
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()
    reads: list[str] = []
    page.on("request", lambda r: reads.append(r.url) if r.url.endswith("/v1/chats") else None)
    chat = Other(companion).new_chat(git_repo)
    # One poll normally; two if a poll's read left just before the chat existed.
    expect(chat_row(page, chat["id"])).to_be_visible(timeout=2 * POLL_MS + POLL_CHECK_MS + 5_000)
    expect(chat_row(page, chat["id"]).get_by_role("button")).to_contain_text("Untitled chat")
    assert 1 <= len(reads) <= 3, reads  # polls only: no read per stream frame or per check


def test_drawer_reads_again_when_a_new_chat_runs_during_a_read(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    """A turn in a chat the drawer does not know asks for the list; if a read is
    already under way it may predate the chat, so the drawer reads once more (not
    only at the next poll). The first read here is held until the whole turn's
    events reached the page, then answered with what the companion said before the
    chat existed."""
    page = paired_page
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()
    other = Other(companion)
    made: list[dict[str, object]] = []
    reads: list[float] = []

    def hold_first_read(route: Route) -> None:
        reads.append(time.monotonic())
        if made:
            route.continue_()
            return
        before = route.fetch()  # the list without the chat
        made.append(other.new_chat(git_repo))
        other.send(str(made[0]["id"]), "hello from elsewhere")
        # The whole turn happens meanwhile: its events reach the page, which asks for
        # the list (500 ms after an unknown chat's event) while this read is held.
        other.wait_idle(str(made[0]["id"]))
        time.sleep(1.5)
        route.fulfill(response=before)

    page.route("**/v1/chats", hold_first_read)
    page.get_by_role("button", name="Refresh").click()
    deadline = time.monotonic() + 30
    while not made:  # Playwright runs the route handler while the page is waited on
        assert time.monotonic() < deadline, "the held read never ran"
        page.wait_for_timeout(100)
    row = chat_row(page, str(made[0]["id"]))
    expect(row).to_be_visible(timeout=POLL_MS // 2)  # well before the next poll
    assert len(reads) >= 2, reads


def test_drawer_new_chat_in_a_project(
    companion: Companion, paired_page: Page, git_repo: Path
) -> None:
    other = Other(companion)
    existing = other.new_chat(git_repo)
    page = paired_page
    refresh_until(page, chat_row(page, existing["id"]))
    page.get_by_role("button", name=f"New chat in {git_repo.name}").first.click()
    expect(page.get_by_role("region", name="Conversation")).to_be_visible()
    page.get_by_role("button", name="Back to chats").click()
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()
    expect(page.locator("[data-chat-id]")).to_have_count(2)


SEED_JS = """async ({count, projects, ageS = 0}) => {
  const base = document.querySelector('script[type=module]').src.replace(/app\\.js$/, "");
  const { openStore } = await import(base + "lib/store.js");
  const store = await openStore();
  const now = Math.floor(Date.now() / 1000);
  const list = [];
  for (let p = 0; p < projects; p += 1) {
    list.push({ id: `p${p}`, cwd: `/work/project-${p}`, title: `project-${p}`,
                lastUpdatedAt: now - p });
  }
  const chats = [];
  for (let i = 0; i < count; i += 1) {
    chats.push({ id: `chat-${i}`, projectId: `p${i % projects}`, title: `Seeded chat ${i}`,
                 preview: "", updatedAt: now - ageS - i * 60, isRunning: false,
                 pendingApprovals: 0 });
  }
  await store.put("drawer", "last", { projects: list, chats });
  // What the page itself saves beside it: the first screenful, painted before the rest.
  const { createDrawerModel } = await import(base + "lib/drawer-model.js");
  const model = createDrawerModel();
  model.setSnapshot({ projects: list, chats });
  await store.put("drawer", "head", model.snapshot({ limit: 60 }));
  store.close();
}"""


def dom_rows(page: Page) -> int:
    return int(page.locator(".drawer-list > .row").count())


def test_drawer_5000_chats_paint_from_storage_and_search_fast(
    paired_page: Page, proxy: NetProxy, guard: Guard
) -> None:
    """5,000 chats from IndexedDB while the computer is unreachable: few DOM rows,
    search by title, scrolling to the end. Prints the figures it measured."""
    guard.allow(r"net::ERR_|WebSocket connection to .* failed")
    # The proxy's WebKit probe (not part of the shell) is not in the precache.
    guard.allow(r"resource error: <script> .*/__probe__\.js")
    page = paired_page
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.evaluate(SEED_JS, {"count": 5000, "projects": 50})
    proxy.cut()  # the saved drawer stays on screen instead of the companion's
    started = time.perf_counter()
    page.reload()
    expect(page.get_by_role("button", name="Seeded chat 0", exact=False).first).to_be_visible()
    paint_ms = (time.perf_counter() - started) * 1000
    expect(page.get_by_text("showing saved chats")).to_be_visible()
    assert 0 < dom_rows(page) <= MAX_DOM_ROWS

    search = page.get_by_role("searchbox", name="Search chats")
    timings: list[float] = []
    for query in ("Seeded chat 4999", "chat 12", "no such title", ""):
        timings.append(
            float(
                page.evaluate(
                    """(q) => new Promise((done) => {
                      const input = document.querySelector('input[type=search]');
                      const t0 = performance.now();
                      input.value = q;
                      input.dispatchEvent(new Event('input'));
                      requestAnimationFrame(() => done(performance.now() - t0));
                    })""",
                    query,
                )
            )
        )
        if query == "Seeded chat 4999":
            expect(page.locator("[data-chat-id]")).to_have_count(1)
            expect(page.get_by_role("heading", name="project-49")).to_be_visible()
        elif query == "chat 12":
            assert dom_rows(page) <= MAX_DOM_ROWS
        elif query == "no such title":
            expect(page.get_by_text("No chat title matches your search.")).to_be_visible()
    expect(search).to_have_value("")

    page.locator(".drawer-viewport").evaluate("v => { v.scrollTop = v.scrollHeight; }")
    expect(page.get_by_role("button", name="Seeded chat 4999")).to_be_visible()
    assert dom_rows(page) <= MAX_DOM_ROWS
    print(
        f"\ndrawer 5,000 chats from IndexedDB (proxy cut): reload to first row "
        f"{paint_ms:.0f} ms; search input to next frame "
        + ", ".join(f"{t:.1f}" for t in timings)
        + f" ms; DOM rows at the end {dom_rows(page)}"
    )


CALENDAR_LABEL_JS = """(time) => {
  const date = new Date(time.dateTime);
  const sameYear = date.getFullYear() === new Date().getFullYear();
  const options = { day: "numeric", month: "short" };
  if (!sameYear) options.year = "numeric";
  return new Intl.DateTimeFormat(undefined, options).format(date);
}"""


def test_drawer_calendar_labels_fill_in_after_the_first_paint(
    paired_page: Page, proxy: NetProxy, guard: Guard
) -> None:
    """A chat older than six days is labelled with a date ("23 Oct"); the page's first
    date formatter loads the locale's calendar data, which costs more than the rest of
    the drawer's paint (lib/time.js), so the rows paint first and the dates follow."""
    guard.allow(r"net::ERR_|WebSocket connection to .* failed")
    guard.allow(r"resource error: <script> .*/__probe__\.js")
    page = paired_page
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.evaluate(SEED_JS, {"count": 30, "projects": 1, "ageS": 40 * 86_400})
    proxy.cut()  # the saved (old) chats stay on screen
    page.reload()
    time_of_first = chat_row(page, "chat-0").locator("time")
    expect(time_of_first).to_be_attached()
    expected = str(time_of_first.evaluate(CALENDAR_LABEL_JS))
    assert re.search(r"\d", expected), expected  # a day of the month, e.g. "23 Oct"
    expect(time_of_first).to_have_text(expected)
    expect(page.locator("[data-chat-id] time:empty")).to_have_count(0)  # every row in view


PULL_JS = """(distance) => {
  const viewport = document.querySelector(".drawer-viewport");
  const touch = (y) => new Touch({ identifier: 1, target: viewport, clientX: 100, clientY: y });
  const fire = (type, y) => viewport.dispatchEvent(new TouchEvent(type, {
    bubbles: true, cancelable: true,
    touches: type === "touchend" ? [] : [touch(y)], changedTouches: [touch(y)],
  }));
  fire("touchstart", 150);
  for (let y = 150; y <= 150 + distance; y += 20) fire("touchmove", y);
  fire("touchend", 150 + distance);
}"""


def test_drawer_pull_to_refresh(paired_page: Page) -> None:
    page = paired_page
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()
    with page.expect_request(lambda r: r.url.endswith("/v1/chats")):
        page.evaluate(PULL_JS, 140)
    # A short pull is a scroll, not a refresh.
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.evaluate(PULL_JS, 30)
    page.wait_for_timeout(500)  # would a request start? (not an assertion on time)
    assert not [u for u in requests if u.endswith("/v1/chats")]
