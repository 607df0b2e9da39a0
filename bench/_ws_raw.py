"""A minimal WebSocket reader for latency measurement (text frames, no extensions).

The websockets library costs ~50 µs of client CPU per frame on this machine; at
20,000 frames/s that is a whole core taken from the companion being measured.
This reader timestamps each ``recv`` chunk and splits frames with a few byte
operations, so the client side stays cheap. It answers pings and stops on close.
Server frames are never masked (RFC 6455 5.1); our own (pong, close) always are.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Mapping

READ_CHUNK = 256 * 1024
HANDSHAKE_TIMEOUT_S = 10.0
OP_TEXT, OP_CLOSE, OP_PING = 0x1, 0x8, 0x9


def _masked(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


class RawClient:
    def __init__(self) -> None:
        self.frames: list[tuple[int, bytes]] = []  # (receive ns of the chunk, payload)
        self.close_code: int | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self, host: str, port: int, path: str, headers: Mapping[str, str]) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANDSHAKE_TIMEOUT_S)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        self._reader, self._writer = reader, writer

    async def read_until_closed(self) -> None:
        reader, writer = self._reader, self._writer
        assert reader is not None and writer is not None
        frames = self.frames
        clock = time.monotonic_ns
        buffer = b""
        while True:
            chunk = await reader.read(READ_CHUNK)
            now = clock()
            if not chunk:
                return
            buffer += chunk
            pos, size = 0, len(buffer)
            while size - pos >= 2:
                opcode = buffer[pos] & 0x0F
                length = buffer[pos + 1] & 0x7F
                head = 2
                if length == 126:
                    if size - pos < 4:
                        break
                    length = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
                    head = 4
                elif length == 127:
                    if size - pos < 10:
                        break
                    length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                    head = 10
                if size - pos < head + length:
                    break
                payload = buffer[pos + head : pos + head + length]
                pos += head + length
                if opcode == OP_TEXT:
                    frames.append((now, payload))
                elif opcode == OP_PING:
                    writer.write(_masked(0xA, payload))
                elif opcode == OP_CLOSE:
                    self.close_code = int.from_bytes(payload[:2], "big") if payload else 1005
                    return
            buffer = buffer[pos:]

    async def close(self) -> None:
        writer = self._writer
        if writer is None:
            return
        try:
            writer.write(_masked(OP_CLOSE, (1000).to_bytes(2, "big")))
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass
