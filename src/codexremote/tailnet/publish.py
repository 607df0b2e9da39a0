"""Add, and later remove exactly, the ``tailscale serve`` entry that publishes us.

The entry is HTTPS on port 443 of this machine's MagicDNS name (tailscale
terminates TLS with the tailnet's certificate) proxying to
``http://127.0.0.1:<port>``. Two CLI syntaxes exist:

* 1.52 and later: ``tailscale serve --bg --yes --https=443 <target>``, removed with
  ``tailscale serve --https=443 off``;
* 1.38 to 1.50: ``tailscale serve https:443 / <target>``, removed by repeating it
  with ``off`` appended (those versions always ran in the background).

Before adding, ``tailscale serve status --json`` (the ServeConfig: ``TCP`` by
port, ``Web`` by ``host:port`` with ``Handlers`` by path) tells whether 443 is
taken. Taken by an entry that proxies ``/`` to our very target (a previous run
that was killed before it could clean up) counts as ours; taken by anything
else is refused. Other ports and other entries are never touched.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from codexremote.pairing.commands import CommandRunner, run_command
from codexremote.tailnet.status import TailnetInfo

log = logging.getLogger("codexremote.tailnet")

SERVE_TIMEOUT_S = 15.0  # the first `serve` of a tailnet may fetch the certificate
NEW_SYNTAX = (1, 52, 0)
OLDEST_SERVE = (1, 38, 0)
HTTPS_PORT = 443


class ServeRefused(Exception):
    """``tailscale serve`` cannot (or must not) publish the companion; one line, with fix."""


def target_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def serve_argv(info: TailnetInfo, port: int, *, off: bool) -> list[str]:
    """The command that adds (``off=False``) or removes our entry, for this version."""
    target = target_url(port)
    if info.version is not None and info.version < NEW_SYNTAX:
        return [info.binary, "serve", f"https:{HTTPS_PORT}", "/", target, *(["off"] if off else [])]
    if off:
        return [info.binary, "serve", f"--https={HTTPS_PORT}", "off"]
    return [info.binary, "serve", "--bg", "--yes", f"--https={HTTPS_PORT}", target]


def https_443_owner(config: Any, target: str) -> str | None:
    """None when 443 is free or already ours; else what serves it (for the message)."""
    if not isinstance(config, dict):
        return None
    tcp = config.get("TCP")
    entry = tcp.get(str(HTTPS_PORT)) if isinstance(tcp, dict) else None
    web = config.get("Web")
    handlers: dict[str, Any] = {}
    if isinstance(web, dict):
        for host_port, site in web.items():
            if isinstance(host_port, str) and host_port.endswith(f":{HTTPS_PORT}"):
                found = site.get("Handlers") if isinstance(site, dict) else None
                handlers.update(found if isinstance(found, dict) else {})
    if entry is None and not handlers:
        return None
    if isinstance(entry, dict) and entry.get("TCPForward"):
        return f"a TCP forward to {entry['TCPForward']}"
    if set(handlers) == {"/"} and isinstance(handlers["/"], dict):
        proxy = handlers["/"].get("Proxy")
        if isinstance(proxy, str) and proxy.rstrip("/") == target:
            return None
    shown = ", ".join(
        f"{path} -> {h.get('Proxy') or h.get('Path') or 'text'}" if isinstance(h, dict) else path
        for path, h in sorted(handlers.items())
    )
    return shown or "another service"


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or ["no output"])[0][:200]


def _refusal(stderr: str, command: str) -> ServeRefused:
    text = stderr.lower()
    if "access denied" in text or "permission" in text:
        return ServeRefused(
            f"`{command}` was denied ({_first_line(stderr)}) "
            "(fix: run `sudo tailscale set --operator=$USER` once)"
        )
    if "https" in text and ("not enabled" in text or "disabled" in text):
        return ServeRefused(
            f"`{command}` needs HTTPS certificates (fix: enable them in the admin console, "
            "https://login.tailscale.com/admin/dns)"
        )
    return ServeRefused(f"`{command}` failed: {_first_line(stderr)}")


class TailnetPublication:
    """One ``tailscale serve`` entry for one companion run; ``withdraw`` is idempotent."""

    def __init__(self, info: TailnetInfo, port: int, runner: CommandRunner = run_command):
        self.info = info
        self.port = port
        self._runner = runner
        self.published = False

    @property
    def url(self) -> str:
        return self.info.origin

    async def check_free(self) -> None:
        """Raise ServeRefused when 443 already serves something else."""
        if self.info.version is not None and self.info.version < OLDEST_SERVE:
            raise ServeRefused(
                f"tailscale {'.'.join(map(str, self.info.version))} has no `serve` "
                "(fix: update Tailscale to 1.52 or later)"
            )
        result = await self._runner(
            [self.info.binary, "serve", "status", "--json"], SERVE_TIMEOUT_S
        )
        if result.returncode != 0:
            raise _refusal(result.stderr, "tailscale serve status")
        try:
            config = json.loads(result.stdout) if result.stdout.strip() else {}
        except ValueError as exc:
            raise ServeRefused("`tailscale serve status --json` printed no JSON") from exc
        owner = https_443_owner(config, target_url(self.port))
        if owner is not None:
            raise ServeRefused(
                f"port 443 of {self.info.dns_name} is already served by tailscale serve "
                f"({owner}) (fix: `tailscale serve status` shows it; remove it with "
                "`tailscale serve --https=443 off`, or use --advertise-host with your own TLS)"
            )

    async def publish(self) -> None:
        await self.check_free()
        argv = serve_argv(self.info, self.port, off=False)
        result = await self._runner(argv, SERVE_TIMEOUT_S)
        if result.returncode != 0:
            raise _refusal(result.stderr or result.stdout, "tailscale serve")
        self.published = True
        log.info("published on the tailnet: %s -> %s", self.url, target_url(self.port))

    async def withdraw(self) -> None:
        """Remove exactly our entry (only if we added it); never raises."""
        if not self.published:
            return
        self.published = False
        argv = serve_argv(self.info, self.port, off=True)
        try:
            result = await self._runner(argv, SERVE_TIMEOUT_S)
        except OSError as exc:
            log.error("could not remove the tailscale serve entry: %s", exc)
            return
        if result.returncode != 0:
            log.error(
                "could not remove the tailscale serve entry (%s); run: %s",
                _first_line(result.stderr),
                " ".join(argv),
            )
        else:
            log.info("removed the tailscale serve entry for %s", self.url)
