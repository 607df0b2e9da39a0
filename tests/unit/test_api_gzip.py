"""GET /v1/chats is gzip-compressed when accepted (the drawer of 5,000 chats is
1.75 MB of JSON, ~76 KB gzip: what a phone on a tailnet has to download)."""

from __future__ import annotations

import warnings
from pathlib import Path

from starlette.exceptions import StarletteDeprecationWarning

from tests.unit.test_web_shell import BASE_URL, make_client

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

THREADS = 300


def thread(i: int) -> dict[str, object]:
    return {
        "id": f"019c{i:04x}-0000-7000-8000-{i:012x}",
        "cwd": f"/home/dev/project-{i % 7}",
        "name": f"Chat {i}",
        "preview": "Please look at the failing test and fix it " * 2,
        "createdAt": 1_773_000_000 - i * 60,
        "updatedAt": 1_773_000_000 - i * 60,
        "status": {"type": "notLoaded"},
    }


def test_drawer_rows_are_gzipped_when_accepted(tmp_path: Path) -> None:
    app, services = make_client(tmp_path, None)
    token = services.devices.issue("phone").token
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(app, base_url=BASE_URL) as http:
        assert http.get("/v1/chats", headers=auth).status_code == 200  # first listing
        for i in range(THREADS):
            services.chats.directory.upsert(thread(i))
        plain = http.get("/v1/chats", headers={**auth, "Accept-Encoding": "identity"})
        packed = http.get("/v1/chats", headers={**auth, "Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.headers["cache-control"] == "no-store"
    assert packed.json() == plain.json()  # httpx decoded the gzip body
    rows = plain.json()["data"]
    assert len(rows) == THREADS and rows[0]["title"] == "Chat 0"
    assert int(packed.headers["content-length"]) < len(plain.content) / 5


def test_small_answers_stay_plain(tmp_path: Path) -> None:
    app, services = make_client(tmp_path, None)
    token = services.devices.issue("phone").token
    with TestClient(app, base_url=BASE_URL) as http:
        small = http.get(
            "/v1/chats", headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
        )
    assert small.status_code == 200 and small.json() == {"data": []}
    assert "content-encoding" not in small.headers
