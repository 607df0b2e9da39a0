"""Where transcription requests go, and whether they can go anywhere at all.

The endpoint is any OpenAI-compatible ``<base>/audio/transcriptions``: OpenAI itself
(needs a key) or a server the user runs on this computer, e.g. a local whisper
server (loopback: no key needed). The key lives only in this object and in the
``Authorization`` header it builds; ``repr`` never shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from codexremote.netcheck import is_loopback
from codexremote.settings import Settings

# The first sentence is the original companion's (wire-api.md 9); the hint names
# what configures *this* companion (it reads no .env files).
NOT_CONFIGURED = (
    "OpenAI transcription is not configured. Set OPENAI_API_KEY (or "
    "CODEXREMOTE_DICTATION_API_KEY) in the companion's environment, or point "
    "CODEXREMOTE_DICTATION_BASE_URL at a transcription server on this computer."
)


@dataclass(frozen=True)
class DictationConfig:
    base_url: str
    model: str
    timeout_s: float
    api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> DictationConfig:
        key = settings.dictation_api_key
        secret = key.get_secret_value().strip() if key is not None else ""
        return cls(
            base_url=settings.dictation_base_url,
            model=settings.dictation_model,
            timeout_s=settings.dictation_timeout_s,
            api_key=secret or None,
        )

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/audio/transcriptions"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def configured(self) -> bool:
        """A key, or a server on this computer that needs none."""
        return self.api_key is not None or self.loopback

    @property
    def key_in_clear(self) -> bool:
        """The key would cross a network unencrypted (doctor warns about it)."""
        plain = self.base_url.startswith("http://")
        return self.api_key is not None and plain and not self.loopback

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def redact(self, text: str) -> str:
        """``text`` with the key (should an upstream echo it) replaced."""
        return text.replace(self.api_key, "***") if self.api_key else text
