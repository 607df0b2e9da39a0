"""Submodules in the context: the same entries as plain `git status --porcelain` (v1, the
original's command) although git never enters a submodule for us (SEC-14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codexremote.gitops import git_context
from codexremote.gitops.submodules import MAX_DEPTH
from tests.unit.test_gitops_support import git, make_repo

ALLOW_FILE = ("-c", "protocol.file.allow=always")


def _with_submodule(parent: Path, source: Path, path: str) -> None:
    git(parent, *ALLOW_FILE, "submodule", "add", "-q", str(source), path)
    git(parent, "commit", "-q", "-m", f"add {path}")


@pytest.fixture
def superproject(tmp_path: Path) -> Path:
    """repo with submodules ``libs/one`` and ``two``; ``two`` has its own ``inner``."""
    inner = make_repo(tmp_path / "inner-src")
    two = make_repo(tmp_path / "two-src")
    _with_submodule(two, inner, "inner")
    one = make_repo(tmp_path / "one-src")
    repo = make_repo(tmp_path / "repo")
    _with_submodule(repo, one, "libs/one")
    _with_submodule(repo, two, "two")
    git(repo, *ALLOW_FILE, "submodule", "update", "-q", "--init", "--recursive")
    return repo


def _plain_v1(repo: Path) -> list[tuple[str, str, str]]:
    out = git(repo, "status", "--porcelain=v1", "-z").stdout
    return [(r[3:], r[0], r[1]) for r in out.split("\0") if r]


async def _ours(repo: Path) -> list[tuple[str, str, str]]:
    context = await git_context(repo, use_cache=False)
    return [(p.path, p.indexStatus, p.workingTreeStatus) for p in context.changedPaths]


async def test_submodule_edits_reported_like_plain_git(superproject: Path) -> None:
    repo = superproject
    assert await _ours(repo) == _plain_v1(repo) == []
    steps = [
        lambda: (repo / "libs/one/new.txt").write_text("untracked inside\n"),
        lambda: (repo / "two/inner/README.md").write_text("edited two levels down\n"),
        lambda: (repo / "top.txt").write_text("untracked at the top\n"),
        lambda: git(repo / "libs/one", "commit", "-q", "--allow-empty", "-m", "moved"),
        lambda: git(repo, "add", "libs/one"),  # staged gitlink change, still dirty inside
    ]
    seen = []
    for step in steps:
        step()
        ours = await _ours(repo)
        assert ours == _plain_v1(repo)
        seen.append(ours)
    assert seen[-1] == [("libs/one", "M", "M"), ("two", " ", "M"), ("top.txt", "?", "?")]


async def test_submodule_nesting_is_bounded(tmp_path: Path) -> None:
    """Edits deeper than MAX_DEPTH levels are not looked for (each level costs processes)."""
    source = make_repo(tmp_path / f"level{MAX_DEPTH + 1}")
    for level in range(MAX_DEPTH, 0, -1):
        parent = make_repo(tmp_path / f"level{level}")
        _with_submodule(parent, source, "sub")
        source = parent
    repo = make_repo(tmp_path / "repo")
    _with_submodule(repo, source, "sub")
    git(repo, *ALLOW_FILE, "submodule", "update", "-q", "--init", "--recursive")
    deepest = repo.joinpath(*["sub"] * (MAX_DEPTH + 1))
    (deepest / "edit.txt").write_text("too deep\n")
    assert await _ours(repo) == []
    assert _plain_v1(repo) == [("sub", " ", "M")]
    (deepest.parent / "edit.txt").write_text("at the limit\n")
    assert await _ours(repo) == [("sub", " ", "M")]
