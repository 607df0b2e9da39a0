"""SEC-14 at every depth: traps in a submodule's config and in included files never run.

Issue 9 (1): a clean/smudge filter set in a submodule's own config ran when the phone loaded
the project context, because `git status` starts `git status` inside each submodule and the
hardening covered only the superproject's config. The repository built by
``test_gitops_traps_support`` names a trap program for every key that can run one (filters,
textconv, fsmonitor, hooks, external diff, credential helper, askpass, ``core.sshCommand``,
an ``ext::`` remote allowed by ``protocol.ext.allow``), in a file the superproject includes
and in the submodule (directly or through its own include). First plain git is shown to run
every one of them, then our context, branches, diff, checkout and commit run none.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from codexremote.errors import BadRequest, Conflict
from codexremote.gitops import checkout, commit, diff, git_context, list_branches
from tests.unit.test_gitops_support import GIT_TIMEOUT_S, commit_count, git, make_repo
from tests.unit.test_gitops_traps_support import ALL_TRAPS, Trapped, build, unauthorized_server

# Plain git commands (directory relative to the superproject, argv) that together set off
# every trap; checkouts start from a clean main.
PLAIN_GIT_RUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (".", ("status",)),
    (".", ("diff",)),
    (".", ("diff", "--no-ext-diff")),  # diff.submodule=diff: `git diff` inside the submodule
    ("sub", ("diff", "--", "e.txt")),
    ("sub", ("diff", "--no-ext-diff", "--", "e.txt")),
    ("sub", ("commit", "-q", "-am", "plain in sub")),
    ("sub", ("checkout", "-q", "--detach", "origin/other")),
    (".", ("commit", "-q", "-m", "plain")),
    (".", ("checkout", "-q", "other")),  # submodule.recurse=true: smudge in the submodule
    (".", ("checkout", "-q", "-f", "lazy")),  # missing blob: lazy fetch over every remote
)


@pytest.fixture(params=["direct", "include"], ids=["sub-config", "sub-include"])
def trapped(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trapped]:
    with unauthorized_server() as (url, requests):
        yield build(tmp_path, url, requests, sub_include=request.param == "include")


def _plain_git(repo: Path, where: str, args: tuple[str, ...]) -> None:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(repo.parent / "home")}
    env["GIT_TERMINAL_PROMPT"] = "0"  # the credential trap must not wait for a terminal
    for role in ("AUTHOR", "COMMITTER"):  # the submodule clone has no identity of its own
        env[f"GIT_{role}_NAME"], env[f"GIT_{role}_EMAIL"] = "Plain Git", "plain@example.com"
    (repo.parent / "home").mkdir(exist_ok=True)
    subprocess.run(
        ["git", *args],
        cwd=repo / where,
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=GIT_TIMEOUT_S,
        check=False,
    )


def test_sec14_plain_git_runs_every_trap_of_submodule_and_include(trapped: Trapped) -> None:
    """Proof the traps are live: plain git (no hardening) runs each one of them."""
    fired: set[str] = set()
    for where, args in PLAIN_GIT_RUNS:
        _plain_git(trapped.repo, where, args)
        fired |= trapped.fired()
        trapped.reset()
    assert fired == ALL_TRAPS
    assert trapped.http_requests  # the credential trap came from a real 401


async def test_sec14_submodule_and_include_traps_never_run_through_our_calls(
    trapped: Trapped,
) -> None:
    repo = trapped.repo
    first = await git_context(repo, use_cache=False)
    branches = [b.name for b in await list_branches(repo)]
    combined = (await diff(repo, None)).text
    sub_diff = (await diff(repo, "sub")).text
    before = commit_count(repo)
    await commit(repo, "phone commit", run_hooks=False)
    committed = commit_count(repo) - before
    on_other = (await checkout(repo, "other")).branch, (repo / "a.txt").read_text()
    moved = await git_context(repo, use_cache=False)
    moved_diff = (await diff(repo, "sub")).text
    switched = [await _switch(repo, name) for name in ("sublazy", "main")]
    # Last: when git switches to "lazy" before it finds the blob missing, the missing file
    # is a local change that refuses any later checkout (seen under load on 2 cores).
    lazy = await _switch(repo, "lazy")

    assert trapped.fired() == set()
    assert trapped.http_requests == []

    # The submodule's edits are reported as the original did (asked by our own call in it).
    assert [(p.path, p.indexStatus, p.workingTreeStatus) for p in first.changedPaths] == [
        ("b.txt", " ", "M"),
        ("c.txt", "M", " "),
        ("sub", " ", "M"),
    ]
    assert branches == ["main", "lazy", "other", "sublazy"]
    assert "+c.txt staged" in combined and "+b.txt unstaged" in combined
    assert sub_diff.endswith("No diff available.")
    assert committed == 1
    assert on_other == ("other", "a.txt on other\n")
    # the submodule's work tree was left alone: its commit differs and it has edits
    assert [(p.path, p.workingTreeStatus) for p in moved.changedPaths] == [
        ("b.txt", "M"),
        ("sub", "M"),
    ]
    assert moved_diff.count("Subproject commit") == 2
    # lazy.txt's blob cannot be fetched (no transport): depending on when git finds out, it
    # refuses the switch (an error answer, never a 500) or switches and reports it missing
    assert lazy in {"lazy", "refused"}
    assert switched == ["sublazy", "main"]


async def _switch(repo: Path, branch: str) -> str:
    try:
        return (await checkout(repo, branch)).branch or ""
    except (BadRequest, Conflict):
        return "refused"


def _trap(tools: Path, sentinels: Path, name: str, tail: str) -> str:
    path = tools / name
    path.write_text(f'#!/bin/sh\ntouch "{sentinels}/{name}"\n{tail}\n')
    path.chmod(0o755)
    return str(path)


def _linked_worktree(tmp_path: Path) -> tuple[Path, Path]:
    """A linked worktree whose worktree-scoped config includes one file directly and one
    through ``includeIf "gitdir:..."``, each naming traps; answers (worktree, sentinels)."""
    sentinels, tools = tmp_path / "sentinels", tmp_path / "tools"
    sentinels.mkdir()
    tools.mkdir()
    repo = make_repo(tmp_path / "repo")
    (repo / "a.txt").write_text("a v1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "a")
    for branch in ("wt", "third"):
        git(repo, "branch", branch)
    git(repo, "checkout", "-q", "third")
    (repo / "a.txt").write_text("a on third\n")
    git(repo, "commit", "-q", "-am", "third")
    git(repo, "checkout", "-q", "main")
    worktree = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(worktree), "wt")
    git(repo, "config", "extensions.worktreeConfig", "true")
    direct, conditional = tmp_path / "wt-include.cfg", tmp_path / "wt-includeif.cfg"
    direct.write_text(
        f"[core]\n\tfsmonitor = {_trap(tools, sentinels, 'wt-fsmonitor', 'exit 1')}\n"
        f'[filter "wtrap"]\n\tclean = {_trap(tools, sentinels, "wt-filter-clean", "cat")}\n'
    )
    conditional.write_text(
        f'[filter "wtrap"]\n\tsmudge = {_trap(tools, sentinels, "wt-filter-smudge", "cat")}\n'
    )
    git(worktree, "config", "--worktree", "include.path", str(direct))
    # git 2.39 matches gitdir: against the common .git directory in a linked worktree
    gitdir = (repo / ".git").resolve()
    git(worktree, "config", "--worktree", f"includeIf.gitdir:{gitdir}/.path", str(conditional))
    (repo / ".git" / "info" / "attributes").write_text("*.txt filter=wtrap\n")
    os.utime(worktree / "a.txt", (1_000_000_000, 1_000_000_000))  # status must re-hash it
    return worktree, sentinels


async def test_sec14_linked_worktree_include_and_includeif_traps_never_run(
    tmp_path: Path,
) -> None:
    worktree, sentinels = _linked_worktree(tmp_path)
    context = await git_context(worktree, use_cache=False)
    assert (await checkout(worktree, "third")).branch == "third"
    assert (worktree / "a.txt").read_text() == "a on third\n"
    assert not list(sentinels.iterdir())
    assert context.changedFiles == 0

    git(worktree, "checkout", "-q", "wt")  # plain git, for the proof: every trap runs
    os.utime(worktree / "a.txt", (1_000_000_000, 1_000_000_000))
    git(worktree, "status")
    assert {path.name for path in sentinels.iterdir()} == {
        "wt-fsmonitor",
        "wt-filter-clean",
        "wt-filter-smudge",
    }
