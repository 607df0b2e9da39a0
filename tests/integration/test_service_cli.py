"""``codexremote service`` and ``logs`` as a user runs them (issue 12.3): the real CLI,
fake ``systemctl`` on PATH, and a real ``serve --log-file`` writing the rotated log."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from codexremote.service.logfile import PrivateRotatingFileHandler, follow, tail
from tests.harness.processes import free_port
from tests.harness.service_managers import FakeServiceManagers

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "codexremote.cli"]
SECRET = "sk-test-service-" + "q" * 24


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *argv], env=env, capture_output=True, text=True, timeout=60)


def test_service_install_writes_the_flags_not_the_secrets_and_is_idempotent(
    tmp_path: Path, codex_bin: Path
) -> None:
    fake = FakeServiceManagers(tmp_path / "fake")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CODEXREMOTE_")},
        "PATH": fake.path_env(),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "OPENAI_API_KEY": SECRET,
        "CODEXREMOTE_DICTATION_API_KEY": SECRET,
    }
    state = tmp_path / "state"
    flags = ["--state-dir", str(state), "--tailscale", "--port", "9001", "--qr", "app"]
    flags += ["--allowed-host", "a.example", "--allowed-host", "b.example"]
    flags += ["--codex-bin", str(codex_bin)]
    first = run(["service", "install", *flags], env)
    assert first.returncode == 0, first.stderr
    unit = tmp_path / "xdg" / "systemd" / "user" / "codexremote.service"
    assert first.stdout.startswith(f"installed: {unit}")
    text = unit.read_text()
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert exec_start == (
        f"ExecStart={sys.executable} -m codexremote.cli serve --state-dir {state} "
        f"--codex-home {Path.home() / '.codex'} --codex-bin {codex_bin.resolve()} --port 9001 "
        "--tailscale --qr app --allowed-host a.example --allowed-host b.example "
        f"--log-file {state / 'logs' / 'companion.log'}"
    )
    assert SECRET not in text
    second = run(["service", "install", *flags], env)
    assert second.stdout.startswith("already installed: ") and unit.read_text() == text
    shown = run(["service", "status", "--state-dir", str(state)], env)
    assert shown.returncode == 0 and shown.stdout.startswith("active: ")
    gone = run(["service", "uninstall"], env)
    assert gone.returncode == 0 and gone.stdout.startswith("uninstalled: ")
    again = run(["service", "uninstall"], env)
    assert again.returncode == 0 and again.stdout.startswith("not installed")
    assert run(["service", "status"], env).returncode == 3


def test_serve_log_file_is_private_and_logs_reads_it(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> None:
    state = tmp_path / "state"
    log_file = state / "logs" / "companion.log"
    port = free_port()
    argv = [*CLI, "serve", "--port", str(port), "--codex-bin", str(codex_bin)]
    argv += [
        "--codex-home",
        str(codex_home),
        "--state-dir",
        str(state),
        "--log-file",
        str(log_file),
    ]
    proc = subprocess.Popen(argv, env=codex_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert state.stat().st_mode & 0o777 == 0o700  # created private, so serve ran
    assert log_file.stat().st_mode & 0o777 == 0o600
    assert log_file.parent.stat().st_mode & 0o777 == 0o700
    shown = run(["logs", "--state-dir", str(state), "-n", "500"], codex_env)
    assert shown.returncode == 0
    assert f"codexremote listening on http://127.0.0.1:{port}" in shown.stdout
    missing = run(["logs", "--state-dir", str(tmp_path / "nothing")], codex_env)
    assert missing.returncode == 1 and "no log yet" in missing.stderr


def test_log_rotates_by_size_and_follow_crosses_the_rotation(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "companion.log"
    path.parent.mkdir(mode=0o700)
    handler = PrivateRotatingFileHandler(path, maxBytes=300, backupCount=2, encoding="utf-8")
    logger = logging.getLogger("test.rotation")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    seen: list[str] = []
    done = threading.Event()

    def reader() -> None:
        for line in follow(path, stop=done.is_set, sleep=lambda _s: time.sleep(0.01)):
            seen.append(line.strip())

    path.touch(mode=0o600)
    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.1)
    try:
        for n in range(40):
            logger.info("line %02d %s", n, "x" * 40)
            time.sleep(0.005)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "line 39 " + "x" * 40 not in seen:
            time.sleep(0.02)
    finally:
        done.set()
        thread.join(5)
        logger.removeHandler(handler)
        handler.close()
    rotated = sorted(p.name for p in path.parent.iterdir())
    assert rotated == ["companion.log", "companion.log.1", "companion.log.2"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in path.parent.iterdir())
    assert all(p.stat().st_size <= 300 for p in path.parent.iterdir())
    assert "line 39 " + "x" * 40 in seen
    # Every line written while following was seen once, in order (rotation lost none).
    numbers = [int(line.split()[1]) for line in seen]
    assert numbers == sorted(numbers) and len(numbers) == len(set(numbers))
    print(f"\nfollowed {len(numbers)} of 40 lines across {len(rotated) - 1} rotations")
    assert tail(path, 1)[0].startswith("line 39")
