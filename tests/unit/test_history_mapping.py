"""Rollout records -> messages and activities (wire-api 7.2, 7.3) on crafted and real rollouts."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from codexremote.history import HistoryService, LiveActivities, Timeline
from codexremote.history.facts import humanise, mcp_title, parse_patch
from codexremote.history.mapping import forward_items
from codexremote.history.reader import ReadStats, iter_forward
from tests.unit.test_history_support import CHAT, FIXTURES, Rollout, session_path

REAL_CHAT = "01a21439-23b7-79d0-ae2d-6740db815ba4"


async def load(tmp_path: Path, fixture: str, chat: str = CHAT) -> Timeline:
    target = session_path(tmp_path, chat)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / fixture, target)
    return await HistoryService(tmp_path, LiveActivities()).timeline(chat)


def wire(timeline: Timeline) -> dict[str, Any]:
    return timeline.to_wire()


async def test_all_kinds_messages(tmp_path: Path) -> None:
    data = wire(await load(tmp_path, "all_kinds.jsonl"))
    assert "notes" not in data
    assert data["messages"] == [
        # item_completed/UserMessage (0.169.0); the response_item user lines are context, unused
        {"id": f"{CHAT}:user:7", "role": "user", "text": "Fix the build", "createdAt": 1773011047},
        # AgentMessage twin on line 8 is ignored: the response_item on line 9 is the message
        {"id": f"{CHAT}:assistant:9", "role": "assistant", "text": "Looking at the logs.",
         "createdAt": 1773011049, "phase": "commentary"},
        # unknown phase (line 27) skipped, blank text (28) skipped; parts joined by a blank line
        {"id": f"{CHAT}:assistant:29", "role": "assistant", "text": "Done.\n\nBuild is green.",
         "createdAt": 1773011060, "phase": "final_answer", "workedDurationSeconds": 13},
        # user_message (33) + UserMessage twin (34): one message, the newer record kept, untrimmed
        {"id": f"{CHAT}:user:34", "role": "user", "text": "  and the tests?  ",
         "createdAt": 1773011100},
        # blank user_message (36) ignored; phase-less assistant keeps no phase
        {"id": f"{CHAT}:assistant:37", "role": "assistant", "text": "Tests pass too.",
         "createdAt": 1773011103},
    ]  # fmt: skip


async def test_all_kinds_activities(tmp_path: Path) -> None:
    cards = {a["id"]: a for a in wire(await load(tmp_path, "all_kinds.jsonl"))["activities"]}
    done = {"state": "completed"}
    assert cards["call_ws:search:1"] == {
        "id": "call_ws:search:1", "itemId": "call_ws:search:1", "kind": "exploring",
        "title": "Searched web for python asyncio to_thread", "createdAt": 1773011050,
        "updatedAt": 1773011050, **done}  # fmt: skip
    assert cards["call_ws:search:2"]["title"] == "Searched web for pytest timeout"
    assert cards["ws_9:search:1"]["title"] == "Searched web for codex rollout format"
    assert cards["call_mcp1"]["title"] == (
        "Called Search OpenAI Docs tool from OpenAI Developer Docs MCP"
    )
    assert cards["call_mcp1"]["kind"] == "running_command"
    assert cards["call_mcp2"]["title"] == "Called Echo tool from Demo MCP"
    assert cards["call_7:1:src/a.py"] == {
        "id": "call_7:1:src/a.py", "itemId": "call_7:src/a.py", "kind": "file_edited",
        "title": "Edited", "detail": "a.py", "createdAt": 1773011055, "updatedAt": 1773011055,
        "filePath": "src/a.py", "additions": 2, "deletions": 1, **done}  # fmt: skip
    added = cards["call_7:2:docs/new.md"]
    assert (added["detail"], added["additions"]) == ("Added file", 3)
    deleted = cards["call_7:3:old/legacy.py"]
    assert (deleted["detail"], deleted["additions"], deleted["deletions"]) == ("Deleted file", 0, 0)
    moved = cards["call_7:4:src/b.py"]
    assert (moved["detail"], moved["additions"], moved["deletions"]) == ("Moved to src/c.py", 1, 1)
    assert cards["call_poll"] == {
        "id": "call_poll", "itemId": "call_poll", "kind": "background_terminal",
        "title": "Background terminal finished", "detail": "Exit code 3",
        "commandPreview": "npm run dev", "createdAt": 1773011058, "updatedAt": 1773011058,
        **done}  # fmt: skip
    compactions = [a for a in cards.values() if a["kind"] == "context_compacted"]
    assert compactions == [{
        "id": "context_compacted:2026-03-08T23:04:19.000Z",
        "itemId": "context_compacted:2026-03-08T23:04:19.000Z", "kind": "context_compacted",
        "title": "Context automatically compacted", "createdAt": 1773011059,
        "updatedAt": 1773011059, **done}]  # fmt: skip
    # plain exec_command calls (call_exec, call_ls) produce no rollout card
    assert len(cards) == 11


async def test_all_kinds_activities_sorted_by_created_then_id(tmp_path: Path) -> None:
    cards = wire(await load(tmp_path, "all_kinds.jsonl"))["activities"]
    assert cards == sorted(cards, key=lambda a: (a["createdAt"], a["id"]))


async def test_real_0_169_0_rollout(tmp_path: Path) -> None:
    """A rollout written by the real codex 0.169.0 (`codex exec` against a fake model)."""
    data = wire(await load(tmp_path, "real_0.169.0_exec.jsonl", REAL_CHAT))
    assert [(m["role"], m["text"], m.get("phase")) for m in data["messages"]] == [
        ("user", "Fix the build", None),
        ("assistant", "Looking around.", "commentary"),
        ("assistant", "All done.", "final_answer"),
    ]
    assert data["messages"][2]["workedDurationSeconds"] == 3
    assert [(a["kind"], a["title"]) for a in data["activities"]] == [
        ("exploring", "Searched web for python asyncio"),
        ("file_edited", "Edited"),
        ("background_terminal", "Background terminal finished"),
    ]
    assert data["activities"][2]["commandPreview"] == "sleep 2; echo done"


async def test_legacy_user_message_records(tmp_path: Path) -> None:
    data = wire(await load(tmp_path, "legacy_user_message.jsonl"))
    assert [(m["id"].split(":", 1)[1], m["text"]) for m in data["messages"]] == [
        ("user:3", "hello"),
        ("assistant:4", "Hi!"),
        ("user:6", "again"),
        ("assistant:7", "Sure."),
    ]
    assert data["messages"][3]["workedDurationSeconds"] == 5


def items_of(roll: Rollout, tmp_path: Path) -> list[dict[str, Any]]:
    path = roll.write(tmp_path / "r.jsonl")
    items = forward_items(iter_forward(path, ReadStats()), "T", now=42)
    return [i.model_dump(exclude_none=True) for i in items]


def test_worked_duration_only_when_positive(tmp_path: Path) -> None:
    roll = Rollout()
    roll.assistant("no user before", "final_answer")
    roll.user("go")
    roll.assistant("same second", "final_answer")
    roll.tick(65)
    roll.assistant("later", "final_answer")
    finals = [i for i in items_of(roll, tmp_path) if i.get("phase") == "final_answer"]
    assert [f.get("workedDurationSeconds") for f in finals] == [None, None, 65]


def test_missing_timestamp_uses_now(tmp_path: Path) -> None:
    roll = Rollout()
    roll.record("event_msg", {"type": "user_message", "message": "hi"}, ts=None)
    roll.record("event_msg", {"type": "user_message", "message": "ho"}, ts=None)
    roll.lines[1] = roll.lines[1].replace('"ordinal"', '"timestamp":"not a date","ordinal"')
    assert [i["createdAt"] for i in items_of(roll, tmp_path)] == [42, 42]


def test_compaction_without_timestamp_uses_line(tmp_path: Path) -> None:
    roll = Rollout()
    roll.record("compacted", {"message": "s"}, ts=None)
    assert [i["id"] for i in items_of(roll, tmp_path)] == ["context_compacted:line_1"]


def test_user_twins_pair_only_across_kinds(tmp_path: Path) -> None:
    roll = Rollout()
    roll.user("again", "item")
    roll.user("again", "item")  # same kind: a real repeat, kept
    roll.user("x", "both")  # twins: one message
    roll.user("x", "event")  # alternating kinds pair from the newest: still two messages
    texts = [i["text"] for i in items_of(roll, tmp_path)]
    assert texts == ["again", "again", "x", "x"]


def test_background_terminal_needs_write_stdin_and_exec_session(tmp_path: Path) -> None:
    roll = Rollout()
    roll.exec_command("make watch", session=7)
    roll.write_stdin(7, exit_code=None)  # still running: no card, and not an exec session
    roll.write_stdin(7, exit_code=1)
    roll.write_stdin(8, exit_code=0)  # unknown session: card without preview
    roll.exec_command("true")  # an exec that exits is not a background terminal
    cards = [i for i in items_of(roll, tmp_path) if i.get("kind") == "background_terminal"]
    assert [(c["detail"], c.get("commandPreview")) for c in cards] == [
        ("Exit code 1", "make watch"),
        ("Exit code 0", None),
    ]


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("mcp__openaiDeveloperDocs__search_openai_docs",
         "Called Search OpenAI Docs tool from OpenAI Developer Docs MCP"),
        ("mcp__github__create_pull_request", "Called Create Pull Request tool from Github MCP"),
        ("mcp__figma_mcp__get-url", "Called Get URL tool from Figma MCP"),
        ("mcp__my_api__gptSummary", "Called GPT Summary tool from My API MCP"),
        ("mcp__HTTPServer__fetch", "Called Fetch tool from HTTP Server MCP"),
        ("mcp__x", None),
        ("exec_command", None),
        ("mcp____tool", None),
    ],
)  # fmt: skip
def test_mcp_titles(name: str, title: str | None) -> None:
    assert mcp_title(name) == title


def test_humanise_words() -> None:
    assert humanise("openaiDeveloperDocs") == ["OpenAI", "Developer", "Docs"]
    assert humanise("search_openai-docs") == ["Search", "OpenAI", "Docs"]


def test_patch_counts() -> None:
    patch = (
        "*** Begin Patch\n*** Update File: a.py\n@@ x\n-a\n+b\n+c\n*** Add File: n.txt\n+1\n"
        "*** Delete File: d.txt\n*** Update File: m.py\n*** Move to: z/m2.py\n--- a\n+++ b\n-q\n"
        "*** End of File\n*** End Patch\n"
    )
    files = [(f.path, f.detail, f.additions, f.deletions) for f in parse_patch(patch)]
    assert files == [
        ("a.py", None, 2, 1),
        ("n.txt", "Added file", 1, 0),
        ("d.txt", "Deleted file", 0, 0),
        ("m.py", "Moved to z/m2.py", 0, 1),
    ]
