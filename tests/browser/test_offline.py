"""Offline and back in real Chromium (issue 10 "One stream", "Composer"; REL-06, REL-14).

"Offline" is real: the loopback proxy between the browser and the companion
closes every connection, stream socket included, and refuses new ones
(``proxy.cut()``), like a phone losing its network; ``proxy.restore()`` brings it
back. The companion, its app-server and the scripted model keep running.
"""

from __future__ import annotations

import json
import re
import time
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
from tests.harness.fake_model import FakeModel
from tests.harness.model_scripts import HELLO_ANSWER, slow_answer_text

# Chromium's own lines for requests the cut network broke (nothing the companion answered:
# a new chat's run-state is 200 idle, test_original_app_run_state_of_a_new_chat_is_idle_not_502).
NETWORK_ERRORS = r"net::ERR_|WebSocket connection to .* failed"
PROBE_NOT_CACHED = r"resource error: <script> .*/__probe__\.js"  # the proxy's, not the shell's


SAVED_DRAWER_HAS_JS = """async (chatId) => {
  const db = await new Promise((ok) => {
    const r = indexedDB.open("codexremote");
    r.onsuccess = () => ok(r.result);
  });
  const saved = await new Promise((ok) => {
    const r = db.transaction("drawer").objectStore("drawer").get(location.origin + "|last");
    r.onsuccess = () => ok(r.result);
  });
  db.close();
  return Boolean(saved && saved.chats.some((c) => c.id === chatId));
}"""


SAVED_PAGE_HAS_JS = """async ([chatId, text]) => {
  const db = await new Promise((ok) => {
    const r = indexedDB.open("codexremote");
    r.onsuccess = () => ok(r.result);
  });
  const page = await new Promise((ok) => {
    const r = db.transaction("pages").objectStore("pages").get(location.origin + "|" + chatId);
    r.onsuccess = () => ok(r.result);
  });
  db.close();
  return Boolean(page) && JSON.stringify(page).includes(text);
}"""

OUTBOX_HAS_ONE_JS = """async () => {
  const db = await new Promise((ok) => {
    const r = indexedDB.open("codexremote");
    r.onsuccess = () => ok(r.result);
  });
  const n = await new Promise((ok) => {
    const r = db.transaction("outbox").objectStore("outbox").count();
    r.onsuccess = () => ok(r.result);
  });
  db.close();
  return n === 1;
}"""


def poll(page: Page, script: str, arg: object = None, timeout_s: float = 15.0) -> None:
    """Until the (async) script answers true: wait_for_function does not await promises."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"never true: {script[:80]}"
        page.wait_for_timeout(100)  # poll interval, not an assertion


def expect_state(page: Page, text: str | re.Pattern[str], timeout: int = 15_000) -> None:
    expect(page.locator(".pill:visible .pill-label")).to_have_text(text, timeout=timeout)


def prompts(model: FakeModel, text: str) -> int:
    """How many model requests carried `text` as a user message."""
    count = 0
    for body in model.requests:
        for item in body.get("input", []):
            if item.get("role") != "user":
                continue
            content = item.get("content")
            parts = content if isinstance(content, list) else [{"text": content}]
            if any(text == str(p.get("text", "")).strip() for p in parts if isinstance(p, dict)):
                count += 1
    return count


def test_rel06_offline_mid_turn_final_text_exactly_once(
    companion: Companion, paired_page: Page, git_repo: Path, proxy: NetProxy, guard: Guard
) -> None:
    guard.allow(NETWORK_ERRORS)
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    open_chat(page, chat)
    send(page, "slow-answer 80")  # 80 deltas, 50 ms apart: a 4 s turn
    log = transcript(page)
    expect(log.get_by_text(re.compile(r"\bs3\b"))).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    proxy.cut()
    expect_state(page, re.compile("Reconnecting|Offline"))
    other.wait_idle(chat["id"])  # the turn ends while the phone is away
    proxy.restore()
    expect_state(page, "Connected")
    final = slow_answer_text(80)
    expect(log.get_by_text(final, exact=True)).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    wait_idle(page)
    text = log.inner_text()
    assert text.count("s79") == 1, text[-500:]
    assert text.count(final) == 1


def test_rel14_message_sent_offline_is_delivered_once(
    companion: Companion,
    paired_page: Page,
    git_repo: Path,
    proxy: NetProxy,
    guard: Guard,
    fake_model: FakeModel,
) -> None:
    guard.allow(NETWORK_ERRORS)
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    open_chat(page, chat)
    proxy.cut()
    expect_state(page, re.compile("Reconnecting|Offline"))
    send(page, "hello while offline")
    log = transcript(page)
    expect(log.get_by_text("hello while offline", exact=True)).to_have_count(1)
    page.wait_for_timeout(1500)  # let the outbox try (and fail) a few times: not an assertion
    proxy.restore()
    expect_state(page, "Connected")
    expect(log.get_by_text(HELLO_ANSWER, exact=True)).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    wait_idle(page)
    other.wait_idle(chat["id"])
    expect(log.get_by_text("hello while offline", exact=True)).to_have_count(1)
    assert prompts(fake_model, "hello while offline") == 1


def test_rel14_offline_message_survives_a_reload(
    companion: Companion,
    paired_page: Page,
    git_repo: Path,
    proxy: NetProxy,
    guard: Guard,
    fake_model: FakeModel,
) -> None:
    """The outbox is durable: a message queued offline is sent after the page was
    closed and opened again (from the service worker's cache), once."""
    guard.allow(NETWORK_ERRORS)
    guard.allow(PROBE_NOT_CACHED)
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    open_chat(page, chat)
    proxy.cut()
    expect_state(page, re.compile("Reconnecting|Offline"))
    send(page, "hello after reload")
    poll(page, OUTBOX_HAS_ONE_JS)
    page.reload()  # the shell comes from the service worker: the computer is unreachable
    # The launch reopens the chat; the message is still there, marked as queued.
    log = transcript(page)
    expect(log.get_by_text("hello after reload", exact=True)).to_have_count(1)
    proxy.restore()
    expect_state(page, "Connected")
    other.wait_history_has(chat["id"], HELLO_ANSWER)
    other.wait_idle(chat["id"])
    assert prompts(fake_model, "hello after reload") == 1
    expect(log.get_by_text(HELLO_ANSWER, exact=True)).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    expect(log.get_by_text("hello after reload", exact=True)).to_have_count(1)


def test_offline_launch_paints_saved_drawer_then_reconnects(
    companion: Companion, paired_page: Page, git_repo: Path, proxy: NetProxy, guard: Guard
) -> None:
    guard.allow(NETWORK_ERRORS)
    guard.allow(PROBE_NOT_CACHED)
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    page.get_by_role("button", name="Refresh").click()
    row = page.locator(f'[data-chat-id="{chat["id"]}"]')
    expect(row).to_be_visible()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    poll(page, SAVED_DRAWER_HAS_JS, chat["id"])
    proxy.cut()
    page.reload()
    expect(row).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"(Reconnecting|Offline).*showing saved chats"))
    ).to_be_visible()
    proxy.restore()
    expect_state(page, "Connected", timeout=20_000)
    expect(page.get_by_text("showing saved chats")).to_have_count(0)


