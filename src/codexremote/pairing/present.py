"""What the terminal shows for a pairing offer: a QR code and the two links."""

from __future__ import annotations

from dataclasses import dataclass

from codexremote.pairing.links import pairing_uri, render_terminal_qr, web_pair_link
from codexremote.pairing.offers import PairingOffer


@dataclass(frozen=True)
class OfferLinks:
    app_uri: str  # codexremote://pair?... for the native app's scanner
    web_link: str  # the companion's web client; the nonce rides in the fragment only


def offer_links(offer: PairingOffer, scheme: str, host: str, port: int) -> OfferLinks:
    return OfferLinks(
        app_uri=pairing_uri(scheme, host, port, offer.pairing_id, offer.nonce),
        web_link=web_pair_link(scheme, host, port, offer.pairing_id, offer.nonce),
    )


def offer_text(links: OfferLinks, ttl_s: int) -> str:
    """The QR encodes the web link (an iPhone camera opens it); the app URI is printed too."""
    return "\n".join(
        [
            "Pair a phone with this computer (single use, expires in "
            f"{ttl_s} s; you will be asked to confirm here):",
            render_terminal_qr(links.web_link),
            f"  web client:  {links.web_link}",
            f"  native app:  {links.app_uri}",
            "Confirm with the prompt shown, or from another terminal: "
            "codexremote devices pending / approve <code>",
        ]
    )
