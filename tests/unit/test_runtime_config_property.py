"""T15 property test: over generated config.toml files only the target key's line changes."""

from __future__ import annotations

import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from codexremote.runtime_config.models import APPROVAL_POLICIES, SANDBOX_MODES
from codexremote.runtime_config.toml_edit import set_top_level_strings
from tests.unit.test_runtime_config_support import assert_surgical

TARGETS = ("approval_policy", "sandbox_mode")
SAFE_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N"), include_characters=" -_./:,é"),
    max_size=12,
)
SPACES = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def scalar(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["int", "bool", "basic", "literal", "array", "inline", "multi"]))
    text = draw(SAFE_TEXT)
    if kind == "int":
        return str(draw(st.integers(-1000, 1000)))
    if kind == "bool":
        return draw(st.sampled_from(["true", "false"]))
    if kind == "basic":
        return f'"{text}"'
    if kind == "literal":
        return f"'{text}'"
    if kind == "array":
        return "[" + ", ".join(f'"{item}"' for item in draw(st.lists(SAFE_TEXT, max_size=3))) + "]"
    if kind == "inline":
        return f'{{ a = "{text}", b = {{ c = 1 }} }}'
    # a multi-line string whose lines look like a target key and a table header
    return '"""\napproval_policy = "never"\n[fake.table]\nsandbox_mode = \'x\'\n"""'


@st.composite
def target_line(draw: st.DrawFn, key: str) -> str:
    name = draw(st.sampled_from([key, f'"{key}"']))
    value = draw(st.sampled_from([*APPROVAL_POLICIES, *SANDBOX_MODES, "custom"]))
    quote = draw(st.sampled_from(['"', "'"]))
    comment = draw(st.one_of(st.just(""), SAFE_TEXT.map(lambda c: f"# {c}")))
    gap = draw(SPACES) if comment else ""
    return f"{draw(SPACES)}{name}{draw(SPACES)}={draw(SPACES)}{quote}{value}{quote}{gap}{comment}"


@st.composite
def config_file(draw: st.DrawFn) -> str:
    lines: list[str] = []
    counter = 0

    def fresh(prefix: str) -> str:
        nonlocal counter
        counter += 1
        return f"{prefix}{counter}"

    present = draw(st.sets(st.sampled_from(TARGETS)))
    top = draw(st.lists(st.sampled_from(["comment", "blank", "kv", "dotted"]), max_size=8))
    top += list(present)
    top = draw(st.permutations(top))
    for kind in top:
        if kind == "comment":
            lines.append(f"{draw(SPACES)}# {draw(SAFE_TEXT)}")
        elif kind == "blank":
            lines.append(draw(SPACES))
        elif kind == "kv":
            lines.append(f"{draw(SPACES)}{fresh('k')} = {draw(scalar())}")
        elif kind == "dotted":
            lines.append(f"{fresh('d')}.inner = {draw(scalar())}")
        else:
            lines.append(draw(target_line(kind)))
    for _ in range(draw(st.integers(0, 4))):
        header = draw(st.sampled_from(["[{}]", "[profiles.{}]", "[mcp_servers.{}]", "[[aot]]"]))
        lines.append(header.format(fresh("t")))
        kinds = draw(st.lists(st.sampled_from(["comment", "blank", "kv", "target"]), max_size=4))
        for kind in kinds:
            if kind == "comment":
                lines.append(f"# {draw(SAFE_TEXT)}")
            elif kind == "blank":
                lines.append("")
            elif kind == "kv":
                lines.append(f"{fresh('k')} = {draw(scalar())}")
        if "target" in kinds:  # target-named keys inside a table must never change
            lines.append(f'{draw(st.sampled_from(TARGETS))} = "in-table"')
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines)
    if lines and draw(st.booleans()):
        text += newline
    tomllib.loads(text)  # valid by construction
    return text


@settings(max_examples=300, deadline=None)
@given(
    text=config_file(),
    key=st.sampled_from(TARGETS),
    data=st.data(),
)
def test_rel09_property_only_target_key_changes(text: str, key: str, data: st.DataObject) -> None:
    values = APPROVAL_POLICIES if key == "approval_policy" else SANDBOX_MODES
    value = data.draw(st.sampled_from([v for v in values if v != "untrusted"]))
    result = set_top_level_strings(text, {key: value})
    assert tomllib.loads(result)[key] == value
    assert_surgical(text, result, key, value)
