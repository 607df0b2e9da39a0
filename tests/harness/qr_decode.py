"""Decode QR codes printed on a terminal, as a phone's scanner would see them.

The terminal output (segno's compact half-block rendering, light modules drawn
with block characters) is turned back into a greyscale PGM image and decoded by
the real ``zbarimg`` (Debian's zbar-tools), so a test proves what a scanner reads,
not what we meant to encode.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

# Each character is one module wide and two high: (top is light, bottom is light).
_HALVES = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}
SCALE = 6  # pixels per module
MARGIN = 4  # extra light modules around the picture


def _qr_blocks(text: str) -> list[list[str]]:
    """Runs of consecutive lines made only of QR characters (one block per QR)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line and set(line) <= set(_HALVES) and "█" in line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _pgm(lines: list[str]) -> bytes:
    width = max(len(line) for line in lines)
    rows: list[list[bool]] = []
    for line in lines:
        top, bottom = [], []
        for ch in line.ljust(width, "█"):
            up, down = _HALVES[ch]
            top.append(up)
            bottom.append(down)
        rows.extend([top, bottom])
    light = [[True] * (width + 2 * MARGIN) for _ in range(MARGIN)]
    grid = light + [[True] * MARGIN + row + [True] * MARGIN for row in rows] + light
    pixels = bytearray()
    for row in grid:
        line = bytearray()
        for module in row:
            line += (b"\xff" if module else b"\x00") * SCALE
        pixels += bytes(line) * SCALE
    height = len(grid) * SCALE
    header = f"P5 {len(grid[0]) * SCALE} {height} 255\n".encode()
    return header + bytes(pixels)


def decode_terminal_qrs(text: str) -> list[str]:
    """The payload of every QR code in ``text``, top to bottom."""
    zbarimg = shutil.which("zbarimg")
    assert zbarimg, "zbarimg missing: scripts/install --test installs zbar-tools"
    decoded = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, block in enumerate(_qr_blocks(text)):
            image = Path(tmp) / f"qr{index}.pgm"
            image.write_bytes(_pgm(block))
            result = subprocess.run(
                [zbarimg, "--raw", "-q", str(image)], capture_output=True, text=True, timeout=30
            )
            assert result.returncode == 0, f"zbarimg could not read QR {index}: {result.stderr}"
            decoded.append(result.stdout.strip())
    return decoded
