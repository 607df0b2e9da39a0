from pathlib import Path

import pytest
from pydantic import ValidationError

from codexremote.cli import build_parser, settings_from_args
from codexremote.settings import Settings, settings_from_env

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    missing = [name for name in Settings.model_fields if f"| `{name}` |" not in text]
    assert missing == []


def test_every_setting_has_a_description() -> None:
    assert all(field.description for field in Settings.model_fields.values())


def test_env_then_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CODEXREMOTE_PORT", "9001")
    monkeypatch.setenv("CODEXREMOTE_INSECURE_HTTP", "yes")
    monkeypatch.setenv("CODEXREMOTE_ALLOWED_HOSTS", "mac.tail.ts.net, 10.0.0.2")
    settings = settings_from_env()
    assert settings.port == 9001
    assert settings.insecure_http is True
    assert settings.allowed_hosts == ["mac.tail.ts.net", "10.0.0.2"]
    args = build_parser().parse_args(["serve", "--port", "9100", "--state-dir", str(tmp_path)])
    from_flags = settings_from_args(args)
    assert from_flags.port == 9100
    assert from_flags.state_dir == tmp_path


def test_bad_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEXREMOTE_PORT", "not-a-port")
    with pytest.raises(ValidationError):
        settings_from_env()
    with pytest.raises(ValidationError):
        Settings(pairing_confirm_timeout_s=30)  # must stay below the app's 20 s timeout


def test_scheme_follows_tls(tmp_path: Path) -> None:
    assert Settings().scheme == "http"
    tls = Settings(tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem")
    assert tls.scheme == "https" and tls.tls_enabled
