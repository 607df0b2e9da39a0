"""``tailscale`` checks and the serve entry, against the fake ``tailscale`` process."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from codexremote.locality import classify
from codexremote.tailnet import (
    ServeRefused,
    TailnetPublication,
    TailnetUnavailable,
    inspect_tailnet,
)
from codexremote.tailnet.publish import https_443_owner, serve_argv
from codexremote.tailnet.status import TailnetInfo
from tests.harness.tailscale import DNS_NAME, FakeTailscale, status_doc

OTHER_ENTRY = {
    "TCP": {"8443": {"HTTPS": True}},
    "Web": {f"{DNS_NAME}:8443": {"Handlers": {"/": {"Proxy": "http://127.0.0.1:3000"}}}},
}


def which_in(fake: FakeTailscale) -> Any:
    return lambda name: shutil.which(name, path=str(fake.bin_dir))


async def inspect(fake: FakeTailscale) -> TailnetInfo:
    return await inspect_tailnet(which=which_in(fake))


DAEMON_DOWN = "failed to connect to local tailscaled; it doesn't appear to be running"
SCENARIOS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "daemon-down",
        {"status": None, "status_exit": 1, "status_stderr": DAEMON_DOWN},
        [
            f"tailscaled is not running ({DAEMON_DOWN}) (fix: start the Tailscale app (macOS) "
            "or `sudo systemctl enable --now tailscaled` (Linux))"
        ],
    ),
    (
        "logged-out",
        {"status": status_doc(state="NeedsLogin")},
        ["this computer is not logged in to a tailnet (fix: run `tailscale up` and log in)"],
    ),
    (
        "stopped",
        {"status": status_doc(state="Stopped")},
        ["Tailscale is stopped on this computer (fix: run `tailscale up`)"],
    ),
    (
        "magicdns-off",
        {"status": status_doc(magic_dns=False)},
        [
            "MagicDNS is off: this computer has no <name>.ts.net name (fix: enable MagicDNS in "
            "the admin console (https://login.tailscale.com/admin/dns))"
        ],
    ),
    (
        "https-off",
        {"status": status_doc(https=False)},
        [
            "HTTPS certificates are not enabled for this tailnet (fix: enable HTTPS "
            "Certificates in the admin console (https://login.tailscale.com/admin/dns))"
        ],
    ),
]


@pytest.mark.parametrize(("name", "scenario", "lines"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
async def test_sec23_each_tailnet_problem_is_one_line_with_its_fix(
    tmp_path: Path, name: str, scenario: dict[str, Any], lines: list[str]
) -> None:
    fake = FakeTailscale(tmp_path, **scenario)
    with pytest.raises(TailnetUnavailable) as caught:
        await inspect(fake)
    assert [p.line() for p in caught.value.problems] == lines
    assert fake.calls == [["status", "--json"]]


async def test_sec23_not_installed_says_where_to_get_it() -> None:
    with pytest.raises(TailnetUnavailable) as caught:
        await inspect_tailnet(which=lambda _name: None)
    assert [p.line() for p in caught.value.problems] == [
        "Tailscale is not installed (fix: install it from https://tailscale.com/download)"
    ]


async def test_sec23_running_tailnet_gives_the_magicdns_name(tmp_path: Path) -> None:
    info = await inspect(FakeTailscale(tmp_path))
    assert info.dns_name == DNS_NAME and info.origin == f"https://{DNS_NAME}"
    assert info.version == (1, 76, 1) and info.tailnet == "anna@example.com"


def test_serve_argv_follows_the_installed_version() -> None:
    new = TailnetInfo("/bin/ts", (1, 76, 1), DNS_NAME, None)
    old = TailnetInfo("/bin/ts", (1, 50, 0), DNS_NAME, None)
    assert serve_argv(new, 8787, off=False) == [
        "/bin/ts",
        "serve",
        "--bg",
        "--yes",
        "--https=443",
        "http://127.0.0.1:8787",
    ]
    assert serve_argv(new, 8787, off=True) == ["/bin/ts", "serve", "--https=443", "off"]
    assert serve_argv(old, 8787, off=False) == [
        "/bin/ts",
        "serve",
        "https:443",
        "/",
        "http://127.0.0.1:8787",
    ]
    assert serve_argv(old, 8787, off=True)[-1] == "off"


def test_https_443_owner_tells_ours_from_others() -> None:
    target = "http://127.0.0.1:8787"
    assert https_443_owner({}, target) is None
    assert https_443_owner(OTHER_ENTRY, target) is None  # 8443 is not ours to judge
    ours = {
        "TCP": {"443": {"HTTPS": True}},
        "Web": {f"{DNS_NAME}:443": {"Handlers": {"/": {"Proxy": target}}}},
    }
    assert https_443_owner(ours, target) is None  # a killed earlier run of ours
    other = {
        "TCP": {"443": {"HTTPS": True}},
        "Web": {f"{DNS_NAME}:443": {"Handlers": {"/": {"Proxy": "http://127.0.0.1:3000"}}}},
    }
    assert https_443_owner(other, target) == "/ -> http://127.0.0.1:3000"
    forward = {"TCP": {"443": {"TCPForward": "127.0.0.1:22"}}}
    assert https_443_owner(forward, target) == "a TCP forward to 127.0.0.1:22"


@pytest.mark.parametrize("version", ["1.76.1-t1", "1.50.1-t2"])
async def test_sec23_publish_then_withdraw_leaves_other_entries_alone(
    tmp_path: Path, version: str
) -> None:
    fake = FakeTailscale(tmp_path, status=status_doc(version=version))
    fake.set_serve_config(OTHER_ENTRY)
    publication = TailnetPublication(await inspect(fake), 8787)
    await publication.publish()
    config = fake.serve_config
    assert config["Web"][f"{DNS_NAME}:443"] == {
        "Handlers": {"/": {"Proxy": "http://127.0.0.1:8787"}}
    }
    assert config["Web"][f"{DNS_NAME}:8443"] == OTHER_ENTRY["Web"][f"{DNS_NAME}:8443"]
    await publication.withdraw()
    await publication.withdraw()  # idempotent: one "off" only
    assert fake.serve_config == OTHER_ENTRY
    serve_calls = [c for c in fake.calls if c[:1] == ["serve"] and c[1:2] != ["status"]]
    assert len(serve_calls) == 2 and serve_calls[1][-1] == "off"


async def test_sec23_443_served_by_something_else_is_refused_untouched(tmp_path: Path) -> None:
    fake = FakeTailscale(tmp_path)
    busy = {
        "TCP": {"443": {"HTTPS": True}},
        "Web": {f"{DNS_NAME}:443": {"Handlers": {"/": {"Proxy": "http://127.0.0.1:3000"}}}},
    }
    fake.set_serve_config(busy)
    publication = TailnetPublication(await inspect(fake), 8787)
    with pytest.raises(ServeRefused) as caught:
        await publication.publish()
    assert str(caught.value).startswith(
        f"port 443 of {DNS_NAME} is already served by tailscale serve "
        "(/ -> http://127.0.0.1:3000) (fix: "
    )
    await publication.withdraw()  # nothing was added: nothing is removed
    assert fake.serve_config == busy
    assert [c for c in fake.calls if c[:1] == ["serve"]] == [["serve", "status", "--json"]]


async def test_sec23_serve_denied_names_the_operator_fix(tmp_path: Path) -> None:
    fake = FakeTailscale(tmp_path, serve_exit=1, serve_stderr="Access denied: serve config denied")
    publication = TailnetPublication(await inspect(fake), 8787)
    with pytest.raises(ServeRefused) as caught:
        await publication.publish()
    assert str(caught.value) == (
        "`tailscale serve` was denied (Access denied: serve config denied) "
        "(fix: run `sudo tailscale set --operator=$USER` once)"
    )
    assert publication.published is False


def test_sec23_locality_one_rule_for_every_caller() -> None:
    assert classify("127.0.0.1", []).local
    assert classify("::ffff:127.0.0.1", [(b"host", b"x")]).local
    proxied = classify(
        "127.0.0.1",
        [(b"X-Forwarded-For", b"1.2.3.4, 100.64.0.7"), (b"Tailscale-User-Login", b"a@b.c")],
    )
    assert not proxied.local and proxied.proxied
    assert proxied.connection_key == "fwd:100.64.0.7" and proxied.tailnet_login == "a@b.c"
    for header in ("Tailscale-User-Name", "X-Forwarded-Proto", "Forwarded", "X-Real-IP"):
        assert not classify("127.0.0.1", [(header, "v")]).local, header
    # A remote peer is remote whatever it sends, and never gets a forwarded key.
    remote = classify("100.64.0.9", [("x-forwarded-for", "127.0.0.1")])
    assert not remote.local and remote.connection_key == "100.64.0.9"
    assert not classify(None, []).local
