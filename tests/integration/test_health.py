"""/health through the real app: the app-server states a phone or a script can see."""

from __future__ import annotations

import time
from pathlib import Path

from codexremote.app import Services, build_services, create_app
from codexremote.codex.supervisor import MAX_FAST_FAILURES, Launcher
from codexremote.codex.transport import Transport
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


def failing_first(times: int) -> Launcher:
    """The fake app-server that fails on start ``times`` times, then works."""
    failing = fake_app_server_launcher(FAKE_FAIL_ON_START="1")
    healthy = fake_app_server_launcher()
    spawned: list[int] = []

    async def launch() -> Transport:
        spawned.append(1)
        return await (failing() if len(spawned) <= times else healthy())

    return launch


REMOTE = ("100.64.0.7", 50123)  # a tailnet phone


def dead_companion(tmp_path: Path) -> Services:
    settings = Settings(
        port=8787,
        state_dir=tmp_path / "s",
        codex_home=tmp_path / "codex-home-secret-path",
        confirmer="socket",
    )
    services = build_services(settings, launcher=failing_first(MAX_FAST_FAILURES))
    services.supervisor._backoff_initial = 0.02
    return services


def test_sec21_public_health_says_the_state_and_hides_the_detail(tmp_path: Path) -> None:
    """Issue 9.11: unauthenticated /health showed stderr and the CODEX_HOME path."""
    services = dead_companion(tmp_path)
    token = services.devices.issue("phone").token
    app = create_app(services)
    with TestClient(app, base_url=BASE_URL, client=CLIENT) as local:
        assert poll(local, "dead")["appServer"]["lastStderr"]  # type: ignore[index]
        with TestClient(app, base_url=BASE_URL, client=REMOTE) as remote:
            public = [
                remote.get("/health"),
                remote.get("/health", headers={"Authorization": "Bearer " + "0" * 64}),
                local.get("/health", headers={"X-Forwarded-For": "203.0.113.9"}),
                local.get("/health", headers={"Tailscale-User-Login": "alice@example.com"}),
                local.get("/health", headers={"Forwarded": "for=203.0.113.9"}),
            ]
            for response in public:
                assert response.status_code == 200
                body = response.json()
                assert body["ok"] is True and body["appServerState"] == "dead"
                assert body["appServer"] == {"state": "dead"}
                assert "codex-home-secret-path" not in response.text
                assert "fail" not in response.text.lower()
            detailed = [
                remote.get("/health", headers={"Authorization": f"Bearer {token}"}),
                local.get("/health"),
            ]
            for response in detailed:
                app_server = response.json()["appServer"]
                assert app_server["state"] == "dead"
                assert app_server["lastError"] and app_server["lastStderr"]
                assert app_server["consecutiveFailures"] == MAX_FAST_FAILURES
                assert app_server["nextRetrySeconds"] > 0


def test_rel01_restart_route_revives_a_dead_child_at_once(tmp_path: Path) -> None:
    """Issue 9.10: dead stayed dead until the companion was restarted at the computer."""
    services = dead_companion(tmp_path)
    token = services.devices.issue("phone").token
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(services), base_url=BASE_URL, client=REMOTE) as client:
        deadline = time.monotonic() + 15
        while services.supervisor.state != "dead" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert services.supervisor.state == "dead"
        assert client.post("/v1/app-server/restart").status_code == 401
        refused = client.post("/v1/app-server/restart", json={"force": True}, headers=auth)
        assert refused.status_code == 400 and refused.json()["error"]
        assert services.supervisor.state == "dead"  # a refused request restarts nothing
        response = client.post("/v1/app-server/restart", headers=auth)  # no body
        assert response.status_code == 200, response.text
        assert response.json() == {"data": {"state": "ready", "generation": MAX_FAST_FAILURES + 1}}
        again = client.post("/v1/app-server/restart", json={}, headers=auth)  # a running one
        assert again.json() == {"data": {"state": "ready", "generation": MAX_FAST_FAILURES + 2}}
        assert services.supervisor.consecutive_failures == 0
        schema = client.get("/v1/openapi.json").json()
        assert "/v1/app-server/restart" in schema["paths"]
