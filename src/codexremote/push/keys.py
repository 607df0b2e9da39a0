"""The companion's VAPID key pair (RFC 8292), made on first start and kept for good.

A browser subscription is bound to the application server key it was made with, so
the key must survive restarts: losing it silently kills every subscription. It is
written like the device store (``storage.atomic_write_bytes``: 0600, temp file,
fsync, rename) and refused when group or others can read it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from codexremote.storage import (
    PRIVATE_FILE_MODE,
    atomic_write_bytes,
    check_private,
    clean_stale_temp_files,
    ensure_private_dir,
)

VAPID_KEY_FILE = "vapid-private.pem"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class VapidKeys:
    """The signer (py-vapid) and the public key as browsers want it
    (``applicationServerKey``: the uncompressed P-256 point, base64url)."""

    signer: Vapid02
    public_key: str

    @classmethod
    def load_or_create(cls, state_dir: Path) -> VapidKeys:
        ensure_private_dir(state_dir)
        clean_stale_temp_files(state_dir, VAPID_KEY_FILE)
        path = state_dir / VAPID_KEY_FILE
        if path.exists():
            check_private(path, PRIVATE_FILE_MODE)
            pem = path.read_bytes()
        else:
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            atomic_write_bytes(path, pem)
        signer = Vapid02.from_pem(pem)
        point = signer.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return cls(signer=signer, public_key=b64url(point))
