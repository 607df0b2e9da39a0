"""The visible-desktop proof: Codex Desktop on screen shows the text the phone sent.

Only a logged-in macOS desktop can show it, so anywhere else the step is SKIP
with that reason, never PASS. On macOS a small Swift program (run with
``xcrun swift``; Vision and CoreGraphics need no extra install beyond the
command line tools) checks the two permissions the proof needs, captures the
screen and prints the recognised text:

* **Screen Recording** (``CGPreflightScreenCaptureAccess``): without it macOS
  captures the wallpaper only, so the text could never be found;
* **Accessibility** (``AXIsProcessTrusted``): needed to bring Codex Desktop
  forward and to the chat (desktop sync, docs/desktop.md).

Both are granted to the terminal app that runs ``codexremote verify`` (System
Settings > Privacy & Security).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from pathlib import Path

from codexremote.pairing.commands import run_command
from codexremote.verify.report import StepFailed, StepSkipped

OCR_TIMEOUT_S = 120.0  # the first `xcrun swift` run compiles the script
ACTIVATE_TIMEOUT_S = 10.0
SETTLE_S = 1.8  # the seed's DESKTOP_VERIFY_DELAY_MS
EXIT_NO_SCREEN_RECORDING = 3
EXIT_NO_ACCESSIBILITY = 4

OCR_SWIFT = r"""
import AppKit
import ApplicationServices
import CoreGraphics
import Vision

if !CGPreflightScreenCaptureAccess() { print("missing: screen recording"); exit(3) }
if !AXIsProcessTrusted() { print("missing: accessibility"); exit(4) }
guard let image = CGDisplayCreateImage(CGMainDisplayID()) else { print("no image"); exit(5) }
let request = VNRecognizeTextRequest()
request.recognitionLevel = .accurate
try VNImageRequestHandler(cgImage: image, options: [:]).perform([request])
for observation in request.results ?? [] {
    if let best = observation.topCandidates(1).first { print(best.string) }
}
"""


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def text_visible(expected: str, ocr_lines: list[str]) -> bool:
    """OCR splits and joins words freely: compare without spaces, case-insensitively."""
    return normalise(expected) in normalise("".join(ocr_lines))


def diagnose(returncode: int | None) -> str | None:
    if returncode == EXIT_NO_SCREEN_RECORDING:
        return (
            "Screen Recording permission is missing for this terminal (System Settings > "
            "Privacy & Security > Screen Recording)"
        )
    if returncode == EXIT_NO_ACCESSIBILITY:
        return (
            "Accessibility permission is missing for this terminal (System Settings > "
            "Privacy & Security > Accessibility)"
        )
    return None


def _platform() -> str:
    return sys.platform  # a call, so type checkers do not prune the macOS branch


def desktop_supported() -> None:
    """Raise StepSkipped where no macOS desktop can exist."""
    platform = _platform()
    if platform != "darwin":
        raise StepSkipped(f"SKIP: needs a logged-in macOS desktop (this is {platform})")


async def desktop_proof(expected: str, app_name: str, work_dir: Path) -> tuple[str, list[str]]:
    desktop_supported()
    if shutil.which("xcrun") is None:
        raise StepFailed("OCR needs the Xcode command line tools (run: xcode-select --install)")
    activate = await run_command(["open", "-a", app_name], ACTIVATE_TIMEOUT_S)
    if activate.returncode != 0:
        raise StepFailed(f"could not open {app_name}: {activate.stderr.strip()[:160]}")
    await asyncio.sleep(SETTLE_S)
    script = work_dir / "ocr-screen.swift"
    script.write_text(OCR_SWIFT)
    result = await run_command(["xcrun", "swift", str(script)], OCR_TIMEOUT_S)
    missing = diagnose(result.returncode)
    if missing:
        raise StepFailed(missing)
    if result.returncode != 0:
        raise StepFailed(f"screen capture/OCR failed: {result.stderr.strip()[:160]}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if not text_visible(expected, lines):
        raise StepFailed(f"{app_name} does not show the sent text ({len(lines)} OCR lines)")
    return f"{app_name} shows the sent text ({len(lines)} OCR lines)", lines
