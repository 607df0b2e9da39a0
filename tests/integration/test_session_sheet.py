"""The session sheet (issue 5) over HTTP: project context, git routes, runtime config.

Real companion, real codex app-server, real git repositories and files. The runtime
config tests also prove the written settings take effect: the app-server still starts,
and the next turn of an already existing chat runs under the new policy.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import signal
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from codexremote.codex.transport import StdioTransport
from codexremote.ids import project_id_for_cwd
from tests.harness import model_scripts as scripts
from tests.harness.fake_model import FakeModel
from tests.integration.conftest import Companion
from tests.integration.test_chats_stream import create_chat, frames_until, next_frame, open_stream

pytestmark = pytest.mark.integration

GIT_TIMEOUT_S = 30
PLAIN_FILE = "plain.txt"  # written by the "plain-command" script below
TURN_TIMEOUT_S = 20.0
RESTART_TIMEOUT_S = 20.0
HUGE_MESSAGE_CHARS = 10 * 1024 * 1024  # far beyond the 1 MiB body limit (SEC-16)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=GIT_TIMEOUT_S
    )
    return done.stdout


def plain_command(p: scripts.Prompt) -> scripts.Reply:
    """``touch plain.txt`` *without* asking for escalation: whether it is prompted,
    sandboxed or just runs depends only on the approval policy and sandbox mode."""
    if p.step > 0:
        return scripts._tool_outcome(p)
    args = {"cmd": f"touch {PLAIN_FILE}", "yield_time_ms": 2000}
    return scripts.stream(p, scripts.function_call(f"call_{p.seq}", "exec_command", args))


async def patch_config(companion: Companion, body: Any) -> httpx.Response:
    return await companion.client.patch("/v1/runtime/config", headers=companion.auth(), json=body)


async def context_of(companion: Companion, cwd: Path) -> dict[str, Any]:
    response = await companion.get(f"/v1/projects/{project_id_for_cwd(str(cwd))}/context")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def changed_lines(before: bytes, after: bytes) -> list[str]:
    diff = difflib.unified_diff(
        before.decode().splitlines(), after.decode().splitlines(), lineterm="", n=0
    )
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


async def run_turn(
    companion: Companion, ws: Any, chat_id: str, text: str
) -> tuple[str, list[dict[str, Any]]]:
    """Send ``text``; frames until its turn completes or an approval is raised."""
    sent = await companion.post(f"/v1/chats/{chat_id}/messages", {"text": text})
    assert sent.status_code == 202, sent.text
    turn_id = str(sent.json()["data"]["turnId"])
    frames: list[dict[str, Any]] = []
    while True:
        frame = await next_frame(ws, TURN_TIMEOUT_S)
        frames.append(frame)
        if frame["event"] == "approval_required":
            return turn_id, frames
        if frame["event"] == "turn_completed" and frame["payload"]["turn"]["id"] == turn_id:
            return turn_id, frames


async def kill_child_and_wait_ready(companion: Companion) -> dict[str, Any]:
    supervisor = companion.services.supervisor
    transport = supervisor._transport
    assert isinstance(transport, StdioTransport)
    generation = supervisor.generation
    os.kill(transport.pid, signal.SIGKILL)
    for _ in range(int(RESTART_TIMEOUT_S / 0.05)):
        if supervisor.generation > generation and supervisor.state == "ready":
            break
        await asyncio.sleep(0.05)
    health: dict[str, Any] = (await companion.client.get("/health")).json()
    assert health["appServerState"] == "ready", health
    assert health["appServer"]["generation"] == generation + 1
    return health


# ---------------------------------------------------------------- context


async def test_context_reports_runtime_values_and_the_git_summary(
    companion: Companion, git_repo: Path, tmp_path: Path, codex_home: Path
) -> None:
    config = codex_home / "config.toml"
    trust = f'\n[projects."{git_repo}"]\ntrust_level = "trusted"\n'
    config.write_text(config.read_text() + trust)
    await create_chat(companion, git_repo)
    (git_repo / "README.md").write_text("# changed\n")  # unstaged modification
    (git_repo / "staged.txt").write_text("staged\n")
    git(git_repo, "add", "staged.txt")  # staged addition
    (git_repo / "new.txt").write_text("untracked\n")  # untracked

    data = await context_of(companion, git_repo)
    assert data["projectId"] == project_id_for_cwd(str(git_repo))
    assert data["cwd"] == str(git_repo)
    assert data["runtimeMode"] == "local"
    assert data["approvalPolicy"] == "on-request"
    assert data["sandboxMode"] == "read-only"
    assert data["model"] == "fake-model"
    assert data["trustLevel"] == "trusted"
    assert "configError" not in data
    summary = data["git"]
    assert summary["isRepository"] is True and summary["branch"] == "main"
    counts = {k: summary[k] for k in ("changedFiles", "stagedFiles", "unstagedFiles")}
    assert counts == {"changedFiles": 3, "stagedFiles": 1, "unstagedFiles": 1}
    assert summary["untrackedFiles"] == 1
    paths = {p["path"]: p["indexStatus"] + p["workingTreeStatus"] for p in summary["changedPaths"]}
    assert paths == {"README.md": " M", "staged.txt": "A ", "new.txt": "??"}

    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    await create_chat(companion, plain)
    other = await context_of(companion, plain)
    assert other["git"]["isRepository"] is False and other["git"]["changedPaths"] == []
    assert other["runtimeMode"] == "local" and other["approvalPolicy"] == "on-request"
    assert other["trustLevel"] is None
    branches = await companion.get(f"/v1/projects/{other['projectId']}/git/branches")
    assert branches.status_code == 400
    assert branches.json()["error"] == "Project is not a Git repository"

    for project_id in ("0123456789ab", "nope", "ABCDEF012345"):
        missing = await companion.get(f"/v1/projects/{project_id}/context")
        assert missing.status_code == 404 and missing.json()["error"] == "Project not found"


# -------------------------------------------------------------------- git


async def test_git_routes_branches_diff_checkout_commit(
    companion: Companion, git_repo: Path
) -> None:
    git(git_repo, "branch", "alpha")
    git(git_repo, "checkout", "-q", "-b", "feature")
    (git_repo / "README.md").write_text("# feature\n")
    git(git_repo, "commit", "-q", "-am", "Feature change")
    git(git_repo, "checkout", "-q", "main")
    await create_chat(companion, git_repo)
    base = f"/v1/projects/{project_id_for_cwd(str(git_repo))}/git"

    branches = (await companion.get(f"{base}/branches")).json()["data"]
    assert branches == [
        {"name": "main", "isCurrent": True},
        {"name": "alpha", "isCurrent": False},
        {"name": "feature", "isCurrent": False},
    ]

    # Checkout: validation, unknown branch, success, refusal by local changes.
    for unsafe in ("-x", "a..b", "$(touch x)", "--orphan=evil"):
        refused = await companion.post(f"{base}/checkout", {"branch": unsafe})
        assert refused.status_code == 400, unsafe
        assert refused.json()["error"] == f"Unsafe branch name: {unsafe}"
    assert not (git_repo / "x").exists()
    for body in ({}, {"branch": "  "}, {"branch": 5}):
        assert (await companion.post(f"{base}/checkout", body)).status_code == 400
    unknown = await companion.post(f"{base}/checkout", {"branch": "nope"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "Branch not found: nope"
    switched = await companion.post(f"{base}/checkout", {"branch": "alpha"})
    assert switched.status_code == 200
    assert switched.json()["data"]["branch"] == "alpha"
    assert switched.json()["data"]["isRepository"] is True
    assert git(git_repo, "branch", "--show-current").strip() == "alpha"
    assert (await companion.post(f"{base}/checkout", {"branch": "main"})).status_code == 200
    (git_repo / "README.md").write_text("# local edit\n")
    blocked = await companion.post(f"{base}/checkout", {"branch": "feature"})
    assert blocked.status_code == 409, blocked.text
    assert "would be overwritten" in blocked.json()["error"]
    assert git(git_repo, "branch", "--show-current").strip() == "main"
    assert (git_repo / "README.md").read_text() == "# local edit\n"

    # Commit with nothing staged.
    nothing = await companion.post(f"{base}/commit", {"message": "Nothing"})
    assert nothing.status_code == 400
    assert nothing.json()["error"] == "There are no staged changes to commit"

    # Diff: staged, unstaged and untracked; one path; unsafe paths.
    (git_repo / "staged.txt").write_text("staged line\n")
    git(git_repo, "add", "staged.txt")
    (git_repo / "new.txt").write_text("untracked\n")
    combined = (await companion.get(f"{base}/diff")).json()["data"]
    assert combined["path"] is None and combined["truncated"] is False
    assert combined["untrackedPaths"] == ["new.txt"]
    text = combined["text"]
    assert text.startswith("# Combined diff")
    assert "## Staged changes" in text and "+staged line" in text
    assert "## Unstaged changes" in text and "+# local edit" in text
    assert "## Untracked files" in text and "?? new.txt" in text
    one = (await companion.get(f"{base}/diff", params={"path": "README.md"})).json()["data"]
    assert one["path"] == "README.md" and one["text"].startswith("# Diff for README.md")
    assert "+# local edit" in one["text"] and "staged line" not in one["text"]
    for bad in ("../outside.txt", "a/../../b", "/etc/passwd", "-p"):
        refused = await companion.get(f"{base}/diff", params={"path": bad})
        assert refused.status_code == 400, (bad, refused.text)

    # Commit what is staged (and only that).
    head = git(git_repo, "rev-parse", "HEAD").strip()
    long = await companion.post(f"{base}/commit", {"message": "y" * 20_001})
    assert long.status_code == 400 and "too long" in long.json()["error"]
    huge = await companion.post(f"{base}/commit", {"message": "x" * HUGE_MESSAGE_CHARS})
    assert huge.status_code == 413
    assert git(git_repo, "rev-parse", "HEAD").strip() == head
    done = await companion.post(f"{base}/commit", {"message": "  Add staged.txt\n\nBody.  "})
    assert done.status_code == 200, done.text
    result = done.json()["data"]
    assert re.fullmatch(r"[0-9a-f]{40}", result["commitHash"])
    assert result == {
        "branch": "main",
        "commitHash": result["commitHash"],
        "summary": "Add staged.txt",
    }
    assert git(git_repo, "rev-parse", "HEAD").strip() == result["commitHash"]
    assert git(git_repo, "show", "--name-only", "--format=", "HEAD").split() == ["staged.txt"]
    after = (await context_of(companion, git_repo))["git"]
    assert {p["path"] for p in after["changedPaths"]} == {"README.md", "new.txt"}
    assert after["stagedFiles"] == 0


# --------------------------------------------------------- runtime config


async def test_runtime_config_patch_changes_one_line_and_refuses_bad_input(
    companion: Companion, git_repo: Path, codex_home: Path
) -> None:
    config = codex_home / "config.toml"
    original = config.read_bytes()
    changed = await patch_config(companion, {"approvalPolicy": "never"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"] == {
        "approvalPolicy": "never",
        "sandboxMode": "read-only",
        "model": "fake-model",
        "modelReasoningEffort": None,
    }
    written = config.read_bytes()
    assert changed_lines(original, written) == [
        '-approval_policy = "on-request"',
        '+approval_policy = "never"',
    ]

    for body, message in (
        ({"approvalPolicy": "sometimes"}, "Unsupported approval policy: sometimes"),
        ({"sandboxMode": "yolo"}, "Unsupported sandbox mode: yolo"),
        ({"approvalPolicy": "never", "sandboxMode": "yolo"}, "Unsupported sandbox mode: yolo"),
        ({}, "At least one runtime setting is required"),
        ({"approvalPolicy": 3}, "At least one runtime setting is required"),
    ):
        refused = await patch_config(companion, body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["error"] == message
        assert config.read_bytes() == written
    not_json = await companion.client.patch(
        "/v1/runtime/config",
        content=b"{",
        headers={**companion.auth(), "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400 and config.read_bytes() == written

    await create_chat(companion, git_repo)
    broken = written + b"[broken\n"
    config.write_bytes(broken)
    try:
        conflict = await patch_config(companion, {"approvalPolicy": "on-request"})
        assert conflict.status_code == 409, conflict.text
        assert conflict.json()["error"].startswith("config.toml does not parse")
        assert config.read_bytes() == broken
        shown = await context_of(companion, git_repo)  # the sheet still opens
        assert shown["approvalPolicy"] is None and "does not parse" in shown["configError"]
        assert shown["git"]["isRepository"] is True
    finally:
        config.write_bytes(written)
    assert (await context_of(companion, git_repo))["approvalPolicy"] == "never"


async def test_runtime_config_untrusted_reaches_the_next_turn_of_an_existing_chat(
    companion: Companion, git_repo: Path, codex_home: Path, fake_model: FakeModel
) -> None:
    fake_model.add_script("plain-command", plain_command)
    chat_id = await create_chat(companion, git_repo)
    ws = await open_stream(companion, chat_id)
    # on-request + read-only: the plain command runs sandboxed without a prompt and fails.
    _, frames = await run_turn(companion, ws, chat_id, "plain-command please")
    assert frames[-1]["event"] == "turn_completed"
    assert not (git_repo / PLAIN_FILE).exists()

    config = codex_home / "config.toml"
    before = config.read_bytes()
    changed = await patch_config(companion, {"approvalPolicy": "untrusted"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["approvalPolicy"] == "untrusted"
    # Never written to config.toml: app-server 0.169 would refuse to start with it.
    assert config.read_bytes() == before
    assert tomllib.loads(before.decode())["approval_policy"] == "on-request"
    assert (await context_of(companion, git_repo))["approvalPolicy"] == "untrusted"

    # The app-server still starts with this configuration.
    await kill_child_and_wait_ready(companion)

    # The same chat's next turn runs under untrusted: even the plain command asks.
    turn_id, frames = await run_turn(companion, ws, chat_id, "plain-command please")
    assert frames[-1]["event"] == "approval_required", [f["event"] for f in frames]
    approval = frames[-1]["payload"]
    assert approval["kind"] == "command" and PLAIN_FILE in approval["summary"]
    assert (
        await companion.post(f"/v1/approvals/{approval['id']}", {"decision": "decline"})
    ).status_code == 200
    while True:
        frame = (await frames_until(ws, "turn_completed", TURN_TIMEOUT_S))[-1]
        if frame["payload"]["turn"]["id"] == turn_id:
            break
    await ws.close()
    assert not (git_repo / PLAIN_FILE).exists()

    # Back to a config value: the override is gone, config.toml holds the new value.
    reset = await patch_config(companion, {"approvalPolicy": "on-request"})
    assert reset.status_code == 200 and reset.json()["data"]["approvalPolicy"] == "on-request"
    assert config.read_bytes() == before


async def test_runtime_config_workspace_write_and_never_run_without_prompts(
    companion: Companion, git_repo: Path, fake_model: FakeModel
) -> None:
    fake_model.add_script("plain-command", plain_command)
    chat_id = await create_chat(companion, git_repo)  # started under on-request/read-only
    ws = await open_stream(companion, chat_id)
    for body in ({"sandboxMode": "workspace-write"}, {"approvalPolicy": "never"}):
        assert (await patch_config(companion, body)).status_code == 200
    context = await context_of(companion, git_repo)
    assert (context["approvalPolicy"], context["sandboxMode"]) == ("never", "workspace-write")

    # workspace-write: the plain command writes inside the repo, unprompted.
    _, frames = await run_turn(companion, ws, chat_id, "plain-command please")
    assert frames[-1]["event"] == "turn_completed"
    assert (git_repo / PLAIN_FILE).exists()
    # never: an escalation request is refused outright; no prompt, the command does not run.
    _, frames = await run_turn(companion, ws, chat_id, "run-command please")
    await ws.close()
    assert frames[-1]["event"] == "turn_completed"
    assert not (git_repo / "approved.txt").exists()
    texts = [f["payload"]["item"].get("text") for f in frames if f["event"] == "item_completed"]
    assert scripts.TOOL_REJECTED_ANSWER in texts
