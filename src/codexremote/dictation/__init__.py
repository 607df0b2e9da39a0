"""Dictation: audio from the phone, transcribed by an OpenAI-compatible API (wire-api.md 9).

``upload`` validates what the phone sent, ``config`` says where it goes and whether
that is possible, ``client`` sends it and turns the upstream's answer into text or
a domain error. Nothing here knows HTTP routes; ``api/dictation.py`` does.
"""

from codexremote.dictation.client import Transcriber, Transcript
from codexremote.dictation.config import DictationConfig
from codexremote.dictation.probe import probe_endpoint
from codexremote.dictation.upload import AudioUpload, parse_upload

__all__ = [
    "AudioUpload",
    "DictationConfig",
    "Transcriber",
    "Transcript",
    "parse_upload",
    "probe_endpoint",
]
