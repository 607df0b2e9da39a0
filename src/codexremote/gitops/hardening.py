"""Neutralise programs that a repository's own config would make git run (SEC-14).

Fixed keys (fsmonitor, hooks, credential helpers, ssh, transports, submodule recursion) are
overridden on every command by :mod:`runner`; external diff and textconv drivers are off
with ``--no-ext-diff --no-textconv`` on every diff. What is left are keys whose *names* a
repository chooses, so they must be read from it first:

- ``filter.<driver>.clean`` / ``smudge`` / ``process``: run by status and diff (clean, when a
  file has to be re-hashed) and by checkout (smudge);
- ``gpg.program``, ``gpg.<format>.program``, ``gpg.ssh.defaultKeyCommand``: run by a commit
  when signing is on.

``git config`` follows ``include.path`` and ``includeIf`` like the command itself and reports
an included file under the scope of the file including it, so included files are covered.
Submodules need no listing: git never enters one for us (see :mod:`runner`).

Only values set in the repository's own scopes (``local``, ``worktree``; the agent can write
those) are neutralised; the user's global and system config is trusted. Each such key gets
the global/system value back if there is one (a repository cannot redefine ``filter.lfs``),
else an empty command (git then passes content through unchanged) or git's default signing
program; a filter also gets ``required=false``. The overrides travel as environment config,
so driver names with ``=`` or spaces need no quoting. Trade-off, documented in docs/git.md:
an LFS install done with ``git lfs install --local`` is neutralised too.
"""

from __future__ import annotations

from pathlib import Path

from codexremote.gitops.runner import run_git

# Keys whose value is a program git executes (git lower-cases section and key names).
EXEC_KEYS_PATTERN = (
    r"^(filter\..+\.(clean|smudge|process)|gpg\.program|gpg\.[^.]+\.program"
    r"|gpg\.ssh\.defaultkeycommand)$"
)
REPO_SCOPES = frozenset({"local", "worktree"})
# git's built-in defaults for the signing programs.
SIGNING_DEFAULTS = {
    "gpg.program": "gpg",
    "gpg.openpgp.program": "gpg",
    "gpg.x509.program": "gpgsm",
    "gpg.ssh.program": "ssh-keygen",
    "gpg.ssh.defaultkeycommand": "",
}


async def repo_exec_overrides(cwd: Path) -> list[tuple[str, str]]:
    """``(key, value)`` config pairs that undo repo-local program settings, [] if none."""
    result = await run_git(cwd, ["config", "--show-scope", "-z", "--get-regexp", EXEC_KEYS_PATTERN])
    if result.returncode != 0 or not result.stdout:
        return []  # 1 = no such keys; anything else: not a repository, the caller finds out
    entries = _parse(result.stdout)
    overrides: list[tuple[str, str]] = []
    for key in dict.fromkeys(key for scope, key, _ in entries if scope in REPO_SCOPES):
        if key.startswith("filter."):
            # Only the keys the repository set: an empty `process` next to a trusted
            # `clean` would make git try the (empty) process and skip the clean.
            overrides.append((key, _trusted(entries, key) or ""))
            driver = key[len("filter.") :].rsplit(".", 1)[0]
            overrides.append((f"filter.{driver}.required", "false"))
        else:
            overrides.append((key, _trusted(entries, key) or SIGNING_DEFAULTS.get(key, "")))
    return list(dict.fromkeys(overrides))


def _trusted(entries: list[tuple[str, str, str]], key: str) -> str | None:
    """The value the user's global/system config gives ``key`` (last one wins), if any."""
    values = [value for scope, k, value in entries if k == key and scope not in REPO_SCOPES]
    return values[-1] if values else None


def _parse(output: str) -> list[tuple[str, str, str]]:
    """``--show-scope -z`` output: ``scope NUL key LF value NUL`` records."""
    fields = output.split("\0")
    entries: list[tuple[str, str, str]] = []
    for index in range(0, len(fields) - 1, 2):
        key, _, value = fields[index + 1].partition("\n")
        entries.append((fields[index], key, value))
    return entries
