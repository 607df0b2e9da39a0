"""``codexremote serve --tailscale`` as a user runs it: the real CLI and codex, the fake
``tailscale`` on PATH, and a real reverse proxy process adding tailscale serve's headers."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.harness.processes import free_port
from tests.harness.tailscale import DNS_NAME, FakeTailscale, status_doc
from tests.integration.test_pairing_e2e import cli, parse_like_ios, wait_pending

pytestmark = pytest.mark.integration

PROXY = Path(__file__).parents[1] / "harness" / "tailnet_proxy.py"
LOGIN = "anna@example.com"
STARTUP_S = 60.0
OTHER_ENTRY = {
    "TCP": {"8443": {"HTTPS": True}},
    "Web": {f"{DNS_NAME}:8443": {"Handlers": {"/": {"Proxy": "http://127.0.0.1:3000"}}}},
}


class Serve:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        self._tasks = [
            asyncio.create_task(self._collect(process.stdout, self.stdout)),
            asyncio.create_task(self._collect(process.stderr, self.stderr)),
        ]

    @staticmethod
    async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            into.append(line.decode())

    async def wait_stdout(self, needle: str) -> str:
        for _ in range(int(STARTUP_S / 0.05)):
            for line in self.stdout:
                if needle in line:
                    return line
            if self.process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {needle!r} in {self.stdout} / {self.stderr}")

    async def finish(self) -> int:
        code = await asyncio.wait_for(self.process.wait(), 30)
        await asyncio.gather(*self._tasks)
        return code


def serve_argv(port: int, tmp_path: Path, codex_bin: Path, codex_home: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "codexremote.cli",
        "serve",
        "--tailscale",
        "--port",
        str(port),
        "--codex-bin",
        str(codex_bin),
        "--codex-home",
        str(codex_home),
        "--state-dir",
        str(tmp_path / "state"),
        "--confirmer",
        "socket",
    ]


@contextlib.asynccontextmanager
async def serving(
    fake: FakeTailscale, argv: list[str], codex_env: dict[str, str]
) -> AsyncIterator[Serve]:
    env = {**fake.env(codex_env), "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    serve = Serve(process)
    try:
        yield serve
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def tailnet_proxy(upstream: int) -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(PROXY), str(upstream), LOGIN, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        assert line.startswith("listening "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        await process.wait()


async def test_sec23_serve_tailscale_pairs_over_https_name_and_cleans_up_on_sigterm(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> None:
    fake = FakeTailscale(tmp_path / "tailscale")
    fake.set_serve_config(OTHER_ENTRY)
    port = free_port()
    state_dir = tmp_path / "state"
    argv = serve_argv(port, tmp_path, codex_bin, codex_home)
    async with serving(fake, argv, codex_env) as serve:
        web = (await serve.wait_stdout("web client:")).split()[-1]
        app = (await serve.wait_stdout("native app:")).split()[-1]
        assert web.startswith(f"https://{DNS_NAME}:443/#pairingId=")
        link = parse_like_ios(app)
        assert (link.scheme, link.host, link.port) == ("https", DNS_NAME, 443)
        assert any(f"Published on your tailnet: https://{DNS_NAME}" in x for x in serve.stdout)
        target = f"http://127.0.0.1:{port}"
        assert ["serve", "--bg", "--yes", "--https=443", target] in fake.calls
        assert fake.serve_config["Web"][f"{DNS_NAME}:443"]["Handlers"]["/"]["Proxy"] == target

        async with (
            tailnet_proxy(port) as proxied_base,
            httpx.AsyncClient(
                base_url=proxied_base, headers={"Host": DNS_NAME}, timeout=30
            ) as phone,
            httpx.AsyncClient(base_url=target, timeout=30) as here,
        ):
            # Local-only routes are not reachable through the proxy (SEC-23) ...
            refused = await phone.post("/v1/pairing/request", json={})
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "forbidden"
            health = (await phone.get("/health")).json()
            assert "uptimeSeconds" not in health and set(health["appServer"]) == {"state"}
            # ... but are from this computer, and advertise the tailnet address.
            offer = (await here.post("/v1/pairing/request", json={})).json()
            assert offer["scheme"] == "https"
            assert offer["webLink"].startswith(f"https://{DNS_NAME}:443/#")
            assert "uptimeSeconds" in (await here.get("/health")).json()
            # The page's https origin passes the Origin check; a foreign one does not.
            evil = await phone.post(
                "/v1/pairing/confirm", json={}, headers={"Origin": "https://evil.example"}
            )
            assert evil.status_code == 403 and evil.json()["code"] == "bad_origin"
            fresh = parse_like_ios(offer["pairingUri"])
            body = {"pairingId": fresh.pairing_id, "nonce": fresh.nonce, "deviceName": "iPhone"}

            async def approve() -> None:
                pending = await wait_pending(state_dir)
                result = await cli(state_dir, "devices", "approve", pending[0].code)
                assert result.returncode == 0, result.stderr

            paired, _ = await asyncio.gather(
                phone.post(
                    "/v1/pairing/confirm", json=body, headers={"Origin": f"https://{DNS_NAME}"}
                ),
                approve(),
            )
            assert paired.status_code == 200, paired.text
            assert paired.json()["scheme"] == "https"
            token = paired.json()["token"]
            devices = await phone.get("/v1/devices", headers={"Authorization": f"Bearer {token}"})
            assert devices.status_code == 200

        serve.process.send_signal(signal.SIGTERM)
        code = await serve.finish()
    assert code in (0, -signal.SIGTERM)
    assert fake.calls[-1] == ["serve", "--https=443", "off"]
    assert fake.serve_config == OTHER_ENTRY  # exactly what was there before
    stderr = "".join(serve.stderr)
    assert f"for tailnet user {LOGIN}" in stderr
    assert token not in stderr and "Traceback" not in stderr


async def test_sec23_serve_tailscale_refuses_443_of_another_service(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> None:
    fake = FakeTailscale(tmp_path / "tailscale")
    busy = {
        "TCP": {"443": {"HTTPS": True}},
        "Web": {f"{DNS_NAME}:443": {"Handlers": {"/": {"Proxy": "http://127.0.0.1:3000"}}}},
    }
    fake.set_serve_config(busy)
    argv = serve_argv(free_port(), tmp_path, codex_bin, codex_home)
    async with serving(fake, argv, codex_env) as serve:
        code = await serve.finish()
    assert code == 2
    assert serve.stderr[0].startswith(
        f"codexremote: port 443 of {DNS_NAME} is already served by tailscale serve "
        "(/ -> http://127.0.0.1:3000)"
    )
    assert fake.serve_config == busy
    assert [c for c in fake.calls if c[:1] == ["serve"]] == [["serve", "status", "--json"]]


async def test_sec23_serve_and_doctor_tailscale_print_the_problem_lines(
    tmp_path: Path, codex_bin: Path, codex_env: dict[str, str], codex_home: Path
) -> None:
    fake = FakeTailscale(tmp_path / "tailscale", status=status_doc(magic_dns=False, https=False))
    argv = serve_argv(free_port(), tmp_path, codex_bin, codex_home)
    async with serving(fake, argv, codex_env) as serve:
        code = await serve.finish()
    assert code == 2
    assert [line.split(" (fix: ")[0] for line in serve.stderr] == [
        "codexremote: MagicDNS is off: this computer has no <name>.ts.net name",
        "codexremote: HTTPS certificates are not enabled for this tailnet",
    ]
    doctor = [*argv[:3], "doctor", *argv[4:-2]]
    doctor[doctor.index("--tailscale")] = "--tailscale"
    async with serving(fake, doctor, codex_env) as run:
        code = await run.finish()
    assert code == 1
    lines = [line for line in run.stdout if "tailscale" in line.split(":")[0]]
    assert [line.split(" (fix: ")[0] for line in lines] == [
        "FAIL tailscale: MagicDNS is off: this computer has no <name>.ts.net name",
        "FAIL tailscale: HTTPS certificates are not enabled for this tailnet",
    ]
    assert all("admin/dns" in line for line in lines)
