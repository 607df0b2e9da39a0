import stat
from pathlib import Path

import pytest

from codexremote.codex.supervisor import meaningful_stderr
from codexremote.launcher import CodexNotFound, ensure_codex_home, resolve_codex_bin
from codexremote.settings import Settings


def test_missing_codex_home_is_created_private(tmp_path: Path) -> None:
    """codex 0.169 exits with "CODEX_HOME points to ..., but that path does not exist"."""
    home = tmp_path / "fresh" / ".codex"
    ensure_codex_home({"CODEX_HOME": str(home)})
    assert home.is_dir()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    ensure_codex_home({"CODEX_HOME": str(home)})  # idempotent


def test_health_shows_the_error_not_the_backtrace() -> None:
    tail = [
        "WARNING: proceeding, even though we could not create PATH aliases",
        'Error: CODEX_HOME points to "/x", but that path does not exist',
        "",
        "Stack backtrace:",
        *[f"  {n}: <unknown>" for n in range(30)],
    ]
    shown = meaningful_stderr(tail)
    assert shown[-1] == 'Error: CODEX_HOME points to "/x", but that path does not exist'
    assert not any("<unknown>" in line for line in shown)


def test_codex_bin_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEXREMOTE_CODEX_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CodexNotFound, match="npm install"):
        resolve_codex_bin(Settings())
    fake = tmp_path / "codex"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert resolve_codex_bin(Settings()) == str(fake)
    with pytest.raises(CodexNotFound, match="not found at /nope"):
        resolve_codex_bin(Settings(codex_bin="/nope/codex"))
