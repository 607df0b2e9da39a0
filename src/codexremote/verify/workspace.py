"""What verify creates and what it must leave as it found: the temporary git
repository it exercises, and the byte-exact snapshot of ``config.toml``."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from codexremote.storage import atomic_write_bytes

GIT_TIMEOUT_S = 20.0
FEATURE_BRANCH = "feature/remote-verify"


async def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "codexremote verify",
        "GIT_AUTHOR_EMAIL": "verify@codexremote.invalid",
        "GIT_COMMITTER_NAME": "codexremote verify",
        "GIT_COMMITTER_EMAIL": "verify@codexremote.invalid",
    }
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), GIT_TIMEOUT_S)
    if process.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {err.decode(errors='replace').strip()}")
    return out.decode(errors="replace")


async def make_workspace() -> Path:
    """A repo on ``main`` with one commit of README.md, a branch ``feature/remote-verify``,
    README.md modified and staged, and an untracked ``notes.txt`` (as the seed's loop)."""
    root = Path(tempfile.mkdtemp(prefix="codexremote-verify-"))
    repo = root / "repo"
    repo.mkdir()
    await _git(repo, "init", "-q", "-b", "main")
    # The companion commits with the repository's identity: give this one its own.
    await _git(repo, "config", "user.name", "codexremote verify")
    await _git(repo, "config", "user.email", "verify@codexremote.invalid")
    (repo / "README.md").write_text("# codexremote verify\n")
    await _git(repo, "add", "README.md")
    await _git(repo, "commit", "-q", "--no-verify", "-m", "initial")
    await _git(repo, "branch", FEATURE_BRANCH)
    (repo / "README.md").write_text("# codexremote verify\n\nchanged by verify\n")
    await _git(repo, "add", "README.md")
    (repo / "notes.txt").write_text("untracked\n")
    return repo


def remove_workspace(repo: Path) -> None:
    shutil.rmtree(repo.parent, ignore_errors=True)


@dataclass(frozen=True)
class FileSnapshot:
    """The exact bytes (or absence) of a file, to put back after a write round trip."""

    path: Path
    data: bytes | None
    mode: int | None

    @classmethod
    def take(cls, path: Path) -> FileSnapshot:
        try:
            return cls(path, path.read_bytes(), path.stat().st_mode & 0o7777)
        except FileNotFoundError:
            return cls(path, None, None)

    def unchanged(self) -> bool:
        return FileSnapshot.take(self.path).data == self.data

    def restore(self) -> bool:
        """Put the bytes back if they differ; True when something had to be restored."""
        if self.unchanged():
            return False
        if self.data is None:
            self.path.unlink(missing_ok=True)
        else:
            atomic_write_bytes(self.path, self.data, mode=self.mode or 0o600)
        return True
