"""The single way we run git (SEC-14, REL-11).

Every git process:

- is an argv list (never a shell) with an explicit, minimal environment: PATH, HOME,
  LANG/LC_ALL=C (stable English messages), GIT_TERMINAL_PROMPT=0, GIT_OPTIONAL_LOCKS=0,
  and XDG_CONFIG_HOME when set; nothing else is inherited (no GIT_DIR, GIT_INDEX_FILE...);
- carries its hardening as *environment* config (``GIT_CONFIG_COUNT``/``KEY_n``/``VALUE_n``,
  see HARDENING_CONFIG) and transport switches (HARDENING_ENV), not only as ``-c``: git hands
  both down to every git process it starts itself (a submodule's status, a lazy fetch of a
  partial clone, ``checkout--worker``), so the overrides hold at every depth and win over
  any repository, submodule, worktree or included config file (command scope is read last);
- starts ``git --no-pager --no-optional-locks -C <cwd>``: reads never take ``index.lock``;
- runs in its own process group with a timeout; on expiry the whole group is killed
  (writes get SIGTERM first so git can remove its lock files) and GitTimeout is raised;
- has its output capped: past ``max_output`` bytes the rest is dropped, the process is
  stopped and ``truncated`` is set;
- holds its repository's asyncio lock: one git process per repository at a time, so our
  reads never race each other or our own writes.

Filter drivers have arbitrary names, so they cannot be listed here: :mod:`hardening` reads
them from the repository and the callers pass the result as ``config``. Submodules are never
entered by git on our behalf (``--ignore-submodules=dirty``, ``submodule.recurse=false``),
so a submodule's own config is never read by a process we start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codexremote.errors import ServiceUnavailable

# Per-command timeout for reads (the original's 4 s, wire-api 8.2).
GIT_TIMEOUT_S = 4.0
# Output cap per command (the original's 4 MiB maxBuffer, wire-api 8.2).
GIT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024
# stderr is only used for error messages.
GIT_MAX_STDERR_BYTES = 64 * 1024
# After SIGTERM, how long a writing git gets to remove its lock files before SIGKILL.
GIT_TERM_GRACE_S = 2.0
# Where hooks are looked up: a path under which no hook can ever exist.
HOOKS_DISABLED_PATH = os.devnull
READ_CHUNK = 64 * 1024

# Environment variables passed through from the companion's own environment.
ENV_PASSTHROUGH = ("PATH", "HOME", "XDG_CONFIG_HOME")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

# Config every git process gets in command scope (highest priority, inherited by the git
# processes git itself starts). Each names a program a repository could make git run, or a
# way git could reach another repository whose config would then apply.
HARDENING_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),  # the fsmonitor hook script / daemon
    ("submodule.recurse", "false"),  # checkout would run git (and smudge) in submodules
    ("diff.ignoreSubmodules", "dirty"),  # no `git status` child inside each submodule
    ("diff.submodule", "short"),  # "log"/"diff" start git inside the submodule
    ("status.submoduleSummary", "false"),  # `git submodule summary` child
    ("credential.helper", ""),  # an empty value empties the helper list
    ("core.askPass", ""),  # see GIT_ASKPASS below
    ("core.sshCommand", "false"),  # /bin/false: never a repository's program
    ("protocol.allow", "never"),  # no transport, no lazy fetch of a partial clone
    ("gc.auto", "0"),  # commit would start `gc --auto` / maintenance
    ("maintenance.auto", "false"),
)
# With hooks disabled: a path under which no hook can ever exist.
HOOKS_CONFIG = ("core.hooksPath", HOOKS_DISABLED_PATH)
# Environment switches that beat any config (git's documented precedence).
HARDENING_ENV = {
    # An empty allow-list: every transport (ssh, ext::, http, file, remote helpers) is
    # refused before it starts, whatever protocol.<name>.allow a repository sets. This is
    # what stops core.sshCommand, credential helpers and ext:: commands of a lazy fetch.
    "GIT_ALLOW_PROTOCOL": "",
    "GIT_PROTOCOL_FROM_USER": "0",
    # Empty: git skips the askpass program (core.askPass included) and, with
    # GIT_TERMINAL_PROMPT=0, fails instead of asking.
    "GIT_ASKPASS": "",
    "GIT_SSH_COMMAND": "false",
    "GIT_EDITOR": ":",  # git's own no-op editor; our commit reads its message from stdin
}


class GitTimeout(ServiceUnavailable):
    """git did not finish in time and was killed."""


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str
    truncated: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.truncated

    def message(self, args: Sequence[str]) -> str:
        """git's own explanation (stderr, else stdout), for error messages."""
        text = self.stderr.strip() or self.stdout.strip()
        return text or f"git {' '.join(args[:2])} failed"


