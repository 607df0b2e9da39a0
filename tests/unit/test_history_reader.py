"""Tolerant JSONL reading (REL-10, T16): partial/malformed/oversized lines, growth, truncation."""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexremote.history.reader import (
    MAX_LINE_BYTES,
    ForwardPosition,
    RawRecord,
    ReadStats,
    count_lines_before,
    iter_backward,
    iter_forward,
)


def forward(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> tuple[list[RawRecord], ReadStats]:
    stats = ReadStats()
    return list(iter_forward(path, stats, max_line_bytes=max_line_bytes)), stats


def backward(path: Path, end: int | None = None, **kw: int) -> tuple[list[RawRecord], ReadStats]:
    stats = ReadStats()
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size if end is None else end
        return list(iter_backward(fd, size, stats, **kw)), stats
    finally:
        os.close(fd)


def test_rel10_partial_last_line_not_parsed_until_newline(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"n":1}\n{"n":2}\n{"n":')
    position = ForwardPosition()
    stats = ReadStats()
    assert [r.data for r in iter_forward(path, stats, position)] == [{"n": 1}, {"n": 2}]
    assert stats.partial_tail and stats.malformed_lines == 0
    assert (position.offset, position.next_line) == (16, 3)
    back, bstats = backward(path)
    assert [r.data for r in back] == [{"n": 2}, {"n": 1}] and bstats.partial_tail
    with path.open("ab") as handle:
        handle.write(b"3}\n")
    stats = ReadStats()
    again = list(iter_forward(path, stats, position))
    assert [(r.line, r.offset, r.data) for r in again] == [(3, 16, {"n": 3})]
    assert not stats.partial_tail


def test_rel10_malformed_and_blank_lines_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"a":1}\n\n   \nnot json\n[1,2]\n{"b":\n\xff\xfe\n"str"\n{"c":3}\n')
    records, stats = forward(path)
    assert [(r.line, r.data) for r in records] == [(1, {"a": 1}), (9, {"c": 3})]
    assert (stats.blank_lines, stats.malformed_lines, stats.skipped_lines) == (2, 5, 5)
    back, bstats = backward(path)
    assert [r.data for r in back] == [{"c": 3}, {"a": 1}]
    assert (bstats.blank_lines, bstats.malformed_lines) == (2, 5)


def test_rel10_oversized_line_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    big = json.dumps({"x": "y" * 5000}).encode()
    path.write_bytes(b'{"a":1}\n' + big + b'\n{"b":2}\n' + big)
    records, stats = forward(path, max_line_bytes=1000)
    assert [r.data for r in records] == [{"a": 1}, {"b": 2}]
    assert stats.oversized_lines == 1 and stats.partial_tail
    back, bstats = backward(path, max_line_bytes=1000, block_bytes=700)
    assert [r.data for r in back] == [{"b": 2}, {"a": 1}]
    assert bstats.oversized_lines == 1 and bstats.partial_tail


def test_rel10_huge_line_never_loaded_whole(tmp_path: Path) -> None:
    """A 3x-cap single line is skipped in both directions with memory near the cap."""
    path = tmp_path / "r.jsonl"
    with path.open("wb") as handle:
        handle.write(b'{"a":1}\n{"x":"')
        chunk = b"z" * (1024 * 1024)
        for _ in range(3 * MAX_LINE_BYTES // len(chunk)):
            handle.write(chunk)
        handle.write(b'"}\n{"b":2}\n')
    tracemalloc.start()
    try:
        records, stats = forward(path)
        _, peak_forward = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        back, bstats = backward(path)
        _, peak_backward = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r.data for r in records] == [{"a": 1}, {"b": 2}] and stats.oversized_lines == 1
    assert [r.data for r in back] == [{"b": 2}, {"a": 1}] and bstats.oversized_lines == 1
    limit = 2 * MAX_LINE_BYTES + 4 * 1024 * 1024
    assert peak_forward < limit, peak_forward
    assert peak_backward < limit, peak_backward


def test_rel10_truncation_detected_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"n":1}\n{"n":2}\n')
    position = ForwardPosition()
    list(iter_forward(path, ReadStats(), position))
    path.write_bytes(b'{"n":1}\n')  # shrink
    stats = ReadStats()
    assert list(iter_forward(path, stats, position)) == []
    assert stats.truncated


def test_rel10_replacement_during_read_detected(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"n":1}\n{"n":2}\n')
    stats = ReadStats()
    reader = iter_forward(path, stats)
    assert next(reader).data == {"n": 1}
    replacement = tmp_path / "new.jsonl"
    replacement.write_bytes(b'{"other":true}\n')
    os.replace(replacement, path)
    assert [r.data for r in reader] == [{"n": 2}]  # the open file is read to its end
    assert stats.truncated


def test_t16_writer_with_random_flush_boundaries(tmp_path: Path) -> None:
    """Parsed records == complete records written, while a writer appends in random pieces."""
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"")
    rng = random.Random(16)
    written: list[dict[str, object]] = []
    garbage = 0
    done = threading.Event()

    def writer() -> None:
        nonlocal garbage
        with path.open("ab", buffering=0) as handle:
            for n in range(400):
                if rng.random() < 0.1:
                    line = b'{"broken": \n'
                    garbage += 1
                else:
                    record = {"n": n, "pad": "p" * rng.randint(0, 3000)}
                    written.append(record)
                    line = json.dumps(record).encode() + b"\n"
                while line:
                    cut = rng.randint(1, len(line))
                    handle.write(line[:cut])
                    line = line[cut:]
                    if rng.random() < 0.3:
                        time.sleep(0.0005)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    position = ForwardPosition()
    seen: list[dict[str, object]] = []
    malformed = 0
    while True:
        finished = done.is_set()
        stats = ReadStats()
        seen += [r.data for r in iter_forward(path, stats, position)]
        malformed += stats.malformed_lines
        if finished:
            break
        time.sleep(0.001)
    thread.join()
    assert seen == written
    assert malformed == garbage
    back, bstats = backward(path)
    assert [r.data for r in reversed(back)] == written
    assert bstats.malformed_lines == garbage


