"""Shared pieces of the dictation and diagnostics route tests: the product's app with
the fake app-server child, in Starlette's TestClient, and the recordings."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.exceptions import StarletteDeprecationWarning

from codexremote.app import build_services, create_app
from codexremote.settings import Settings
from tests.harness.audio import Recording
from tests.harness.processes import fake_app_server_launcher

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PORT = 8787
BASE_URL = f"http://127.0.0.1:{PORT}"
CLIENT = ("127.0.0.1", 50000)
TRANSCRIBE = "/v1/dictation/transcribe"
IOS_LOG = "/v1/debug/ios-log"


class Phone:
    """A paired device talking to the companion."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, json=body, headers={"Authorization": f"Bearer {self.token}"})

    def transcribe(self, recording: Recording, **extra: Any) -> Any:
        body = {
            "filename": recording.filename,
            "mimeType": recording.mime_type,
            "audioBase64": base64.b64encode(recording.data()).decode(),
            "language": "en",
        }
        body.update(extra)
        return self.post(TRANSCRIBE, {k: v for k, v in body.items() if v is not None})


@contextmanager
def phone_for(tmp_path: Path, **settings: Any) -> Iterator[Phone]:
    config = Settings(
        port=PORT,
        state_dir=tmp_path / "state",
        codex_home=tmp_path / "codex_home",
        confirmer="socket",
        **settings,
    )
    services = build_services(config, launcher=fake_app_server_launcher())
    issued = services.devices.issue("test phone")
    with TestClient(create_app(services), base_url=BASE_URL, client=CLIENT) as client:
        yield Phone(client, issued.token)
