"""``codexremote verify`` (issue 12.2): the closed loop against the real app-server and the
scripted model, and its failure cases. The desktop step must SKIP here (no macOS desktop)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
import uvicorn

from codexremote.app import build_services, create_app
from codexremote.settings import Settings
from codexremote.verify import Report, VerifyOptions, run_verify
from tests.harness.fake_model import FakeModel
from tests.harness.model_scripts import HELLO_ANSWER
from tests.harness.processes import fake_app_server_launcher, free_port

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "codexremote.cli"]
SKIP_LINE = "SKIP: needs a logged-in macOS desktop (this is linux)"


def statuses(lines: list[str]) -> dict[str, str]:
    return {
        line.split()[1]: line.split()[0] for line in lines if line[:4] in ("PASS", "FAIL", "SKIP")
    }


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_verify_passes_its_seven_steps_and_skips_the_desktop_honestly(
    tmp_path: Path,
    codex_bin: Path,
    codex_env: dict[str, str],
    codex_home: Path,
    fake_model: FakeModel,
    git_repo: Path,
) -> None:
    config = codex_home / "config.toml"
    # A user's config with comments and odd spacing; no sandbox line, so the
    # round trip has to insert one and put the original bytes back.
    original = config.read_text().replace('sandbox_mode = "read-only"\n', "") + "# mine  \n"
    config.write_bytes(original.encode())
    repo_before = subprocess.run(
        ["git", "status", "--porcelain"], cwd=git_repo, capture_output=True, text=True
    ).stdout
    state = tmp_path / "verify-state"
    argv = [*CLI, "verify", "--start", "--codex-bin", str(codex_bin)]
    argv += ["--codex-home", str(codex_home), "--state-dir", str(state), "--timeout", "60"]
    result = subprocess.run(
        argv,
        env={**codex_env, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = result.stdout.splitlines()
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert statuses(lines) == {
        "token": "PASS",
        "chat": "PASS",
        "context": "PASS",
        "git": "PASS",
        "runtime-config": "PASS",
        "message": "PASS",
        "rollout": "PASS",
        "desktop": "SKIP",
    }
    assert lines[7].endswith(SKIP_LINE)
    assert "restored config.toml and config.toml.bak byte for byte" in lines[4]
    assert config.read_bytes() == original.encode()  # byte for byte
    assert not (codex_home / "config.toml.bak").exists()
    reports = list((state / "verify").glob("verify-*.json"))
    assert len(reports) == 1 and reports[0].stat().st_mode & 0o777 == 0o600
    report = json.loads(reports[0].read_text())
    assert report["passed"] is True and len(report["steps"]) == 8
    message = next(s for s in report["steps"] if s["name"] == "message")
    assert message["data"]["answer"] == HELLO_ANSWER
    assert all(isinstance(s["seconds"], float) for s in report["steps"])
    repo_after = subprocess.run(
        ["git", "status", "--porcelain"], cwd=git_repo, capture_output=True, text=True
    ).stdout
    assert repo_after == repo_before
    assert "Traceback" not in result.stderr


def test_verify_against_no_companion_fails_every_step_with_its_reason(
    tmp_path: Path, codex_home: Path
) -> None:
    port = free_port()
    argv = [*CLI, "verify", "--port", str(port), "--codex-home", str(codex_home)]
    before = files_of(codex_home)
    result = subprocess.run(
        [*argv, "--state-dir", str(tmp_path / "s")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    found = statuses(lines)
    assert found.pop("desktop") == "SKIP"
    assert set(found.values()) == {"FAIL"} and len(found) == 7
    assert f"no companion answers at http://127.0.0.1:{port}" in lines[0]
    assert "needs" in lines[1]
    assert files_of(codex_home) == before
    assert "verify FAILED; report: " in lines[-1]


async def _with_fake_companion(
    tmp_path: Path, codex_home: Path, *, revoked: bool = False, **knobs: str
) -> tuple[list[str], Report]:
    """A companion on the fake app-server (failure knobs), and run_verify against it."""
    settings = Settings(
        port=free_port(), state_dir=tmp_path / "state", codex_home=codex_home, confirmer="socket"
    )
    services = build_services(settings, launcher=fake_app_server_launcher(**knobs))
    old = services.devices.issue("old phone")
    services.devices.revoke(old.device_id)
    # start_companion waits for a ready child; one that fails on start never is.
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), port=settings.port, log_config=None)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    if not knobs.get("FAKE_FAIL_ON_START"):
        assert await services.supervisor.wait_ready(30)
    lines: list[str] = []
    options = VerifyOptions(
        url=None,
        port=settings.port,
        state_dir=settings.state_dir,
        codex_home=codex_home,
        token=old.token if revoked else None,
        timeout_s=10,
    )
    try:
        report = await run_verify(options, lines.append)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
    return lines, report


async def test_verify_with_a_revoked_token_fails_from_the_first_step(
    tmp_path: Path, codex_home: Path
) -> None:
    before = files_of(codex_home)
    lines, report = await _with_fake_companion(tmp_path, codex_home, revoked=True)
    assert not report.passed
    assert lines[0].startswith("FAIL token") and "401 Invalid token" in lines[0]
    assert statuses(lines)["runtime-config"] == "FAIL"  # the PATCH needs a valid token
    assert files_of(codex_home) == before


async def test_verify_with_a_dead_app_server_goes_on_where_it_can(
    tmp_path: Path, codex_home: Path
) -> None:
    before = files_of(codex_home)
    lines, _report = await _with_fake_companion(tmp_path, codex_home, FAKE_FAIL_ON_START="1")
    found = statuses(lines)
    assert found["token"] == "PASS"  # pairing needs no app-server
    assert found["chat"] == "FAIL" and "POST /v1/chats: 503" in lines[1]
    assert found["runtime-config"] == "PASS"  # config writes need no app-server either
    assert found["message"] == "FAIL" and found["desktop"] == "SKIP"
    assert files_of(codex_home) == before


async def test_verify_with_a_config_toml_that_does_not_parse_leaves_it_alone(
    tmp_path: Path, codex_home: Path
) -> None:
    config = codex_home / "config.toml"
    broken = config.read_bytes() + b"\napproval_policy = [unclosed\n"
    config.write_bytes(broken)
    lines, _report = await _with_fake_companion(tmp_path, codex_home)
    line = next(x for x in lines if " runtime-config " in x)
    assert line.startswith("FAIL") and "409" in line and "does not parse" in line
    assert config.read_bytes() == broken
    assert not (codex_home / "config.toml.bak").exists()
