"""Pairing a phone with this computer: offers, local confirmation, device tokens.

Modules (import them directly; this package imports nothing so that a light
consumer such as the token store does not pay for QR rendering):

- ``device_store``: hashed device tokens in ``devices.json`` (SEC-06, SEC-09, REL-08)
- ``offers``: single-use pairing offers and the confirm flow (SEC-07)
- ``rate_limit``: sliding-window failure limiter (also for bad bearer tokens)
- ``codes``: the comparison code shown on the phone and on the computer (SEC-08)
- ``confirmation`` / ``confirmers``: local confirmation channels (SEC-08)
- ``control``: the 0600 Unix control socket (``codexremote devices ...``)
- ``cli_commands``: handlers behind ``codexremote devices ...``
- ``links``: pairing URI, web link, QR rendering, advertised host
- ``service``: builds and starts all of the above from ``Settings``

See docs/pairing.md for formats and decisions.
"""
