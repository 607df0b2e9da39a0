"""Runs the harness's ``FakeTranscriber`` in its own process for ``bench/dictation.py``.

Its multipart parsing and ffprobe runs must not share a GIL with the benchmark's
``/health`` poller. Prints the base URL once listening; stops at stdin EOF.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness.fake_transcriber import FakeTranscriber

if __name__ == "__main__":
    with FakeTranscriber() as fake:
        print(fake.url, flush=True)
        sys.stdin.read()
