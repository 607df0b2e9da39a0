"""The short comparison code shown on the phone and on the computer (SEC-08).

The code is derived, not random, so a client can compute and show it *while*
its confirm request waits for the user, before any answer arrives::

    mac  = HMAC-SHA256(key = bytes.fromhex(nonce),
                       msg = UTF-8(pairingId + "\\n" + deviceName))
    code = big-endian uint32 of mac[0:4] modulo 1 000 000, as 6 decimal digits

``deviceName`` is the exact string the client sent in its confirm request
(before the companion trims or cleans it). The companion shows the same code
in its confirmation prompt and returns it as the additive ``comparisonCode``
member of the confirm response (the original app ignores it). The nonce is the
HMAC key and never leaves the code, so the code reveals nothing about it.
"""

from __future__ import annotations

import hashlib
import hmac

CODE_DIGITS = 6  # about 20 bits: enough to tell concurrent requests apart by eye


def comparison_code(nonce: str, pairing_id: str, device_name: str) -> str:
    """The code for a confirm request; ``nonce`` is the offer's 32-hex-char nonce."""
    message = f"{pairing_id}\n{device_name}".encode()
    mac = hmac.new(bytes.fromhex(nonce), message, hashlib.sha256).digest()
    value = int.from_bytes(mac[:4], "big") % 10**CODE_DIGITS
    return f"{value:0{CODE_DIGITS}d}"


def normalize_code(text: str) -> str:
    """What a user typed, reduced to digits ("123 456" and "123-456" match "123456")."""
    return "".join(ch for ch in text if ch in "0123456789")
