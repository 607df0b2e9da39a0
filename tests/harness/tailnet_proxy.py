"""A reverse proxy process that adds the headers ``tailscale serve`` adds (stdlib only).

``tailscale serve`` runs Go's ``httputil.ReverseProxy`` inside tailscaled: it
connects to the companion from 127.0.0.1, keeps the phone's ``Host``
(``<name>.ts.net``), appends the phone's tailnet address to ``X-Forwarded-For``,
sets ``X-Forwarded-Host``/``X-Forwarded-Proto: https`` and, for a user-owned
device, ``Tailscale-User-Login``/``-Name``/``-Profile-Pic``. This process does
the same on loopback (TLS aside) so the locality rule is tested against a real
proxy hop, not a header typed into a test client.

``python tests/harness/tailnet_proxy.py <upstream-port> [login]`` prints
``listening <port>`` once ready. One request per client connection (it
forwards ``Connection: close``), WebSocket upgrades are piped through.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

PEER = "100.101.102.200"  # the phone's tailnet address the proxy reports
HEAD_LIMIT = 64 * 1024


def rewrite(head: bytes, login: str) -> bytes:
    lines = head.decode("latin-1").split("\r\n")
    request_line, fields = lines[0], [line for line in lines[1:] if line]
    host = ""
    kept = []
    upgrade = False
    for field in fields:
        name, _, value = field.partition(":")
        lower = name.strip().lower()
        if lower == "host":
            host = value.strip()
        if lower == "connection":
            upgrade = upgrade or "upgrade" in value.lower()
            if not upgrade:
                continue  # replaced by "Connection: close" below
        kept.append(field)
    added = [
        f"X-Forwarded-For: {PEER}",
        f"X-Forwarded-Host: {host}",
        "X-Forwarded-Proto: https",
    ]
    if login:
        added += [f"Tailscale-User-Login: {login}", "Tailscale-User-Name: Anna Example"]
    if not upgrade:
        added.append("Connection: close")
    return "\r\n".join([request_line, *kept, *added, "", ""]).encode("latin-1")


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


async def handle(
    upstream_port: int, login: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    up_writer.write(rewrite(head, login))
    await up_writer.drain()
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def main(upstream_port: int, login: str) -> None:
    server = await asyncio.start_server(
        lambda r, w: handle(upstream_port, login, r, w), "127.0.0.1", 0, limit=HEAD_LIMIT
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else ""))
