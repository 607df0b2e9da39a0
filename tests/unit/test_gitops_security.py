"""SEC-14/SEC-15: a booby-trapped repository runs nothing through us; unsafe input is refused."""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path

import pytest

from codexremote.errors import BadRequest
from codexremote.gitops import checkout, commit, diff, git_context, list_branches
from tests.unit.test_gitops_support import commit_count, git, head, make_repo

HOOKS = (
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-checkout",
    "reference-transaction",
    "post-index-change",
    "pre-auto-gc",
)


def _script(path: Path, body: str) -> str:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def arm_traps(repo: Path, sentinels: Path) -> None:
    """Make every repo-controlled program we know of leave a file in ``sentinels``."""
    sentinels.mkdir(exist_ok=True)
    tools = repo.parent / "trap-tools"
    tools.mkdir(exist_ok=True)

    def trap(name: str, tail: str = "exit 0") -> str:
        return _script(tools / name, f'touch "{sentinels}/{name}"\n{tail}')

    git(repo, "config", "core.fsmonitor", trap("fsmonitor", "exit 1"))
    git(repo, "config", "filter.trap.clean", trap("filter-clean", "cat"))
    git(repo, "config", "filter.trap.smudge", trap("filter-smudge", "cat"))
    git(repo, "config", "diff.trapdiff.textconv", trap("textconv", 'cat "$1"'))
    git(repo, "config", "diff.external", trap("external-diff"))
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("*.txt filter=trap diff=trapdiff\n")
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for hook in HOOKS:
        _script(hooks / hook, f'touch "{sentinels}/hook-{hook}"')


@pytest.fixture
def trapped(tmp_path: Path) -> tuple[Path, Path]:
    """A repository with main and other (a.txt differs), a staged and an unstaged change."""
    repo = make_repo(tmp_path / "repo")
    for name in ("a.txt", "b.txt", "c.txt"):
        (repo / name).write_text(f"{name} v1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "files")
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "a.txt").write_text("a.txt on other\n")
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "main")
    (repo / "c.txt").write_text("c.txt staged\n")
    git(repo, "add", "c.txt")
    (repo / "b.txt").write_text("b.txt unstaged\n")
    sentinels = tmp_path / "sentinels"
    arm_traps(repo, sentinels)
    return repo, sentinels


def fired(sentinels: Path) -> set[str]:
    return {path.name for path in sentinels.iterdir()}


async def test_sec14_trapped_repo_runs_nothing_through_our_calls(
    trapped: tuple[Path, Path],
) -> None:
    repo, sentinels = trapped
    context = await git_context(repo, use_cache=False)
    assert context.stagedFiles == 1 and context.unstagedFiles == 1
    assert [b.name for b in await list_branches(repo)] == ["main", "other"]
    combined = await diff(repo, None)
    assert "+c.txt staged" in combined.text and "+b.txt unstaged" in combined.text
    assert "+b.txt unstaged" in (await diff(repo, "b.txt")).text
    before = commit_count(repo)
    await commit(repo, "phone commit", run_hooks=False)
    assert commit_count(repo) == before + 1
    assert (await checkout(repo, "other")).branch == "other"
    assert (repo / "a.txt").read_text() == "a.txt on other\n"
    assert (await checkout(repo, "main")).branch == "main"
    assert fired(sentinels) == set()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["status"], {"fsmonitor"}),
        (["diff"], {"external-diff"}),
        (["diff", "--no-ext-diff"], {"filter-clean", "textconv"}),
        (["commit", "-q", "-m", "plain"], {"hook-pre-commit", "hook-commit-msg"}),
        (["checkout", "-q", "other"], {"hook-post-checkout", "filter-smudge"}),
    ],
)
def test_sec14_traps_fire_for_plain_git(
    trapped: tuple[Path, Path], command: list[str], expected: set[str]
) -> None:
    """Proof that the traps work: plain git (without our hardening) runs them."""
    repo, sentinels = trapped
    if command[0] == "checkout":
        git(repo, "stash", "-q")
        for path in sentinels.iterdir():
            path.unlink()
    git(repo, *command, check=False)
    assert expected <= fired(sentinels)


async def test_sec14_commit_hooks_run_only_when_enabled(trapped: tuple[Path, Path]) -> None:
    repo, sentinels = trapped
    await commit(repo, "with hooks", run_hooks=True)
    assert {"hook-pre-commit", "hook-commit-msg", "hook-post-commit"} <= fired(sentinels)


async def test_sec14_repo_local_signing_program_not_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    sentinel = tmp_path / "signed"
    program = _script(tmp_path / "fake-gpg", f'touch "{sentinel}"\nexit 1')
    git(repo, "config", "commit.gpgSign", "true")
    git(repo, "config", "gpg.program", program)
    (repo / "f").write_text("f")
    git(repo, "add", "f")
    before = head(repo)
    # signing with the real default gpg may fail here: fine, the trap is the point
    with contextlib.suppress(BadRequest):
        await commit(repo, "signed?", run_hooks=False)
    assert not sentinel.exists()
    assert git(repo, "commit", "-q", "-m", "plain", check=False).returncode != 0
    assert sentinel.exists()  # plain git runs it
    assert head(repo) == before or commit_count(repo) == 2  # our commit, if gpg could sign


async def test_sec14_user_global_filters_still_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only repo-local programs are neutralised: a filter from ~/.gitconfig (git-lfs) works."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    (home / ".gitconfig").write_text('[filter "up"]\n\tclean = tr a-z A-Z\n')
    repo = make_repo(tmp_path / "repo")
    (repo / ".gitattributes").write_text("*.up filter=up\n")
    (repo / "x.up").write_text("abc\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "filtered")
    assert git(repo, "show", "HEAD:x.up").stdout == "ABC\n"
    (repo / "x.up").write_text("abc\n")  # new mtime: status must re-hash through the filter
    assert (await git_context(repo, use_cache=False)).changedFiles == 0
    assert (await diff(repo, "x.up")).text.endswith("No diff available.")


# --- SEC-15: diff paths ------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    (repo / "link-out").symlink_to(outside / "secret.txt")
    (repo / "dir-out").symlink_to(outside)
    return repo


@pytest.mark.parametrize(
    "path",
    [
        "../outside/secret.txt",
        "a/../../outside/secret.txt",
        "..",
        "/etc/passwd",
        "-p",
        "--output=/tmp/x",
        "link-out",
        "dir-out/secret.txt",
        "a\0b",
    ],
)
async def test_sec15_diff_path_escape_refused(repo: Path, path: str) -> None:
    with pytest.raises(BadRequest):
        await diff(repo, path)


async def test_sec15_inside_symlink_and_dotfiles_allowed(repo: Path) -> None:
    (repo / "real.txt").write_text("r\n")
    (repo / "link-in").symlink_to(repo / "real.txt")
    assert (await diff(repo, "link-in")).path == "link-in"
    assert (await diff(repo, ".hidden")).path == ".hidden"
    assert (await diff(repo, "no/such/file")).text.endswith("No diff available.")


# --- branch names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "$(touch pwned)",
        "main;touch pwned",
        "`touch pwned`",
        "main|touch pwned",
        "main&&touch pwned",
        "main>pwned",
        "-f",
        "--orphan=x",
        "a..b",
        "a b",
        "a\tb",
        "a\nb",
        "x'y",
        'x"y',
        "x\\y",
        "x\x07y",
    ],
)
async def test_sec14_unsafe_branch_name_refused(repo: Path, name: str) -> None:
    with pytest.raises(BadRequest, match=r"^Unsafe branch name: "):
        await checkout(repo, name)
    assert not (repo / "pwned").exists()
    assert git(repo, "branch", "--show-current").stdout.strip() == "main"


async def test_odd_but_valid_branch_names_work(repo: Path) -> None:
    for name in ("feature/x-1.2_@v", "fix#12", "release+rc=1", "ünïcode"):
        git(repo, "branch", name)
        assert (await checkout(repo, name)).branch == name


async def test_sec14_odd_filter_names_and_redefined_global_filters_neutralised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A driver name with ``=`` (not expressible as ``-c``) and a repo-local redefinition of a
    trusted global filter: neither repository program runs, the global one still does."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    (home / ".gitconfig").write_text('[filter "up"]\n\tclean = tr a-z A-Z\n')
    repo = make_repo(tmp_path / "repo")
    (repo / ".gitattributes").write_text("*.up filter=up\n*.odd filter=a=b\n")
    (repo / "x.up").write_text("abc\n")
    (repo / "y.odd").write_text("odd\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "filtered")
    sentinels = tmp_path / "sentinels"
    sentinels.mkdir()
    for driver, name in (("up", "redefined"), ("a=b", "odd")):
        trap = _script(tmp_path / name, f'touch "{sentinels}/{name}"\ncat')
        git(repo, "config", f"filter.{driver}.clean", trap)
    for name in ("x.up", "y.odd"):  # new mtime: status must re-hash through the filters
        (repo / name).write_text((repo / name).read_text())
    context = await git_context(repo, use_cache=False)
    assert fired(sentinels) == set()
    assert context.changedFiles == 0  # x.up still cleaned by the global `tr`
    git(repo, "status")
    assert fired(sentinels) == {"redefined", "odd"}  # plain git runs both
