"""Chat history from codex rollout files (wire-api 7).

Public API (see ``docs/history.md``):

* ``HistoryService`` (``timeline``, ``messages``, ``page``) in ``history.timeline``;
* ``LiveActivities`` in ``history.live``;
* ``RolloutLocator`` / ``find_rollout`` in ``history.locate``;
* the wire models in ``history.models``.
"""

from codexremote.history.live import LiveActivities
from codexremote.history.locate import RolloutLocator, find_rollout, validate_chat_id
from codexremote.history.models import (
    Activity,
    HistoryNotes,
    HistoryPage,
    Message,
    PageActivity,
    PageMessage,
    Timeline,
)
from codexremote.history.timeline import HistoryService

__all__ = [
    "Activity",
    "HistoryNotes",
    "HistoryPage",
    "HistoryService",
    "LiveActivities",
    "Message",
    "PageActivity",
    "PageMessage",
    "RolloutLocator",
    "Timeline",
    "find_rollout",
    "validate_chat_id",
]
