"""Submodules with edits inside them, found by our own hardened git calls (SEC-14).

Plain ``git status`` learns whether a submodule has modified or untracked content by
starting ``git status`` *inside* it, and there the submodule's own config (its filters,
its includes) applies, which our per-repository overrides (:mod:`hardening`) were never
computed for. So the superproject's status runs with ``--ignore-submodules=dirty`` and
this module asks each submodule itself through :func:`run_git`, with that submodule's own
overrides: the original's `` M sub`` for a submodule with edits comes back, and no
program the submodule names runs.

Which submodules: the paths ``.gitmodules`` declares that the index records as gitlinks
(mode 160000) and that are checked out (``<path>/.git`` exists). A gitlink that
``.gitmodules`` does not declare is only reported when its commit moved. Nested submodules
are asked the same way, down to MAX_DEPTH; at most MAX_SUBMODULES per read.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath

from codexremote.gitops.models import ChangedPath
from codexremote.gitops.runner import repo_key, run_git

# Submodules asked per repository and read (each costs two git processes).
MAX_SUBMODULES = 32
# Levels of nested submodules asked (the superproject's own submodules are level 1).
MAX_DEPTH = 3
GITLINK_MODE = "160000"
PATH_KEYS = r"^submodule\..*\.path$"

# Reads a repository's status entries (status.read_entries; passed in to avoid a cycle).
EntriesReader = Callable[[Path], Awaitable[list[ChangedPath]]]


async def dirty_submodules(cwd: Path, read_entries: EntriesReader, depth: int = 1) -> list[str]:
    """Root-relative paths of checked-out submodules with modified or untracked content."""
    root = Path(repo_key(cwd))
    if depth > MAX_DEPTH or not (root / ".gitmodules").is_file():
        return []
    dirty = []
    for path in (await _checked_out_gitlinks(root))[:MAX_SUBMODULES]:
        sub = root / path
        if await read_entries(sub) or await dirty_submodules(sub, read_entries, depth + 1):
            dirty.append(path)
    return dirty


def mark_dirty(entries: list[ChangedPath], dirty: list[str]) -> list[ChangedPath]:
    """Entries with `` M`` set for each dirty submodule, in git's order (tracked by path,
    untracked last), as plain ``git status`` would list them."""
    if not dirty:
        return entries
    wanted = set(dirty)
    tracked: list[ChangedPath] = []
    for entry in entries:
        if entry.path in wanted and entry.indexStatus != "?":
            wanted.discard(entry.path)
            entry = entry.model_copy(update={"workingTreeStatus": "M"})
        if entry.indexStatus != "?":
            tracked.append(entry)
    tracked += [ChangedPath(path=path, indexStatus=" ", workingTreeStatus="M") for path in wanted]
    tracked.sort(key=lambda entry: entry.path.encode())
    return tracked + [entry for entry in entries if entry.indexStatus == "?"]


async def _checked_out_gitlinks(root: Path) -> list[str]:
    args = ["config", "--file", ".gitmodules", "-z", "--get-regexp", PATH_KEYS]
    declared = await run_git(root, args)
    if declared.returncode != 0:
        return []
    paths = [record.partition("\n")[2] for record in declared.stdout.split("\0") if record]
    paths = [path for path in dict.fromkeys(paths) if _plain_relative(path)]
    if not paths:
        return []
    specs = [f":(top,literal){path}" for path in paths]
    staged = await run_git(root, ["ls-files", "-z", "--stage", "--", *specs])
    if not staged.ok:
        return []
    gitlinks = []
    for record in staged.stdout.split("\0"):
        info, _, path = record.partition("\t")
        if info.startswith(GITLINK_MODE + " ") and _checked_out(root / path):
            gitlinks.append(path)
    return gitlinks


def _checked_out(path: Path) -> bool:
    """One stat, like :func:`runner.repo_key`: a checked-out submodule has its ``.git``."""
    return os.path.lexists(path / ".git")


def _plain_relative(path: str) -> bool:
    """A path inside the work tree: relative, no ``..``, no NUL (used after ``--``)."""
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts and "\0" not in path
