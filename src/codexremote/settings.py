"""The companion's settings: one typed model, every field documented.

Values come from (highest first) CLI flags, ``CODEXREMOTE_<FIELD>`` environment
variables, then the defaults below. ``docs/settings.md`` is checked against this
model by a test, so a new field needs a line there too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

ENV_PREFIX = "CODEXREMOTE_"
DEFAULT_PORT = 8787  # the original iOS app's default port
DEFAULT_DICTATION_BASE_URL = "https://api.openai.com/v1"
DEFAULT_DICTATION_MODEL = "gpt-4o-transcribe"
DICTATION_TIMEOUT_S = 90.0  # the iOS app's own dictation request timeout (wire-api.md 9)
PUSH_TTL_MIN_S = 300  # Web Push TTL bounds (issue 13): iOS drops longer-lived pushes
PUSH_TTL_MAX_S = 3600
PUSH_TTL_DEFAULT_S = 3600  # an approval is worth showing for the whole hour
LOCAL_CONTACT_HOSTS = {"localhost", "localhost.localdomain", "127.0.0.1", "::1"}
# The original companion's variables keep working (wire-api.md 9), below CODEXREMOTE_*.
LEGACY_ENV = {
    "dictation_api_key": "OPENAI_API_KEY",
    "dictation_base_url": "OPENAI_BASE_URL",
    "dictation_model": "OPENAI_TRANSCRIPTION_MODEL",
}


def default_state_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "codexremote"


def default_codex_home() -> Path:
    return Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    host: str = Field("127.0.0.1", description="Address to bind the HTTP/WebSocket server to.")
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="TCP port to listen on.")
    tls_cert: Path | None = Field(
        None, description="PEM certificate; with tls_key serves https/wss."
    )
    tls_key: Path | None = Field(None, description="PEM private key matching tls_cert.")
    insecure_http: bool = Field(
        False, description="Allow plain http on a non-loopback, non-tailnet address (logged)."
    )
    tailscale: bool = Field(
        False,
        description="Publish the companion on the tailnet with `tailscale serve` (https on 443 "
        "of this computer's MagicDNS name, proxied to http on 127.0.0.1).",
    )
    advertise_host: str | None = Field(
        None, description="Host name put in pairing links (default: tailnet name or bind address)."
    )
    pairing_qr: Literal["both", "web", "app"] = Field(
        "both",
        description="Which pairing link the terminal shows as a QR code: the web client's "
        "(phone camera), the original iOS app's codexremote:// URI (its in-app scanner), "
        "or both, one below the other.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Extra Host header values to accept (SEC-02)."
    )
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description="Private (0700) directory for device tokens and approval preferences.",
    )
    codex_bin: str | None = Field(
        None, description="Path of the codex binary (default: `codex` on PATH)."
    )
    codex_home: Path = Field(
        default_factory=default_codex_home,
        description="CODEX_HOME of the codex installation we drive (config.toml, sessions).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Companion log level."
    )
    log_file: Path | None = Field(
        None,
        description="Also log to this file, rotated by size (5 MiB, 3 old files, mode 0600); "
        "the login service uses <state_dir>/logs/companion.log.",
    )
    confirmer: Literal["auto", "macos", "linux-dialog", "terminal", "socket"] = Field(
        "auto", description="How pairing requests are confirmed on this computer (SEC-08)."
    )
    pairing_confirm_timeout_s: float = Field(
        18.0, gt=0, le=19.0, description="Local confirmation window; below the app's 20 s timeout."
    )
    stream_replay_mib: int = Field(
        64,
        ge=1,
        le=4096,
        description="Most MiB of stream events kept for resuming clients (beyond: resync).",
    )
    git_commit_hooks: bool = Field(
        False, description="Run the repository's commit hooks for commits made from the phone."
    )
    desktop_sync: bool = Field(
        True, description="Bring Codex Desktop to the chat the phone opens (macOS only)."
    )
    desktop_app_name: str = Field("Codex", description="Codex Desktop's application name.")
    desktop_bundle_id: str | None = Field(None, description="Codex Desktop's bundle id.")
    desktop_app_path: str | None = Field(None, description="Absolute path of Codex Desktop.")
    desktop_sync_delay_s: float = Field(
        0.25, ge=0, le=5, description="Pause between desktop sync steps."
    )
    desktop_sync_command_timeout_s: float = Field(
        5.0, gt=0, le=60, description="Timeout of each desktop sync command."
    )

    dictation_base_url: str = Field(
        DEFAULT_DICTATION_BASE_URL,
        description="OpenAI-compatible API base; dictation POSTs to <base>/audio/transcriptions.",
    )
    dictation_model: str = Field(
        DEFAULT_DICTATION_MODEL, min_length=1, description="Transcription model name."
    )
    dictation_api_key: SecretStr | None = Field(
        None, description="Bearer key of the transcription API (not needed on loopback)."
    )
    dictation_timeout_s: float = Field(
        DICTATION_TIMEOUT_S, gt=0, le=600, description="Total time allowed per transcription."
    )

    push_contact: str | None = Field(
        None,
        description="VAPID contact (mailto: or https:) sent to push services; required for "
        "Web Push (Apple refuses localhost contacts).",
    )
    push_content: Literal["full", "minimal"] = Field(
        "full",
        description="What a push notification shows: chat title and summary, or only "
        "'Codex needs you'.",
    )
    push_ttl_s: int = Field(
        PUSH_TTL_DEFAULT_S,
        ge=PUSH_TTL_MIN_S,
        le=PUSH_TTL_MAX_S,
        description="How long a push service keeps an undelivered notification (5 min to 1 h).",
    )

    @field_validator("push_contact")
    @classmethod
    def _vapid_contact(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.startswith("mailto:"):
            host = value[len("mailto:") :].rpartition("@")[2]
        elif value.startswith("https://"):
            host = urlsplit(value).hostname or ""
        else:
            raise ValueError("must be a mailto: or https: contact")
        if "." not in host or host.lower() in LOCAL_CONTACT_HOSTS or host.endswith(".local"):
            raise ValueError("must name a real address (push services refuse localhost)")
        return value

    @field_validator("dictation_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def scheme(self) -> Literal["http", "https"]:
        return "https" if self.tls_enabled else "http"


def settings_from_env(overrides: dict[str, Any] | None = None) -> Settings:
    """Build settings from ``CODEXREMOTE_*`` variables, then apply non-None overrides."""
    values: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        raw = os.environ.get(ENV_PREFIX + name.upper())
        if raw is None and name in LEGACY_ENV:
            raw = os.environ.get(LEGACY_ENV[name]) or None
        if raw is None:
            continue
        if field.annotation is bool:
            values[name] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif name == "allowed_hosts":
            values[name] = [item.strip() for item in raw.split(",") if item.strip()]
        else:
            values[name] = raw
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return Settings(**values)
