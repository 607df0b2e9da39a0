"""Run-state answers for chats whose rollout codex has not written yet (wire-api 4.13)."""

from __future__ import annotations

from codexremote.chats.service import _rollout_not_there_yet

# Exactly what codex 0.169.0's thread/read answered for a chat whose first turn was just
# starting (seen in tests/browser/test_offline.py, which then got a 502 from run-state).
EMPTY_ROLLOUT = (
    "failed to read thread: thread-store internal error: failed to read session metadata "
    "/tmp/x/codex_home/sessions/2026/12/02/rollout-2026-12-02T07-48-39-01a2.jsonl: "
    "rollout at /tmp/x/codex_home/sessions/2026/12/02/rollout-2026-12-02T07-48-39-01a2.jsonl"
    " is empty"
)


def test_original_app_run_state_empty_or_missing_rollout_means_idle() -> None:
    assert _rollout_not_there_yet(EMPTY_ROLLOUT)
    assert _rollout_not_there_yet("thread not loaded: 01a2")
    assert _rollout_not_there_yet("No rollout found for thread 01a2")


def test_original_app_run_state_other_failures_stay_errors() -> None:
    assert not _rollout_not_there_yet("app-server is restarting")
    assert not _rollout_not_there_yet("failed to read thread: permission denied")
