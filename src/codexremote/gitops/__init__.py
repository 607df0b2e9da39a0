"""Narrow, hardened git reads and writes for a project (wire-api 8.2-8.3, SEC-14, REL-11).

See docs/git.md. Public API:

- :func:`git_context` -> :class:`GitContext` (never raises for a non-repository)
- :func:`list_branches` -> list[:class:`Branch`]
- :func:`diff` -> :class:`DiffResult`
- :func:`checkout` -> :class:`GitContext` (existing local branches only)
- :func:`commit` -> :class:`CommitResult` (staged changes only)
- :func:`run_git` -> :class:`GitResult` (the single hardened runner)
"""

from codexremote.gitops.branches import checkout, list_branches
from codexremote.gitops.commit import commit
from codexremote.gitops.diff import DIFF_LIMIT_CHARS, diff
from codexremote.gitops.models import Branch, ChangedPath, CommitResult, DiffResult, GitContext
from codexremote.gitops.runner import (
    GIT_MAX_OUTPUT_BYTES,
    GIT_TIMEOUT_S,
    GitResult,
    GitTimeout,
    run_git,
)
from codexremote.gitops.status import git_context, invalidate_cache

__all__ = [
    "DIFF_LIMIT_CHARS",
    "GIT_MAX_OUTPUT_BYTES",
    "GIT_TIMEOUT_S",
    "Branch",
    "ChangedPath",
    "CommitResult",
    "DiffResult",
    "GitContext",
    "GitResult",
    "GitTimeout",
    "checkout",
    "commit",
    "diff",
    "git_context",
    "invalidate_cache",
    "list_branches",
    "run_git",
]
