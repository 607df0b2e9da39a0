"""Pieces of ``codexremote verify`` that need no companion: the desktop proof's
matching and diagnosis, the file snapshot, and the report file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from codexremote.verify.desktop import desktop_proof, diagnose, text_visible
from codexremote.verify.report import Report, StepResult, StepSkipped
from codexremote.verify.workspace import FileSnapshot


def test_ocr_match_ignores_spacing_and_case() -> None:
    assert text_visible("codexremote-verify-1a2b3c4d", ["Codexremote-verify-", "1A2B 3c4d"])
    assert not text_visible("codexremote-verify-1a2b3c4d", ["codexremote-verify-1a2b"])


def test_missing_permissions_are_named() -> None:
    assert "Screen Recording" in (diagnose(3) or "")
    assert "Accessibility" in (diagnose(4) or "")
    assert diagnose(0) is None and diagnose(None) is None


@pytest.mark.skipif(sys.platform == "darwin", reason="the SKIP path is for non-macOS")
async def test_desktop_step_skips_off_macos_never_passes(tmp_path: Path) -> None:
    with pytest.raises(StepSkipped, match=r"^SKIP: needs a logged-in macOS desktop"):
        await desktop_proof("text", "Codex", tmp_path)


def test_snapshot_restores_bytes_mode_and_absence(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"a = 1 # keep\r\nb = 'x'")
    config.chmod(0o640)
    backup = tmp_path / "config.toml.bak"
    kept, absent = FileSnapshot.take(config), FileSnapshot.take(backup)
    config.write_bytes(b"changed\n")
    backup.write_bytes(b"new")
    assert kept.restore() and absent.restore()
    assert config.read_bytes() == b"a = 1 # keep\r\nb = 'x'"
    assert config.stat().st_mode & 0o777 == 0o640
    assert not backup.exists()
    assert not kept.restore()  # nothing left to do


def test_report_is_private_json_with_one_entry_per_step(tmp_path: Path) -> None:
    report = Report(companion_url="http://127.0.0.1:1", trace_id="verify-abcdef123456")
    report.steps.append(StepResult("token", "PASS", 0.1, "ok"))
    report.steps.append(StepResult("desktop", "SKIP", 0.0, "SKIP: why"))
    assert report.passed
    report.steps.append(StepResult("chat", "FAIL", 0.0, "why"))
    assert not report.passed
    path = report.write(tmp_path / "state")
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "state" / "verify").stat().st_mode & 0o777 == 0o700
    body = json.loads(path.read_text())
    assert [s["status"] for s in body["steps"]] == ["PASS", "SKIP", "FAIL"]
    assert body["passed"] is False
