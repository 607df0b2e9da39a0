"""DeviceStore: token format, hashed storage, permissions, revocation (SEC-06, SEC-09)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import stat
from pathlib import Path

import pytest

from codexremote.errors import BadRequest
from codexremote.pairing import device_store as device_store_module
from codexremote.pairing.device_store import (
    LAST_USED_PERSIST_INTERVAL_S,
    MAX_DEVICE_NAME_CHARS,
    DeviceStore,
    DeviceStoreCorrupt,
    clean_device_name,
)
from codexremote.pairing.revoked import MAX_REVOKED_TOKENS, RevokedTokens
from codexremote.storage import InsecurePermissions, ensure_private_dir


class FakeClock:
    def __init__(self, start: float = 1_775_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return ensure_private_dir(tmp_path / "state")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sec06_token_is_256_bit_lowercase_hex_and_unique(state_dir: Path) -> None:
    store = DeviceStore(state_dir)
    tokens = {store.issue(f"phone {i}").token for i in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert re.fullmatch(r"[0-9a-f]{64}", token)
    # 50 tokens x 64 hex digits: every digit value shows up (no constant nibbles).
    assert set("".join(tokens)) == set("0123456789abcdef")


def test_sec06_device_id_is_uuid4(state_dir: Path) -> None:
    issued = DeviceStore(state_dir).issue("iPhone")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", issued.device_id
    )


def test_sec06_only_the_hash_is_stored(state_dir: Path) -> None:
    store = DeviceStore(state_dir)
    issued = store.issue("iPhone")
    everything = b"".join(p.read_bytes() for p in state_dir.iterdir() if p.is_file())
    assert issued.token.encode() not in everything
    document = json.loads((state_dir / "devices.json").read_text())
    (entry,) = document["devices"]
    assert entry["tokenHash"] == hashlib.sha256(issued.token.encode()).hexdigest()
    assert set(entry) == {"deviceId", "deviceName", "tokenHash", "createdAt", "lastUsedAt"}
    assert entry["deviceId"] == issued.device_id


def test_sec06_file_is_0600_in_a_0700_dir(tmp_path: Path) -> None:
    state = tmp_path / "fresh" / "state"
    DeviceStore(state).issue("iPhone")
    assert mode_of(state) == 0o700
    assert mode_of(state / "devices.json") == 0o600


@pytest.mark.parametrize("bad_mode", [0o644, 0o640, 0o604, 0o660])
def test_sec06_insecure_file_mode_refused_on_load(state_dir: Path, bad_mode: int) -> None:
    DeviceStore(state_dir).issue("iPhone")
    (state_dir / "devices.json").chmod(bad_mode)
    with pytest.raises(InsecurePermissions):
        DeviceStore(state_dir)


def test_sec06_insecure_dir_mode_refused_on_load(state_dir: Path) -> None:
    DeviceStore(state_dir).issue("iPhone")
    state_dir.chmod(0o755)
    with pytest.raises(InsecurePermissions):
        DeviceStore(state_dir)


def test_sec06_authenticate_compares_every_record_with_compare_digest(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DeviceStore(state_dir)
    issued = [store.issue(f"phone {i}") for i in range(5)]
    calls: list[tuple[str, str]] = []
    real = device_store_module.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(device_store_module.hmac, "compare_digest", spy)
    for token in (issued[0].token, issued[-1].token, "0" * 64):
        calls.clear()
        store.authenticate(token)
        # One constant-time comparison per record, whichever record matches (no early exit).
        assert len(calls) == 5


def test_sec06_authenticate_finds_the_right_device(state_dir: Path) -> None:
    store = DeviceStore(state_dir)
    a, b = store.issue("A"), store.issue("B")
    assert (record := store.authenticate(a.token)) is not None and record.device_id == a.device_id
    assert (record := store.authenticate(b.token)) is not None and record.device_name == "B"
    assert store.authenticate("") is None
    assert store.authenticate(a.token.upper()) is None
    assert store.authenticate(a.token + "0") is None
    assert store.authenticate("\u00e9" * 64) is None


def test_sec06_tokens_survive_a_restart(state_dir: Path) -> None:
    issued = DeviceStore(state_dir).issue("iPhone")
    reloaded = DeviceStore(state_dir)
    record = reloaded.authenticate(issued.token)
    assert record is not None and record.device_id == issued.device_id


def test_corrupt_file_is_refused_not_wiped(state_dir: Path) -> None:
    path = state_dir / "devices.json"
    for content in (b"{not json", b'{"devices": {}}', b'{"devices": [{"deviceId": "x"}]}'):
        path.write_bytes(content)
        path.chmod(0o600)
        with pytest.raises(DeviceStoreCorrupt):
            DeviceStore(state_dir)
        assert path.read_bytes() == content


def test_stale_temp_files_are_cleaned_on_load(state_dir: Path) -> None:
    DeviceStore(state_dir).issue("iPhone")
    leftover = state_dir / ".tmp-devices.json.deadbeef0001"
    leftover.write_bytes(b'{"devices": [')
    DeviceStore(state_dir)
    assert not leftover.exists()


def test_last_used_is_persisted_at_most_every_interval(state_dir: Path) -> None:
    clock = FakeClock()
    store = DeviceStore(state_dir, clock=clock)
    issued = store.issue("iPhone")
    path = state_dir / "devices.json"

    def on_disk() -> int:
        return int(json.loads(path.read_text())["devices"][0]["lastUsedAt"])

    created_ms = on_disk()
    clock.now += 5
    record = store.authenticate(issued.token)
    assert record is not None and record.last_used_at_ms == created_ms + 5000
    assert on_disk() == created_ms  # in memory only
    assert store.get(issued.device_id).last_used_at_ms == created_ms + 5000  # type: ignore[union-attr]
    clock.now += LAST_USED_PERSIST_INTERVAL_S
    store.authenticate(issued.token)
    assert on_disk() == int(clock.now * 1000)
    clock.now += 1
    store.authenticate(issued.token)
    assert on_disk() == int((clock.now - 1) * 1000)
    store.flush()
    assert on_disk() == int(clock.now * 1000)


async def test_authenticate_async_persists_in_a_thread(state_dir: Path) -> None:
    clock = FakeClock()
    store = DeviceStore(state_dir, clock=clock)
    issued = store.issue("iPhone")
    clock.now += LAST_USED_PERSIST_INTERVAL_S + 1
    record = await store.authenticate_async(issued.token)
    assert record is not None
    stored = json.loads((state_dir / "devices.json").read_text())["devices"][0]
    assert stored["lastUsedAt"] == int(clock.now * 1000)


def test_device_name_is_cleaned() -> None:
    assert clean_device_name("  Anna's iPhone \n") == "Anna's iPhone"
    assert clean_device_name("evil\x1b[31mred\x07") == "evil[31mred"
    assert clean_device_name("abc\u202egnp.exe") == "abcgnp.exe"  # bidi override stripped
    assert clean_device_name("x" * MAX_DEVICE_NAME_CHARS) == "x" * MAX_DEVICE_NAME_CHARS
    with pytest.raises(BadRequest, match="Device name is too long"):
        clean_device_name("x" * (MAX_DEVICE_NAME_CHARS + 1))
    with pytest.raises(BadRequest, match="Expected non-empty string for deviceName"):
        clean_device_name(" \t\x00 ")


def test_list_and_get(state_dir: Path) -> None:
    clock = FakeClock()
    store = DeviceStore(state_dir, clock=clock)
    first = store.issue("first")
    clock.now += 1
    second = store.issue("second")
    assert [r.device_id for r in store.list()] == [first.device_id, second.device_id]
    record = store.get(second.device_id)
    assert record is not None
    assert record.to_public() == {
        "deviceId": second.device_id,
        "deviceName": "second",
        "createdAt": int(clock.now * 1000),
        "lastUsedAt": int(clock.now * 1000),
    }
    assert store.get("nope") is None


def test_sec09_revoke_fires_listeners_and_token_stops_working(state_dir: Path) -> None:
    store = DeviceStore(state_dir)
    keep, gone = store.issue("keep"), store.issue("gone")
    fired: list[str] = []
    store.add_revocation_listener(fired.append)
    assert store.revoke(gone.device_id) is True
    assert fired == [gone.device_id]
    assert store.authenticate(gone.token) is None
    assert store.authenticate(keep.token) is not None
    assert store.revoke(gone.device_id) is False
    assert fired == [gone.device_id]
    # The revocation is durable.
    assert DeviceStore(state_dir).authenticate(gone.token) is None


def test_sec09_a_failing_listener_does_not_stop_the_others(state_dir: Path) -> None:
    store = DeviceStore(state_dir)
    issued = store.issue("phone")
    fired: list[str] = []

    def broken(device_id: str) -> None:
        raise RuntimeError("boom")

    store.add_revocation_listener(broken)
    store.add_revocation_listener(fired.append)
    assert store.revoke(issued.device_id)
    assert fired == [issued.device_id]


def test_sec09_revoke_by_another_process_is_noticed(state_dir: Path) -> None:
    running = DeviceStore(state_dir)
    issued = running.issue("phone")
    other = running.issue("other")
    fired: list[str] = []
    running.add_revocation_listener(fired.append)
    assert DeviceStore(state_dir).revoke(issued.device_id)  # e.g. the offline CLI
    assert running.authenticate(issued.token) is None
    assert fired == [issued.device_id]
    # A later write of the running store does not bring the device back.
    running.issue("third")
    assert DeviceStore(state_dir).get(issued.device_id) is None
    assert running.authenticate(other.token) is not None


async def test_sec09_watcher_notices_an_offline_revoke_within_a_second(state_dir: Path) -> None:
    running = DeviceStore(state_dir)
    issued = running.issue("phone")
    loop = asyncio.get_running_loop()
    revoked: asyncio.Future[str] = loop.create_future()
    running.add_revocation_listener(
        lambda device_id: revoked.done() or revoked.set_result(device_id), loop=loop
    )
    watcher = asyncio.create_task(running.watch_for_external_changes(0.05))
    try:
        await asyncio.to_thread(lambda: DeviceStore(state_dir).revoke(issued.device_id))
        started = loop.time()
        assert await asyncio.wait_for(revoked, 1.0) == issued.device_id
        assert loop.time() - started < 1.0
    finally:
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher


def test_concurrent_issue_from_threads_keeps_every_device(state_dir: Path) -> None:
    import threading

    store = DeviceStore(state_dir)
    issued: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(10):
            token = store.issue("t").token
            with lock:
                issued.append(token)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fresh = DeviceStore(state_dir)
    assert len(fresh.list()) == 40
    assert all(fresh.authenticate(token) is not None for token in issued)
    assert not [p for p in os.listdir(state_dir) if p.startswith(".tmp-")]


# ------------------------------------------------ issue 14 A3: revoked tokens stay known


def test_original_app_revoked_token_is_remembered_across_restarts(state_dir: Path) -> None:
    store = DeviceStore(state_dir)
    phone, other = store.issue("phone"), store.issue("other")
    assert not store.was_revoked(phone.token)
    assert store.revoke(phone.device_id)
    assert store.was_revoked(phone.token)
    assert not store.was_revoked(other.token)  # still paired
    assert not store.was_revoked("f" * 64)  # never seen: a guess
    assert not store.was_revoked("")
    # Persisted as digests only, and a new companion process still knows it.
    document = json.loads(store.path.read_text())
    assert document["revokedTokenHashes"] == [hashlib.sha256(phone.token.encode()).hexdigest()]
    assert phone.token not in store.path.read_text()
    assert DeviceStore(state_dir).was_revoked(phone.token)


def test_original_app_offline_revoke_by_an_old_writer_is_remembered(state_dir: Path) -> None:
    """A writer that keeps no revoked list (a hand edit, an older CLI) still leaves the
    running store knowing the removed device's token."""
    running = DeviceStore(state_dir)
    phone = running.issue("phone")
    document = {"devices": []}
    tmp = running.path.with_suffix(".edit")
    tmp.write_text(json.dumps(document))
    tmp.chmod(0o600)
    os.replace(tmp, running.path)
    assert running.authenticate(phone.token) is None
    assert running.was_revoked(phone.token)


def test_original_app_revoked_list_is_bounded_oldest_first() -> None:
    tokens = RevokedTokens(limit=3)
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(5)]
    for digest in digests:
        tokens.add(digest)
    assert [d in tokens for d in digests] == [False, False, True, True, True]
    tokens.add(digests[2])  # revoked again: newest now
    tokens.add(digests[0])
    assert tokens.to_json() == [digests[4], digests[2], digests[0]]
    assert len(RevokedTokens.from_json(tokens.to_json(), limit=2)) == 2
    assert MAX_REVOKED_TOKENS * 67 < 100_000  # the stored list stays small


@pytest.mark.parametrize("revoked_value", ["abc", [1], ["F" * 64], ["0" * 63], {"a": 1}], ids=repr)
def test_original_app_malformed_revoked_list_is_refused_not_wiped(
    state_dir: Path, revoked_value: object
) -> None:
    path = state_dir / "devices.json"
    path.write_text(json.dumps({"devices": [], "revokedTokenHashes": revoked_value}))
    path.chmod(0o600)
    with pytest.raises(DeviceStoreCorrupt):
        DeviceStore(state_dir)
