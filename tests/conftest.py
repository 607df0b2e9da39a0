"""Shared fixtures: the real codex binary, a fake model, a hermetic CODEX_HOME, a git repo.

Typical use from an integration test::

    async def test_x(codex_bin, codex_env, git_repo, fake_model): ...
        # spawn `codex_bin app-server` with env=codex_env, thread cwd=git_repo;
        # fake_model.requests holds what codex sent to the model.

Subfolders add their own fixtures in their own conftest.py files.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness.codex_home import codex_env as build_codex_env
from tests.harness.codex_home import make_codex_home
from tests.harness.fake_model import FakeModel

REPO_ROOT = Path(__file__).resolve().parent.parent
CODEX_BIN_ENV = "CODEXREMOTE_TEST_CODEX_BIN"
DEFAULT_CODEX_BIN = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "codex"
GIT_TIMEOUT_S = 30  # git init/commit of one file in a temp dir


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    """The real codex binary (pinned @openai/codex from scripts/install --test)."""
    path = Path(os.environ.get(CODEX_BIN_ENV) or DEFAULT_CODEX_BIN)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"codex binary not found at {path} (set {CODEX_BIN_ENV} or run scripts/install --test)",
            pytrace=False,
        )
    return path


@pytest.fixture
async def fake_model() -> AsyncIterator[FakeModel]:
    """A running scripted fake model on 127.0.0.1 (see docs/testing.md for the scripts)."""
    async with FakeModel() as model:
        yield model


@pytest.fixture
def codex_home(tmp_path: Path, fake_model: FakeModel) -> Path:
    """A fresh CODEX_HOME whose config.toml points codex at ``fake_model``."""
    return make_codex_home(tmp_path / "codex_home", fake_model.url)


@pytest.fixture
def codex_env(codex_home: Path, tmp_path: Path) -> dict[str, str]:
    """Minimal environment for spawning codex against ``codex_home``."""
    return build_codex_env(codex_home, tmp_path / "home")


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A temp git repository (branch main) with one commit and a local identity."""
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(
            ["git", *args], cwd=repo, check=True, capture_output=True, timeout=GIT_TIMEOUT_S
        )

    git("init", "-q", "-b", "main")
    git("config", "user.name", "Test User")
    git("config", "user.email", "test@example.com")
    git("config", "commit.gpgsign", "false")
    (repo / "README.md").write_text("# test repo\n")
    git("add", "README.md")
    git("commit", "-q", "-m", "Initial commit")
    return repo
