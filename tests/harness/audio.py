"""Real recordings for the dictation tests: espeak-ng speaks, sox and ffmpeg convert.

The phone records AAC in ``.m4a`` at 44.1 kHz mono (wire-api.md 9); a browser's
MediaRecorder gives Opus in ``.webm``. Both are made from the same spoken phrase.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

PHRASE = "hello from the phone"
TOOL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Recording:
    path: Path
    filename: str
    mime_type: str

    def data(self) -> bytes:
        return self.path.read_bytes()


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=TOOL_TIMEOUT_S)


def make_recordings(root: Path, phrase: str = PHRASE) -> dict[str, Recording]:
    root.mkdir(parents=True, exist_ok=True)
    spoken, phone_rate = root / "spoken.wav", root / "phone-rate.wav"
    _run("espeak-ng", "-w", str(spoken), phrase)
    _run("sox", str(spoken), "-r", "44100", "-c", "1", str(phone_rate))
    m4a, webm = root / "dictation.m4a", root / "dictation.webm"
    ffmpeg = ("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(phone_rate))
    _run(*ffmpeg, "-c:a", "aac", "-b:a", "64k", str(m4a))
    _run(*ffmpeg, "-c:a", "libopus", "-b:a", "32k", str(webm))
    return {
        "m4a": Recording(m4a, "dictation.m4a", "audio/m4a"),
        "webm": Recording(webm, "dictation.webm", "audio/webm"),
    }
