"""Text from the network made safe to show in dialogs, terminals and logs."""

from __future__ import annotations

import unicodedata

# Unicode categories removed: controls (newlines, escapes), format characters
# (bidi overrides that could disguise a device name), line/paragraph
# separators and lone surrogates.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def safe_text(text: str) -> str:
    """``text`` without control/format characters."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in UNSAFE_CATEGORIES)
