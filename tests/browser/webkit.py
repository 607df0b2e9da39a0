"""WebKit (the engine of iOS Safari) through Selenium and WebKitWebDriver.

* :class:`Xvfb` — MiniBrowser needs a display; one Xvfb per session, on a display
  number Xvfb picks itself (``-displayfd``), so parallel runs never collide and no
  ``xvfb-run`` wrapper is needed.
* :func:`new_driver` — a fresh MiniBrowser (fresh profile) per test.
* :func:`by_role` — find elements by ARIA role and accessible name, like
  Playwright's ``get_by_role``: explicit ``role`` attributes and the implicit roles
  of the HTML elements the client uses; the name from ``aria-label``,
  ``aria-labelledby``, an associated ``<label>``, or the text. Hidden elements
  (``hidden``, ``display: none``, ``aria-hidden``) are never matched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.webkitgtk.service import Service

WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
# Debian ships MiniBrowser with libwebkit2gtk-4.1-0 under the multiarch directory.
MINIBROWSER_GLOB = "/usr/lib/*/webkit2gtk-4.*/MiniBrowser"
XVFB = "Xvfb"
XVFB_START_TIMEOUT_S = 10.0
FIND_TIMEOUT_S = 15.0
POLL_S = 0.05


class Xvfb:
    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.display = ""

    def start(self) -> Xvfb:
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            [XVFB, "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        deadline = time.monotonic() + XVFB_START_TIMEOUT_S
        number = b""
        with os.fdopen(read_fd, "rb") as pipe:
            while not number.endswith(b"\n") and time.monotonic() < deadline:
                chunk = pipe.read(1)
                if not chunk:
                    break
                number += chunk
        if not number.strip():
            self.stop()
            raise RuntimeError("Xvfb did not report a display number")
        self.display = f":{number.decode().strip()}"
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def minibrowser() -> str:
    found = sorted(glob.glob(MINIBROWSER_GLOB))
    if not found:
        raise RuntimeError(f"no MiniBrowser at {MINIBROWSER_GLOB}: run scripts/install --test")
    return found[-1]


def new_driver(display: str, log_path: Path) -> webdriver.WebKitGTK:
    options = webdriver.WebKitGTKOptions()
    options.binary_location = minibrowser()
    options.add_argument("--automation")
    service = Service(
        executable_path=WEBKIT_DRIVER,
        log_output=str(log_path),
        env={**os.environ, "DISPLAY": display},
    )
    driver = webdriver.WebKitGTK(options=options, service=service)
    driver.set_window_size(390, 844)  # the iPhone viewport the Chromium tests use
    return driver


_FIND_JS = (Path(__file__).resolve().parent / "find_by_role.js").read_text()


def find_all_by_role(
    driver: webdriver.WebKitGTK, role: str, name: str | None = None, *, exact: bool = False
) -> list[WebElement]:
    found: Any = driver.execute_script(_FIND_JS, role, name, exact)
    return list(found or [])


def by_role(
    driver: webdriver.WebKitGTK,
    role: str,
    name: str | None = None,
    *,
    exact: bool = False,
    timeout: float = FIND_TIMEOUT_S,
) -> WebElement:
    """The one visible element with this role (and name), waiting up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = find_all_by_role(driver, role, name, exact=exact)
        if len(found) == 1:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} elements with role {role!r} and name {name!r}")
        time.sleep(POLL_S)


def probe_errors(driver: webdriver.WebKitGTK) -> list[str]:
    """What the injected collector saw on the current page (and before a reload)."""
    found: Any = driver.execute_script(
        "return (window.__probe__ && window.__probe__.errors) || "
        "JSON.parse(sessionStorage.getItem('__probe__') || '[]');"
    )
    return [str(e) for e in found or []]
