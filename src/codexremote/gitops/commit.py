"""Commit what is already staged, nothing else (wire-api 8.3).

Hooks: with ``run_hooks=False`` (Settings.git_commit_hooks, the default) the commit runs
with ``--no-verify`` and the disabled hooks path, so no repository-controlled script runs
(not pre-commit, commit-msg, prepare-commit-msg nor post-commit). With ``run_hooks=True``
the commit command alone keeps the repository's hooks (and its own signing programs); every
other command stays hardened.
"""

from __future__ import annotations

import os
from pathlib import Path

from codexremote.errors import BadRequest
from codexremote.gitops.hardening import repo_exec_overrides
from codexremote.gitops.models import CommitResult
from codexremote.gitops.runner import run_git
from codexremote.gitops.status import invalidate_cache, require_work_tree
from codexremote.gitops.validation import check_commit_message

# The original's commit timeout (wire-api 8.3); a commit without hooks is quick.
COMMIT_TIMEOUT_S = 8.0
# Hooks may run linters or tests; stay just below the app's 20 s request timeout.
COMMIT_WITH_HOOKS_TIMEOUT_S = 18.0
NOTHING_STAGED_MESSAGE = "There are no staged changes to commit"
# Passed through to the commit only: who commits, and agents a signing setup may need.
COMMIT_ENV_PASSTHROUGH = (
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "EMAIL",
    "SSH_AUTH_SOCK",
    "GNUPGHOME",
)


async def commit(cwd: Path, message: str, *, run_hooks: bool) -> CommitResult:
    """Commit the staged changes with ``message`` (trimmed).

    Raises BadRequest ("Commit message is required", too long, not a repository,
    "There are no staged changes to commit", git's refusal), GitTimeout.
    """
    text = check_commit_message(message)
    await require_work_tree(cwd)
    staged = await run_git(cwd, ["diff", "--cached", "--quiet", "--no-ext-diff", "--no-textconv"])
    if staged.returncode == 0:
        raise BadRequest(NOTHING_STAGED_MESSAGE)
    if staged.returncode != 1:
        raise BadRequest(staged.message(["diff", "--cached"]))

    config = [] if run_hooks else await repo_exec_overrides(cwd)
    args = ["commit", "--file=-", "--quiet"]
    if not run_hooks:
        args.append("--no-verify")
    env = {name: os.environ[name] for name in COMMIT_ENV_PASSTHROUGH if os.environ.get(name)}
    result = await run_git(
        cwd,
        args,
        timeout=COMMIT_WITH_HOOKS_TIMEOUT_S if run_hooks else COMMIT_TIMEOUT_S,
        stdin=text.encode("utf-8"),
        env_extra=env,
        allow_hooks=run_hooks,
        config=config,
        graceful=True,
    )
    invalidate_cache()
    if result.returncode != 0:
        raise BadRequest(result.message(args))
    return await _head_summary(cwd)


async def _head_summary(cwd: Path) -> CommitResult:
    log_args = ["log", "-1", "--no-show-signature", "--format=%H%x00%s", "HEAD", "--"]
    head = await run_git(cwd, log_args)
    if not head.ok:
        raise BadRequest(head.message(log_args))
    commit_hash, _, summary = head.stdout.rstrip("\n").partition("\0")
    branch = await run_git(cwd, ["branch", "--show-current"])
    name = branch.stdout.strip() if branch.ok else ""
    return CommitResult(branch=name or None, commitHash=commit_hash, summary=summary)