def test_offline_launch_reopens_the_last_chat_from_storage(
    companion: Companion, paired_page: Page, git_repo: Path, proxy: NetProxy, guard: Guard
) -> None:
    """A launch (here: a reload while the computer is unreachable) shows the chat that was
    open, with its saved newest page, and the state "reconnecting" or "offline"."""
    guard.allow(NETWORK_ERRORS)
    guard.allow(PROBE_NOT_CACHED)
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    open_chat(page, chat)
    send(page, "hello before the launch")
    log = transcript(page)
    expect(log.get_by_text(HELLO_ANSWER, exact=True)).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    wait_idle(page)
    other.wait_idle(chat["id"])
    poll(page, SAVED_PAGE_HAS_JS, [chat["id"], HELLO_ANSWER])  # saved after the turn
    proxy.cut()
    page.reload()
    expect(page.get_by_role("region", name="Conversation")).to_be_visible()
    expect(log.get_by_text("hello before the launch", exact=True)).to_have_count(1)
    expect(log.get_by_text(HELLO_ANSWER, exact=True)).to_have_count(1)
    expect_state(page, re.compile("Reconnecting|Offline"))
    proxy.restore()
    expect_state(page, "Connected", timeout=20_000)
    expect(log.get_by_text(HELLO_ANSWER, exact=True)).to_have_count(1)
    page.get_by_role("button", name="Back to chats").click()
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()
    page.reload()  # back on the drawer: a launch stays there
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()
    expect(page.get_by_role("region", name="Conversation")).to_have_count(0)


PAGE_TOKEN_JS = """async () => {
  const db = await new Promise((ok) => {
    const r = indexedDB.open("codexremote");
    r.onsuccess = () => ok(r.result);
  });
  const value = await new Promise((ok) => {
    const r = db.transaction("meta").objectStore("meta").get(location.origin + "|pairing");
    r.onsuccess = () => ok(r.result);
  });
  db.close();
  return value.token;
}"""

SEED_OUTBOX_JS = """async (entry) => {
  const db = await new Promise((ok) => {
    const r = indexedDB.open("codexremote");
    r.onsuccess = () => ok(r.result);
  });
  await new Promise((ok, fail) => {
    const tx = db.transaction("outbox", "readwrite");
    tx.objectStore("outbox").put(entry, location.origin + "|" + entry.id);
    tx.oncomplete = ok;
    tx.onerror = () => fail(tx.error);
  });
  db.close();
}"""


def test_rel14_answer_lost_after_the_companion_acted_is_not_repeated(
    companion: Companion, paired_page: Page, git_repo: Path, fake_model: FakeModel
) -> None:
    """The state a lost answer leaves: the companion got the message (and started the
    turn), the page still holds the entry. After a reload the outbox sends it again
    with the same idempotency key: the companion answers it without a second turn."""
    other = Other(companion)
    chat = other.new_chat(git_repo)
    page = paired_page
    token = page.evaluate(PAGE_TOKEN_JS)
    key = "a" * 32
    path = f"/v1/chats/{chat['id']}/messages"
    body = {"text": "hello only once", "idempotencyKey": key}
    status, first = companion.request("POST", path, body, token=token)  # it reached the computer
    assert status == 202, first
    other.wait_idle(chat["id"])
    entry = {
        "id": key,
        "seq": 1,
        "kind": "message",
        "path": path,
        "chatId": chat["id"],
        "body": body,
        "createdAt": 0,
    }
    page.evaluate(SEED_OUTBOX_JS, entry)  # ... but its answer never reached the page
    page.reload()
    poll(page, OUTBOX_EMPTY_JS)  # the outbox sent it again and got the first answer back
    other.wait_idle(chat["id"])
    assert prompts(fake_model, "hello only once") == 1
    status, history = other.call("GET", f"/v1/chats/{chat['id']}/history")
    assert status == 200, history
    assert json.dumps(history).count("hello only once") == 1


OUTBOX_EMPTY_JS = OUTBOX_HAS_ONE_JS.replace("n === 1", "n === 0")
