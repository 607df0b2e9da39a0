"""Browser tests: a real companion process, real Chromium and real WebKit.

Fixtures (function scope unless noted; docs/testing.md "Browser tests"):

- ``companion``: ``codexremote serve`` subprocess (real app-server, ``fake_model``)
  behind a cuttable proxy (``proxy``); its log is printed when the test fails.
- ``fake_model``: the scripted model, started synchronously. It overrides the async
  root fixture: Playwright's sync API keeps an event loop running in the main
  thread, so no async fixture can run beside it.
- ``chromium`` (module scope, so its loop is gone before other folders' async
  tests): Debian's ``/usr/bin/chromium`` through Playwright.
- ``page``: a fresh iPhone-emulated context and page on ``companion``; fails the
  test on console errors, page errors and CSP violations; screenshot at the end.
- ``guard``: that page's :class:`~tests.browser.guards.Guard` (``guard.allow(regex)``
  for errors a test expects).
- ``paired_page``: ``page`` after the real pairing flow (web link, device name,
  comparison code approved with ``codexremote devices approve``).
- ``webkit``: a fresh MiniBrowser through WebKitWebDriver under Xvfb, on
  ``companion`` (probe injected by the proxy); same error rule.

Every test here is marked ``browser`` and must be a plain (sync) function.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.companion import Companion
from tests.browser.guards import COLLECTOR_JS, Guard
from tests.browser.netproxy import NetProxy
from tests.harness.fake_model import FakeModel

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
README_SHOTS_ENV = "CODEXREMOTE_README_SHOTS"  # =1: readme_shot() also writes docs/screenshots
CHROMIUM = "/usr/bin/chromium"
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)
IPHONE = {
    "viewport": {"width": 390, "height": 844},
    "screen": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": IPHONE_UA,
}
EXPECT_TIMEOUT_MS = 15_000
PAIRING_TIMEOUT_MS = 30_000
DEVICE_NAME = "Test iPhone"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


def _slug(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]


# ---------------------------------------------------------------- companion


@pytest.fixture
def fake_model() -> Iterator[FakeModel]:
    with FakeModel() as model:
        yield model


@pytest.fixture
def companion_args() -> tuple[str, ...]:
    """Extra ``codexremote serve`` arguments; a test module overrides this fixture
    (e.g. ``--dictation-base-url`` in test_dictation.py)."""
    return ()


@pytest.fixture
def companion(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    codex_bin: Path,
    codex_home: Path,
    codex_env: dict[str, str],
    fake_model: FakeModel,
    companion_args: tuple[str, ...],
) -> Iterator[Companion]:
    """A real ``codexremote serve``; the browser reaches it through ``proxy``."""
    server = Companion.start(tmp_path, codex_bin, codex_home, codex_env, companion_args)
    proxy = NetProxy(server.port, inject_probe=COLLECTOR_JS).start()
    server.proxy_url = proxy.url
    server.proxy = proxy  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        proxy.stop()
        server.stop()
        if _failed(request):
            print(f"\n---- codexremote serve log ({server.log_path}) ----\n{server.log()[-20000:]}")


@pytest.fixture
def proxy(companion: Companion, guard: Guard) -> NetProxy:
    """Between the browser and the companion: ``proxy.cut()`` / ``proxy.restore()``.
    A cut makes the page's guard accept the browser's own lines for the requests it
    broke (``Guard.allow_network_errors``); page errors still fail the test."""
    found: NetProxy = companion.proxy  # type: ignore[attr-defined]
    found.on_cut = guard.allow_network_errors
    return found


# ------------------------------------------------------------------ chromium


@pytest.fixture(scope="module")
def chromium_args() -> tuple[str, ...]:
    """Extra Chromium switches for a module (test_dictation.py: a fake microphone)."""
    return ()


@pytest.fixture(scope="module")
def chromium(chromium_args: tuple[str, ...]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install --test", pytrace=False)
    args = [*(["--no-sandbox"] if os.geteuid() == 0 else []), *chromium_args]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield browser
        browser.close()


@pytest.fixture
def guard() -> Guard:
    return Guard()


@pytest.fixture
def context(chromium: Any, companion: Companion) -> Iterator[Any]:
    """A fresh browser profile per test (storage, service workers, IndexedDB)."""
    ctx = chromium.new_context(base_url=companion.base_url, **IPHONE)
    ctx.set_default_timeout(EXPECT_TIMEOUT_MS)
    ctx.add_init_script(COLLECTOR_JS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, context: Any, guard: Guard) -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    pg = context.new_page()

    def on_console(message: Any) -> None:
        if message.type == "error":
            location = message.location or {}
            guard.add(f"console.error: {message.text} ({location.get('url', '')})")

    pg.on("console", on_console)
    pg.on("pageerror", lambda error: guard.add(f"pageerror: {error}"))
    context.on("weberror", lambda error: guard.add(f"weberror: {error.error}"))
    yield pg
    shot(pg, _slug(request))
    if not _failed(request):
        collect_probe(pg, guard)
        guard.assert_clean()


def collect_probe(pg: Any, guard: Guard) -> None:
    """Pump Playwright's pending events (the sync API delivers them only inside a
    call) and add what the in-page collector saw: unhandled rejections are no
    ``pageerror`` in Chromium, CSP violations no console event."""
    if pg.is_closed():
        return
    pg.wait_for_timeout(100)
    try:
        seen = pg.evaluate("(window.__probe__ && window.__probe__.errors) || []")
    except Exception as exc:  # navigated away mid-call: the events still count
        print(f"probe not readable: {exc}")
        return
    for error in seen:
        guard.add(f"probe: {error}")


def shot(pg: Any, name: str) -> Path:
    """Save a screenshot of the page to tests/browser/artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    try:
        pg.screenshot(path=str(path), full_page=False)
    except Exception as exc:  # a closed page must not hide the test's own result
        print(f"screenshot {name} failed: {exc}")
    return path


