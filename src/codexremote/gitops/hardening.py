"""Neutralise programs that a repository's own config would make git run (SEC-14).

Beyond hooks and fsmonitor (handled on every command by :mod:`runner`) and external diff /
textconv drivers (``--no-ext-diff --no-textconv`` on every diff), a repository's
``.git/config`` can name programs that git runs during the commands we use:

- ``filter.<driver>.clean`` / ``smudge`` / ``process``: run by status and diff (clean, when a
  file has to be re-hashed) and by checkout (smudge);
- ``gpg.program``, ``gpg.<format>.program``, ``gpg.ssh.defaultKeyCommand``: run by a commit
  when signing is on.

Only values set in the repository's own scopes (``local``, ``worktree``; the agent can write
those) are neutralised; the user's global and system config is trusted. A local filter
driver gets empty commands (git then passes content through unchanged) and
``required=false``; a local signing program is replaced by the global/system value or
git's default. Trade-off, documented in docs/git.md: an LFS install done with
``git lfs install --local`` is neutralised too.
"""

from __future__ import annotations

from pathlib import Path

from codexremote.errors import BadRequest
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


async def repo_exec_overrides(cwd: Path) -> list[str]:
    """``-c`` values (``key=value``) that undo repo-local program settings, [] if none."""
    result = await run_git(cwd, ["config", "--show-scope", "-z", "--get-regexp", EXEC_KEYS_PATTERN])
    if result.returncode != 0 or not result.stdout:
        return []  # 1 = no such keys; anything else: not a repository, the caller finds out
    entries = _parse(result.stdout)
    overrides: list[str] = []
    for key in dict.fromkeys(key for scope, key, _ in entries if scope in REPO_SCOPES):
        if key.startswith("filter."):
            driver = key[len("filter.") :].rsplit(".", 1)[0]
            _check_name(driver)
            overrides += [f"filter.{driver}.{name}=" for name in ("clean", "smudge", "process")]
            overrides.append(f"filter.{driver}.required=false")
        else:
            trusted = [
                value for scope, k, value in entries if k == key and scope not in REPO_SCOPES
            ]
            fallback = SIGNING_DEFAULTS.get(key, "")
            overrides.append(f"{key}={trusted[-1] if trusted else fallback}")
    return list(dict.fromkeys(overrides))


def _parse(output: str) -> list[tuple[str, str, str]]:
    """``--show-scope -z`` output: ``scope NUL key LF value NUL`` records."""
    fields = output.split("\0")
    entries: list[tuple[str, str, str]] = []
    for index in range(0, len(fields) - 1, 2):
        key, _, value = fields[index + 1].partition("\n")
        entries.append((fields[index], key, value))
    return entries


def _check_name(driver: str) -> None:
    """A ``-c key=value`` cannot carry a key with ``=`` or a newline: refuse such a repo."""
    if "=" in driver or "\n" in driver:
        raise BadRequest("Refusing to run git: the repository config names an unusual filter")
