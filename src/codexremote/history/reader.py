"""Tolerant JSONL reading of rollout files, forwards and backwards (REL-10).

Rules shared by both directions:

* only complete lines (ending in ``\\n``) are parsed; a partial last line is
  left for a later read (codex may be in the middle of writing it);
* blank lines are skipped; non-JSON lines and lines that are not JSON objects
  are skipped and counted as malformed;
* a line longer than ``MAX_LINE_BYTES`` is skipped and counted without ever
  holding more than about ``MAX_LINE_BYTES`` + one block of it in memory;
* a file that grows while being read is fine (each read works on the size seen
  when it started); a file that shrinks or is replaced is reported through
  ``ReadStats.truncated``.

Forward reads stream the file in ``FORWARD_CHUNK_BYTES`` chunks and know line
numbers. Backward reads (``iter_backward``) start at a byte offset and walk
towards the start in ``BACKWARD_BLOCK_BYTES`` blocks, so the newest records of
a 500 MB rollout cost the same as those of a 1 MB one; line numbers are unknown
there, so records carry their byte offsets, which are stable while the file
only grows.

The functions here block; callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# A single rollout line above this is skipped (REL-10 per-line cap). Real lines
# hold command output capped by codex (~10k tokens) or an apply_patch input; 8 MiB
# is far above both and bounds the memory one line can take.
MAX_LINE_BYTES = 8 * 1024 * 1024

# Read size of the forward reader: large enough for few syscalls, small enough
# that nothing close to the whole file is ever held in one string.
FORWARD_CHUNK_BYTES = 1024 * 1024

# Block size of the backward reader: the newest page typically needs a few blocks.
BACKWARD_BLOCK_BYTES = 64 * 1024

# Chunk size when only counting newlines of a skipped prefix.
COUNT_CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One parsed rollout line.

    ``offset`` is the byte offset of the line's first byte, ``end`` the offset
    just after its newline; ``line`` is the 1-based line number (blank lines
    count) or ``None`` when the record was read backwards.
    """

    offset: int
    end: int
    line: int | None
    data: dict[str, Any]


@dataclass(slots=True)
class ReadStats:
    """What a read skipped or noticed (feeds ``HistoryNotes``)."""

    records: int = 0
    blank_lines: int = 0
    malformed_lines: int = 0
    oversized_lines: int = 0
    partial_tail: bool = False
    truncated: bool = False
    bytes_scanned: int = 0

    @property
    def skipped_lines(self) -> int:
        """Lines with content that could not be used (blank lines are not counted)."""
        return self.malformed_lines + self.oversized_lines


def parse_line(raw: bytes, stats: ReadStats) -> dict[str, Any] | None:
    """Parse one complete line (without its newline); count what is skipped."""
    if not raw.strip():
        stats.blank_lines += 1
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        stats.malformed_lines += 1
        return None
    if not isinstance(value, dict):
        stats.malformed_lines += 1
        return None
    stats.records += 1
    return value


@dataclass(slots=True)
class ForwardPosition:
    """Where a forward read stopped: the next unread line starts at ``offset``."""

    offset: int = 0
    next_line: int = 1


def count_lines_before(fd: int, offset: int) -> ForwardPosition:
    """Start position of the first line that begins at or after ``offset``.

    Used to skip a huge prefix without parsing it while keeping line numbers:
    counting newlines runs at memory speed.
    """
    lines = 0
    last_newline_end = 0
    pos = 0
    while pos < offset:
        chunk = os.pread(fd, min(COUNT_CHUNK_BYTES, offset - pos), pos)
        if not chunk:
            break
        lines += chunk.count(b"\n")
        idx = chunk.rfind(b"\n")
        if idx >= 0:
            last_newline_end = pos + idx + 1
        pos += len(chunk)
    return ForwardPosition(offset=last_newline_end, next_line=lines + 1)


