"""A Web Push service on 127.0.0.1 standing in for Apple's and Google's (issue 13).

It does what a real push service checks, so the companion's crypto is proven, not
mocked: the VAPID JWT (RFC 8292: ES256 signature with the key in ``k``, which must
be the companion's public key; ``aud`` = the endpoint's origin; ``exp`` in the
future and within 24 h; ``sub`` a mailto:/https: contact) and the aes128gcm payload
(RFC 8188/8291), decrypted with the subscription's private key that
:func:`browser_subscription` generated as a browser does. Decryption here is
written from the RFCs with ``cryptography`` primitives, independent of http_ece.

https with a self-signed certificate (``cert_path``) that the companion trusts
through ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``. Knobs: ``script[name]`` is a
list of statuses answered first for that endpoint (then 201), ``retry_after``
the header sent with a 429.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

MAX_JWT_LIFETIME_S = 24 * 3600  # RFC 8292 section 2


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class BrowserKeys:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def public_point(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )


def browser_subscription(endpoint: str) -> tuple[dict[str, Any], BrowserKeys]:
    """``PushSubscription.toJSON()`` and its secret half, as a browser makes them."""
    keys = BrowserKeys(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
    body = {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": b64url(keys.public_point), "auth": b64url(keys.auth)},
    }
    return body, keys


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def decrypt_aes128gcm(body: bytes, keys: BrowserKeys) -> bytes:
    """RFC 8188 section 2 + RFC 8291 section 3.4, one record (all a push carries)."""
    salt, record_size, id_len = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    sender_point = body[21 : 21 + id_len]
    ciphertext = body[21 + id_len :]
    assert record_size >= 18 and len(ciphertext) <= record_size, "bad record size"
    sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_point)
    shared = keys.private_key.exchange(ec.ECDH(), sender)
    ikm = _hkdf(keys.auth, shared, b"WebPush: info\x00" + keys.public_point + sender_point, 32)
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
    unpadded = padded.rstrip(b"\x00")
    assert unpadded.endswith(b"\x02"), "last record must end with delimiter 0x02"
    return unpadded[:-1]


def verify_vapid(authorization: str, audience: str, expected_key: str | None) -> dict[str, Any]:
    """The JWT's claims; raises ValueError naming what is wrong."""
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError(f"Authorization scheme {scheme!r}, expected vapid")
    parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    token, key = parts.get("t", ""), parts.get("k", "")
    if expected_key is not None and key != expected_key:
        raise ValueError("k is not the companion's VAPID public key")
    head_b64, claims_b64, sig_b64 = token.split(".")
    header = json.loads(b64url_decode(head_b64))
    if header.get("alg") != "ES256":
        raise ValueError(f"alg {header.get('alg')!r}")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
    raw = b64url_decode(sig_b64)
    if len(raw) != 64:
        raise ValueError("signature is not r||s")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(b64url_decode(claims_b64))
    now = time.time()
    if claims.get("aud") != audience:
        raise ValueError(f"aud {claims.get('aud')!r} != {audience!r}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or not now < exp <= now + MAX_JWT_LIFETIME_S:
        raise ValueError(f"exp {exp!r} not within 24 h")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
        raise ValueError(f"sub {sub!r}")
    return claims


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "push.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, False, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "push-cert.pem", directory / "push-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    name: str
    status: int
    headers: dict[str, str]
    at: float  # time.monotonic()
    claims: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)


class FakePushService:
    def __init__(self, directory: Path) -> None:
        self.cert_path, key_path = self_signed_cert(directory)
        self.keys: dict[str, BrowserKeys] = {}
        self.script: dict[str, list[int]] = {}
        self.retry_after = "1"
        self.vapid_key: str | None = None  # the companion's; set it to check ``k``
        self.received: list[Received] = []
        self._cond = threading.Condition()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def subscribe(self, name: str) -> dict[str, Any]:
        """A browser's subscription at this service (its keys kept here to decrypt)."""
        body, keys = browser_subscription(f"{self.origin}/push/{name}")
        self.keys[name] = keys
        return body

    def __enter__(self) -> FakePushService:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def delivered(self, name: str | None = None) -> list[Received]:
        with self._cond:
            return [
                r
                for r in self.received
                if 200 <= r.status < 300 and (name is None or r.name == name)
            ]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """At least ``count`` requests (any answer) have arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} push requests")
                self._cond.wait(left)
            return list(self.received)

    def handle(self, name: str, headers: dict[str, str], body: bytes) -> Received:
        record = Received(name, 201, headers, time.monotonic())
        keys = self.keys.get(name)
        try:
            record.claims = verify_vapid(
                headers.get("authorization", ""), self.origin, self.vapid_key
            )
        except Exception as exc:
            record.problems.append(f"vapid: {exc}")
        if headers.get("content-encoding") != "aes128gcm":
            record.problems.append(f"content-encoding {headers.get('content-encoding')!r}")
        if keys is None:
            record.problems.append("unknown endpoint")
        else:
            try:
                record.payload = json.loads(decrypt_aes128gcm(body, keys))
            except Exception as exc:
                record.problems.append(f"decrypt: {exc!r}")
        if not headers.get("ttl", "").isdigit():
            record.problems.append("no TTL")
        scripted = self.script.get(name)
        if record.problems:
            record.status = 400 if keys is not None else 404
        elif scripted:
            record.status = scripted.pop(0)
        with self._cond:
            self.received.append(record)
            self._cond.notify_all()
        return record


def _handler(service: FakePushService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            name = urlsplit(self.path).path.rpartition("/")[2]
            headers = {k.lower(): v for k, v in self.headers.items()}
            record = service.handle(name, headers, body)
            self.send_response(record.status)
            if record.status == 429:
                self.send_header("Retry-After", service.retry_after)
            if record.status == 201:
                self.send_header("Location", f"{service.origin}/message/{len(service.received)}")
            text = "; ".join(record.problems).encode()
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *_args: object) -> None:
            pass

    return Handler
