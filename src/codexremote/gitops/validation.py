"""Checks on phone-supplied branch names, diff paths and commit messages (SEC-14, SEC-15).

Everything reaches git as one argv element, never through a shell; these checks keep
arguments from being read as options, from leaving the repository and from carrying
characters no sane branch name has.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from codexremote.errors import BadRequest

# Bound on a commit message from the phone (a subject plus a generous body).
MAX_COMMIT_MESSAGE_CHARS = 10_000
# Characters a shell would interpret; no reasonable branch name needs them.
SHELL_METACHARACTERS = frozenset("$`;|&<>()\\'\"*?[]{}!~^:")


def check_branch_name(branch: str) -> str:
    """The trimmed name, or BadRequest with the wire-api 8.3 messages."""
    name = branch.strip()
    if not name:
        raise BadRequest("Branch name is required")
    unsafe = (
        name.startswith("-")
        or ".." in name
        or any(ch.isspace() or not ch.isprintable() for ch in name)
        or any(ch in SHELL_METACHARACTERS for ch in name)
    )
    if unsafe:
        raise BadRequest(f"Unsafe branch name: {branch}")
    return name


def check_commit_message(message: str) -> str:
    """The trimmed message, or BadRequest (empty, too long, NUL)."""
    if len(message) > MAX_COMMIT_MESSAGE_CHARS * 2:
        # checked before trimming too, so a huge body is refused without copying it
        raise BadRequest(
            f"Commit message is too long (at most {MAX_COMMIT_MESSAGE_CHARS} characters)"
        )
    text = message.strip()
    if not text:
        raise BadRequest("Commit message is required")
    if len(text) > MAX_COMMIT_MESSAGE_CHARS:
        raise BadRequest(
            f"Commit message is too long (at most {MAX_COMMIT_MESSAGE_CHARS} characters)"
        )
    if "\0" in text:
        raise BadRequest("Commit message must not contain NUL characters")
    return text


def check_diff_path(path: str, repo_root: Path) -> str:
    """``path`` (relative to the repository root, as status reports it) if it stays inside.

    Refused: absolute paths, ``..`` components, a leading ``-``, NUL, and anything that
    resolves (symlinks followed) outside ``repo_root``.
    """
    if "\0" in path:
        raise BadRequest(f"Unsafe path: {path!r}")
    if path.startswith("-"):
        raise BadRequest(f"Unsafe path: {path}")
    pure = PurePosixPath(path)
    if pure.is_absolute():
        raise BadRequest(f"Path must be relative to the repository: {path}")
    if ".." in pure.parts:
        raise BadRequest(f"Path must not contain '..': {path}")
    root = Path(os.path.realpath(repo_root))
    resolved = Path(os.path.realpath(root / path))
    if resolved != root and root not in resolved.parents:
        raise BadRequest(f"Path is outside the repository: {path}")
    return path
