"""/health through the real app: the app-server states a phone or a script can see."""

from __future__ import annotations

import time
from pathlib import Path

from codexremote.app import build_services, create_app
from codexremote.settings import Settings
from tests.harness.processes import fake_app_server_launcher
from tests.unit.test_api_perimeter import BASE_URL, CLIENT, TestClient


def poll(client: TestClient, state: str, timeout: float = 15) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get("/health").json()
        if body["appServer"]["state"] == state or time.monotonic() > deadline:
            return body  # type: ignore[no-any-return]
        time.sleep(0.02)


def test_health_reports_dead_with_the_last_stderr_lines(tmp_path: Path) -> None:
    settings = Settings(port=8787, state_dir=tmp_path / "s", codex_home=tmp_path / "ch")
    services = build_services(settings, launcher=fake_app_server_launcher(FAKE_FAIL_ON_START="1"))
    services.supervisor._backoff_initial = 0.02
    with TestClient(create_app(services), base_url=BASE_URL, client=CLIENT) as client:
        body = poll(client, "dead")
        app_server = body["appServer"]
        assert app_server["state"] == "dead"  # type: ignore[index]
        assert app_server["lastError"]  # type: ignore[index]
        assert app_server["lastStderr"]  # type: ignore[index]
        assert body["ok"] is True  # the companion itself still serves
        assert services.supervisor.spawns == 5


def test_health_goes_restarting_then_ready_after_a_crash(tmp_path: Path) -> None:
    settings = Settings(port=8787, state_dir=tmp_path / "s", codex_home=tmp_path / "ch")
    services = build_services(settings, launcher=fake_app_server_launcher(FAKE_CRASH_AFTER="1"))
    services.supervisor._backoff_initial = 0.3
    with TestClient(create_app(services), base_url=BASE_URL, client=CLIENT) as client:
        first = poll(client, "ready")
        assert first["appServer"]["generation"] == 1  # type: ignore[index]
        token = services.devices.issue("phone").token
        # The fake crashes on its next request: the drawer's thread/list.
        crashed = client.get("/v1/projects", headers={"Authorization": f"Bearer {token}"})
        assert crashed.status_code in (502, 503) and crashed.json()["error"]
        restarting = poll(client, "restarting", timeout=5)
        assert restarting["appServer"]["state"] in ("restarting", "ready")  # type: ignore[index]
        again = poll(client, "ready")
        assert again["appServer"]["generation"] == 2  # type: ignore[index]
