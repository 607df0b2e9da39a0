"""Diagnostics the phone sends to the computer (wire-api.md 4.6)."""

from codexremote.diagnostics.device_log import (
    DEVICE_LOG_NAME,
    MAX_DEVICE_LOG_BYTES,
    SavedLog,
    save_device_log,
)

__all__ = ["DEVICE_LOG_NAME", "MAX_DEVICE_LOG_BYTES", "SavedLog", "save_device_log"]
