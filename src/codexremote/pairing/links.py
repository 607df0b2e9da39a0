"""Pairing links, QR codes and the host name we advertise (wire-api.md 2.1, 2.2; SEC-07).

Two links carry the same offer:

- the app link ``codexremote://pair?scheme=…&host=…&port=…&pairingId=…&nonce=…``,
  parameters in exactly the original's order (extra parameters, if any, go
  after ``nonce``; the original app looks items up by name and ignores them);
- the web link ``<scheme>://<host>:<port>/#pairingId=<id>&nonce=<nonce>`` for
  the phone's camera: the offer travels only in the URL *fragment*, which
  browsers never send to the server, so the nonce never reaches access logs
  or a ``Referer`` header. The web client reads ``location.hash`` and POSTs
  both values in the confirm body.

QR codes are regular QR (never Micro QR), error correction level M, like
the original's node ``qrcode`` defaults.
"""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import shutil
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from codexremote.pairing.commands import CommandRunner, run_command
from codexremote.settings import Settings
from codexremote.tailnet.status import tailscale_binary

if TYPE_CHECKING:
    import segno

log = logging.getLogger(__name__)

TAILSCALE_STATUS_TIMEOUT_S = 3.0  # `tailscale status --json` normally answers in ms
QR_ERROR_LEVEL = "m"  # same as the original (node qrcode default)
QR_PNG_SCALE = 6  # pixels per module of the PNG data URL
QR_BORDER = 2  # quiet-zone modules around the terminal QR (4 is the spec; 2 scans fine)
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})


def url_host(host: str) -> str:
    """``host`` as it must appear in a URL authority (IPv6 literals in brackets)."""
    bare = host.strip("[]")
    try:
        if isinstance(ipaddress.ip_address(bare), ipaddress.IPv6Address):
            return f"[{bare}]"
    except ValueError:
        pass
    return host


def _check_scheme(scheme: str) -> None:
    if scheme not in ("http", "https"):
        raise ValueError(f"scheme must be http or https, not {scheme!r}")


def pairing_uri(
    scheme: str,
    host: str,
    port: int,
    pairing_id: str,
    nonce: str,
    *,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """The ``codexremote://pair?...`` link the original app scans."""
    _check_scheme(scheme)
    items = [
        ("scheme", scheme),
        ("host", url_host(host)),
        ("port", str(port)),
        ("pairingId", pairing_id),
        ("nonce", nonce),
        *extra,
    ]
    query = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in items)
    return f"codexremote://pair?{query}"


def web_pair_link(scheme: str, host: str, port: int, pairing_id: str, nonce: str) -> str:
    """The web client's pairing link; the offer is only in the fragment."""
    _check_scheme(scheme)
    fragment = f"pairingId={quote(pairing_id, safe='')}&nonce={quote(nonce, safe='')}"
    return f"{scheme}://{url_host(host)}:{port}/#{fragment}"


def _qr(text: str) -> segno.QRCode:
    import segno  # imported when a QR code is drawn: ~50 ms off every start-up

    return segno.make_qr(text, error=QR_ERROR_LEVEL)


def render_terminal_qr(text: str) -> str:
    """A compact (half-block) QR code for a terminal with a dark background."""
    buffer = io.StringIO()
    _qr(text).terminal(out=buffer, compact=True, border=QR_BORDER)
    return buffer.getvalue()


def qr_png_data_url(text: str) -> str:
    """``data:image/png;base64,...`` for ``POST /v1/pairing/request``'s ``qrDataUrl``."""
    return str(_qr(text).png_data_uri(scale=QR_PNG_SCALE))


def parse_tailscale_status(text: str) -> str | None:
    """MagicDNS name (no trailing dot), else the first tailnet IPv4/IP; None if not up."""
    try:
        status = json.loads(text)
    except ValueError:
        return None
    if not isinstance(status, dict):
        return None
    if status.get("BackendState") not in (None, "Running"):
        return None
    me = status.get("Self")
    me = me if isinstance(me, dict) else {}
    dns_name = me.get("DNSName")
    if isinstance(dns_name, str) and dns_name.rstrip("."):
        return dns_name.rstrip(".")
    addresses = status.get("TailscaleIPs") or me.get("TailscaleIPs") or []
    if not isinstance(addresses, list):
        return None
    strings = [a for a in addresses if isinstance(a, str) and a]
    ipv4 = [a for a in strings if ":" not in a]
    candidates = ipv4 or strings
    return candidates[0] if candidates else None


async def advertised_host(
    settings: Settings,
    *,
    runner: CommandRunner = run_command,
    which: Callable[[str], str | None] = shutil.which,
    hostname: Callable[[], str] = socket.gethostname,
) -> str:
    """The host name to put in pairing links (not necessarily the bind address).

    ``settings.advertise_host``, else this machine's Tailscale MagicDNS name
    or tailnet IP, else the bind host (the machine's host name for 0.0.0.0/::).
    Runs a subprocess: call once at startup and keep the result.
    """
    if settings.advertise_host:
        return settings.advertise_host
    binary = tailscale_binary(which)
    if binary is not None:
        try:
            result = await runner([binary, "status", "--json"], TAILSCALE_STATUS_TIMEOUT_S)
        except OSError as exc:
            log.info("could not run tailscale: %s", exc)
        else:
            found = parse_tailscale_status(result.stdout) if result.returncode == 0 else None
            if found:
                return found
    if settings.host in WILDCARD_HOSTS:
        return hostname()
    return settings.host
