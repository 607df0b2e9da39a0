"""Bind-address policy (SEC-01) and port checks, kept free of HTTP."""

from __future__ import annotations

import contextlib
import ipaddress
import socket

TAILNET_V4 = ipaddress.ip_network("100.64.0.0/10")
TAILNET_V6 = ipaddress.ip_network("fd7a:115c:a1e0::/48")


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP in ``host``; an IPv4-mapped IPv6 address (how a dual-stack ``::``
    socket reports IPv4 peers, e.g. ``::ffff:127.0.0.1``) as its IPv4 address."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    address = _address(host)
    return address is not None and address.is_loopback


def is_tailnet(host: str) -> bool:
    address = _address(host)
    if address is None:
        return False
    network = TAILNET_V4 if address.version == 4 else TAILNET_V6
    return address in network


class UnsafeBind(Exception):
    """Binding here would expose plaintext HTTP beyond this machine and the tailnet."""


def check_bind_policy(host: str, *, tls: bool, insecure_http: bool) -> str | None:
    """Raise UnsafeBind, or return a warning to log at every start (SEC-17)."""
    if tls or is_loopback(host):
        return None
    if is_tailnet(host):
        return None
    if insecure_http:
        return (
            f"serving plain http on {host} (--insecure-http): tokens and transcripts "
            "cross the network unencrypted"
        )
    raise UnsafeBind(
        f"refusing to serve plain http on {host}: pass --tls-cert/--tls-key "
        "(e.g. from `tailscale cert`), bind a tailnet address, or add --insecure-http"
    )


def port_available(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with contextlib.closing(socket.socket(family, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
