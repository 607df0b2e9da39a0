"""Real-git helpers shared by the gitops tests (plain git, none of our hardening); no tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 30


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        check=check,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
    )


def make_repo(path: Path, *, commit: bool = True) -> Path:
    """A repository on branch main with a local identity (and one commit unless told)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "commit.gpgsign", "false")
    if commit:
        (path / "README.md").write_text("# test repo\n")
        git(path, "add", "README.md")
        git(path, "commit", "-q", "-m", "Initial commit")
    return path


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD").stdout.strip())
