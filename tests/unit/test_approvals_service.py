"""ApprovalService: exactly-once decisions (SEC-11), restarts (REL-02), allows, re-hydration."""

from __future__ import annotations

import asyncio
import logging
import stat
from pathlib import Path

import pytest

from codexremote.approvals import ApprovalStatus, ServerRequest
from codexremote.errors import Conflict, Gone, NotFound, Unprocessable
from tests.unit.test_approvals_fakes import (
    COMMAND_PARAMS,
    FILE_CHANGE_PARAMS,
    MCP_ELICITATION_PARAMS,
    MCP_TOOL_PARAMS,
    OTHER_THREAD,
    PERMISSIONS_PARAMS,
    THREAD,
    TURN,
    Harness,
    make_harness,
    mcp_tool_params,
)

CMD = "item/commandExecution/requestApproval"
PATCH = "item/fileChange/requestApproval"
PERMS = "item/permissions/requestApproval"
MCP = "mcpServer/elicitation/request"


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return make_harness(tmp_path)


def status_of(h: Harness, approval_id: str) -> ApprovalStatus:
    approval = h.service.get(approval_id)
    assert approval is not None
    return approval.status


def only_open_id(h: Harness, chat: str = THREAD) -> str:
    approvals = h.service.open_for_chat(chat)
    assert len(approvals) == 1
    return approvals[0].id


# ------------------------------------------------------------------ SEC-11 / T14


async def test_sec11_first_decision_wins(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS)
    approval_id = only_open_id(h)
    h.child.delay = 0.01  # the first answer is still in flight when the second decision arrives

    outcomes = await asyncio.gather(
        h.service.decide(approval_id, "approve"),
        h.service.decide(approval_id, "decline"),
        return_exceptions=True,
    )

    assert outcomes[0] is None
    assert isinstance(outcomes[1], Conflict)
    assert outcomes[1].message == "Approval was already answered"
    assert h.child.results() == [{"decision": "accept"}]
    assert status_of(h, approval_id) is ApprovalStatus.ANSWERED
    assert h.events.named("approval_cleared")[-1]["ids"] == [approval_id]


async def test_sec11_many_concurrent_decisions_reach_the_child_once(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS)
    approval_id = only_open_id(h)
    h.child.delay = 0.001
    decisions = ["approve", "decline", "allow_for_session"] * 10

    outcomes = await asyncio.gather(
        *(h.service.decide(approval_id, d) for d in decisions), return_exceptions=True
    )

    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if o is not None)
    assert len(h.child.answers) == 1


async def test_sec11_late_decision_after_answer_is_conflict(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS)
    approval_id = only_open_id(h)
    await h.service.decide(approval_id, "decline")

    with pytest.raises(Conflict):
        await h.service.decide(approval_id, "approve")
    assert h.child.results() == [{"decision": "decline"}]


@pytest.mark.parametrize(
    ("method", "params", "decision"),
    [
        (CMD, COMMAND_PARAMS, "allow_always"),  # commands never offer "always"
        (PATCH, FILE_CHANGE_PARAMS, "allow_always"),
        (CMD, COMMAND_PARAMS, "accept"),  # an app-server word, not an app decision
        (CMD, COMMAND_PARAMS, ""),
        (MCP, MCP_ELICITATION_PARAMS, "allow_for_session"),  # real elicitations: no allows
        (MCP, MCP_ELICITATION_PARAMS, "allow_always"),
    ],
)
async def test_sec11_decision_outside_supported_set_is_unprocessable(
    h: Harness, method: str, params: dict[str, object], decision: str
) -> None:
    await h.request(method, params)
    approval_id = only_open_id(h)

    with pytest.raises(Unprocessable):
        await h.service.decide(approval_id, decision)

    assert h.child.answers == []
    assert status_of(h, approval_id) is ApprovalStatus.OPEN
    await h.service.decide(approval_id, "approve")  # still answerable afterwards
    assert len(h.child.answers) == 1


