"""Helpers shared by the runtime_config tests: a line-diff check and a corpus; no tests here."""

from __future__ import annotations

import difflib
import re
import tomllib
from typing import Any

_LINE_BREAK = re.compile(r"\r?\n")


def lines(text: str) -> list[str]:
    return _LINE_BREAK.split(text)


def assert_surgical(old: str, new: str, key: str, value: str) -> None:
    """``new`` is ``old`` with only ``key`` set at top level: one line changed or one added.

    Also: every other value parses the same, line endings keep their style and the
    presence/absence of the final newline is unchanged.
    """
    before: dict[str, Any] = tomllib.loads(old)
    after: dict[str, Any] = tomllib.loads(new)
    assert after == {**before, key: value}
    if before.get(key) == value:
        assert new == old
        return
    ops = [
        op
        for op in difflib.SequenceMatcher(
            None, lines(old), lines(new), autojunk=False
        ).get_opcodes()
        if op[0] != "equal"
    ]
    assert len(ops) == 1, ops
    tag, i1, i2, j1, j2 = ops[0]
    old_lines, new_lines = lines(old), lines(new)
    if key in before:
        assert (tag, i2 - i1, j2 - j1) == ("replace", 1, 1), ops
        old_line, new_line = old_lines[i1], new_lines[j1]
        # the key part and anything after the value (a trailing comment) are kept
        assert new_line.startswith(old_line.split("=", 1)[0])
        if "#" in old_line:
            assert new_line.endswith(old_line[old_line.rindex("#") :])
    else:
        assert (tag, i2 - i1, j2 - j1) == ("insert", 0, 1), ops
        assert new_lines[j1] == f'{key} = "{value}"'
    if old:
        assert new.endswith("\n") == old.endswith("\n")
    crlf = old.count("\r\n")
    if crlf > old.count("\n") - crlf:  # a CRLF file gets no bare LF
        assert new.count("\n") - new.count("\r\n") == old.count("\n") - crlf
    else:  # and an LF file no CRLF
        assert new.count("\r\n") == crlf


# Real-looking config.toml files (comments, tables, profiles, MCP servers, odd formatting).
CORPUS: dict[str, str] = {
    "typical": """\
# Codex configuration
model = "gpt-5-codex"
model_reasoning_effort = "high"
approval_policy = "on-request"
sandbox_mode = "workspace-write"

[projects."/Users/me/work/app"]
trust_level = "trusted"

[profiles.fast]
model = "gpt-5-mini"
approval_policy = "never"

[mcp_servers.docs]
command = "npx"
args = ["-y", "@acme/docs-mcp", "--port", "0"]
env = { "DOCS_TOKEN" = "x", DEBUG = "1" }
""",
    "trailing_comment_single_quotes": """\
model = 'o3'   # literal string
approval_policy = 'on-request'  # keep this comment
sandbox_mode = 'read-only' # and this one

[features]
plugins = false # trailing
""",
    "crlf": (
        '# windows editor\r\nmodel = "gpt-5"\r\napproval_policy = "never"\r\n\r\n'
        '[mcp_servers.fs]\r\ncommand = "mcp-fs"\r\nargs = [\r\n  "--root",\r\n  "C:/src",\r\n]\r\n'
    ),
    "no_final_newline": (
        'model = "gpt-5"\napproval_policy = "on-failure"\nsandbox_mode = "read-only"'
    ),
    "keys_absent_tables_only": """\
# Only tables here; runtime keys come from defaults.

[features]
plugins = false
remote_plugin = false

[model_providers.local]
name = "Local"
base_url = "http://127.0.0.1:8080/v1"
wire_api = "responses"
""",
    "empty": "",
    "comments_only": "# nothing configured yet\n# see docs\n",
    "dotted_and_multiline": '''\
model = "gpt-5"
notice = """
approval_policy = "never"
[not.a.table]
"""
tui.notifications = true
history.persistence = "save-all"
approval_policy = "untrusted-by-hand-later"

[[skills.extra]]
path = "/opt/skills"

[[skills.extra]]
path = "/home/me/skills"
''',
    "inline_tables_and_arrays_no_newline": """\
approval_policy = { granular = { sandbox_approval = true, rules = false } }
[mcp_servers.search]
command = "search-mcp"
args = ["--index", "/tmp/idx"]
env = { A = "1", B = { nested = false } }
startup_timeout_sec = 20""",
    "odd_spacing_quoted_keys": """\
\tmodel="gpt-5"
  "sandbox_mode"   =   'danger-full-access'
approval_policy="on-request"#no space before comment
[shell_environment_policy]
inherit = "core"
exclude = [ "AWS_*", "AZURE_*" ]
""",
    "tables_first_no_final_newline": "[features]\nplugins = false",
    "crlf_no_final_newline_key_absent": (
        '# header\r\nmodel = "x"\r\n\r\n[features]\r\nplugins = false'
    ),
}