def git_env(
    extra: Mapping[str, str] | None = None,
    *,
    allow_hooks: bool = False,
    config: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """The whole environment of a git process: minimal base, hardening, ``config`` last.

    ``config`` entries come after HARDENING_CONFIG, so for a key in both the caller wins.
    """
    env = {name: os.environ[name] for name in ENV_PASSTHROUGH if os.environ.get(name)}
    env.setdefault("PATH", DEFAULT_PATH)
    env.update(
        {
            "LANG": "C",
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_OPTIONAL_LOCKS": "0",
            **HARDENING_ENV,
        }
    )
    if extra:
        env.update(extra)
    entries = [*HARDENING_CONFIG, *(() if allow_hooks else (HOOKS_CONFIG,)), *config]
    env["GIT_CONFIG_COUNT"] = str(len(entries))
    for index, (key, value) in enumerate(entries):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def git_argv(cwd: Path, args: Sequence[str]) -> list[str]:
    """The full argv: ``git --no-pager --no-optional-locks -C cwd`` and ``args``."""
    return ["git", "--no-pager", "--no-optional-locks", "-C", str(cwd), *args]


async def run_git(
    cwd: Path,
    args: Sequence[str],
    *,
    timeout: float = GIT_TIMEOUT_S,
    max_output: int = GIT_MAX_OUTPUT_BYTES,
    env_extra: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    allow_hooks: bool = False,
    config: Sequence[tuple[str, str]] = (),
    graceful: bool = False,
) -> GitResult:
    """Run one hardened git command in ``cwd`` (see the module docstring).

    ``allow_hooks`` drops the hooksPath override (commit with hooks enabled only);
    ``config`` adds ``(key, value)`` pairs in command scope (:mod:`hardening`);
    ``graceful`` is for commands that write (SIGTERM before SIGKILL on timeout).
    Raises GitTimeout (503) on timeout.
    """
    argv = git_argv(cwd, args)
    async with repo_lock(cwd):
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=git_env(env_extra, allow_hooks=allow_hooks, config=config),
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(timeout):
                return await _communicate(proc, stdin, max_output, graceful)
        except TimeoutError:
            await _stop(proc, graceful)
            raise GitTimeout(
                f"git {args[0] if args else ''} timed out after {timeout:g} s"
            ) from None
        except BaseException:
            await _stop(proc, graceful)
            raise


async def _communicate(
    proc: asyncio.subprocess.Process, stdin: bytes | None, max_output: int, graceful: bool
) -> GitResult:
    assert proc.stdout is not None and proc.stderr is not None
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await proc.stdin.drain()
        proc.stdin.close()
    err_task = asyncio.ensure_future(_read_capped(proc.stderr, GIT_MAX_STDERR_BYTES, drain=True))
    try:
        out, truncated = await _read_capped(proc.stdout, max_output)
        if truncated:
            # git may be blocked writing the output we no longer read: stop it now.
            await _stop(proc, graceful)
        err, _ = await err_task
    finally:
        err_task.cancel()
    returncode = await proc.wait()
    return GitResult(
        returncode=returncode,
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
        truncated=truncated,
    )


async def _read_capped(
    stream: asyncio.StreamReader, cap: int, *, drain: bool = False
) -> tuple[bytes, bool]:
    """Up to ``cap`` bytes, and whether there was more.

    Without ``drain`` reading stops at the cap (the caller stops git); with it the rest is
    read and dropped, so a chatty stderr (e.g. one CRLF warning per file) cannot block git.
    """
    buffer = bytearray()
    truncated = False
    while True:
        chunk = await stream.read(READ_CHUNK)
        if not chunk:
            return bytes(buffer), truncated
        room = cap - len(buffer)
        if len(chunk) > room:
            buffer += chunk[:room]
            truncated = True
            if not drain:
                return bytes(buffer), truncated
        else:
            buffer += chunk


async def _stop(proc: asyncio.subprocess.Process, graceful: bool) -> None:
    """Kill the process group (SIGTERM + grace first for writers) and reap it."""
    if proc.returncode is not None:
        return
    if graceful:
        _signal_group(proc, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), GIT_TERM_GRACE_S)
            return
    _signal_group(proc, signal.SIGKILL)
    await proc.wait()


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


# --- one git process per repository --------------------------------------------------------

# asyncio locks belong to one event loop; keep a table per loop (tests run several loops).
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def repo_key(cwd: Path) -> str:
    """The work tree root (nearest ancestor holding ``.git``), else the cwd itself.

    Done with stat calls rather than git so that two projects inside one repository
    share one lock.
    """
    path = Path(os.path.abspath(cwd))
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate / ".git"):
            return str(candidate)
    return str(path)


def repo_lock(cwd: Path) -> asyncio.Lock:
    table = _locks.setdefault(asyncio.get_running_loop(), {})
    key = repo_key(cwd)
    lock = table.get(key)
    if lock is None:
        lock = table[key] = asyncio.Lock()
    return lock