async def test_sec11_after_resolved_elsewhere_is_gone(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS, request_id=7)
    approval_id = only_open_id(h)

    h.service.on_notification("serverRequest/resolved", {"threadId": THREAD, "requestId": 7})

    assert h.service.newest_for_chat(THREAD) is None
    assert h.events.named("approval_cleared") == [{"ids": [approval_id], "reason": "resolved"}]
    with pytest.raises(Gone) as info:
        await h.service.decide(approval_id, "approve")
    assert info.value.message == "Approval is no longer pending"
    assert h.child.answers == []


async def test_sec11_resolved_matches_request_id_type_and_thread(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS, request_id=7)
    h.service.on_resolved({"threadId": THREAD, "requestId": "7"})  # string id: another request
    h.service.on_resolved({"threadId": OTHER_THREAD, "requestId": 7})  # another thread
    assert len(h.service.open_for_chat(THREAD)) == 1


async def test_sec11_unknown_id_is_not_found(h: Harness) -> None:
    with pytest.raises(NotFound) as info:
        await h.service.decide("7c0e0000-0000-4000-8000-000000000000", "approve")
    assert info.value.message == "Approval request not found"


async def test_sec11_turn_completed_closes_only_that_turn(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS, request_id=1)
    other_turn = dict(COMMAND_PARAMS, turnId="turn-2")
    await h.request(CMD, other_turn, request_id=2)
    first, second = sorted(h.service.all_open(), key=lambda a: a.created_at)

    h.service.on_notification(
        "turn/completed", {"threadId": THREAD, "turn": {"id": TURN, "status": "completed"}}
    )

    assert [a.id for a in h.service.open_for_chat(THREAD)] == [second.id]
    with pytest.raises(Gone):
        await h.service.decide(first.id, "approve")
    assert status_of(h, first.id) is ApprovalStatus.CLEARED


async def test_unrelated_notifications_do_not_clear_approvals(h: Harness) -> None:
    """The original cleared every open approval on any mapped notification (quirk 5.3)."""
    await h.request(CMD, COMMAND_PARAMS)
    for method in ("turn/started", "item/started", "item/agentMessage/delta", "error"):
        h.service.on_notification(method, {"threadId": THREAD, "turnId": TURN, "item": {}})
    assert len(h.service.open_for_chat(THREAD)) == 1
    assert h.events.named("approval_cleared") == []


# ------------------------------------------------------------------------ REL-02


async def test_rel02_child_restart_expires_and_forwards_nothing(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS, request_id=3)
    await h.request(MCP, dict(MCP_TOOL_PARAMS, threadId=OTHER_THREAD), request_id=4)
    ids = {a.chat_id: a.id for a in h.service.all_open()}

    h.service.on_child_restart(2)

    assert h.service.all_open() == []
    cleared = {
        chat: payload for name, chat, payload in h.events.items if name == "approval_cleared"
    }
    assert cleared[THREAD] == {"ids": [ids[THREAD]], "reason": "expired"}
    assert cleared[OTHER_THREAD] == {"ids": [ids[OTHER_THREAD]], "reason": "expired"}
    for approval_id in ids.values():
        with pytest.raises(Gone):
            await h.service.decide(approval_id, "approve")
        assert status_of(h, approval_id) is ApprovalStatus.EXPIRED
    assert h.child.answers == []


async def test_rel02_request_of_new_generation_expires_older_ones(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS, request_id=0)
    old_id = only_open_id(h)
    h.generation = 2  # the restarted child reuses request id 0
    await h.request(CMD, COMMAND_PARAMS, request_id=0)

    assert status_of(h, old_id) is ApprovalStatus.EXPIRED
    new_id = only_open_id(h)
    await h.service.decide(new_id, "approve")
    [(req, _)] = h.child.answers
    assert req.generation == 2


