"""MCP scope keys ("fingerprints") that session and always allows are stored under.

Format as in wire-api 6.1 so keys written by the original companion keep
working: each name is lower-cased, every run of characters outside ``[a-z0-9]``
becomes ``-``, leading/trailing ``-`` are stripped, the result is cut to 80
characters; the parts are joined with ``:`` and prefixed with ``mcp:``.

Unlike the original, a key needs *both* a server and a tool name, taken from
known fields only (never from a generic ``name`` anywhere in the params): a key
of the server alone would let one click allow every tool of that server.
"""

from __future__ import annotations

import re

SCOPE_KEY_PREFIX = "mcp:"
NAME_PART_MAX_CHARS = 80  # per-part cut of the original's fingerprint
_NON_ALNUM_RUN = re.compile(r"[^a-z0-9]+")


def normalise_name(name: str) -> str:
    """One fingerprint part: ``"OpenAI Docs"`` -> ``"openai-docs"``."""
    slug = _NON_ALNUM_RUN.sub("-", name.lower()).strip("-")
    return slug[:NAME_PART_MAX_CHARS]


def mcp_scope_key(server_name: str | None, tool_name: str | None) -> str | None:
    """``mcp:<server>:<tool>``, or None when either part is missing or empty."""
    if not server_name or not tool_name:
        return None
    server = normalise_name(server_name)
    tool = normalise_name(tool_name)
    if not server or not tool:
        return None
    return f"{SCOPE_KEY_PREFIX}{server}:{tool}"
