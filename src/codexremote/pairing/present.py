"""What the terminal shows for a pairing offer: a QR code and the two links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from codexremote.pairing.links import pairing_uri, render_terminal_qr, url_host, web_pair_link
from codexremote.pairing.offers import PairingOffer


@dataclass(frozen=True)
class PublicAddress:
    """Where a phone reaches the companion: what both pairing links carry. Not the
    bind address: behind ``tailscale serve`` it is https on 443 of the tailnet name
    while the companion listens on http://127.0.0.1."""

    scheme: Literal["http", "https"]
    host: str
    port: int

    def origins(self) -> tuple[str, ...]:
        """The Origin values a browser sends for a page loaded from here."""
        shown = url_host(self.host).lower()
        exact = f"{self.scheme}://{shown}:{self.port}"
        default = {"https": 443, "http": 80}[self.scheme]
        return (exact, f"{self.scheme}://{shown}") if self.port == default else (exact,)


@dataclass(frozen=True)
class OfferLinks:
    app_uri: str  # codexremote://pair?... for the native app's scanner
    web_link: str  # the companion's web client; the nonce rides in the fragment only


def offer_links(offer: PairingOffer, scheme: str, host: str, port: int) -> OfferLinks:
    return OfferLinks(
        app_uri=pairing_uri(scheme, host, port, offer.pairing_id, offer.nonce),
        web_link=web_pair_link(scheme, host, port, offer.pairing_id, offer.nonce),
    )


QrChoice = Literal["both", "web", "app"]
# Labels a person reads before scanning: which scanner each code is for.
WEB_QR_LABEL = "Phone camera (opens the web client):"
APP_QR_LABEL = "CodexRemote iOS app (scan in the app):"


def offer_qr_blocks(links: OfferLinks, qr: QrChoice = "both") -> list[str]:
    """The labelled QR codes to print, one below the other.

    The original iOS app's in-app scanner accepts only ``codexremote://pair?…``
    and a phone camera needs an https/http link to open the web client, so by
    default both are shown. Stacked, not side by side: each is ~57 columns wide,
    two would not fit an 80-column terminal.
    """
    blocks = []
    if qr in ("both", "web"):
        blocks.append(f"{WEB_QR_LABEL}\n{render_terminal_qr(links.web_link)}")
    if qr in ("both", "app"):
        blocks.append(f"{APP_QR_LABEL}\n{render_terminal_qr(links.app_uri)}")
    return blocks


def offer_text(links: OfferLinks, ttl_s: int, qr: QrChoice = "both") -> str:
    """QR code(s) for the chosen client(s); both links are always printed as text."""
    return "\n".join(
        [
            "Pair a phone with this computer (single use, expires in "
            f"{ttl_s} s; you will be asked to confirm here):",
            *offer_qr_blocks(links, qr),
            f"  web client:  {links.web_link}",
            f"  native app:  {links.app_uri}",
            "Confirm with the prompt shown, or from another terminal: "
            "codexremote devices pending / approve <code>",
        ]
    )