async def test_rel02_request_from_an_old_generation_is_dropped(h: Harness) -> None:
    h.service.on_child_restart(5)
    await h.request(CMD, COMMAND_PARAMS)  # generation 1: that child is dead
    assert h.service.all_open() == []
    assert h.child.answers == []


async def test_rel02_child_gone_while_answering_is_gone(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS)
    approval_id = only_open_id(h)
    h.child.gone = True

    with pytest.raises(Gone):
        await h.service.decide(approval_id, "approve")

    assert status_of(h, approval_id) is ApprovalStatus.EXPIRED
    assert h.events.named("approval_cleared")[-1] == {"ids": [approval_id], "reason": "expired"}
    with pytest.raises(Gone):  # and never retried
        await h.service.decide(approval_id, "approve")


# ------------------------------------------------------------- refusals, no hangs


async def test_unresolvable_chat_is_declined_not_left_hanging(h: Harness) -> None:
    no_chat = {k: v for k, v in COMMAND_PARAMS.items() if k != "threadId"}
    await h.request(CMD, no_chat, request_id=1)
    elicitation = {k: v for k, v in MCP_TOOL_PARAMS.items() if k not in ("threadId", "turnId")}
    await h.request(MCP, elicitation, request_id=2)
    perms = {k: v for k, v in PERMISSIONS_PARAMS.items() if k != "threadId"}
    await h.request(PERMS, perms, request_id=3)

    assert h.child.results() == [
        {"decision": "decline"},
        {"action": "decline"},
        {"permissions": {}, "scope": "turn"},
    ]
    assert h.service.all_open() == []
    assert h.events.items == []


async def test_chat_resolved_from_turn_when_thread_missing(tmp_path: Path) -> None:
    h = make_harness(tmp_path, turns={TURN: THREAD})
    no_thread = {k: v for k, v in COMMAND_PARAMS.items() if k != "threadId"}
    await h.request(CMD, no_thread)
    assert len(h.service.open_for_chat(THREAD)) == 1


async def test_user_input_request_is_answered_empty_and_unknown_is_rejected(h: Harness) -> None:
    await h.request(
        "item/tool/requestUserInput",
        {"threadId": THREAD, "turnId": TURN, "itemId": "q1", "questions": [], "isBlocking": True},
        request_id=1,
    )
    unknown = await h.request("item/tool/call", {"threadId": THREAD}, request_id=2)

    assert h.child.results() == [{"answers": {}}]
    assert h.child.rejected == [unknown]
    assert h.service.all_open() == []


