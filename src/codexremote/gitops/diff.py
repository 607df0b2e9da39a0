"""The diff view: staged, unstaged and untracked changes as one text (wire-api 8.3).

Layout (kept from the original, the app shows it verbatim): sections joined by a blank
line — "# Diff for <path>" or "# Combined diff"; "## Staged changes" and the staged patch;
"## Unstaged changes" and the unstaged patch; "## Untracked files", a sentence, and one
"?? <path>" per untracked path; "No diff available." when there is nothing. Longer than
DIFF_LIMIT_CHARS characters -> cut there, then a blank line and "[Diff truncated]".
Binary files show as git's "Binary files a/x and b/x differ" line and are listed in
``binaryPaths``.
"""

from __future__ import annotations

from pathlib import Path

from codexremote.errors import BadRequest
from codexremote.gitops.hardening import repo_exec_overrides
from codexremote.gitops.models import DiffResult
from codexremote.gitops.runner import run_git
from codexremote.gitops.status import parse_status_v2, read_status, require_work_tree
from codexremote.gitops.validation import check_diff_path

# Cap of the diff text in characters (the original's 64,000).
DIFF_LIMIT_CHARS = 64_000
TRUNCATION_MARK = "[Diff truncated]"
# Bytes read per patch: decodes to > DIFF_LIMIT_CHARS characters (UTF-8: <= 4 bytes each),
# so a patch cut here is cut in the text anyway.
DIFF_READ_CAP_BYTES = 4 * DIFF_LIMIT_CHARS + 4096
UNTRACKED_NOTE = "Git does not produce a patch for untracked files until they are staged."
NO_DIFF = "No diff available."
# Options of every diff: no external diff or textconv programs, no colour codes, and no
# git started inside a submodule (a moved submodule is one "Subproject commit" line pair).
DIFF_SAFETY = (
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--ignore-submodules=dirty",
    "--submodule=short",
)


async def diff(cwd: Path, path: str | None) -> DiffResult:
    """Diff of the whole work tree, or of one path (relative to the repository root).

    Raises BadRequest (not a repository, unsafe path, git failure), GitTimeout.
    """
    await require_work_tree(cwd)
    wanted = path if path is not None and path.strip() else None
    pathspec: list[str] = []
    if wanted is not None:
        check_diff_path(wanted, await _repo_root(cwd))
        # top: relative to the root like status paths; literal: no glob expansion
        pathspec = [f":(top,literal){wanted}"]

    config = await repo_exec_overrides(cwd)
    staged = await _patch(cwd, ["--cached"], pathspec, config)
    unstaged = await _patch(cwd, [], pathspec, config)
    binaries = await _binary_paths(cwd, ["--cached"], pathspec, config)
    binaries += await _binary_paths(cwd, [], pathspec, config)
    status = await read_status(cwd, pathspec)
    if status.returncode != 0 and not status.truncated:
        raise BadRequest(status.message(["status"]))
    _, entries = parse_status_v2(status.stdout)
    untracked = [entry.path for entry in entries if entry.indexStatus == "?"]

    text, truncated = render_diff_text(wanted, staged, unstaged, untracked)
    return DiffResult(
        path=wanted,
        text=text,
        truncated=truncated,
        untrackedPaths=untracked,
        binaryPaths=list(dict.fromkeys(binaries)),
    )


def render_diff_text(
    path: str | None, staged: str, unstaged: str, untracked: list[str]
) -> tuple[str, bool]:
    sections = [f"# Diff for {path}" if path else "# Combined diff"]
    if staged.strip():
        sections += ["## Staged changes", staged.rstrip()]
    if unstaged.strip():
        sections += ["## Unstaged changes", unstaged.rstrip()]
    if untracked:
        sections += ["## Untracked files", UNTRACKED_NOTE, *(f"?? {item}" for item in untracked)]
    if len(sections) == 1:
        sections.append(NO_DIFF)
    text = "\n\n".join(sections).strip()
    if len(text) <= DIFF_LIMIT_CHARS:
        return text, False
    return f"{text[:DIFF_LIMIT_CHARS]}\n\n{TRUNCATION_MARK}", True


async def _repo_root(cwd: Path) -> Path:
    result = await run_git(cwd, ["rev-parse", "--show-toplevel"])
    if result.returncode != 0:
        raise BadRequest(result.message(["rev-parse"]))
    return Path(result.stdout.rstrip("\n"))


async def _patch(
    cwd: Path, where: list[str], pathspec: list[str], config: list[tuple[str, str]]
) -> str:
    args = ["diff", *where, "--patch", *DIFF_SAFETY, "--", *pathspec]
    result = await run_git(cwd, args, max_output=DIFF_READ_CAP_BYTES, config=config)
    if result.returncode != 0 and not result.truncated:
        raise BadRequest(result.message(args))
    # A cut patch still decodes to more than DIFF_LIMIT_CHARS characters, so the text
    # gets its truncation mark.
    return result.stdout


async def _binary_paths(
    cwd: Path, where: list[str], pathspec: list[str], config: list[tuple[str, str]]
) -> list[str]:
    """Paths ``--numstat`` reports as binary (``-`` for added and deleted lines)."""
    args = ["diff", *where, "--numstat", "-z", *DIFF_SAFETY, "--", *pathspec]
    result = await run_git(cwd, args, config=config)
    if result.returncode != 0:
        return []
    fields = result.stdout.split("\0")
    paths: list[str] = []
    index = 0
    while index < len(fields) - 1:
        added, _, rest = fields[index].partition("\t")
        deleted, _, name = rest.partition("\t")
        index += 1
        if not name:  # a rename: "a\td\t" NUL old NUL new
            name = fields[index + 1] if index + 1 < len(fields) else ""
            index += 2
        if added == "-" and deleted == "-" and name:
            paths.append(name)
    return paths
