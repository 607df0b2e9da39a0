"""Is this request local? One answer for every place that asks (SEC-23).

``tailscale serve`` (and any reverse proxy) connects to the companion from
127.0.0.1, so the socket's peer address alone cannot tell a process on this
computer from a phone on the tailnet. The proxy's own headers can: Tailscale's
reverse proxy (Go's ``httputil.ReverseProxy``) appends the tailnet peer to
``X-Forwarded-For`` and adds ``Tailscale-User-Login`` / ``Tailscale-User-Name``
/ ``Tailscale-User-Profile-Pic`` for a user-owned device; other proxies add
``Forwarded``, ``X-Forwarded-Host``/``-Proto`` or ``X-Real-IP``.

A request is **local** only when its peer is a loopback address *and* it carries
none of those headers. The headers are only ever used to withhold (local-only
routes, health detail) and to pick a connection-count key, never to grant: a
remote peer cannot make itself local by adding or removing a header, because a
non-loopback peer is remote whatever it sends. Kept free of HTTP frameworks:
the perimeter (ASGI scope headers), the routes and the connection guard (raw
h11 headers) all call :func:`classify`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from codexremote.netcheck import is_loopback

# Lower-case header names whose presence on a loopback connection means "proxied".
PROXY_HEADERS = frozenset(
    {
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
        "tailscale-user-login",
        "tailscale-user-name",
        "tailscale-user-profile-pic",
    }
)
MAX_FORWARDED_CHARS = 64
MAX_LOGIN_CHARS = 256


@dataclass(frozen=True)
class Caller:
    """Where a request comes from, as far as this computer can tell."""

    peer: str  # the socket's peer address ("unknown" when the server gave none)
    proxied: bool  # a loopback peer carrying proxy headers
    forwarded_for: str | None  # the address the proxy appended (only when proxied)
    tailnet_login: str | None  # Tailscale-User-Login (only when proxied); for logs only

    @property
    def local(self) -> bool:
        return is_loopback(self.peer) and not self.proxied

    @property
    def connection_key(self) -> str:
        """The key connections are counted under: every proxied phone is 127.0.0.1,
        so a proxied peer counts under the address the proxy appended."""
        return f"fwd:{self.forwarded_for}" if self.forwarded_for else self.peer


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def classify(peer: str | None, headers: Iterable[tuple[str | bytes, str | bytes]]) -> Caller:
    """``headers`` as (name, value) pairs, str or bytes (ASGI scopes and h11 give bytes)."""
    address = peer or "unknown"
    if not is_loopback(address):
        return Caller(address, proxied=False, forwarded_for=None, tailnet_login=None)
    proxied = False
    forwarded: str | None = None
    login: str | None = None
    for raw_name, raw_value in headers:
        name = _text(raw_name).lower()
        if name not in PROXY_HEADERS:
            continue
        proxied = True
        value = _text(raw_value)
        if name == "x-forwarded-for":
            forwarded = value.rsplit(",", 1)[-1].strip()[:MAX_FORWARDED_CHARS] or None
        elif name == "tailscale-user-login":
            login = value.strip()[:MAX_LOGIN_CHARS] or None
    return Caller(address, proxied=proxied, forwarded_for=forwarded, tailnet_login=login)
