"""A loopback TCP proxy *process* that can drop the network for a while (T13).

``python -m tests.harness.blackhole_proxy TARGET_PORT`` listens on a free
127.0.0.1 port, prints it, and forwards every connection to TARGET_PORT. A line
``drop SECONDS`` on stdin makes it a black hole for that long: it stops reading
and writing on every open connection (no FIN, no RST: what a phone that loses its
network looks like to the companion), then forwards whatever the kernel buffered
as if the packets had been retransmitted. It prints ``dropped`` when the drop
starts and ``restored`` when it ends. New connections during a drop are accepted
by the kernel but not served until it ends. Stdlib only, one asyncio loop.

:class:`BlackholeProxy` runs it from a test.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

CHUNK = 64 * 1024
REPO = Path(__file__).resolve().parents[2]


class _Gate:
    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gate: _Gate) -> None:
    try:
        while True:
            await gate.open.wait()
            data = await reader.read(CHUNK)
            if not data:
                break
            await gate.open.wait()  # read just before a drop: hold it until the end
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _main(target_port: int) -> None:
    gate = _Gate()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        await gate.open.wait()
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pump(client_r, server_w, gate), _pump(server_r, client_w, gate))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while line := (await stdin.readline()).decode().split():
        if line[0] == "drop":
            gate.open.clear()
            print("dropped", flush=True)
            await asyncio.sleep(float(line[1]))
            gate.open.set()
            print("restored", flush=True)
    server.close()


class BlackholeProxy:
    """``async with BlackholeProxy(port) as proxy``: ``proxy.port``, ``await proxy.drop(s)``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> BlackholeProxy:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.harness.blackhole_proxy",
            str(self.target_port),
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        self.port = int(await asyncio.wait_for(self._process.stdout.readline(), 10))
        return self

    async def drop(self, seconds: float) -> None:
        """Start a drop of ``seconds``; returns once the proxy has stopped forwarding."""
        assert self._process is not None and self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(f"drop {seconds}\n".encode())
        await self._process.stdin.drain()
        assert (await self._process.stdout.readline()).strip() == b"dropped"

    async def restored(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        assert (await self._process.stdout.readline()).strip() == b"restored"

    async def __aexit__(self, *_exc: object) -> None:
        assert self._process is not None
        if self._process.returncode is None:
            self._process.kill()
        await self._process.wait()


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1])))
