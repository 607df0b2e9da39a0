"""AlwaysAllowStore (approval-preferences.json) and the `approvals` CLI handlers."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from codexremote.approvals import PREFERENCES_FILE, AlwaysAllowStore
from codexremote.approvals.cli_commands import approvals_forget, approvals_list


def test_rel08_add_writes_a_private_sorted_file(tmp_path: Path) -> None:
    store = AlwaysAllowStore(tmp_path)
    assert store.add("mcp:zeta:run", server_name="zeta", tool_name="run", added_at=2) is True
    assert store.add("mcp:demo:touch", server_name="demo", tool_name="touch", added_at=1)
    assert store.add("mcp:demo:touch") is False  # already there

    path = tmp_path / PREFERENCES_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["alwaysAllowScopeKeys"] == ["mcp:demo:touch", "mcp:zeta:run"]
    assert document["entries"]["mcp:demo:touch"] == {
        "serverName": "demo",
        "toolName": "touch",
        "addedAt": 1,
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_store_survives_a_restart(tmp_path: Path) -> None:
    AlwaysAllowStore(tmp_path).add("mcp:demo:touch", server_name="demo", tool_name="touch")
    reloaded = AlwaysAllowStore(tmp_path)
    assert reloaded.contains("mcp:demo:touch")
    assert [e.to_wire() for e in reloaded.list()] == [
        {"scopeKey": "mcp:demo:touch", "serverName": "demo", "toolName": "touch", "addedAt": None}
    ]


def test_original_format_loads_and_bad_entries_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / PREFERENCES_FILE
    path.write_text(json.dumps({"alwaysAllowScopeKeys": ["mcp:a:b", "", "  ", 7, None, "mcp:c"]}))
    path.chmod(0o600)
    store = AlwaysAllowStore(tmp_path)
    assert [e.scope_key for e in store.list()] == ["mcp:a:b", "mcp:c"]

    store.add("mcp:d:e")  # rewriting keeps the old keys
    assert json.loads(path.read_text())["alwaysAllowScopeKeys"] == ["mcp:a:b", "mcp:c", "mcp:d:e"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"alwaysAllowScopeKeys": "x"}'])
def test_unreadable_file_counts_as_empty(tmp_path: Path, content: str) -> None:
    path = tmp_path / PREFERENCES_FILE
    path.write_text(content)
    path.chmod(0o600)
    assert AlwaysAllowStore(tmp_path).list() == []


def test_sec06_file_writable_by_others_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / PREFERENCES_FILE
    path.write_text(json.dumps({"alwaysAllowScopeKeys": ["mcp:demo:touch"]}))
    path.chmod(0o666)
    assert AlwaysAllowStore(tmp_path).contains("mcp:demo:touch") is False


def test_forget_removes_and_reports_unknown(tmp_path: Path) -> None:
    store = AlwaysAllowStore(tmp_path)
    store.add("mcp:demo:touch")
    assert store.forget("mcp:demo:touch") is True
    assert store.forget("mcp:demo:touch") is False
    assert AlwaysAllowStore(tmp_path).list() == []


def test_changes_by_another_process_are_picked_up(tmp_path: Path) -> None:
    running = AlwaysAllowStore(tmp_path)
    running.add("mcp:demo:touch")
    cli = AlwaysAllowStore(tmp_path)
    cli.add("mcp:demo:remove")
    assert running.contains("mcp:demo:remove")
    cli.forget("mcp:demo:touch")
    assert not running.contains("mcp:demo:touch")


def test_stale_temp_files_are_cleaned_on_load(tmp_path: Path) -> None:
    leftover = tmp_path / f".tmp-{PREFERENCES_FILE}.abc123"
    leftover.write_text("partial")
    AlwaysAllowStore(tmp_path)
    assert not leftover.exists()


def test_state_dir_is_created_private(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    AlwaysAllowStore(state_dir).add("mcp:demo:touch")
    assert stat.S_IMODE(os.stat(state_dir).st_mode) == 0o700


# ------------------------------------------------------------------------- CLI


def test_cli_list_prints_one_line_per_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert approvals_list(tmp_path) == 0
    assert capsys.readouterr().out == "No always-allowed MCP tools.\n"

    store = AlwaysAllowStore(tmp_path)
    store.add("mcp:demo:touch", server_name="demo", tool_name="touch", added_at=1_775_000_000_123)
    store.add("mcp:other:run")
    assert approvals_list(tmp_path) == 0
    assert capsys.readouterr().out.splitlines() == [
        "mcp:demo:touch  server=demo  tool=touch  added=2026-03-31 23:33 UTC",
        "mcp:other:run",
    ]


def test_cli_forget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    AlwaysAllowStore(tmp_path).add("mcp:demo:touch")

    assert approvals_forget(tmp_path, "mcp:demo:touch") == 0
    assert capsys.readouterr().out.startswith("Forgot mcp:demo:touch")
    assert approvals_forget(tmp_path, "mcp:demo:touch") == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "No always-allow entry" in captured.err
    assert AlwaysAllowStore(tmp_path).list() == []
