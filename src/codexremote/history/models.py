"""Wire models of chat history (wire-api 4.11, 4.12, 7).

Attribute names are the exact wire names (camelCase), so
``model.model_dump(exclude_none=True)`` is the wire shape. The original iOS app
decodes ``kind`` and ``state`` as closed enums (wire-api 1.6): a value outside
them would make the whole timeline fail to decode, hence the ``Literal`` types.
All times are Unix epoch **seconds** (integers).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ActivityKind = Literal[
    "thinking",
    "exploring",
    "running_command",
    "file_edited",
    "context_compacted",
    "background_terminal",
    "reconnecting",
]
ActivityState = Literal["in_progress", "completed"]
Role = Literal["user", "assistant"]
Phase = Literal["commentary", "final_answer"]

# wire-api 7.4: titles by kind and state (index 0 = in_progress, 1 = completed).
TITLES: dict[str, tuple[str, str]] = {
    "thinking": ("Thinking", "Thought through it"),
    "exploring": ("Exploring", "Explored"),
    "running_command": ("Running command", "Command finished"),
    "file_edited": ("Edited", "Edited"),
    "context_compacted": ("Context automatically compacted", "Context automatically compacted"),
    "background_terminal": ("Background terminal running", "Background terminal finished"),
    "reconnecting": ("Reconnecting...", "Reconnected"),
}


def title_for(kind: ActivityKind, state: ActivityState) -> str:
    """The default title of a card (wire-api 7.4)."""
    in_progress, completed = TITLES[kind]
    return in_progress if state == "in_progress" else completed


class Message(BaseModel):
    """A user or assistant chat message."""

    id: str
    role: Role
    text: str
    createdAt: int
    phase: Phase | None = None
    workedDurationSeconds: int | None = None


class Activity(BaseModel):
    """A card in the transcript (command, file edit, compaction, ...)."""

    id: str
    itemId: str
    kind: ActivityKind
    title: str
    createdAt: int
    updatedAt: int
    state: ActivityState
    detail: str | None = None
    commandPreview: str | None = None
    filePath: str | None = None
    additions: int | None = None
    deletions: int | None = None


class HistoryNotes(BaseModel):
    """Why a history answer may be incomplete; every field is omitted when not relevant.

    ``skippedLines``: malformed or oversized rollout lines that were skipped.
    ``rolloutMissing``: no rollout file exists (yet) for the chat.
    ``fileTruncated``: the rollout shrank or was replaced while or since it was read.
    ``omittedBytes``: leading bytes of a very large rollout that the full timeline did not parse.
    """

    skippedLines: int | None = None
    rolloutMissing: bool | None = None
    fileTruncated: bool | None = None
    omittedBytes: int | None = None

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)


class Timeline(BaseModel):
    """The full history of a chat, as the original app's ``timeline`` route returns it."""

    messages: list[Message]
    activities: list[Activity]
    notes: HistoryNotes | None = None

    def to_wire(self) -> dict[str, Any]:
        """The ``data`` payload of ``GET /v1/chats/{id}/timeline``."""
        return self.model_dump(exclude_none=True)


class PageMessage(Message):
    """A message inside a history page."""

    type: Literal["message"] = "message"


class PageActivity(Activity):
    """An activity inside a history page."""

    type: Literal["activity"] = "activity"


PageItem = PageMessage | PageActivity


class HistoryPage(BaseModel):
    """One page of history, newest item first (for our own clients).

    ``nextCursor`` continues towards older history; ``None`` when the start of
    the chat was reached. ``liveActivities`` (first page only) are command cards
    seen on the app-server stream that the rollout does not record.
    """

    items: list[PageMessage | PageActivity] = Field(default_factory=list)
    nextCursor: str | None = None
    notes: HistoryNotes = Field(default_factory=HistoryNotes)
    liveActivities: list[Activity] = Field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        """The ``data`` payload; ``nextCursor`` is always present (``null`` at the end)."""
        wire = self.model_dump(exclude_none=True)
        wire["nextCursor"] = self.nextCursor
        return wire
