"""The local control socket: approve pairings and revoke devices from a terminal.

``<state_dir>/control.sock`` is a Unix stream socket, mode 0600 inside the
0700 state directory (set right after ``bind`` and before ``listen``, then
verified), so only this user can connect; on Linux the peer's uid is checked
as well. It is never reachable over the network, unlike any HTTP endpoint
(``tailscale serve`` makes remote requests arrive from loopback).

Protocol: newline-delimited JSON, one request object per line, one response
object per line, several requests per connection allowed::

    {"cmd": "pending"}                      -> {"ok": true, "pending": [{requestId, deviceName,
                                                 comparisonCode, pairingId, expiresAt}]}
    {"cmd": "approve", "target": "<request id or comparison code>"}
    {"cmd": "reject",  "target": "..."}     -> {"ok": true, "requestId", "deviceName", "decision"}
    {"cmd": "revoke", "deviceId": "<id>"}   -> {"ok": true, "revoked": true|false}
    {"cmd": "app-server-restart"}           -> {"ok": true, "state", "generation"}
    anything else / failure                 -> {"ok": false, "error": "<message>"}

Commands beyond pairing (``app-server-restart``) are registered by the
composition root with :meth:`ControlServer.add_command`, so this module stays
free of the codex side.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
import stat
import struct
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from codexremote.pairing.codes import normalize_code
from codexremote.pairing.confirmation import ConfirmationRequest
from codexremote.pairing.device_store import DeviceStore

log = logging.getLogger(__name__)

CommandHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

CONTROL_SOCKET = "control.sock"
SOCKET_MODE = 0o600
MAX_LINE_BYTES = 64 * 1024  # one request line; longer lines end the connection
IDLE_TIMEOUT_S = 30.0  # a connection that sends nothing for this long is closed
CLIENT_TIMEOUT_S = 5.0  # CLI side: connect + one round trip
MAX_REPLY_BYTES = 1024 * 1024  # CLI side: a longer reply is treated as broken
MAX_SOCKET_PATH_BYTES = 103  # sun_path is 104 bytes on macOS (108 on Linux), NUL included


class CompanionNotRunning(Exception):
    """No companion is listening on the control socket."""


class ControlSocketInUse(Exception):
    """Another companion already serves this state directory."""


def control_socket_path(state_dir: Path) -> Path:
    return state_dir / CONTROL_SOCKET


class SocketConfirmer:
    """Pending confirmation requests answered through the control socket.

    Always part of the composite confirmer; ``resolve`` is called on the
    event-loop thread by :class:`ControlServer`.
    """

    name = "socket"

    def __init__(self) -> None:
        self._pending: dict[str, tuple[ConfirmationRequest, asyncio.Future[bool]]] = {}

    def unavailable_reason(self) -> str | None:
        return None

    async def confirm(self, request: ConfirmationRequest) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[request.request_id] = (request, future)
        try:
            return await future
        finally:
            self._pending.pop(request.request_id, None)

    def pending(self) -> list[ConfirmationRequest]:
        return [request for request, future in self._pending.values() if not future.done()]

    def resolve(self, target: str, allow: bool) -> ConfirmationRequest:
        """Answer the request named by id or comparison code; LookupError if none/ambiguous."""
        wanted = target.strip()
        open_requests = self.pending()
        matches = [r for r in open_requests if r.request_id == wanted]
        code = normalize_code(wanted)
        if not matches and code:
            matches = [r for r in open_requests if r.comparison_code == code]
        if not matches:
            raise LookupError(f"No pending pairing request matches '{wanted}'")
        if len(matches) > 1:
            raise LookupError(f"'{wanted}' matches several pending requests; use the request id")
        request = matches[0]
        self._pending[request.request_id][1].set_result(allow)
        return request


class ControlServer:
    """Serves the control protocol on ``<state_dir>/control.sock``."""

    def __init__(
        self, state_dir: Path, confirmer: SocketConfirmer, store: DeviceStore | None = None
    ) -> None:
        self.path = control_socket_path(state_dir)
        self._confirmer = confirmer
        self._store = store
        self._server: asyncio.Server | None = None
        self._inode: int | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._commands: dict[str, CommandHandler] = {}

    def add_command(self, name: str, handler: CommandHandler) -> None:
        """Serve ``{"cmd": name, ...}`` with ``handler`` (its reply gets ``ok: true``)."""
        self._commands[name] = handler

    async def start(self) -> None:
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH_BYTES:
            raise OSError(f"control socket path is too long for a Unix socket: {self.path}")
        self._remove_stale_socket()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(self.path))
            self._inode = os.lstat(self.path).st_ino
            os.chmod(self.path, SOCKET_MODE)  # before listen: nobody can connect yet
            st = os.stat(self.path)
            if stat.S_IMODE(st.st_mode) != SOCKET_MODE:
                raise PermissionError(f"could not make {self.path} private")
            sock.listen()
            self._server = await asyncio.start_unix_server(
                self._serve, sock=sock, limit=MAX_LINE_BYTES
            )
        except BaseException:
            sock.close()
            self._unlink_own_socket()
            raise
        log.info("control socket listening at %s", self.path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):
                writer.close()
            await self._server.wait_closed()
            self._server = None
        self._unlink_own_socket()

    async def __aenter__(self) -> ControlServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _remove_stale_socket(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise ControlSocketInUse(f"{self.path} exists and is not a socket; remove it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self.path))
        except OSError:
            self.path.unlink(missing_ok=True)  # left behind by a companion that died
            return
        finally:
            probe.close()
        raise ControlSocketInUse(f"another companion is already running ({self.path})")

    def _unlink_own_socket(self) -> None:
        with contextlib.suppress(OSError):
            if self._inode is not None and os.lstat(self.path).st_ino == self._inode:
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            if not _peer_is_us(writer):
                return
            while True:
                line = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT_S)
                if not line:
                    return
                try:
                    reply = await self._handle_line(line)
                except Exception as exc:  # e.g. the store file became unreadable
                    log.exception("control command failed")
                    reply = _error(f"The companion could not do that: {exc}")
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (TimeoutError, ValueError, ConnectionError, asyncio.IncompleteReadError):
            return  # idle, oversize line, or client gone
        finally:
            self._connections.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle_line(self, line: bytes) -> dict[str, Any]:
        try:
            message = json.loads(line)
        except ValueError:
            return _error("Expected one JSON object per line")
        if not isinstance(message, dict):
            return _error("Expected one JSON object per line")
        command = message.get("cmd")
        if command == "pending":
            return {"ok": True, "pending": [_describe(r) for r in self._confirmer.pending()]}
        if command in ("approve", "reject"):
            target = message.get("target")
            if not isinstance(target, str) or not target.strip():
                return _error("Expected a request id or comparison code as target")
            try:
                request = self._confirmer.resolve(target, command == "approve")
            except LookupError as exc:
                return _error(str(exc.args[0]))
            decision = "approved" if command == "approve" else "rejected"
            log.info("pairing request %s %s over the control socket", request.request_id, decision)
            return {
                "ok": True,
                "requestId": request.request_id,
                "deviceName": request.device_name,
                "decision": decision,
            }
        if command == "revoke":
            device_id = message.get("deviceId")
            if not isinstance(device_id, str) or not device_id:
                return _error("Expected a deviceId")
            if self._store is None:
                return _error("This companion has no device store")
            revoked = await asyncio.to_thread(self._store.revoke, device_id)
            return {"ok": True, "revoked": revoked}
        handler = self._commands.get(command) if isinstance(command, str) else None
        if handler is not None:
            return {"ok": True, **(await handler(message))}
        return _error(f"Unknown command: {str(command)[:40]}")


def _describe(request: ConfirmationRequest) -> dict[str, Any]:
    return {
        "requestId": request.request_id,
        "deviceName": request.device_name,
        "comparisonCode": request.comparison_code,
        "pairingId": request.pairing_id,
        "expiresAt": request.expires_at_ms,
    }


def _error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


def _peer_is_us(writer: asyncio.StreamWriter) -> bool:
    """Linux: the connecting process must run as our uid (the 0600 mode already
    ensures this; this is a second lock). Elsewhere rely on the file mode."""
    if not sys.platform.startswith("linux"):
        return True
    sock = writer.get_extra_info("socket")
    if sock is None:
        return False
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    if uid != os.getuid():
        log.warning("refused control connection from uid %s", uid)
        return False
    return True


def control_request(
    state_dir: Path, payload: dict[str, Any], *, timeout_s: float = CLIENT_TIMEOUT_S
) -> dict[str, Any]:
    """Blocking client for the CLI: send one request, return the reply object.

    Raises CompanionNotRunning when no companion listens on the socket.
    """
    path = control_socket_path(state_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.ENOTSOCK):
                raise CompanionNotRunning(f"no control socket at {path}") from exc
            raise
        sock.sendall(json.dumps(payload).encode() + b"\n")
        data = bytearray()
        while b"\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the companion closed the control connection")
            data.extend(chunk)
            if len(data) > MAX_REPLY_BYTES:
                raise ConnectionError("control reply too long")
    reply = json.loads(bytes(data).split(b"\n", 1)[0])
    if not isinstance(reply, dict):
        raise ConnectionError("malformed control reply")
    return reply
