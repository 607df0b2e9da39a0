"""Git context of a project: branch and changed files (wire-api 8.2), cached briefly (REL-11).

One ``git status --porcelain=v2 -z --branch`` gives both the branch and the entries in a
single process. v2 instead of the original's v1: same XY letters (``.`` becomes a space),
but the branch comes in a clean header line, paths are NUL-separated and never quoted (so
spaces, newlines and renames parse exactly), and renames carry the new path first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from codexremote.errors import BadRequest
from codexremote.gitops.hardening import repo_exec_overrides
from codexremote.gitops.models import ChangedPath, GitContext
from codexremote.gitops.runner import GitResult, run_git
from codexremote.gitops.submodules import dirty_submodules, mark_dirty

# Status reads within this window are answered from the cache (REL-11); our own checkout
# and commit clear it.
STATUS_CACHE_TTL_S = 1.0
DETACHED_BRANCH = "HEAD"
NOT_A_REPOSITORY_MESSAGE = "Project is not a Git repository"

STATUS_ARGS = (
    "status",
    "--porcelain=v2",
    "-z",
    "--branch",
    "--no-ahead-behind",  # ahead/behind counting can walk a lot of history
    "--untracked-files=normal",  # an untracked directory is one "dir/" entry
    # git must never start git inside a submodule (its own config would apply there,
    # SEC-14); submodules.py asks each one itself, hardened for it.
    "--ignore-submodules=dirty",
)


@dataclass(frozen=True)
class _Cached:
    at: float
    context: GitContext


_cache: dict[str, _Cached] = {}


def invalidate_cache(cwd: Path | None = None) -> None:
    """Forget cached status (for one cwd, or all)."""
    if cwd is None:
        _cache.clear()
    else:
        _cache.pop(str(cwd), None)


async def git_context(cwd: Path, *, use_cache: bool = True) -> GitContext:
    """Branch and changed files; ``isRepository: false`` (never an error) outside a work tree.

    Raises GitTimeout (503) when git hangs, BadRequest when status fails in a work tree.
    """
    key = str(cwd)
    cached = _cache.get(key)
    if use_cache and cached is not None and time.monotonic() - cached.at < STATUS_CACHE_TTL_S:
        return cached.context.model_copy(deep=True)
    context = await _read_context(cwd)
    _cache[key] = _Cached(time.monotonic(), context)
    return context.model_copy(deep=True)


async def is_work_tree(cwd: Path) -> bool:
    result = await run_git(cwd, ["rev-parse", "--is-inside-work-tree"])
    return result.returncode == 0 and result.stdout.strip() == "true"


async def require_work_tree(cwd: Path) -> None:
    """BadRequest "Project is not a Git repository" unless ``cwd`` is in a work tree."""
    if not await is_work_tree(cwd):
        raise BadRequest(NOT_A_REPOSITORY_MESSAGE)


async def read_status(cwd: Path, pathspec: list[str] | None = None) -> GitResult:
    config = await repo_exec_overrides(cwd)
    args = [*STATUS_ARGS, "--", *(pathspec or [])]
    return await run_git(cwd, args, config=config)


async def _read_context(cwd: Path) -> GitContext:
    result = await read_status(cwd)
    if result.returncode != 0 and not result.truncated:
        if not await is_work_tree(cwd):
            return GitContext(isRepository=False)
        raise BadRequest(result.message(STATUS_ARGS))
    branch, entries = parse_status_v2(result.stdout)
    entries = mark_dirty(entries, await dirty_submodules(cwd, _entries))
    return build_context(branch, entries)


async def _entries(cwd: Path) -> list[ChangedPath]:
    """A submodule's own entries; [] when git cannot read it (then it is not reported)."""
    result = await read_status(cwd)
    return parse_status_v2(result.stdout)[1] if result.returncode == 0 else []


def build_context(branch: str | None, entries: list[ChangedPath]) -> GitContext:
    """Counts as the original (wire-api 8.2); a conflicted ``UU`` counts as staged and unstaged."""
    staged = unstaged = untracked = 0
    for entry in entries:
        if entry.indexStatus == "?":
            untracked += 1
            continue
        if entry.indexStatus != " ":
            staged += 1
        if entry.workingTreeStatus != " ":
            unstaged += 1
    return GitContext(
        isRepository=True,
        branch=branch,
        changedFiles=len(entries),
        stagedFiles=staged,
        unstagedFiles=unstaged,
        untrackedFiles=untracked,
        changedPaths=entries,
    )


def parse_status_v2(output: str) -> tuple[str | None, list[ChangedPath]]:
    """Branch (``HEAD`` when detached) and entries of ``status --porcelain=v2 -z --branch``.

    Output cut at the size cap parses too: only complete records are used.
    """
    records = output.split("\0")
    records.pop()  # after the final NUL: empty, or the cut-off tail of a truncated output
    branch: str | None = None
    entries: list[ChangedPath] = []
    index = 0
    while index < len(records):
        record = records[index]
        index += 1
        kind = record[:1]
        if record.startswith("# branch.head "):
            head = record[len("# branch.head ") :]
            branch = DETACHED_BRANCH if head == "(detached)" else head
        elif kind == "1":
            entries.append(_entry(record[2:4], record.split(" ", 8)[-1]))
        elif kind == "2":
            entries.append(_entry(record[2:4], record.split(" ", 9)[-1]))
            index += 1  # the original path follows in its own record
        elif kind == "u":
            entries.append(_entry(record[2:4], record.split(" ", 10)[-1]))
        elif kind == "?":
            entries.append(ChangedPath(path=record[2:], indexStatus="?", workingTreeStatus="?"))
    return branch, entries


def _entry(xy: str, path: str) -> ChangedPath:
    index_status, work_tree_status = (" " if ch == "." else ch for ch in xy)
    return ChangedPath(path=path, indexStatus=index_status, workingTreeStatus=work_tree_status)
