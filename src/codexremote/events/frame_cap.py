"""Frames no bigger than a client can take (issue 14 A2).

The original iOS app leaves URLSession's WebSocket message limit at its default
(1 MiB): a bigger frame fails the receive, drops the socket, and the app misses
events while it reconnects. Some events are forwarded verbatim and can be far
larger (``turn_diff_updated`` carries the whole turn's diff, a command's
``aggregatedOutput`` can be megabytes). So a socket gets every frame at most
``limit`` bytes long unless it asked for more (``maxFrameBytes``):

* the longest strings of the payload are cut (each keeps its beginning and ends
  with a ``[truncated: N more characters]`` line) until the frame fits;
* the payload gains ``truncated: true`` and ``fullEventPath``, the route that
  answers the whole event while the replay buffer still holds it;
* a payload that cannot be cut to size is replaced by those two members plus its
  small scalar members (ids), so the envelope always decodes.

Everything is additive: the original app ignores unknown members.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from typing import Any

from codexremote.events.bus import StreamEvent

DEFAULT_MAX_FRAME_BYTES = 1024 * 1024  # URLSessionWebSocketTask's default message limit
MIN_MAX_FRAME_BYTES = 64 * 1024  # a client may not ask for frames smaller than this
MAX_MAX_FRAME_BYTES = 64 * 1024 * 1024
# Room left for the markers and the envelope's growth after a cut.
_SLACK_BYTES = 512
_MAX_CUTS = 32
_CACHED_FRAMES = 64  # capped texts kept (the same big event goes to many sockets)


def full_event_path(seq: int) -> str:
    return f"/v1/stream/events/{seq}"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _strings(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[int, tuple[Any, ...]]]:
    """(length, path) of every string in a JSON value."""
    found: list[tuple[int, tuple[Any, ...]]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            found.append((len(node), where))
        elif isinstance(node, dict):
            stack.extend((v, (*where, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(node))
    return found


def _get(root: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        root = root[key]
    return root


def _set(root: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(root, path[:-1])[path[-1]] = value


def _cut(text: str, drop: int) -> str:
    keep = max(0, len(text) - drop)
    return f"{text[:keep]}\n[truncated: {len(text) - keep} more characters]"


def _fallback_payload(payload: Any, seq: int) -> dict[str, Any]:
    small: dict[str, Any] = {}
    if isinstance(payload, dict):
        for key, value in payload.items():
            if (
                isinstance(value, (int, float, bool))
                or value is None
                or (isinstance(value, str) and len(value) <= 256)
            ):
                small[key] = value
    return {**small, "truncated": True, "fullEventPath": full_event_path(seq)}


def capped_text(event: StreamEvent, limit: int | None) -> str:
    """The event's frame, cut to at most ``limit`` bytes as described above."""
    if limit is None or _size(event.encoded) <= limit:
        return event.encoded
    envelope = event.envelope()
    payload = envelope["payload"]
    if isinstance(payload, dict):
        payload = {**payload, "truncated": True, "fullEventPath": full_event_path(event.seq)}
        envelope["payload"] = payload
        for _ in range(_MAX_CUTS):
            text = json.dumps(envelope, separators=(",", ":"))
            overflow = _size(text) - limit
            if overflow <= 0:
                return text
            strings = _strings(payload)
            if not strings:
                break
            length, path = max(strings, key=lambda item: item[0])
            if length <= 1024:
                break  # only small strings left: the size is in the structure itself
            text = _get(payload, path)
            # Escaped characters take more than one byte ("\n" two, "\u00e9" six):
            # cut by the string's own bytes-per-character ratio, plus some slack.
            ratio = len(json.dumps(text)) / max(1, len(text))
            _set(payload, path, _cut(text, math.ceil((overflow + _SLACK_BYTES) / ratio)))
    envelope["payload"] = _fallback_payload(event.payload, event.seq)
    return json.dumps(envelope, separators=(",", ":"))


class FrameCapper:
    """Caches the capped text of recent large events per limit: one big event is
    cut once, however many sockets receive it."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[int, int], str] = OrderedDict()

    def text(self, event: StreamEvent, limit: int | None) -> str:
        if limit is None or len(event.encoded) * 4 <= limit or _size(event.encoded) <= limit:
            return event.encoded
        key = (event.seq, limit)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = capped_text(event, limit)
            while len(self._cache) > _CACHED_FRAMES:
                self._cache.popitem(last=False)
        return cached
