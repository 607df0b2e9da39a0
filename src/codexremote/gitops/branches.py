"""Local branches and switching to one of them (wire-api 8.3): nothing is ever created."""

from __future__ import annotations

from pathlib import Path

from codexremote.errors import BadRequest, Conflict, NotFound
from codexremote.gitops.hardening import repo_exec_overrides
from codexremote.gitops.models import Branch, GitContext
from codexremote.gitops.runner import run_git
from codexremote.gitops.status import git_context, invalidate_cache, require_work_tree
from codexremote.gitops.validation import check_branch_name

# A checkout rewrites the work tree; a big one takes a while, and killing it half way is
# worse than waiting (just below the app's 20 s request timeout).
CHECKOUT_TIMEOUT_S = 18.0

# git's refusals that are about the state of the work tree, not the request (-> 409).
CHECKOUT_CONFLICT_MARKERS = (
    "would be overwritten",
    "resolve your current index",
    "unmerged",
    "is already checked out at",
    "is already used by worktree",
    "index.lock",
)


async def list_branches(cwd: Path) -> list[Branch]:
    """Local branches, the current one first, then by name (case-insensitive)."""
    await require_work_tree(cwd)
    args = ["for-each-ref", "--format=%(HEAD)%00%(refname:strip=2)", "refs/heads/"]
    result = await run_git(cwd, args)
    if not result.ok:
        raise BadRequest(result.message(args))
    branches = []
    for line in result.stdout.splitlines():
        marker, _, name = line.partition("\0")
        if name:
            branches.append(Branch(name=name, isCurrent=marker == "*"))
    return sorted(branches, key=lambda b: (not b.isCurrent, b.name.casefold(), b.name))


async def checkout(cwd: Path, branch: str) -> GitContext:
    """Switch to an existing local branch and return the fresh git context.

    Raises BadRequest ("Branch name is required", "Unsafe branch name: X", not a
    repository), NotFound (no such local branch), Conflict (git refuses, e.g. local
    changes would be overwritten; the message is git's), GitTimeout.
    """
    name = check_branch_name(branch)
    await require_work_tree(cwd)
    exists = await run_git(cwd, ["show-ref", "--verify", "--quiet", f"refs/heads/{name}"])
    if exists.returncode != 0:
        raise NotFound(f"Branch not found: {name}")
    config = await repo_exec_overrides(cwd)
    # "<name> --": the name is a branch, never a path; it exists, so git does not guess.
    # Submodule work trees are left alone (their own config and filters would apply).
    args = ["checkout", "--no-guess", "--no-recurse-submodules", name, "--"]
    result = await run_git(cwd, args, timeout=CHECKOUT_TIMEOUT_S, config=config, graceful=True)
    invalidate_cache()  # other projects may live in the same repository
    if result.returncode != 0:
        message = result.message(args)
        if any(marker in message for marker in CHECKOUT_CONFLICT_MARKERS):
            raise Conflict(message)
        raise BadRequest(message)
    return await git_context(cwd, use_cache=False)
