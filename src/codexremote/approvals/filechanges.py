"""What a file-change approval would change: paths and +/- line counts.

``item/fileChange/requestApproval`` carries no paths; app-server announces the
``fileChange`` item (with every path and its diff) in ``item/started`` just
before the request. :class:`FileChangeMemory` keeps the last few such items by
item id so the approval can say "Edit 2 files: a.py (+2 -1), b.py (+0 -3)".

Diff text per change kind (app-server ``FileUpdateChange``): ``add`` carries the
new file's content, ``delete`` the old content, ``update`` a unified diff.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MAX_REMEMBERED_FILE_ITEMS = 256  # fileChange items kept for approvals (oldest dropped)
MAX_FILES_IN_SUMMARY = 5  # file names listed in a summary before "and N more"


@dataclass(frozen=True, slots=True)
class FileStat:
    path: str
    kind: str  # add | delete | update
    additions: int
    deletions: int
    move_path: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "additions": self.additions,
            "deletions": self.deletions,
        }
        if self.move_path:
            wire["movePath"] = self.move_path
        return wire


def count_unified_diff(diff: str) -> tuple[int, int]:
    """Added and removed lines of one file's unified diff (headers skipped)."""
    additions = deletions = 0
    in_hunk = False
    for line in diff.splitlines():
        if line.startswith("@@"):
            in_hunk = True
        elif not in_hunk:
            continue  # "diff --git", "---", "+++", "index" headers before the first hunk
        elif line.startswith("+"):
            additions += 1
        elif line.startswith("-"):
            deletions += 1
    if not in_hunk:  # a bare diff body without hunk headers
        for line in diff.splitlines():
            if line.startswith(("+++", "---")):
                continue
            if line.startswith("+"):
                additions += 1
            elif line.startswith("-"):
                deletions += 1
    return additions, deletions


def file_stat(path: str, kind: str, diff: str, move_path: str | None = None) -> FileStat:
    if kind == "add":
        return FileStat(path, kind, len(diff.splitlines()), 0)
    if kind == "delete":
        return FileStat(path, kind, 0, len(diff.splitlines()))
    additions, deletions = count_unified_diff(diff)
    return FileStat(path, "update", additions, deletions, move_path)


def stats_from_item_changes(changes: Any) -> list[FileStat]:
    """Stats from a v2 ``fileChange`` item's ``changes`` list (bad entries skipped)."""
    stats: list[FileStat] = []
    if not isinstance(changes, list):
        return stats
    for change in changes:
        if not isinstance(change, dict) or not isinstance(change.get("path"), str):
            continue
        kind_obj = change.get("kind")
        kind = kind_obj.get("type") if isinstance(kind_obj, dict) else kind_obj
        move_path = kind_obj.get("move_path") if isinstance(kind_obj, dict) else None
        diff = change.get("diff")
        stats.append(
            file_stat(
                change["path"],
                kind if isinstance(kind, str) else "update",
                diff if isinstance(diff, str) else "",
                move_path if isinstance(move_path, str) else None,
            )
        )
    return stats


def stats_from_legacy_changes(file_changes: Any) -> list[FileStat]:
    """Stats from legacy ``applyPatchApproval`` ``fileChanges`` (path -> change)."""
    stats: list[FileStat] = []
    if not isinstance(file_changes, dict):
        return stats
    for path, change in file_changes.items():
        if not isinstance(path, str) or not isinstance(change, dict):
            continue
        kind = change.get("type")
        if kind in ("add", "delete"):
            content = change.get("content")
            stats.append(file_stat(path, kind, content if isinstance(content, str) else ""))
        else:
            diff = change.get("unified_diff")
            move_path = change.get("move_path")
            stats.append(
                file_stat(
                    path,
                    "update",
                    diff if isinstance(diff, str) else "",
                    move_path if isinstance(move_path, str) else None,
                )
            )
    return stats


def display_names(paths: list[str]) -> list[str]:
    """Short names: absolute paths relative to their common directory."""
    if not paths or not all(os.path.isabs(path) for path in paths):
        return list(paths)
    try:
        base = os.path.commonpath([os.path.dirname(path) for path in paths])
    except ValueError:
        return list(paths)
    return [os.path.relpath(path, base) for path in paths]


def edit_summary(stats: list[FileStat]) -> str:
    """``Edit 2 files: a.py (+2 -1), b.py (+0 -3)``."""
    names = display_names([stat.path for stat in stats])
    shown = [
        f"{name} (+{stat.additions} -{stat.deletions})"
        for name, stat in zip(names, stats, strict=True)
    ][:MAX_FILES_IN_SUMMARY]
    rest = len(stats) - len(shown)
    noun = "file" if len(stats) == 1 else "files"
    text = f"Edit {len(stats)} {noun}: " + ", ".join(shown)
    if rest > 0:
        text += f" and {rest} more"
    return text


class FileChangeMemory:
    """The most recent ``fileChange`` items, by item id (bounded, oldest dropped)."""

    def __init__(self, limit: int = MAX_REMEMBERED_FILE_ITEMS) -> None:
        self._limit = limit
        self._items: OrderedDict[str, list[FileStat]] = OrderedDict()

    def remember(self, item: Any) -> None:
        if not isinstance(item, dict) or item.get("type") != "fileChange":
            return
        item_id = item.get("id")
        if not isinstance(item_id, str):
            return
        self._items[item_id] = stats_from_item_changes(item.get("changes"))
        self._items.move_to_end(item_id)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def get(self, item_id: Any) -> list[FileStat] | None:
        if not isinstance(item_id, str):
            return None
        return self._items.get(item_id)

    def __len__(self) -> int:
        return len(self._items)
