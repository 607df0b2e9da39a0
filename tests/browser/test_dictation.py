"""Dictation in the web client (issue 11, section 2), in Chromium with a fake microphone.

Chromium plays a wav that espeak-ng spoke (``--use-file-for-fake-audio-capture``) as the
microphone; the companion forwards the browser's recording to the loopback fake
transcriber (``--dictation-base-url``), which checks the multipart request and probes the
audio with ffprobe. The transcript lands in the composer after the draft and is never
sent on its own; a recording survives a cut network and a reload in IndexedDB and is
transcribed once (REL-16).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.companion import Companion
from tests.browser.conversation_flows import (
    Other,
    composer_input,
    open_chat,
    screenshot,
    transcript,
)
from tests.browser.guards import Guard
from tests.browser.netproxy import NetProxy
from tests.browser.test_offline import NETWORK_ERRORS, PROBE_NOT_CACHED, expect_state, poll
from tests.harness.audio import PHRASE
from tests.harness.fake_transcriber import FakeTranscriber

TRANSCRIPT = "dictated words arrive once"
NOT_CONFIGURED = re.compile(r"OpenAI transcription is not configured\. Set OPENAI_API_KEY")

RECORDINGS_JS = """async () => {
  const db = await new Promise((ok) => {
    const r = indexedDB.open("codexremote");
    r.onsuccess = () => ok(r.result);
  });
  const all = await new Promise((ok) => {
    const r = db.transaction("recordings").objectStore("recordings").getAll();
    r.onsuccess = () => ok(r.result);
  });
  db.close();
  return all.map((r) => ({ state: r.state, chunks: r.chunks.length, mimeType: r.mimeType }));
}"""
HAS_PENDING_JS = (
    f"async () => (await ({RECORDINGS_JS})()).some((r) => r.state === 'pending' && r.chunks > 0)"
)


@pytest.fixture(scope="module")
def chromium_args(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ...]:
    """A fake microphone that speaks PHRASE (espeak-ng), accepted without a prompt."""
    wav = tmp_path_factory.mktemp("mic") / "spoken.wav"
    speak = ["espeak-ng", "-w", str(wav), PHRASE]
    subprocess.run(speak, check=True, capture_output=True, timeout=60)
    return (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    )


@pytest.fixture
def transcriber() -> Iterator[FakeTranscriber]:
    with FakeTranscriber() as fake:
        fake.transcript = TRANSCRIPT
        yield fake


@pytest.fixture
def companion_args(request: pytest.FixtureRequest, transcriber: FakeTranscriber) -> tuple[str, ...]:
    if request.node.get_closest_marker("dictation_not_configured"):
        # Not loopback and no key (the test environment sets none): the companion's 503.
        return ("--dictation-base-url", "https://transcription.invalid/v1")
    return ("--dictation-base-url", transcriber.url, "--dictation-model", "whisper-1")


@pytest.fixture
def mic_page(paired_page: Page, context: Any, companion: Companion) -> Page:
    context.grant_permissions(["microphone"], origin=companion.base_url)
    return paired_page


def record(page: Page, seconds_shown: str = "0:01") -> None:
    """Tap the microphone, let the fake device speak until the timer shows `seconds_shown`,
    tap Stop."""
    page.get_by_role("button", name="Dictate").click()
    timer = page.get_by_role("timer", name="Recording time")
    expect(timer).to_be_visible()
    expect(timer).to_have_text(seconds_shown)
    page.get_by_role("button", name="Stop recording").first.click()
    expect(timer).to_be_hidden()


def test_rel16_transcript_lands_after_the_draft_never_sent(
    companion: Companion, mic_page: Page, git_repo: Path, transcriber: FakeTranscriber
) -> None:
    page = mic_page
    chat = Other(companion).new_chat(git_repo)
    open_chat(page, chat)
    field = composer_input(page)
    field.fill("Please note:")
    page.get_by_role("button", name="Dictate").click()
    timer = page.get_by_role("timer", name="Recording time")
    expect(timer).to_have_text("0:01")
    expect(page.get_by_role("meter", name="Microphone level")).to_be_visible()
    screenshot(page, "dictation-recording")
    stopped_at = time.monotonic()
    page.get_by_role("button", name="Stop recording").first.click()
    expect(field).to_have_value(f"Please note: {TRANSCRIPT}")
    took_ms = (time.monotonic() - stopped_at) * 1000  # a figure to report, not a limit
    screenshot(page, "dictation-transcript")
    assert len(transcriber.received) == 1
    got = transcriber.received[0]
    print(f"dictation: {len(got.audio)} B {got.content_type}, Done -> composer {took_ms:.0f} ms")
    assert got.problems == [], got.problems
    assert got.content_type == "audio/webm" and got.filename == "dictation.webm"
    assert got.container is not None and "webm" in got.container  # ffprobe read real audio
    assert got.fields.get("model") == "whisper-1"
    # Reviewed, not sent: the chat has no user message, the record left storage.
    expect(transcript(page).get_by_text(TRANSCRIPT)).to_have_count(0)
    expect(page.get_by_role("button", name="Send message")).to_be_enabled()
    poll(page, f"async () => (await ({RECORDINGS_JS})()).length === 0")
    # Cancel keeps nothing and sends nothing.
    page.get_by_role("button", name="Dictate").click()
    expect(timer).to_be_visible()
    page.get_by_role("button", name="Cancel recording").click()
    expect(timer).to_be_hidden()
    poll(page, f"async () => (await ({RECORDINGS_JS})()).length === 0")
    assert len(transcriber.received) == 1
    expect(field).to_have_value(f"Please note: {TRANSCRIPT}")


def test_rel16_cut_upload_is_kept_and_sent_once_after_reconnect(
    companion: Companion,
    mic_page: Page,
    git_repo: Path,
    proxy: NetProxy,
    guard: Guard,
    transcriber: FakeTranscriber,
) -> None:
    guard.allow(NETWORK_ERRORS)
    page = mic_page
    chat = Other(companion).new_chat(git_repo)
    open_chat(page, chat)
    page.get_by_role("button", name="Dictate").click()
    expect(page.get_by_role("timer", name="Recording time")).to_have_text("0:01")
    proxy.cut()  # the network drops while the person speaks: the upload cannot reach the computer
    expect_state(page, re.compile("Reconnecting|Offline"))
    page.get_by_role("button", name="Stop recording").first.click()
    expect(page.get_by_text("Recording saved: waiting for your computer…")).to_be_visible()
    poll(page, HAS_PENDING_JS)
    screenshot(page, "dictation-waiting")
    assert transcriber.received == []
    proxy.restore()
    expect_state(page, "Connected", timeout=20_000)
    field = composer_input(page)
    expect(field).to_have_value(TRANSCRIPT)
    expect(page.get_by_text("Recording saved: waiting for your computer…")).to_have_count(0)
    poll(page, f"async () => (await ({RECORDINGS_JS})()).length === 0")
    assert len(transcriber.received) == 1, len(transcriber.received)
    expect(field).to_have_value(TRANSCRIPT)  # inserted once


def test_rel16_reload_keeps_a_recording_waiting_for_upload(
    companion: Companion,
    mic_page: Page,
    git_repo: Path,
    proxy: NetProxy,
    guard: Guard,
    transcriber: FakeTranscriber,
) -> None:
    guard.allow(NETWORK_ERRORS)
    guard.allow(PROBE_NOT_CACHED)
    page = mic_page
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    chat = Other(companion).new_chat(git_repo)
    open_chat(page, chat)
    proxy.cut()
    expect_state(page, re.compile("Reconnecting|Offline"))
    record(page)
    poll(page, HAS_PENDING_JS)
    page.reload()  # the shell from the service worker; the computer still unreachable
    expect(page.get_by_text("Recording saved: waiting for your computer…")).to_be_visible()
    assert transcriber.received == []
    proxy.restore()
    field = composer_input(page)
    expect(field).to_have_value(TRANSCRIPT, timeout=30_000)
    poll(page, f"async () => (await ({RECORDINGS_JS})()).length === 0")
    assert len(transcriber.received) == 1
    got = transcriber.received[0]
    assert got.problems == [] and got.container is not None and "webm" in got.container


@pytest.mark.dictation_not_configured
def test_rel16_not_configured_says_so_and_keeps_the_recording(
    companion: Companion, mic_page: Page, git_repo: Path, guard: Guard
) -> None:
    guard.allow(r"status of 503 .*/v1/dictation/transcribe")
    page = mic_page
    chat = Other(companion).new_chat(git_repo)
    open_chat(page, chat)
    record(page)
    # The companion's own text names the settings; the button says dictation is not set up.
    panel = page.get_by_role("region", name="Dictation")
    expect(panel.get_by_text(NOT_CONFIGURED)).to_be_visible()
    expect(panel.get_by_text("Recording kept: dictation is not set up")).to_be_visible()
    button = page.get_by_role("button", name="Dictation is not set up")
    expect(button).to_be_visible()
    expect(page.get_by_role("button", name="Retry transcription")).to_be_visible()
    screenshot(page, "dictation-not-configured")
    poll(page, f"async () => (await ({RECORDINGS_JS})()).some((r) => r.state === 'failed')")
    # After a reload the button still says so; Discard forgets the recording.
    page.reload()
    expect(page.get_by_role("button", name="Dictation is not set up")).to_be_visible()
    expect(panel.get_by_text(NOT_CONFIGURED)).to_be_hidden()  # the hint opens on a tap
    page.get_by_role("button", name="Dictation is not set up").click()
    expect(panel.get_by_text(NOT_CONFIGURED)).to_be_visible()
    page.get_by_role("button", name="Discard recording").click()
    poll(page, f"async () => (await ({RECORDINGS_JS})()).length === 0")
    expect(composer_input(page)).to_have_value("")


DOWNGRADE_TO_V1_JS = """async () => {
  const open = (version, upgrade) => new Promise((ok, fail) => {
    const r = version ? indexedDB.open("codexremote", version) : indexedDB.open("codexremote");
    if (upgrade) r.onupgradeneeded = () => upgrade(r.result);
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
  const db = await open();
  const meta = await new Promise((ok) => {
    const tx = db.transaction("meta");
    const keys = tx.objectStore("meta").getAllKeys();
    const values = tx.objectStore("meta").getAll();
    tx.oncomplete = () => ok(keys.result.map((k, i) => [k, values.result[i]]));
  });
  db.close();
  await new Promise((ok, fail) => {
    const r = indexedDB.deleteDatabase("codexremote"); // the page closes its connection
    r.onsuccess = ok;
    r.onerror = () => fail(r.error);
  });
  const v1 = await open(1, (d) => {
    for (const name of ["drawer", "pages", "outbox", "meta"]) d.createObjectStore(name);
  });
  await new Promise((ok) => {
    const tx = v1.transaction("meta", "readwrite");
    for (const [k, v] of meta) tx.objectStore("meta").put(v, k);
    tx.oncomplete = ok;
  });
  v1.close();
  return meta.length;
}"""

STORE_VERSION_JS = """async () => {
  const db = await new Promise((ok) => {
    const r = indexedDB.open("codexremote");
    r.onsuccess = () => ok(r.result);
  });
  const answer = [db.version, [...db.objectStoreNames].sort()];
  db.close();
  return answer;
}"""


def test_rel16_schema_1_upgrades_to_2_keeping_the_pairing(
    companion: Companion, mic_page: Page, git_repo: Path, transcriber: FakeTranscriber
) -> None:
    """A phone that ran the shell before dictation has a version 1 database: the upgrade
    adds the recordings store and keeps what was there (here: the pairing)."""
    page = mic_page
    chat = Other(companion).new_chat(git_repo)
    assert page.evaluate(DOWNGRADE_TO_V1_JS) >= 1
    page.reload()
    open_chat(page, chat)  # still paired: the drawer, not the pairing screen
    record(page)
    expect(composer_input(page)).to_have_value(TRANSCRIPT)
    version, stores = page.evaluate(STORE_VERSION_JS)
    assert version == 2
    assert stores == ["drawer", "meta", "outbox", "pages", "recordings"]


def test_rel16_reload_while_recording_keeps_what_was_said(
    companion: Companion, mic_page: Page, git_repo: Path, transcriber: FakeTranscriber
) -> None:
    """The page goes away mid-recording (a reload; a killed tab is the same): the chunks
    already stored are uploaded after the launch, once, as real audio."""
    page = mic_page
    chat = Other(companion).new_chat(git_repo)
    open_chat(page, chat)
    page.get_by_role("button", name="Dictate").click()
    expect(page.get_by_role("timer", name="Recording time")).to_have_text("0:02")
    poll(page, f"async () => (await ({RECORDINGS_JS})()).some((r) => r.chunks >= 1)")
    page.reload()
    expect(composer_input(page)).to_have_value(TRANSCRIPT)
    poll(page, f"async () => (await ({RECORDINGS_JS})()).length === 0")
    assert len(transcriber.received) == 1
    got = transcriber.received[0]
    assert got.problems == [] and got.container is not None and "webm" in got.container
