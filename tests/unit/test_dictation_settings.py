"""Dictation settings and ``codexremote doctor``'s dictation line.

The doctor's probe talks to the harness's fake transcription server on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codexremote.cli import main
from codexremote.cli.doctor import check_dictation
from codexremote.dictation import DictationConfig
from codexremote.settings import Settings, settings_from_env
from tests.harness.fake_transcriber import FakeTranscriber
from tests.harness.processes import free_port

KEY = "sk-test-doctor-" + "z" * 20
LEGACY = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_TRANSCRIPTION_MODEL")
OURS = tuple(f"CODEXREMOTE_DICTATION_{n}" for n in ("API_KEY", "BASE_URL", "MODEL"))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in LEGACY + OURS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def upstream() -> Iterator[FakeTranscriber]:
    with FakeTranscriber() as fake:
        yield fake


def test_defaults_are_openai_and_unconfigured(clean_env: pytest.MonkeyPatch) -> None:
    config = DictationConfig.from_settings(settings_from_env())
    assert config.endpoint == "https://api.openai.com/v1/audio/transcriptions"
    assert config.model == "gpt-4o-transcribe"
    assert config.timeout_s == 90.0
    assert not config.configured


def test_original_environment_variables_work(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OPENAI_API_KEY", KEY)
    clean_env.setenv("OPENAI_BASE_URL", "https://llm.example/v1/")
    clean_env.setenv("OPENAI_TRANSCRIPTION_MODEL", "whisper-1")
    config = DictationConfig.from_settings(settings_from_env())
    assert (config.api_key, config.base_url, config.model) == (
        KEY,
        "https://llm.example/v1",
        "whisper-1",
    )
    assert config.configured
    assert KEY not in repr(config) and KEY not in repr(settings_from_env())


def test_codexremote_variables_win(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OPENAI_BASE_URL", "https://llm.example/v1")
    clean_env.setenv("CODEXREMOTE_DICTATION_BASE_URL", "http://127.0.0.1:9000/v1")
    config = DictationConfig.from_settings(settings_from_env())
    assert config.base_url == "http://127.0.0.1:9000/v1"
    assert config.configured  # loopback: no key needed


@pytest.mark.parametrize("url", ["ftp://x/v1", "api.openai.com/v1", "https://", ""])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError):
        Settings(dictation_base_url=url)


def test_doctor_reports_not_configured() -> None:
    check = check_dictation(Settings())
    assert check.ok and "not configured" in check.detail


def test_doctor_warns_about_a_key_in_clear() -> None:
    settings = Settings(dictation_base_url="http://llm.example/v1", dictation_api_key=KEY)
    check = check_dictation(settings)
    assert not check.ok and "plain http" in check.detail
    assert KEY not in check.line()


def test_doctor_probe_answers(upstream: FakeTranscriber) -> None:
    upstream.api_key = KEY
    good = Settings(dictation_base_url=upstream.url, dictation_api_key=KEY)
    assert check_dictation(good).ok and "--check-dictation" in check_dictation(good).detail
    probed = check_dictation(good, probe=True)
    assert probed.ok and "answered 200" in probed.detail, probed.line()
    wrong = Settings(dictation_base_url=upstream.url, dictation_api_key="sk-wrong")
    refused = check_dictation(wrong, probe=True)
    assert not refused.ok and "refused the API key" in refused.detail
    assert "sk-wrong" not in refused.line()


def test_doctor_probe_unreachable() -> None:
    settings = Settings(dictation_base_url=f"http://127.0.0.1:{free_port()}/v1")
    check = check_dictation(settings, probe=True)
    assert not check.ok and "not reachable" in check.detail


def test_doctor_command_line(
    upstream: FakeTranscriber,
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    clean_env.setenv("CODEXREMOTE_DICTATION_BASE_URL", upstream.url)
    state = tmp_path_factory.mktemp("state")
    main(["doctor", "--check-dictation", "--state-dir", str(state), "--port", str(free_port())])
    line = next(x for x in capsys.readouterr().out.splitlines() if " dictation: " in x)
    assert line.startswith("ok") and "answered" in line, line
