"""Narrow config.toml reads and writes for the phone's runtime settings (wire-api 8.1, 8.4).

See docs/runtime-config.md. Public API:

- :func:`read_runtime_values` -> :class:`RuntimeValues` (what is in effect)
- :func:`write_runtime_settings` (async; only top-level approval_policy / sandbox_mode)
- :func:`effective_turn_overrides` (thread/start params), :func:`effective_turn_start_overrides`
  (turn/start params) for the chat layer
"""

from codexremote.runtime_config.models import APPROVAL_POLICIES, SANDBOX_MODES, RuntimeValues
from codexremote.runtime_config.overrides import OVERRIDES_FILE_NAME
from codexremote.runtime_config.reader import CONFIG_FILE_NAME, read_runtime_values
from codexremote.runtime_config.toml_edit import PARSE_ERROR_PREFIX, ConfigParseError
from codexremote.runtime_config.turn_params import (
    effective_turn_overrides,
    effective_turn_start_overrides,
)
from codexremote.runtime_config.writer import (
    BACKUP_SUFFIX,
    validate_runtime_settings,
    write_runtime_settings,
)

__all__ = [
    "APPROVAL_POLICIES",
    "BACKUP_SUFFIX",
    "CONFIG_FILE_NAME",
    "OVERRIDES_FILE_NAME",
    "PARSE_ERROR_PREFIX",
    "SANDBOX_MODES",
    "ConfigParseError",
    "RuntimeValues",
    "effective_turn_overrides",
    "effective_turn_start_overrides",
    "read_runtime_values",
    "validate_runtime_settings",
    "write_runtime_settings",
]
