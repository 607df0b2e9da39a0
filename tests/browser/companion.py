"""A real companion for browser tests: `codexremote serve` as a subprocess.

The browser talks to it through :class:`~tests.browser.netproxy.NetProxy` (a
loopback proxy a test can cut, to play "offline"); Python talks to it directly.
Its stdout/stderr go to ``serve.log`` in the test's tmp dir, printed when a test
fails. Pairing and revocation go through the real CLI (``codexremote devices
approve CODE`` / ``revoke ID`` against the same ``--state-dir``).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.harness.processes import free_port

CLI = [sys.executable, "-m", "codexremote.cli"]
READY_TIMEOUT_S = 60.0  # python start-up + codex app-server initialize on a busy 2-core box
STOP_TIMEOUT_S = 10.0
CLI_TIMEOUT_S = 30.0
POLL_S = 0.05


@dataclass
class Companion:
    """One running ``codexremote serve`` (real app-server child, fake model)."""

    port: int
    state_dir: Path
    codex_home: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    proxy_url: str = ""  # what the browser opens (set by the fixture)
    _log_file: Any = field(default=None, repr=False)

    @property
    def direct_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The origin the browser uses (through the proxy when there is one)."""
        return self.proxy_url or self.direct_url

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def start(
        cls,
        tmp_path: Path,
        codex_bin: Path,
        codex_home: Path,
        codex_env: dict[str, str],
        extra_args: tuple[str, ...] = (),
    ) -> Companion:
        port = free_port()
        state_dir = tmp_path / "state"
        log_path = tmp_path / "serve.log"
        env = {**codex_env, "PYTHONUNBUFFERED": "1"}
        argv = [
            *CLI,
            "serve",
            "--port",
            str(port),
            "--codex-bin",
            str(codex_bin),
            "--codex-home",
            str(codex_home),
            "--state-dir",
            str(state_dir),
            "--confirmer",
            "socket",  # headless: pairing is confirmed with `codexremote devices approve`
            *extra_args,
        ]
        log_file = log_path.open("wb")
        process = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        companion = cls(port, state_dir, codex_home, log_path, process, env, _log_file=log_file)
        companion.wait_ready()
        return companion

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        state = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"codexremote serve exited {self.process.returncode}")
            try:
                state = self.request("GET", "/health")[1]["appServer"]["state"]
            except (OSError, KeyError, TypeError, ValueError):
                state = None
            if state == "ready":
                return
            time.sleep(POLL_S)
        raise RuntimeError(f"companion not ready after {READY_TIMEOUT_S} s (state {state})")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log_file is not None:
            self._log_file.close()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # ----------------------------------------------------------------- calls
    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """One HTTP call straight to the companion; (status, parsed JSON or text)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(
            self.direct_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=CLI_TIMEOUT_S) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:  # an HTTPError holds the response's socket until closed
                status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The real ``codexremote`` CLI against this companion's state dir."""
        argv = [*CLI, *args, "--state-dir", str(self.state_dir)]
        result = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}: {result.stderr}")
        return result

    def new_offer(self) -> dict[str, Any]:
        """A fresh pairing offer (what `codexremote pair` asks the running companion)."""
        status, offer = self.request("POST", "/v1/pairing/request", {})
        assert status == 200, (status, offer)
        return dict(offer)

    def web_link(self, offer: dict[str, Any] | None = None) -> str:
        """The QR's web link, on the browser's origin."""
        offer = offer or self.new_offer()
        return f"{self.base_url}/#pairingId={offer['pairingId']}&nonce={offer['nonce']}"

    def app_link(self, offer: dict[str, Any] | None = None) -> str:
        """The QR's ``codexremote://pair?…`` link, naming the browser's host and port."""
        offer = offer or self.new_offer()
        host, port = self.base_url.removeprefix("http://").rsplit(":", 1)
        return (
            f"codexremote://pair?scheme=http&host={host}&port={port}"
            f"&pairingId={offer['pairingId']}&nonce={offer['nonce']}"
        )

    def pending_codes(self) -> list[str]:
        return re.findall(r"\bcode (\d{6})\b", self.cli("devices", "pending").stdout)

    def approve(self, code: str) -> None:
        """Confirm a pairing on the computer, as the user would type it."""
        deadline = time.monotonic() + CLI_TIMEOUT_S
        digits = code.replace(" ", "")
        while digits not in self.pending_codes():
            if time.monotonic() > deadline:
                raise AssertionError(f"no pending pairing with code {code}: {self.log()[-2000:]}")
            time.sleep(0.1)
        self.cli("devices", "approve", digits)

    def devices(self) -> list[dict[str, Any]]:
        path = self.state_dir / "devices.json"
        if not path.exists():
            return []
        return list(json.loads(path.read_text())["devices"])

    def revoke(self, device_id: str) -> None:
        self.cli("devices", "revoke", device_id)

    def pair_token(self, name: str = "test client") -> tuple[str, str]:
        """Pair a non-browser client through the real flow; (token, device id)."""
        import threading

        offer = self.new_offer()
        result: dict[str, Any] = {}

        def confirm() -> None:
            body = {"pairingId": offer["pairingId"], "nonce": offer["nonce"], "deviceName": name}
            result["answer"] = self.request("POST", "/v1/pairing/confirm", body)

        thread = threading.Thread(target=confirm)
        thread.start()
        deadline = time.monotonic() + CLI_TIMEOUT_S
        while not self.pending_codes() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.cli("devices", "approve", self.pending_codes()[0])
        thread.join(CLI_TIMEOUT_S)
        status, answer = result["answer"]
        assert status == 200, answer
        return str(answer["token"]), str(answer["deviceId"])