async def test_too_many_open_approvals_declines_new_ones(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("codexremote.approvals.service.MAX_OPEN_APPROVALS", 3)
    for request_id in range(4):
        await h.request(CMD, COMMAND_PARAMS, request_id=request_id)
    assert len(h.service.all_open()) == 3
    assert h.child.results() == [{"decision": "decline"}]


# ------------------------------------------------------------------ session allow


async def test_allow_for_session_auto_accepts_later_approvals_of_the_chat(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS, request_id=1)
    await h.service.decide(only_open_id(h), "allow_for_session")

    await h.request(CMD, dict(COMMAND_PARAMS, command="npm test"), request_id=2)
    await h.request(PATCH, FILE_CHANGE_PARAMS, request_id=3)
    await h.request(CMD, dict(COMMAND_PARAMS, threadId=OTHER_THREAD), request_id=4)

    assert h.service.open_for_chat(THREAD) == []
    assert len(h.service.open_for_chat(OTHER_THREAD)) == 1  # another chat still asks
    assert h.child.results() == [{"decision": "acceptForSession"}] * 3
    auto = h.events.named("approval_auto_accepted")
    assert [payload["kind"] for payload in auto] == ["command", "fileChange"]
    assert auto[0]["summary"].startswith("npm test")
    assert auto[0]["matchedAllow"] == {"scope": "session", "scopeKey": None, "wholeChat": True}
    assert auto[0]["status"] == "auto_accepted"
    rows = h.service.auto_accepted(THREAD)
    assert [row.approval.kind for row in rows] == ["command", "fileChange"]
    assert rows[0].to_wire()["matchedAllow"]["wholeChat"] is True
    assert h.service.session_allows(THREAD) == {"wholeChat": True, "scopeKeys": []}
    # Auto-accepted requests were never shown, so nothing is cleared for them.
    assert len(h.events.named("approval_cleared")) == 1


async def test_whole_chat_allow_does_not_cover_real_elicitations_or_scoped_tools(
    h: Harness,
) -> None:
    await h.request(CMD, COMMAND_PARAMS, request_id=1)
    await h.service.decide(only_open_id(h), "allow_for_session")

    await h.request(MCP, MCP_ELICITATION_PARAMS, request_id=2)
    await h.request(MCP, MCP_TOOL_PARAMS, request_id=3)

    assert {a.mode for a in h.service.open_for_chat(THREAD)} == {"mcp_elicitation"}
    assert len(h.service.open_for_chat(THREAD)) == 2


async def test_mcp_session_allow_is_scoped_by_fingerprint(h: Harness) -> None:
    await h.request(MCP, mcp_tool_params("touch"), request_id=1)
    await h.service.decide(only_open_id(h), "allow_for_session")
    assert h.child.results()[0] == {
        "action": "accept",
        "content": {},
        "_meta": {"persist": "session"},
    }

    await h.request(MCP, mcp_tool_params("touch"), request_id=2)  # same tool: auto
    await h.request(MCP, mcp_tool_params("remove"), request_id=3)  # other tool: asks
    await h.request(CMD, COMMAND_PARAMS, request_id=4)  # scoped allow is not whole chat

    assert [a.method for a in h.service.open_for_chat(THREAD)] == [CMD, MCP]
    [auto] = h.events.named("approval_auto_accepted")
    assert auto["matchedAllow"] == {
        "scope": "session",
        "scopeKey": "mcp:demo:touch",
        "wholeChat": False,
    }
    assert h.service.session_allows(THREAD)["scopeKeys"] == ["mcp:demo:touch"]


async def test_allow_for_session_also_answers_matching_open_approvals(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS, request_id=1)
    await h.request(PATCH, FILE_CHANGE_PARAMS, request_id=2)
    await h.request(CMD, dict(COMMAND_PARAMS, threadId=OTHER_THREAD), request_id=3)
    newest = h.service.newest_for_chat(THREAD)
    assert newest is not None and newest.kind == "fileChange"

    await h.service.decide(newest.id, "allow_for_session")

    assert h.service.open_for_chat(THREAD) == []
    assert len(h.service.open_for_chat(OTHER_THREAD)) == 1
    assert len(h.child.answers) == 2
    cleared_ids = [p["ids"][0] for p in h.events.named("approval_cleared")]
    assert len(cleared_ids) == 2 and newest.id in cleared_ids


# ------------------------------------------------------------------- always allow


async def test_allow_always_persists_and_survives_restart(tmp_path: Path) -> None:
    h = make_harness(tmp_path)
    await h.request(MCP, MCP_TOOL_PARAMS, request_id=1)
    await h.service.decide(only_open_id(h), "allow_always")

    # Never persisted into codex's config: our own list stays the one record (and revocable).
    assert h.child.results() == [{"action": "accept", "content": {}}]
    prefs = tmp_path / "approval-preferences.json"
    assert stat.S_IMODE(prefs.stat().st_mode) == 0o600
    assert h.store.list()[0].scope_key == "mcp:demo:touch"

    # A new process: fresh store and service over the same state directory.
    restarted = make_harness(tmp_path)
    await restarted.request(MCP, dict(MCP_TOOL_PARAMS, threadId=OTHER_THREAD), request_id=1)

    assert restarted.service.all_open() == []
    assert restarted.child.results() == [{"action": "accept", "content": {}}]
    [auto] = restarted.events.named("approval_auto_accepted")
    assert auto["matchedAllow"] == {
        "scope": "always",
        "scopeKey": "mcp:demo:touch",
        "wholeChat": False,
    }
    assert restarted.service.auto_accepted(OTHER_THREAD)[0].matched.scope == "always"

    # Forget (e.g. `codexremote approvals forget` from another terminal): asks again.
    assert restarted.store.forget("mcp:demo:touch") is True
    await restarted.request(MCP, MCP_TOOL_PARAMS, request_id=2)
    assert len(restarted.service.open_for_chat(THREAD)) == 1


async def test_always_allow_forgotten_by_another_store_takes_effect(tmp_path: Path) -> None:
    from codexremote.approvals import AlwaysAllowStore

    h = make_harness(tmp_path)
    await h.request(MCP, MCP_TOOL_PARAMS, request_id=1)
    await h.service.decide(only_open_id(h), "allow_always")

    assert AlwaysAllowStore(tmp_path).forget("mcp:demo:touch")  # as the CLI does
    await h.request(MCP, MCP_TOOL_PARAMS, request_id=2)

    assert len(h.service.open_for_chat(THREAD)) == 1


async def test_allow_always_answers_open_matching_approvals_in_every_chat(h: Harness) -> None:
    await h.request(MCP, MCP_TOOL_PARAMS, request_id=1)
    await h.request(MCP, dict(MCP_TOOL_PARAMS, threadId=OTHER_THREAD), request_id=2)
    first = h.service.newest_for_chat(THREAD)
    assert first is not None

    await h.service.decide(first.id, "allow_always")

    assert h.service.all_open() == []
    assert [row.matched.scope for row in h.service.auto_accepted(OTHER_THREAD)] == ["always"]


# ---------------------------------------------------------- re-hydration, robustness


async def test_rel06_approval_raised_without_subscriber_is_rehydrated(tmp_path: Path) -> None:
    h = make_harness(tmp_path)
    await h.request(CMD, COMMAND_PARAMS, request_id=1)  # nobody listens: events go nowhere
    await h.request(PATCH, FILE_CHANGE_PARAMS, request_id=2)

    newest = h.service.newest_for_chat(THREAD)
    assert newest is not None and newest.kind == "fileChange"
    assert [a.kind for a in h.service.open_for_chat(THREAD)] == ["fileChange", "command"]
    assert h.service.newest_for_chat(OTHER_THREAD) is None


async def test_publisher_failure_does_not_break_the_decision(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness(tmp_path)
    await h.request(CMD, COMMAND_PARAMS)
    approval_id = only_open_id(h)

    def broken(event: str, chat_id: str, payload: dict[str, object]) -> None:
        raise RuntimeError("stream layer down")

    h.service._publisher = broken
    with caplog.at_level(logging.ERROR):
        await h.service.decide(approval_id, "approve")
    assert h.child.results() == [{"decision": "accept"}]


async def test_cancelled_caller_does_not_cancel_the_answer(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS)
    approval_id = only_open_id(h)
    h.child.delay = 0.02

    task = asyncio.create_task(h.service.decide(approval_id, "approve"))
    await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.05)

    assert h.child.results() == [{"decision": "accept"}]
    assert status_of(h, approval_id) is ApprovalStatus.ANSWERED


async def test_server_request_is_a_frozen_value() -> None:
    req = ServerRequest(1, CMD, {}, 1)
    with pytest.raises(AttributeError):
        req.generation = 2  # type: ignore[misc]


async def test_auto_accept_to_a_gone_child_records_nothing(h: Harness) -> None:
    await h.request(CMD, COMMAND_PARAMS, request_id=1)
    await h.service.decide(only_open_id(h), "allow_for_session")
    h.child.gone = True

    await h.request(CMD, COMMAND_PARAMS, request_id=2)

    assert h.service.auto_accepted(THREAD) == []
    assert h.events.named("approval_auto_accepted") == []
    assert h.service.all_open() == []
