"""The ``--tailscale`` part of ``serve`` and ``doctor``: checks, then the publication.

``serve --tailscale`` needs the companion on loopback over plain http (tailscale
terminates TLS with the tailnet's certificate and proxies to it), this
machine's MagicDNS name with HTTPS certificates, and port 443 free in
``tailscale serve``. Every problem is one line with its fix.
"""

from __future__ import annotations

import asyncio

from codexremote.netcheck import is_loopback
from codexremote.pairing.present import PublicAddress
from codexremote.settings import Settings
from codexremote.tailnet import (
    ServeRefused,
    TailnetPublication,
    TailnetUnavailable,
    inspect_tailnet,
)
from codexremote.tailnet.publish import HTTPS_PORT


def flag_problem(settings: Settings) -> str | None:
    if settings.tls_enabled or settings.tls_cert or settings.tls_key:
        return (
            "--tailscale serves https through `tailscale serve` with the tailnet's "
            "certificate: drop --tls-cert/--tls-key"
        )
    if not is_loopback(settings.host):
        return f"--tailscale proxies to 127.0.0.1: drop --host {settings.host}"
    return None


async def prepare(settings: Settings) -> TailnetPublication:
    """Raise TailnetUnavailable (problems) or ServeRefused (one line); nothing added yet."""
    info = await inspect_tailnet()
    publication = TailnetPublication(info, settings.port)
    await publication.check_free()
    return publication


def prepare_lines(settings: Settings) -> tuple[TailnetPublication | None, list[str]]:
    """``prepare`` for a synchronous caller: the publication, or the lines to print."""
    problem = flag_problem(settings)
    if problem:
        return None, [problem]
    try:
        return asyncio.run(prepare(settings)), []
    except TailnetUnavailable as exc:
        return None, [p.line() for p in exc.problems]
    except ServeRefused as exc:
        return None, [str(exc)]


def public_address(publication: TailnetPublication) -> PublicAddress:
    return PublicAddress("https", publication.info.dns_name, HTTPS_PORT)


def doctor_problems(settings: Settings) -> tuple[str, list[str]]:
    """(detail when fine, problem lines) for ``doctor``'s tailscale line(s)."""
    publication, lines = prepare_lines(settings)
    if publication is None:
        return "", lines
    info = publication.info
    version = ".".join(map(str, info.version)) if info.version else "unknown version"
    return f"{info.origin} (tailscale {version}, port 443 free for serve)", []
