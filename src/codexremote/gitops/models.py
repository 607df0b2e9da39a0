"""Wire shapes of the git routes (wire-api 4.20-4.24, 8.2-8.3): ``model_dump()`` is the JSON."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangedPath(_Wire):
    """One ``git status`` entry; statuses are porcelain v1 letters (``?`` for untracked)."""

    path: str
    indexStatus: str
    workingTreeStatus: str


class GitContext(_Wire):
    """``context.git`` and the checkout answer. ``branch`` is ``HEAD`` when detached."""

    isRepository: bool
    branch: str | None = None
    changedFiles: int = 0
    stagedFiles: int = 0
    unstagedFiles: int = 0
    untrackedFiles: int = 0
    changedPaths: list[ChangedPath] = Field(default_factory=list)


class Branch(_Wire):
    name: str
    isCurrent: bool


class DiffResult(_Wire):
    """``path`` echoes the request; ``binaryPaths`` is ours (additive)."""

    path: str | None
    text: str
    truncated: bool
    untrackedPaths: list[str]
    binaryPaths: list[str] = Field(default_factory=list)


class CommitResult(_Wire):
    branch: str | None
    commitHash: str
    summary: str