def readme_shot(pg: Any, name: str) -> Path:
    """One of the README's screenshots (drawer, conversation-approval, composer-running,
    pairing): always an artifact; also written to docs/screenshots/<name>.png when
    CODEXREMOTE_README_SHOTS=1 (so ordinary runs leave the work tree alone)."""
    path = shot(pg, f"readme-{name}")
    if os.environ.get(README_SHOTS_ENV) == "1" and path.exists():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / f"{name}.png")
    return path


def pair_page(pg: Any, companion: Companion, name: str = DEVICE_NAME) -> str:
    """The real pairing flow from the QR's web link; returns the comparison code."""
    from playwright.sync_api import expect

    pg.goto(companion.web_link())
    field = pg.get_by_label("Name this device")
    field.fill(name)
    pg.get_by_role("button", name="Pair", exact=True).click()
    code_el = pg.get_by_label(re.compile(r"^Comparison code"))
    expect(code_el).to_be_visible(timeout=PAIRING_TIMEOUT_MS)
    code = re.sub(r"\D", "", code_el.inner_text())
    companion.approve(code)
    expect(pg.get_by_role("heading", name="Pair with your computer")).to_have_count(
        0, timeout=PAIRING_TIMEOUT_MS
    )
    return code


@pytest.fixture
def paired_page(page: Any, companion: Companion) -> Any:
    pair_page(page, companion)
    return page


# -------------------------------------------------------------------- webkit


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    from tests.browser.webkit import Xvfb

    if not shutil.which("Xvfb"):
        pytest.fail("Xvfb is missing: run scripts/install --test", pytrace=False)
    server = Xvfb().start()
    try:
        yield server.display
    finally:
        server.stop()


@pytest.fixture
def webkit(
    request: pytest.FixtureRequest, xvfb_display: str, companion: Companion, tmp_path: Path
) -> Iterator[Any]:
    """A fresh MiniBrowser; errors the injected probe collected fail the test."""
    from tests.browser.webkit import new_driver, probe_errors

    driver = new_driver(xvfb_display, tmp_path / "webkitdriver.log")
    driver.webkit_guard = Guard()  # type: ignore[attr-defined]
    try:
        yield driver
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"{_slug(request)}.png"))
        if not _failed(request):
            errors = probe_errors(driver) if driver.current_url.startswith("http") else []
            for error in errors:
                driver.webkit_guard.add(error)  # type: ignore[attr-defined]
            driver.webkit_guard.assert_clean()  # type: ignore[attr-defined]
    finally:
        driver.quit()
