"""Identifiers shared with the original iOS app's wire contract (wire-api.md 1.5)."""

from __future__ import annotations

import hashlib

UNKNOWN_CWD = "unknown"


def project_id_for_cwd(cwd: str | None) -> str:
    """First 12 hex chars of SHA-256 of the cwd text, without normalisation."""
    text = cwd if cwd else UNKNOWN_CWD
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
