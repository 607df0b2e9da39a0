"""``codexremote doctor --check-dictation``: does the transcription endpoint answer?

A ``GET <base>/models`` with the key costs nothing (a transcription would cost
money on OpenAI): 2xx means reachable and the key accepted; 401/403 means the key
was refused; any other answer still proves a server is listening there (a local
whisper server may have no ``/models``). Runs in the CLI, outside any event loop.
"""

from __future__ import annotations

import httpx

from codexremote.dictation.config import DictationConfig

PROBE_TIMEOUT_S = 10.0  # a healthy endpoint answers a listing in well under a second


def probe_endpoint(config: DictationConfig) -> tuple[bool, str]:
    url = f"{config.base_url}/models"
    try:
        with httpx.Client(
            timeout=PROBE_TIMEOUT_S, follow_redirects=False, trust_env=not config.loopback
        ) as client:
            response = client.get(url, headers=config.auth_headers())
    except httpx.HTTPError as exc:
        reason = config.redact(str(exc)) or type(exc).__name__
        return False, f"{url} is not reachable: {reason}"
    status = response.status_code
    if status in (401, 403):
        return False, f"{url} refused the API key (status {status})"
    if 200 <= status < 300:
        return True, f"{url} answered {status}"
    return True, f"{url} answered {status} (a server is listening)"
