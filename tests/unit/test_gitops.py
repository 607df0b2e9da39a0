"""gitops on real repositories: context, branches, diff, checkout, commit (wire-api 8.2-8.3)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from codexremote.errors import BadRequest, Conflict, NotFound
from codexremote.gitops import (
    DIFF_LIMIT_CHARS,
    checkout,
    commit,
    diff,
    git_context,
    list_branches,
    run_git,
)
from codexremote.gitops.runner import GitTimeout
from tests.unit.test_gitops_support import commit_count, git, head, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


# --- context ------------------------------------------------------------------------------


async def test_context_clean_repo(repo: Path) -> None:
    context = await git_context(repo, use_cache=False)
    assert context.model_dump() == {
        "isRepository": True,
        "branch": "main",
        "changedFiles": 0,
        "stagedFiles": 0,
        "unstagedFiles": 0,
        "untrackedFiles": 0,
        "changedPaths": [],
    }


async def test_context_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    context = await git_context(plain)
    assert context.isRepository is False
    assert context.branch is None and context.changedPaths == []
    assert (await git_context(tmp_path / "missing")).isRepository is False


async def test_context_counts_and_odd_paths(repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    (repo / "staged file.txt").write_text("s\n")
    git(repo, "add", "staged file.txt")
    (repo / "staged file.txt").write_text("s2\n")  # staged and unstaged: "AM"
    (repo / "new\nline.txt").write_text("x")
    (repo / "untracked_dir").mkdir()
    (repo / "untracked_dir" / "a").write_text("a")
    (repo / "untracked_dir" / "b").write_text("b")
    context = await git_context(repo, use_cache=False)
    paths = {(p.path, p.indexStatus, p.workingTreeStatus) for p in context.changedPaths}
    assert paths == {
        ("README.md", " ", "M"),
        ("staged file.txt", "A", "M"),
        ("new\nline.txt", "?", "?"),
        ("untracked_dir/", "?", "?"),
    }
    assert (context.changedFiles, context.stagedFiles) == (4, 1)
    assert (context.unstagedFiles, context.untrackedFiles) == (2, 2)


async def test_context_rename_reports_new_path(repo: Path) -> None:
    git(repo, "mv", "README.md", "docs name.md")
    context = await git_context(repo, use_cache=False)
    assert [(p.path, p.indexStatus) for p in context.changedPaths] == [("docs name.md", "R")]
    assert context.stagedFiles == 1


async def test_context_empty_repository_without_commits(tmp_path: Path) -> None:
    empty = make_repo(tmp_path / "empty", commit=False)
    (empty / "a.txt").write_text("a")
    context = await git_context(empty, use_cache=False)
    assert context.isRepository and context.branch == "main"
    assert context.untrackedFiles == 1
    assert await list_branches(empty) == []
    result = await diff(empty, None)
    assert result.untrackedPaths == ["a.txt"]
    git(empty, "add", "a.txt")
    staged = await diff(empty, None)
    assert "## Staged changes" in staged.text and "+a" in staged.text
    done = await commit(empty, "first", run_hooks=False)
    assert done.branch == "main" and done.summary == "first"


async def test_context_detached_head_is_HEAD(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    context = await git_context(repo, use_cache=False)
    assert context.branch == "HEAD"
    assert all(not b.isCurrent for b in await list_branches(repo))


async def test_context_mid_merge_conflict_counts_as_changed(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "README.md").write_text("other\n")
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("main\n")
    git(repo, "commit", "-q", "-am", "main")
    assert git(repo, "merge", "other", check=False).returncode != 0
    context = await git_context(repo, use_cache=False)
    assert [(p.path, p.indexStatus, p.workingTreeStatus) for p in context.changedPaths] == [
        ("README.md", "U", "U")
    ]
    assert context.changedFiles == 1 and context.stagedFiles == 1 and context.unstagedFiles == 1
    with pytest.raises(BadRequest):  # git refuses to commit unmerged files
        await commit(repo, "merge", run_hooks=False)


async def test_rel11_status_cache_answers_within_a_second(repo: Path) -> None:
    first = await git_context(repo)
    (repo / "new.txt").write_text("n")
    assert await git_context(repo) == first  # cached
    fresh = await git_context(repo, use_cache=False)
    assert fresh.untrackedFiles == 1
    assert (await git_context(repo)).untrackedFiles == 1  # the fresh read refilled the cache


async def test_context_from_a_subdirectory_uses_root_relative_paths(repo: Path) -> None:
    sub = repo / "pkg"
    sub.mkdir()
    (sub / "mod.py").write_text("x = 1\n")
    context = await git_context(sub, use_cache=False)
    assert [p.path for p in context.changedPaths] == ["pkg/"]
    git(repo, "add", "pkg")
    one = await diff(sub, "pkg/mod.py")  # status paths are root-relative; diff takes them
    assert "+x = 1" in one.text


# --- branches and checkout ----------------------------------------------------------------


async def test_branches_current_first_then_by_name(repo: Path) -> None:
    for name in ("zeta", "Alpha", "beta/feature"):
        git(repo, "branch", name)
    git(repo, "checkout", "-q", "zeta")
    names = [(b.name, b.isCurrent) for b in await list_branches(repo)]
    assert names == [("zeta", True), ("Alpha", False), ("beta/feature", False), ("main", False)]


async def test_checkout_existing_branch_returns_fresh_context(repo: Path) -> None:
    git(repo, "branch", "feature")
    await git_context(repo)  # warm the cache: checkout must not answer from it
    context = await checkout(repo, " feature ")
    assert context.branch == "feature"
    assert git(repo, "branch", "--show-current").stdout.strip() == "feature"


async def test_checkout_refusals(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"^Branch name is required$"):
        await checkout(repo, "   ")
    with pytest.raises(NotFound):
        await checkout(repo, "nope")
    git(repo, "tag", "v1")
    with pytest.raises(NotFound):  # a tag is not a local branch
        await checkout(repo, "v1")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(BadRequest, match=r"^Project is not a Git repository$"):
        await checkout(plain, "main")
    assert git(repo, "branch", "--show-current").stdout.strip() == "main"


async def test_checkout_refused_by_local_changes_is_conflict(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "README.md").write_text("other\n")
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("local edit\n")
    with pytest.raises(Conflict, match="would be overwritten"):
        await checkout(repo, "other")
    assert (repo / "README.md").read_text() == "local edit\n"
    assert git(repo, "branch", "--show-current").stdout.strip() == "main"


async def test_checkout_does_not_create_from_remote_tracking(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(repo, "branch", "remote-only")
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    with pytest.raises(NotFound):
        await checkout(clone, "remote-only")
    assert "remote-only" not in git(clone, "branch").stdout


# --- diff ---------------------------------------------------------------------------------


async def test_diff_layout_staged_unstaged_untracked(repo: Path) -> None:
    (repo / "a.txt").write_text("one\n")
    git(repo, "add", "a.txt")
    (repo / "README.md").write_text("# changed\n")
    (repo / "u.txt").write_text("u")
    result = await diff(repo, None)
    assert result.path is None and result.truncated is False
    assert result.untrackedPaths == ["u.txt"]
    sections = result.text.split("\n\n")
    assert sections[0] == "# Combined diff"
    assert sections[1] == "## Staged changes" and sections[2].startswith("diff --git a/a.txt")
    assert sections[3] == "## Unstaged changes" and "+# changed" in sections[4]
    assert sections[5:] == [
        "## Untracked files",
        "Git does not produce a patch for untracked files until they are staged.",
        "?? u.txt",
    ]


async def test_diff_of_one_path_and_of_nothing(repo: Path) -> None:
    assert (await diff(repo, None)).text == "# Combined diff\n\nNo diff available."
    (repo / "README.md").write_text("x\n")
    (repo / "other.txt").write_text("o\n")
    git(repo, "add", "other.txt")
    one = await diff(repo, "README.md")
    assert one.path == "README.md"
    assert one.text.startswith("# Diff for README.md\n\n## Unstaged changes")
    assert "other.txt" not in one.text
    assert (await diff(repo, "  ")).path is None  # blank = combined


async def test_diff_path_is_literal_not_a_glob(repo: Path) -> None:
    (repo / "README.md").write_text("x\n")
    result = await diff(repo, "*")
    assert "README.md" not in result.text


async def test_diff_truncated_at_cap(repo: Path) -> None:
    (repo / "big.txt").write_text("".join(f"line {i:06d} {'x' * 60}\n" for i in range(20_000)))
    git(repo, "add", "big.txt")
    result = await diff(repo, None)
    assert result.truncated is True
    assert result.text.endswith("\n\n[Diff truncated]")
    assert len(result.text) == DIFF_LIMIT_CHARS + len("\n\n[Diff truncated]")


async def test_diff_marks_binary_files(repo: Path) -> None:
    (repo / "image.bin").write_bytes(bytes(range(256)) * 4)
    git(repo, "add", "image.bin")
    (repo / "README.md").write_text("text\n")
    result = await diff(repo, None)
    assert result.binaryPaths == ["image.bin"]
    assert "Binary files /dev/null and b/image.bin differ" in result.text


async def test_diff_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"^Project is not a Git repository$"):
        await diff(tmp_path, None)


# --- commit -------------------------------------------------------------------------------


async def test_commit_commits_only_staged(repo: Path) -> None:
    (repo / "staged.txt").write_text("s\n")
    git(repo, "add", "staged.txt")
    (repo / "README.md").write_text("unstaged edit\n")
    result = await commit(repo, "  Add staged file\n\nBody text  \n", run_hooks=False)
    assert result.branch == "main"
    assert result.summary == "Add staged file"
    assert result.commitHash == head(repo) and len(result.commitHash) == 40
    assert git(repo, "show", "--name-only", "--format=", "HEAD").stdout.split() == ["staged.txt"]
    assert (
        git(repo, "log", "-1", "--format=%B").stdout.rstrip("\n") == "Add staged file\n\nBody text"
    )
    assert git(repo, "status", "--porcelain").stdout == " M README.md\n"


async def test_commit_keeps_hash_lines_and_leading_dashes(repo: Path) -> None:
    (repo / "f").write_text("f")
    git(repo, "add", "f")
    result = await commit(repo, "--amend #123 fix", run_hooks=False)
    assert result.summary == "--amend #123 fix"
    assert commit_count(repo) == 2


async def test_commit_refusals(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"^There are no staged changes to commit$"):
        await commit(repo, "msg", run_hooks=False)
    (repo / "f").write_text("f")
    git(repo, "add", "f")
    with pytest.raises(BadRequest, match=r"^Commit message is required$"):
        await commit(repo, " \n\t ", run_hooks=False)
    with pytest.raises(BadRequest, match="NUL"):
        await commit(repo, "a\0b", run_hooks=False)
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(BadRequest, match=r"^Project is not a Git repository$"):
        await commit(plain, "msg", run_hooks=False)
    assert commit_count(repo) == 1


async def test_commit_10mb_message_refused_nothing_committed(repo: Path) -> None:
    (repo / "f").write_text("f")
    git(repo, "add", "f")
    before = head(repo)
    with pytest.raises(BadRequest, match="too long"):
        await commit(repo, "x" * (10 * 1024 * 1024), run_hooks=False)
    with pytest.raises(BadRequest, match="too long"):
        await commit(repo, "y" * 10_001, run_hooks=False)
    assert head(repo) == before
    assert (await commit(repo, "z" * 10_000, run_hooks=False)).summary == "z" * 10_000


# --- runner -------------------------------------------------------------------------------


async def test_runner_caps_output(repo: Path) -> None:
    (repo / "big.txt").write_text("y" * 200_000)
    result = await run_git(repo, ["cat-file", "-p", "HEAD:README.md"], max_output=4)
    assert result.stdout == "# te" and result.truncated and not result.ok
    git(repo, "add", "big.txt")
    result = await run_git(repo, ["diff", "--cached"], max_output=1000)
    assert len(result.stdout) == 1000 and result.truncated


async def test_runner_timeout_kills_the_process_group(repo: Path, tmp_path: Path) -> None:
    # A git alias to a shell command stands in for a hung git (only here, in the test).
    marker = tmp_path / "child.pid"
    git(repo, "config", "alias.hang", f"!echo $$ > {marker}; sleep 30")
    with pytest.raises(GitTimeout, match="timed out"):
        await run_git(repo, ["hang"], timeout=0.5)
    pid = int(marker.read_text())
    for _ in range(100):
        if not _alive(pid):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail(f"process {pid} survived the timeout")


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def test_runner_env_is_minimal(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "config", "alias.env", "!env")
    monkeypatch.setenv("GIT_DIR", "/nonexistent")
    monkeypatch.setenv("GIT_INDEX_FILE", "/nonexistent/index")
    result = await run_git(repo, ["env"])
    names = {line.split("=", 1)[0] for line in result.stdout.splitlines()}
    assert "GIT_INDEX_FILE" not in names
    assert "GIT_DIR=/nonexistent" not in result.stdout.splitlines()
    assert {"LANG", "LC_ALL", "GIT_TERMINAL_PROMPT", "GIT_OPTIONAL_LOCKS"} <= names
    assert (await git_context(repo, use_cache=False)).branch == "main"


async def test_runner_drains_a_chatty_stderr(repo: Path) -> None:
    git(repo, "config", "alias.chatty", "!head -c 1000000 /dev/zero | tr '\\0' w >&2; echo done")
    result = await run_git(repo, ["chatty"], timeout=10)
    assert result.ok and result.stdout == "done\n"
    assert len(result.stderr) == 64 * 1024
