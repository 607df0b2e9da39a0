"""Read the runtime values the phone shows from ``$CODEX_HOME/config.toml`` (wire-api 8.1).

A real TOML parser is used (the original read lines with a regex, so a value with an
inline comment or in single quotes read as null). The file is small; these functions are
synchronous, call them through ``asyncio.to_thread`` from async code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from codexremote.errors import Conflict
from codexremote.runtime_config.models import (
    APPROVAL_POLICY_KEY,
    MODEL_KEY,
    REASONING_EFFORT_KEY,
    SANDBOX_MODE_KEY,
    RuntimeValues,
)
from codexremote.runtime_config.overrides import effective_approval_policy, read_overrides
from codexremote.runtime_config.toml_edit import parse_config_text

CONFIG_FILE_NAME = "config.toml"
# A codex config is a few KiB; anything this big is not one we should parse on a request.
MAX_CONFIG_BYTES = 4 * 1024 * 1024


def config_path(codex_home: Path) -> Path:
    return codex_home / CONFIG_FILE_NAME


def read_config_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist (bounded by MAX_CONFIG_BYTES)."""
    return read_config_snapshot(path)[0]


# What identifies one version of a file without reading it: device, inode, size, mtime.
FileIdentity = tuple[int, int, int, int]


def file_identity(st: os.stat_result) -> FileIdentity:
    """A rename (ours or theirs) changes the inode, an in-place write size or mtime."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def read_config_snapshot(path: Path) -> tuple[bytes | None, FileIdentity | None]:
    """The bytes and the identity of the same version of the file (None, None if missing)."""
    try:
        with path.open("rb") as handle:
            identity = file_identity(os.fstat(handle.fileno()))
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return None, None
    if len(data) > MAX_CONFIG_BYTES:
        raise Conflict(f"config.toml is larger than {MAX_CONFIG_BYTES} bytes; not reading it")
    return data, identity


def load_config(codex_home: Path) -> dict[str, Any]:
    """The parsed config.toml ({} when missing); ConfigParseError (409) when it does not parse."""
    data = read_config_bytes(config_path(codex_home))
    if data is None:
        return {}
    return parse_config_text(data)[1]


def values_from_config(config: dict[str, Any], cwd: str | None) -> RuntimeValues:
    """Pick the shown values; a non-string value (e.g. a granular approval table) reads as None."""
    trust: str | None = None
    projects = config.get("projects")
    if cwd is not None and isinstance(projects, dict):
        project = projects.get(cwd)  # exact cwd match, no normalisation (wire-api 8.1)
        if isinstance(project, dict):
            trust = _string(project.get("trust_level"))
    return RuntimeValues(
        approvalPolicy=_string(config.get(APPROVAL_POLICY_KEY)),
        sandboxMode=_string(config.get(SANDBOX_MODE_KEY)),
        model=_string(config.get(MODEL_KEY)),
        modelReasoningEffort=_string(config.get(REASONING_EFFORT_KEY)),
        trustLevel=trust,
    )


def read_runtime_values(
    codex_home: Path, cwd: str | None, *, state_dir: Path | None = None
) -> RuntimeValues:
    """The values in effect for the next turn: config.toml, with the companion's override
    (``runtime-overrides.json`` in ``state_dir``) winning for the approval policy.

    Missing file -> all None. Raises ConfigParseError (a Conflict, 409) with the parse error.
    """
    values = values_from_config(load_config(codex_home), cwd)
    if state_dir is not None:
        values.approvalPolicy = effective_approval_policy(
            values.approvalPolicy, read_overrides(state_dir)
        )
    return values


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None