def test_count_lines_before(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"a":1}\n\n{"b":2}\n{"c":3}\n')
    fd = os.open(path, os.O_RDONLY)
    try:
        pos = count_lines_before(fd, 12)
    finally:
        os.close(fd)
    assert (pos.offset, pos.next_line) == (9, 3)
    records = list(iter_forward(path, ReadStats(), pos))
    assert [(r.line, r.data) for r in records] == [(3, {"b": 2}), (4, {"c": 3})]


_LINE = st.one_of(
    st.dictionaries(st.sampled_from("abc"), st.integers(), max_size=2).map(json.dumps),
    st.sampled_from(["", " ", "garbage", "[1]", '{"x":', '{"long":"' + "L" * 120 + '"}']),
)


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    lines=st.lists(_LINE, max_size=30),
    tail=st.sampled_from(["", "{", '{"partial":1}']),
    block=st.integers(1, 48),
    cap=st.sampled_from([20, 100, MAX_LINE_BYTES]),
)
def test_rel10_backward_equals_forward_reversed(
    lines: list[str], tail: str, block: int, cap: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.jsonl"
        path.write_text("".join(line + "\n" for line in lines) + tail)
        fwd, fstats = forward(path, max_line_bytes=cap)
        back, bstats = backward(path, max_line_bytes=cap, block_bytes=block)
    assert [(r.offset, r.end, r.data) for r in reversed(back)] == [
        (r.offset, r.end, r.data) for r in fwd
    ]
    for field in ("records", "blank_lines", "malformed_lines", "oversized_lines", "partial_tail"):
        assert getattr(bstats, field) == getattr(fstats, field), field
