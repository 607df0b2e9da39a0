"""Byte-precise edits of top-level string keys in a config.toml text (REL-09).

Why not just ``doc[key] = value; doc.as_string()``: tomlkit would get the value right, but
where it puts a *new* key, which line ending it uses and how it treats a missing final
newline are not under our control, and it re-orders files with split arrays of tables.
Instead tomlkit is used to *locate* things: its render of the top-level region is exactly
the start of the input text, so summing the renders of those items gives every offset.
An existing key then gets only its value token replaced (the key, its spacing and its
trailing comment stay); a new key becomes exactly one new line right after the last
top-level key/value (before the first table; at the start of the file when there is
none), using the file's dominant line ending. The result is checked with
``tomllib``: every value except the edited keys must be unchanged, or nothing is written.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Item, Key, Table

from codexremote.errors import Conflict

PARSE_ERROR_PREFIX = "config.toml does not parse: "


class ConfigParseError(Conflict):
    """config.toml is not valid TOML (or not UTF-8); it is never overwritten."""


@dataclass(frozen=True)
class _Span:
    key: Key
    item: Item
    start: int
    end: int


def parse_config_text(data: bytes) -> tuple[str, dict[str, Any]]:
    """Decode and parse config.toml bytes, raising ConfigParseError with the reason."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigParseError(f"{PARSE_ERROR_PREFIX}not valid UTF-8 ({exc.reason})") from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigParseError(f"{PARSE_ERROR_PREFIX}{exc}") from exc


def set_top_level_strings(text: str, updates: Mapping[str, str]) -> str:
    """Return ``text`` with each top-level ``key = "value"`` of ``updates`` set.

    Values must be plain tokens (the enums of runtime settings); nothing is escaped.
    Raises ConfigParseError for invalid TOML and Conflict when a key cannot be set
    surgically (e.g. it is a table in this file).
    """
    _, before = parse_config_text(text.encode("utf-8"))
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigParseError(f"{PARSE_ERROR_PREFIX}{exc}") from exc
    spans = _top_level_spans(doc, text)

    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), applied back to front
    new_lines: list[str] = []
    for key, value in updates.items():
        _check_token(value)
        span = next((s for s in spans if s.key.key == key), None)
        if span is None and key in before:
            # e.g. ``approval_policy.granular.rules = true`` or a [approval_policy] table
            raise Conflict(f"config.toml: {key} is a table here; edit it by hand")
        if span is not None and before.get(key) == value:
            continue  # already set: keep its quoting as it is
        if span is None:
            new_lines.append(f'{key} = "{value}"')
            continue
        value_start = (
            span.start
            + len(span.item.trivia.indent)
            + len(span.key.as_string())
            + len(span.key.sep)
        )
        value_end = value_start + len(span.item.as_string())
        if text[value_start:value_end] != span.item.as_string():  # pragma: no cover - guard
            raise Conflict("config.toml could not be edited without reformatting it")
        edits.append((value_start, value_end, f'"{value}"'))

    if new_lines:
        at = spans[-1].end if spans else 0
        edits.append((at, at, _insertion(text, at, new_lines)))

    result = text
    for start, end, replacement in sorted(edits, reverse=True):
        result = result[:start] + replacement + result[end:]
    _verify(result, before, updates)
    return result


def _top_level_spans(doc: tomlkit.TOMLDocument, text: str) -> list[_Span]:
    """Offsets of the top-level key/values, which all come before the first table header.

    Only that leading region is rendered (tomlkit re-orders some files with split arrays of
    tables, but never this region); it must equal the start of ``text`` exactly.
    """
    container: Container = doc
    rendered = ""
    spans: list[_Span] = []
    for key, item in container.body:
        start = len(rendered)
        if key is None:
            rendered += item.as_string()
        elif isinstance(item, Table | AoT):
            # the same separator rule as tomlkit's Container.as_string
            tail = rendered.strip(" ")
            if tail and not tail.endswith("\n") and "\n" not in item.trivia.indent:
                rendered += "\n"
            if isinstance(item, AoT):
                break
            piece = container._render_table(key, item)
            if piece.lstrip(" \t\r\n").startswith("["):
                break  # the first table header: the top-level region is over
            rendered += piece  # a dotted top-level key (``a.b = 1``) is a Table too
        else:
            rendered += container._render_simple_item(key, item)
            spans.append(_Span(key, item, start, len(rendered)))
    if not text.startswith(rendered):
        # Never guess: refuse rather than risk changing something we did not mean to.
        raise Conflict("config.toml could not be edited without reformatting it; edit it by hand")
    return spans


def _insertion(text: str, at: int, lines: list[str]) -> str:
    """The text to insert at ``at`` so that ``lines`` become whole lines of the file."""
    newline = _newline_style(text)
    if at == 0 or text[at - 1] == "\n":
        return "".join(line + newline for line in lines)
    # The last top-level item ends the file without a newline: keep it that way.
    return "".join(newline + line for line in lines)


def _newline_style(text: str) -> str:
    """The file's dominant line ending (CRLF only if most line breaks are CRLF)."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf else "\n"


def _check_token(value: str) -> None:
    if not value or any(not (ch.isalnum() or ch in "-_.") for ch in value):
        raise ValueError(f"not a plain token: {value!r}")


def _verify(result: str, before: dict[str, Any], updates: Mapping[str, str]) -> None:
    """Everything but the edited keys must parse to the same values as before."""
    try:
        after = tomllib.loads(result)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - would be a bug in this module
        raise Conflict(f"config.toml edit would not parse ({exc}); nothing written") from exc
    expected = dict(before)
    expected.update(updates)
    if after != expected:  # pragma: no cover - would be a bug in this module
        raise Conflict("config.toml edit would change other values; nothing written")
