"""A superproject and submodule booby-trapped at every depth (SEC-14); helpers, no tests.

Every program a repository can name leaves a file ``<prefix>-<trap>`` in the sentinel
directory when it runs: ``super-*`` for traps in a file the superproject's config includes,
``sub-*`` for traps in the submodule's own config (directly, or through an included file).
Transport traps (``ssh``, ``ext``, ``credential``, ``askpass``) fire through a lazy fetch of a
partial clone: a blob a branch needs is missing and three promisor remotes offer it (ssh
with ``core.sshCommand``, ``ext::`` allowed by ``protocol.ext.allow``, and an HTTP remote on
loopback that answers 401 so git asks the credential helper and then ``core.askPass``).

Branches of the superproject (``main`` is checked out):

- ``other``: ``a.txt`` differs and the submodule points at its ``other`` commit;
- ``lazy``: adds ``lazy.txt`` whose blob is missing in the superproject (lazy fetch);
- ``sublazy``: the submodule points at a commit whose blob is missing in the submodule.

Work tree: ``c.txt`` staged, ``b.txt`` modified, and in the submodule ``s.txt`` (its index
blob is missing: a diff there lazily fetches) and ``e.txt`` modified, ``a.txt`` touched (same
content, new mtime: status must re-hash it through the filter).
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.unit.test_gitops_support import git, make_repo

HOOKS = ("pre-commit", "commit-msg", "post-commit", "post-checkout", "reference-transaction")
TRAPS = (
    "fsmonitor",
    "ssh",
    "askpass",
    "credential",
    "ext",
    "filter-clean",
    "filter-smudge",
    "textconv",
    "external-diff",
    *(f"hook-{hook}" for hook in HOOKS),
)
# Every sentinel the trapped repository can leave.
ALL_TRAPS = frozenset(f"{prefix}-{trap}" for prefix in ("super", "sub") for trap in TRAPS)
ALLOW_FILE = ("-c", "protocol.file.allow=always")  # plain git: local submodule clone


class _Unauthorized(BaseHTTPRequestHandler):
    """Answers every request 401 (Basic), so git asks for credentials; counts requests."""

    requests: list[str]

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="trap"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def unauthorized_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server answering 401: its base URL and the paths it was asked for."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass(frozen=True)
class Trapped:
    repo: Path
    sentinels: Path
    http_requests: list[str]

    def fired(self) -> set[str]:
        return {path.name for path in self.sentinels.iterdir()}

    def reset(self) -> None:
        for path in self.sentinels.iterdir():
            path.unlink()


def _script(path: Path, body: str) -> str:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _trap_config(tools: Path, sentinels: Path, prefix: str, http_url: str) -> str:
    """Config text naming a trap program for every key that can run one."""

    def trap(name: str, tail: str = "exit 0") -> str:
        return _script(tools / f"{prefix}-{name}", f'touch "{sentinels}/{prefix}-{name}"\n{tail}')

    textconv = trap("textconv", 'cat "$1"')
    lines = [
        "[core]",
        f"\tfsmonitor = {trap('fsmonitor', 'exit 1')}",
        f"\tsshCommand = {trap('ssh', 'exit 1')}",
        f"\taskPass = {trap('askpass', 'exit 1')}",
        "[credential]",
        f"\thelper = {trap('credential')}",
        f'[filter "{prefix}trap"]',
        f"\tclean = {trap('filter-clean', 'cat')}",
        f"\tsmudge = {trap('filter-smudge', 'cat')}",
        f'[diff "{prefix}diff"]',
        f"\ttextconv = {textconv}",
        "[diff]",
        f"\texternal = {trap('external-diff')}",
        '[protocol "ext"]',
        "\tallow = always",
    ]
    remotes = {
        "viassh": "ssh://trap-host/repo.git",
        "viaext": f"ext::{trap('ext', 'exit 1')}",
        "viahttp": f"{http_url}/{prefix}.git",
    }
    for name, url in remotes.items():
        lines += [f'[remote "{name}"]', f"\turl = {url}", "\tpromisor = true"]
    return "\n".join(lines) + "\n"


def _arm(gitdir: Path, config: str, prefix: str, sentinels: Path, *, include: Path | None) -> None:
    """Traps into ``gitdir``: config (directly or via ``include``), attributes, hooks."""
    # a partial clone: format 1 and the extension, read from the config file itself
    partial_clone = (("core.repositoryformatversion", "1"), ("extensions.partialClone", "viassh"))
    for key, value in partial_clone:
        git(gitdir, "--git-dir", str(gitdir), "config", key, value)
    if include is None:
        with (gitdir / "config").open("a") as handle:
            handle.write(config)
    else:
        include.write_text(config)
        git(gitdir, "--git-dir", str(gitdir), "config", "include.path", str(include))
    (gitdir / "info").mkdir(exist_ok=True)
    (gitdir / "info" / "attributes").write_text(f"*.txt filter={prefix}trap diff={prefix}diff\n")
    hooks = gitdir / "hooks"
    hooks.mkdir(exist_ok=True)
    for hook in HOOKS:
        _script(hooks / hook, f'touch "{sentinels}/{prefix}-hook-{hook}"')


def _drop_blob(gitdir: Path, oid: str) -> None:
    (gitdir / "objects" / oid[:2] / oid[2:]).unlink()


def build(tmp: Path, http_url: str, http_requests: list[str], *, sub_include: bool) -> Trapped:
    """The trapped superproject described in the module docstring."""
    sentinels, tools = tmp / "sentinels", tmp / "trap-tools"
    sentinels.mkdir()
    tools.mkdir()
    source = make_repo(tmp / "subsrc", commit=False)
    for name in ("a.txt", "e.txt", "s.txt"):
        (source / name).write_text(f"sub {name} v1\n")
    git(source, "add", ".")
    git(source, "commit", "-q", "-m", "sub v1")
    git(source, "checkout", "-q", "-b", "other")
    (source / "s.txt").write_text("sub s.txt on other\n")
    git(source, "commit", "-q", "-am", "sub other")
    git(source, "checkout", "-q", "-b", "lazy")
    (source / "lazy.txt").write_text("sub lazy blob\n")
    git(source, "add", ".")
    git(source, "commit", "-q", "-m", "sub lazy")
    git(source, "checkout", "-q", "main")

    repo = make_repo(tmp / "repo")
    for name in ("a.txt", "b.txt", "c.txt"):
        (repo / name).write_text(f"{name} v1\n")
    git(repo, *ALLOW_FILE, "submodule", "add", "-q", str(source), "sub")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "files and submodule")
    sub = repo / "sub"
    for branch, sub_ref in (("other", "origin/other"), ("sublazy", "origin/lazy")):
        git(repo, "checkout", "-q", "-b", branch, "main")
        git(sub, "checkout", "-q", "--detach", sub_ref)
        if branch == "other":
            (repo / "a.txt").write_text("a.txt on other\n")
        git(repo, "commit", "-q", "-am", branch)
    git(repo, "checkout", "-q", "-b", "lazy", "main")
    git(sub, "checkout", "-q", "--detach", "origin/main")
    (repo / "lazy.txt").write_text("super lazy blob\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-am", "lazy")
    git(repo, "checkout", "-q", "main")
    git(sub, "checkout", "-q", "--detach", "origin/main")
    _drop_blob(repo / ".git", git(repo, "rev-parse", "lazy:lazy.txt").stdout.strip())
    sub_gitdir = repo / ".git" / "modules" / "sub"
    _drop_blob(sub_gitdir, git(sub, "rev-parse", "origin/lazy:lazy.txt").stdout.strip())
    # s.txt is edited below: a diff inside the submodule needs this blob -> lazy fetch
    _drop_blob(sub_gitdir, git(sub, "rev-parse", ":s.txt").stdout.strip())

    (repo / "c.txt").write_text("c.txt staged\n")
    git(repo, "add", "c.txt")
    (repo / "b.txt").write_text("b.txt unstaged\n")
    (sub / "s.txt").write_text("sub s.txt edited\n")
    (sub / "e.txt").write_text("sub e.txt edited\n")
    os.utime(sub / "a.txt", (1_000_000_000, 1_000_000_000))

    super_config = _trap_config(tools, sentinels, "super", http_url)
    # the attacker also asks plain git to enter the submodule wherever it can
    super_config += "[submodule]\n\trecurse = true\n[diff]\n\tsubmodule = diff\n"
    _arm(repo / ".git", super_config, "super", sentinels, include=tmp / "super-include.cfg")
    sub_config = _trap_config(tools, sentinels, "sub", http_url)
    _arm(sub_gitdir, sub_config, "sub", sentinels, include=tmp / "sub.cfg" if sub_include else None)
    return Trapped(repo, sentinels, http_requests)
