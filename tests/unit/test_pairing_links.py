"""Pairing links, QR codes and the advertised host (wire-api.md 2.1/2.2, SEC-07)."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import segno

from codexremote.pairing.commands import CommandResult
from codexremote.pairing.links import (
    advertised_host,
    pairing_uri,
    parse_tailscale_status,
    qr_png_data_url,
    render_terminal_qr,
    web_pair_link,
)
from codexremote.pairing.present import APP_QR_LABEL, WEB_QR_LABEL, OfferLinks, offer_text
from codexremote.settings import Settings
from tests.harness.qr_decode import decode_terminal_qrs

PID = "123e4567-e89b-42d3-a456-426614174000"
NONCE = "00112233445566778899aabbccddeeff"

# `tailscale status --json` of a Mac on a tailnet (values invented, shape as emitted by 1.8x/1.9x).
TAILSCALE_STATUS = """{
  "Version": "1.90.1-t8b5c4a1e2-g3f6d7c8b9",
  "TUN": true,
  "BackendState": "Running",
  "AuthURL": "",
  "TailscaleIPs": ["100.101.102.103", "fd7a:115c:a1e0::1"],
  "Self": {
    "ID": "nAbCdEf1CNTRL",
    "PublicKey": "nodekey:0000000000000000000000000000000000000000000000000000000000000000",
    "HostName": "Annas-MacBook-Pro",
    "DNSName": "annas-macbook-pro.tail1234.ts.net.",
    "OS": "macOS",
    "UserID": 1234567890,
    "TailscaleIPs": ["100.101.102.103", "fd7a:115c:a1e0::1"],
    "Online": true,
    "Active": true
  },
  "Health": [],
  "MagicDNSSuffix": "tail1234.ts.net",
  "CurrentTailnet": {
    "Name": "anna@example.com",
    "MagicDNSSuffix": "tail1234.ts.net",
    "MagicDNSEnabled": true
  },
  "Peer": {
    "nodekey:1111": {
      "HostName": "iPhone",
      "DNSName": "iphone.tail1234.ts.net.",
      "TailscaleIPs": ["100.64.0.3"],
      "Online": true
    }
  }
}"""


def test_pairing_uri_parameter_order_matches_the_original() -> None:
    uri = pairing_uri("https", "mac.tail1234.ts.net", 8787, PID, NONCE)
    assert uri == (
        "codexremote://pair?scheme=https&host=mac.tail1234.ts.net&port=8787"
        f"&pairingId={PID}&nonce={NONCE}"
    )
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("codexremote", "pair")
    assert [k for k, _ in parse_qsl(parts.query)] == [
        "scheme",
        "host",
        "port",
        "pairingId",
        "nonce",
    ]


def test_pairing_uri_percent_encodes_the_host_and_appends_extras_last() -> None:
    uri = pairing_uri("http", "my host&x=1", 9000, PID, NONCE, extra=[("expiresAt", "17")])
    assert "host=my%20host%26x%3D1&" in uri
    assert dict(parse_qsl(urlsplit(uri).query))["host"] == "my host&x=1"
    assert uri.endswith(f"&nonce={NONCE}&expiresAt=17")
    v6 = pairing_uri("http", "fd7a:115c:a1e0::1", 8787, PID, NONCE)
    assert dict(parse_qsl(urlsplit(v6).query))["host"] == "[fd7a:115c:a1e0::1]"
    with pytest.raises(ValueError):
        pairing_uri("ftp", "h", 1, PID, NONCE)


def test_sec07_web_link_carries_the_nonce_only_in_the_fragment() -> None:
    link = web_pair_link("https", "mac.tail1234.ts.net", 8787, PID, NONCE)
    assert link == f"https://mac.tail1234.ts.net:8787/#pairingId={PID}&nonce={NONCE}"
    parts = urlsplit(link)
    assert parts.query == "" and parts.path == "/"
    assert NONCE not in parts.scheme + parts.netloc + parts.path + parts.query
    assert dict(parse_qsl(parts.fragment)) == {"pairingId": PID, "nonce": NONCE}
    assert web_pair_link("http", "::1", 8787, PID, NONCE).startswith("http://[::1]:8787/#")


def test_terminal_qr_is_a_regular_qr_of_the_text() -> None:
    uri = pairing_uri("https", "mac.tail1234.ts.net", 8787, PID, NONCE)
    rendered = render_terminal_qr(uri)
    reference = segno.make_qr(uri, error="m")
    assert not reference.is_micro and reference.error == "M"
    rows = rendered.rstrip("\n").split("\n")
    # compact mode: two modules per character row, plus the quiet zone on both sides
    width = reference.symbol_size(border=2)[0]
    assert len(rows) == (width + 1) // 2
    assert all(len(row) == width for row in rows)
    assert set("".join(rows)) <= {" ", "\u2588", "\u2580", "\u2584"}


def test_qr_png_data_url_is_a_png_of_the_uri() -> None:
    uri = pairing_uri("https", "mac.tail1234.ts.net", 8787, PID, NONCE)
    url = qr_png_data_url(uri)
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    png = base64.b64decode(url[len(prefix) :], validate=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    modules = segno.make_qr(uri, error="m").symbol_size()[0]  # default border 4
    assert width == height and width % modules == 0 and width // modules >= 4


def test_parse_tailscale_status_prefers_magicdns_name() -> None:
    assert parse_tailscale_status(TAILSCALE_STATUS) == "annas-macbook-pro.tail1234.ts.net"
    no_dns = json.loads(TAILSCALE_STATUS)
    no_dns["Self"]["DNSName"] = ""
    assert parse_tailscale_status(json.dumps(no_dns)) == "100.101.102.103"
    no_dns["TailscaleIPs"] = ["fd7a:115c:a1e0::1", "100.101.102.103"]
    assert parse_tailscale_status(json.dumps(no_dns)) == "100.101.102.103"  # IPv4 first
    stopped = json.loads(TAILSCALE_STATUS)
    stopped["BackendState"] = "Stopped"
    assert parse_tailscale_status(json.dumps(stopped)) is None
    assert parse_tailscale_status("not json") is None
    assert parse_tailscale_status("[]") is None


class Runner:
    def __init__(self, result: CommandResult | Exception) -> None:
        self.result = result
        self.calls: list[list[str]] = []

    async def __call__(self, argv: Sequence[str], timeout_s: float) -> CommandResult:
        self.calls.append(list(argv))
        assert timeout_s <= 5
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


async def test_advertised_host_order(tmp_path: Path) -> None:
    def which(name: str) -> str | None:
        return "/usr/bin/tailscale" if name == "tailscale" else None

    def no_tailscale(name: str) -> str | None:
        return None

    up = Runner(CommandResult(0, TAILSCALE_STATUS, ""))
    explicit = Settings(state_dir=tmp_path, advertise_host="phone-facing.example")
    assert await advertised_host(explicit, runner=up, which=which) == "phone-facing.example"
    assert up.calls == []

    plain = Settings(state_dir=tmp_path, host="127.0.0.1")
    assert (
        await advertised_host(plain, runner=up, which=which) == "annas-macbook-pro.tail1234.ts.net"
    )
    assert up.calls == [["/usr/bin/tailscale", "status", "--json"]]

    failing = Runner(CommandResult(1, "", "failed to connect to local tailscaled"))
    assert await advertised_host(plain, runner=failing, which=which) == "127.0.0.1"
    broken = Runner(PermissionError("not executable"))
    assert await advertised_host(plain, runner=broken, which=which) == "127.0.0.1"

    wildcard = Settings(state_dir=tmp_path, host="0.0.0.0")
    host = await advertised_host(
        wildcard, runner=failing, which=no_tailscale, hostname=lambda: "annas-mac"
    )
    assert host == "annas-mac"


def _sample_links() -> OfferLinks:
    pairing_id, nonce = "0b8d6a52-5d4b-4f0e-9b1e-3c2d1a0f9e8d", "ab" * 16
    host = "mac-mini.tail1234.ts.net"
    return OfferLinks(
        app_uri=pairing_uri("https", host, 443, pairing_id, nonce),
        web_link=web_pair_link("https", host, 443, pairing_id, nonce),
    )


def test_original_app_scanner_gets_its_own_qr_and_each_fits_80_columns() -> None:
    links = _sample_links()
    text = offer_text(links, 120)
    assert decode_terminal_qrs(text) == [links.web_link, links.app_uri]
    qr_lines = [line for line in text.splitlines() if "\u2588" in line]
    assert qr_lines and max(len(line) for line in qr_lines) <= 80
    assert WEB_QR_LABEL in text and APP_QR_LABEL in text


def test_qr_choice_prints_only_the_chosen_code_but_both_links() -> None:
    links = _sample_links()
    app_only = offer_text(links, 120, "app")
    assert decode_terminal_qrs(app_only) == [links.app_uri]
    assert links.web_link in app_only
    assert decode_terminal_qrs(offer_text(links, 120, "web")) == [links.web_link]
