#!/usr/bin/env python3
"""Draw the web client's PNG icons (180, 192, 512 px) with the standard library only.

Run once after changing the design; the PNGs are committed, so installing needs no
image tool. The icon is a terminal prompt ">_" in white on the app's dark blue,
opaque (iOS fills transparency with black) and with the glyph inside the maskable
safe zone (the centre 80 %), so Android's round crop keeps it whole.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

SIZES = (180, 192, 512)
BACKGROUND = (0x1F, 0x3A, 0x5F)
FOREGROUND = (0xFF, 0xFF, 0xFF)
OUT = Path(__file__).resolve().parent.parent / "src" / "codexremote" / "web" / "icons"


def _inside_chevron(x: float, y: float) -> bool:
    """A '>' made of two thick strokes, in unit coordinates (0..1)."""
    thickness = 0.075
    for x0, y0, x1, y1 in ((0.26, 0.32, 0.46, 0.5), (0.46, 0.5, 0.26, 0.68)):
        dx, dy = x1 - x0, y1 - y0
        t = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)))
        px, py = x0 + t * dx, y0 + t * dy
        if (x - px) ** 2 + (y - py) ** 2 <= (thickness / 2) ** 2 * 1.6:
            return True
    return False


def _inside_underscore(x: float, y: float) -> bool:
    return 0.52 <= x <= 0.76 and 0.63 <= y <= 0.70


def pixels(size: int) -> bytes:
    rows = bytearray()
    for j in range(size):
        rows.append(0)  # filter: none
        y = (j + 0.5) / size
        for i in range(size):
            x = (i + 0.5) / size
            colour = FOREGROUND if _inside_chevron(x, y) or _inside_underscore(x, y) else BACKGROUND
            rows.extend(colour)
    return bytes(rows)


def png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels(size), 9))
        + chunk(b"IEND", b"")
    )


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        target = OUT / f"icon-{size}.png"
        target.write_bytes(png(size))
        print(f"{target.name}: {target.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
