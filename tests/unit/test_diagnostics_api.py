"""``POST /v1/debug/ios-log`` (wire-api.md 4.6): success, empty, oversize, file mode.

The product's app in TestClient; the log lands in a real state dir on disk.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from codexremote.diagnostics import DEVICE_LOG_NAME, MAX_DEVICE_LOG_BYTES
from tests.unit.dictation_support import IOS_LOG, Phone, phone_for

LINE = {"details": {"screen": "chat"}, "event": "app_launch", "level": "info",
        "timestamp": "2026-12-02T06:00:00Z"}  # fmt: skip
NDJSON = "\n".join(json.dumps(dict(LINE, n=i), sort_keys=True) for i in range(3))


@pytest.fixture
def phone(tmp_path: Path) -> Iterator[Phone]:
    with phone_for(tmp_path) as device:
        yield device


def log_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / DEVICE_LOG_NAME


def test_saves_the_log(phone: Phone, tmp_path: Path) -> None:
    response = phone.post(IOS_LOG, {"contents": f"\n  {NDJSON}\n\n"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    path = log_file(tmp_path)
    assert path.read_text(encoding="utf-8") == NDJSON + "\n"  # trimmed, one newline
    assert data["bytes"] == len((NDJSON + "\n").encode()) and isinstance(data["bytes"], int)
    assert data["path"] == str(path) or data["path"].endswith("/state/" + DEVICE_LOG_NAME)


def test_rel08_log_file_is_private_and_replaced(phone: Phone, tmp_path: Path) -> None:
    assert phone.post(IOS_LOG, {"contents": NDJSON + "\n" + NDJSON}).status_code == 200
    second = '{"event":"é ✓"}'
    response = phone.post(IOS_LOG, {"contents": second})
    assert response.status_code == 200
    path = log_file(tmp_path)
    assert path.read_text(encoding="utf-8") == second + "\n"  # overwritten, not appended
    assert response.json()["data"]["bytes"] == len(second.encode("utf-8")) + 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(os.listdir(path.parent)).count(DEVICE_LOG_NAME) == 1
    assert not [n for n in os.listdir(path.parent) if n.startswith(".tmp-")]


def test_concurrent_uploads_leave_one_whole_log(phone: Phone, tmp_path: Path) -> None:
    bodies = [f'{{"n":{i}}}\n' * 2000 for i in range(6)]
    statuses: list[int] = []

    def send(body: str) -> None:
        statuses.append(phone.post(IOS_LOG, {"contents": body}).status_code)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(bodies)
    assert log_file(tmp_path).read_text() in {b.strip() + "\n" for b in bodies}


@pytest.mark.parametrize("body", [{}, {"contents": ""}, {"contents": " \n\t "},
                                  {"contents": None}, {"contents": 42}, {"contents": ["a"]},
                                  {"contents": {"a": 1}}])  # fmt: skip
def test_empty_or_non_string_is_400(body: object, phone: Phone, tmp_path: Path) -> None:
    response = phone.post(IOS_LOG, body)
    assert response.status_code == 400
    assert response.json() == {"error": "Debug log contents are required",
                               "code": "contents_required"}  # fmt: skip
    assert not log_file(tmp_path).exists()


def test_sec16_oversize_log_is_413(phone: Phone, tmp_path: Path) -> None:
    assert phone.post(IOS_LOG, {"contents": "x" * MAX_DEVICE_LOG_BYTES}).status_code == 200
    response = phone.post(IOS_LOG, {"contents": "y" * (MAX_DEVICE_LOG_BYTES + 1)})
    assert response.status_code == 413
    assert response.json()["code"] == "log_too_large"
    assert log_file(tmp_path).read_text() == "x" * MAX_DEVICE_LOG_BYTES + "\n"  # kept


def test_sec16_oversize_body_is_413_at_the_perimeter(phone: Phone) -> None:
    response = phone.post(IOS_LOG, {"contents": '"' * (MAX_DEVICE_LOG_BYTES + 1)})
    assert response.status_code == 413  # each quote is escaped: 8 MiB of JSON
    assert response.json()["code"] == "payload_too_large"


def test_requires_a_device(phone: Phone) -> None:
    response = phone.client.post(IOS_LOG, json={"contents": NDJSON})
    assert response.status_code == 401


def test_lone_surrogate_is_refused_and_nothing_written(phone: Phone, tmp_path: Path) -> None:
    raw = b'{"contents": "before \\ud800 after"}'  # valid JSON, not encodable as UTF-8
    response = phone.client.post(
        IOS_LOG,
        content=raw,
        headers={"Authorization": f"Bearer {phone.token}", "Content-Type": "application/json"},
    )
    # Strict JSON bodies (issue 9.3): refused before the route, no file written.
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "json_invalid_unicode"
    assert not log_file(tmp_path).exists()