def iter_forward(
    path: str | os.PathLike[str],
    stats: ReadStats,
    position: ForwardPosition | None = None,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[RawRecord]:
    """Yield the complete records of ``path`` from ``position`` up to the size seen on open.

    ``position`` (start of file when omitted) is advanced in place past every
    complete line consumed, so a later call can continue where this one stopped;
    a partial last line is left unconsumed.
    """
    pos_out = position if position is not None else ForwardPosition()
    with open(path, "rb") as handle:
        fd = handle.fileno()
        first = os.fstat(fd)
        limit = first.st_size
        if pos_out.offset > limit:
            stats.truncated = True
            return
        pos = pos_out.offset
        line_no = pos_out.next_line
        line_start = pos
        pending = bytearray()
        skipping = False
        while pos < limit:
            chunk = os.pread(fd, min(FORWARD_CHUNK_BYTES, limit - pos), pos)
            if not chunk:
                stats.truncated = True
                break
            chunk_start = pos
            pos += len(chunk)
            stats.bytes_scanned += len(chunk)
            cursor = 0
            while True:
                nl = chunk.find(b"\n", cursor)
                if nl < 0:
                    if not skipping:
                        pending += chunk[cursor:]
                        if len(pending) > max_line_bytes:
                            skipping = True
                            pending = bytearray()
                    break
                end = chunk_start + nl + 1
                if skipping:
                    stats.oversized_lines += 1
                    skipping = False
                else:
                    piece = chunk[cursor:nl]
                    raw = bytes(pending) + piece if pending else piece
                    pending = bytearray()
                    if len(raw) > max_line_bytes:
                        stats.oversized_lines += 1
                    else:
                        data = parse_line(raw, stats)
                        if data is not None:
                            yield RawRecord(line_start, end, line_no, data)
                line_no += 1
                line_start = end
                pos_out.offset, pos_out.next_line = end, line_no
                cursor = nl + 1
        if pending or skipping:
            stats.partial_tail = True
        if _replaced_or_shrunk(path, first, limit):
            stats.truncated = True


def _replaced_or_shrunk(path: str | os.PathLike[str], first: os.stat_result, size: int) -> bool:
    try:
        now = os.stat(path)
    except OSError:
        return True
    return (now.st_dev, now.st_ino) != (first.st_dev, first.st_ino) or now.st_size < size


def iter_backward(
    fd: int,
    end: int,
    stats: ReadStats,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    block_bytes: int = BACKWARD_BLOCK_BYTES,
) -> Iterator[RawRecord]:
    """Yield complete records that end at or before ``end``, newest first.

    If the byte before ``end`` is not a newline, the trailing fragment is a
    partial line: it is not yielded and ``stats.partial_tail`` is set.
    """
    pos = end
    # Bytes of the line currently being assembled, right-most piece first.
    pieces: list[bytes] = []
    pieces_len = 0
    skipping = False  # the current line is oversized: drop its bytes
    in_tail = True  # the current segment is the fragment after the last newline
    seg_end = end  # offset just after the current segment (its newline included)

    def finish_segment(left: bytes, seg_start: int) -> RawRecord | None:
        nonlocal pieces, pieces_len, skipping, in_tail
        too_long = skipping or pieces_len + len(left) > max_line_bytes
        if in_tail:
            if too_long or left or pieces_len:
                stats.partial_tail = True
            result = None
        elif too_long:
            stats.oversized_lines += 1
            result = None
        else:
            raw = left + b"".join(reversed(pieces)) if pieces else left
            data = parse_line(raw, stats)
            result = None if data is None else RawRecord(seg_start, seg_end, None, data)
        pieces, pieces_len, skipping, in_tail = [], 0, False, False
        return result

    while pos > 0:
        start = max(0, pos - block_bytes)
        block = os.pread(fd, pos - start, start)
        if len(block) < pos - start:
            stats.truncated = True
            return
        stats.bytes_scanned += len(block)
        right = len(block)
        while True:
            nl = block.rfind(b"\n", 0, right)
            if nl < 0:
                if not skipping:
                    piece = block[:right]
                    if pieces_len + len(piece) > max_line_bytes:
                        skipping = True
                        pieces, pieces_len = [], 0
                    elif piece:
                        pieces.append(piece)
                        pieces_len += len(piece)
                break
            record = finish_segment(block[nl + 1 : right], start + nl + 1)
            if record is not None:
                yield record
            seg_end = start + nl + 1
            right = nl
        pos = start
    if end > 0:
        record = finish_segment(b"", 0)
        if record is not None:
            yield record
