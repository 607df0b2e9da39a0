"""Control socket + CLI handlers, end to end through a real Unix socket (SEC-08, SEC-09)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from codexremote.errors import Forbidden
from codexremote.pairing import cli_commands
from codexremote.pairing.confirmers import CompositeConfirmer, PlatformInfo
from codexremote.pairing.control import (
    MAX_LINE_BYTES,
    ControlServer,
    ControlSocketInUse,
    SocketConfirmer,
    control_request,
    control_socket_path,
)
from codexremote.pairing.device_store import DeviceStore
from codexremote.pairing.offers import ConfirmResult, PairingManager
from codexremote.pairing.service import start_pairing_services
from codexremote.settings import Settings
from codexremote.storage import ensure_private_dir


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A short private directory (Unix socket paths are limited to ~104 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="crp-", dir="/tmp"))
    ensure_private_dir(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Companion:
    """The pieces a running companion has: store, socket channel, manager, control server."""

    def __init__(self, state_dir: Path) -> None:
        self.store = DeviceStore(state_dir)
        self.socket = SocketConfirmer()
        self.manager = PairingManager(
            self.store, CompositeConfirmer([self.socket]), confirm_timeout_s=10
        )
        self.control = ControlServer(state_dir, self.socket, self.store)

    async def start_pairing(self, name: str = "iPhone") -> asyncio.Task[ConfirmResult]:
        offer = self.manager.create_offer()
        task = asyncio.create_task(self.manager.confirm(offer.pairing_id, offer.nonce, name))
        while not self.socket.pending():
            await asyncio.sleep(0.005)
        return task


@pytest.fixture
async def companion(state_dir: Path) -> AsyncIterator[Companion]:
    running = Companion(state_dir)
    async with running.control:
        yield running


async def cli(handler: object, *args: object) -> int:
    """Run a (blocking) CLI handler off the loop, as a separate terminal would."""
    return int(await asyncio.to_thread(handler, *args))  # type: ignore[arg-type]


async def test_sec08_socket_file_mode_0600(state_dir: Path) -> None:
    server = ControlServer(state_dir, SocketConfirmer())
    await server.start()
    path = control_socket_path(state_dir)
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    await server.close()
    assert not path.exists()


async def test_sec08_socket_approve_by_request_id(
    companion: Companion, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = await companion.start_pairing("Anna's iPhone")
    (pending,) = companion.socket.pending()
    assert await cli(cli_commands.devices_pending, state_dir) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{pending.request_id}  code {pending.comparison_code}  Anna's iPhone")
    assert "(expires in" in line
    assert await cli(cli_commands.devices_approve, state_dir, pending.request_id) == 0
    assert "Approved pairing of 'Anna's iPhone'" in capsys.readouterr().out
    result = await asyncio.wait_for(task, 5)
    assert companion.store.authenticate(result.token) is not None
    assert result.comparison_code == pending.comparison_code


async def test_sec08_socket_approve_by_comparison_code(
    companion: Companion, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = await companion.start_pairing()
    code = companion.socket.pending()[0].comparison_code
    typed = f"{code[:3]} {code[3:]}"  # as a person would copy it from the dialog
    assert await cli(cli_commands.devices_approve, state_dir, typed) == 0
    result = await asyncio.wait_for(task, 5)
    assert result.comparison_code == code
    assert companion.store.get(result.device_id) is not None


async def test_sec08_socket_reject_is_forbidden(
    companion: Companion, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = await companion.start_pairing()
    code = companion.socket.pending()[0].comparison_code
    assert await cli(cli_commands.devices_reject, state_dir, code) == 0
    assert "Rejected pairing" in capsys.readouterr().out
    with pytest.raises(Forbidden, match="Pairing denied or timed out"):
        await asyncio.wait_for(task, 5)
    assert companion.store.list() == []


async def test_sec08_unknown_target_is_an_error(
    companion: Companion, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(cli_commands.devices_approve, state_dir, "000000") == 1
    assert "No pending pairing request matches '000000'" in capsys.readouterr().err
    assert await cli(cli_commands.devices_pending, state_dir) == 0
    assert capsys.readouterr().out.strip() == "No pending pairing requests."


async def test_no_companion_running_exits_2(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for handler, args in (
        (cli_commands.devices_pending, ()),
        (cli_commands.devices_approve, ("123456",)),
        (cli_commands.devices_reject, ("123456",)),
    ):
        assert await cli(handler, state_dir, *args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no companion is running" in err
    # A socket file left by a crashed companion is the same as none.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(control_socket_path(state_dir)))
    stale.close()
    assert await cli(cli_commands.devices_pending, state_dir) == 2


async def test_stale_socket_is_replaced_but_a_live_one_is_not(state_dir: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(control_socket_path(state_dir)))
    stale.close()
    first = ControlServer(state_dir, SocketConfirmer())
    await first.start()
    second = ControlServer(state_dir, SocketConfirmer())
    with pytest.raises(ControlSocketInUse):
        await second.start()
    await second.close()
    assert control_socket_path(state_dir).exists()  # the live socket survives
    await first.close()


async def test_sec09_revoke_via_socket_updates_the_running_store(
    companion: Companion, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = companion.store.issue("iPhone")
    loop = asyncio.get_running_loop()
    revoked: asyncio.Future[str] = loop.create_future()
    companion.store.add_revocation_listener(revoked.set_result, loop=loop)
    assert await cli(cli_commands.devices_revoke, state_dir, issued.device_id) == 0
    assert capsys.readouterr().out.strip() == f"Revoked {issued.device_id}"
    assert await asyncio.wait_for(revoked, 1.0) == issued.device_id
    assert companion.store.authenticate(issued.token) is None
    assert await cli(cli_commands.devices_revoke, state_dir, issued.device_id) == 1
    assert f"No device with id {issued.device_id}" in capsys.readouterr().err


async def test_sec09_revoke_offline_edits_the_file(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = DeviceStore(state_dir)
    issued = store.issue("iPhone")
    assert await cli(cli_commands.devices_revoke, state_dir, issued.device_id) == 0
    assert DeviceStore(state_dir).authenticate(issued.token) is None
    assert store.authenticate(issued.token) is None  # a running store re-reads the file


async def test_devices_list_prints_one_line_per_device(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(cli_commands.devices_list, tmp_path / "missing") == 0
    assert capsys.readouterr().out == "No paired devices.\n"
    assert not (tmp_path / "missing").exists()
    store = DeviceStore(state_dir)
    a, b = store.issue("Anna's iPhone"), store.issue("iPad")
    assert await cli(cli_commands.devices_list, state_dir) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{a.device_id}  Anna's iPhone  paired ")
    assert lines[1].startswith(f"{b.device_id}  iPad  paired ")
    assert all(a.token not in line and b.token not in line for line in lines)
    (state_dir / "devices.json").chmod(0o644)
    assert await cli(cli_commands.devices_list, state_dir) == 1
    assert "mode 644" in capsys.readouterr().err


async def test_protocol_survives_bad_input(companion: Companion, state_dir: Path) -> None:
    reader, writer = await asyncio.open_unix_connection(str(control_socket_path(state_dir)))
    try:
        for raw, expected in (
            (b"not json\n", "Expected one JSON object per line"),
            (b"[1, 2]\n", "Expected one JSON object per line"),
            (b'{"cmd": "launch"}\n', "Unknown command: launch"),
            (b'{"cmd": "approve"}\n', "Expected a request id or comparison code as target"),
            (b'{"cmd": "revoke"}\n', "Expected a deviceId"),
        ):
            writer.write(raw)
            await writer.drain()
            reply = json.loads(await reader.readline())
            assert reply == {"ok": False, "error": expected}
        writer.write(b'{"cmd": "pending"}\n')
        await writer.drain()
        assert json.loads(await reader.readline()) == {"ok": True, "pending": []}
        writer.write(b"x" * (MAX_LINE_BYTES + 10) + b"\n")
        await writer.drain()
        assert await reader.read() == b""  # oversize line: connection closed
    finally:
        writer.close()
        await writer.wait_closed()
    reply = await asyncio.to_thread(control_request, state_dir, {"cmd": "pending"})
    assert reply == {"ok": True, "pending": []}  # the server is still fine


async def test_pairing_services_start_and_stop(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(state_dir=state_dir, confirmer="auto", pairing_confirm_timeout_s=5)
    headless = PlatformInfo(platform="linux", env={}, stdin_is_tty=False)
    shared_store = DeviceStore(state_dir)
    services = await start_pairing_services(settings, store=shared_store, platform=headless)
    assert services.store is shared_store
    try:
        assert services.confirmer.channel_names == ["socket"]
        offer = services.manager.create_offer()
        task = asyncio.create_task(services.manager.confirm(offer.pairing_id, offer.nonce, "x"))
        while not services.socket_confirmer.pending():
            await asyncio.sleep(0.005)
        code = services.socket_confirmer.pending()[0].comparison_code
        assert await cli(cli_commands.devices_approve, state_dir, code) == 0
        result = await asyncio.wait_for(task, 5)
        assert services.store.authenticate(result.token) is not None
    finally:
        await services.aclose()
    assert not control_socket_path(state_dir).exists()
    assert services.watcher.cancelled()
