"""`codexremote serve` and `doctor` as a user runs them: real processes, real codex."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.harness.processes import alive, descendants, free_port
from tests.harness.qr_decode import decode_terminal_qrs

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "codexremote.cli"]


def health(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
        return json.load(response)  # type: ignore[no-any-return]


def test_serve_reports_ready_then_shuts_down_cleanly(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> None:
    port = free_port()
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
        str(tmp_path / "state"),
    ]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        state = None
        while time.monotonic() < deadline:
            try:
                body = health(port)
                state = body["appServer"]["state"]  # type: ignore[index]
                if state == "ready":
                    break
            except OSError:
                pass
            time.sleep(0.05)
        assert state == "ready"
        assert body["appServer"]["codexVersion"] == "0.169.0"  # type: ignore[index]
        assert body["version"] and isinstance(body["uptimeSeconds"], float)
        children = descendants(proc.pid)
        assert children, "the app-server child should be running"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert time.monotonic() - started <= 4.5
        # uvicorn re-raises the signal after its graceful shutdown (conventional exit status).
        assert proc.returncode in (0, -signal.SIGTERM)
        time.sleep(0.2)
        assert [pid for pid in children if alive(pid)] == []
        # No device paired yet: serve printed a pairing offer.
        assert b"codexremote://pair?scheme=http" in out
        # The original iOS app's scanner reads only codexremote:// (issue 14 A1): both
        # QR codes are printed, the camera's web link first.
        scanned = decode_terminal_qrs(out.decode())
        assert [link.split(":", 1)[0] for link in scanned] == ["http", "codexremote"]
        assert b"Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_doctor_passes_on_a_good_setup_and_flags_a_broken_config(
    tmp_path: Path, codex_bin: Path, codex_home: Path
) -> None:
    port = str(free_port())
    common = ["--codex-bin", str(codex_bin), "--state-dir", str(tmp_path / "s"), "--port", port]
    good = subprocess.run(
        [*CLI, "doctor", "--codex-home", str(codex_home), *common],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0, good.stdout + good.stderr
    lines = good.stdout.strip().splitlines()
    assert len(lines) == 9 and all(line.startswith("ok") for line in lines)
    assert lines[-3].startswith("ok   dictation: not configured")
    assert lines[-2] == "ok   push: off (set push_contact to send Web Push)"
    # No --tailscale: the tailnet is information only (issue 12.1).
    assert lines[-1].startswith("ok   tailscale: ")
    broken_home = tmp_path / "broken"
    broken_home.mkdir()
    (broken_home / "config.toml").write_text("approval_policy = [unclosed\n")
    bad = subprocess.run(
        [*CLI, "doctor", "--codex-home", str(broken_home), *common, "--codex-bin", "/nope/codex"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    fails = [line for line in bad.stdout.splitlines() if line.startswith("FAIL")]
    assert any("codex" in line and "fix:" in line for line in fails)
    assert any("config.toml does not parse" in line for line in fails)
    assert "Traceback" not in bad.stdout + bad.stderr


def test_serve_without_codex_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CODEXREMOTE_CODEX_BIN"}
    env["PATH"] = "/usr/bin:/bin"
    result = subprocess.run(
        [*CLI, "serve", "--port", str(free_port()), "--state-dir", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "codex is not installed" in result.stderr and "npm install" in result.stderr


def test_rel03_sigterm_during_startup_leaves_no_orphan(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> None:
    argv = [
        *CLI,
        "serve",
        "--port",
        str(free_port()),
        "--codex-bin",
        str(codex_bin),
        "--codex-home",
        str(codex_home),
        "--state-dir",
        str(tmp_path / "state"),
    ]
    proc = subprocess.Popen(argv, env=codex_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    children: set[int] = set()
    while not children and time.monotonic() < deadline:  # the child starts before FastAPI loads
        children = descendants(proc.pid)
        time.sleep(0.01)
    assert children
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    time.sleep(0.3)
    assert [pid for pid in children if alive(pid)] == []
    assert b"Traceback" not in err


def test_corrupt_device_store_is_one_line_and_exit_2(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    store = state / "devices.json"
    store.write_text("{not json")
    store.chmod(0o600)
    result = subprocess.run(
        [
            *CLI,
            "serve",
            "--port",
            str(free_port()),
            "--codex-bin",
            str(codex_bin),
            "--codex-home",
            str(codex_home),
            "--state-dir",
            str(state),
        ],
        env=codex_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("codexremote: ") and result.stderr.count("\n") == 1
    assert "devices.json" in result.stderr
    assert store.read_text() == "{not json"  # never overwritten
