"""The companion as verify talks to it: REST with the trace id, the stream, local approval."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from codexremote.pairing.codes import comparison_code
from codexremote.pairing.control import CompanionNotRunning, control_request
from codexremote.verify.report import StepFailed

REQUEST_TIMEOUT_S = 30.0
APPROVE_POLL_S = 0.1
DEVICE_NAME = "codexremote verify"


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("error") if isinstance(body, dict) else None
    return f"{response.status_code} {message or response.reason_phrase}"


class CompanionClient:
    def __init__(self, base_url: str, trace_id: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.trace_id = trace_id
        self.token: str | None = None
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=REQUEST_TIMEOUT_S,
            headers={"x-codex-trace-id": trace_id},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _auth(self) -> dict[str, str]:
        if self.token is None:
            raise StepFailed("no device token (the token step failed)")
        return {"Authorization": f"Bearer {self.token}"}

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        auth: bool = True,
        params: dict[str, str] | None = None,
    ) -> Any:
        """The answer's JSON (``data`` unwrapped); StepFailed with the status and error."""
        headers = self._auth() if auth else {}
        try:
            response = await self._http.request(
                method, path, json=body, headers=headers, params=params
            )
        except httpx.HTTPError as exc:
            raise StepFailed(f"{method} {path}: companion unreachable ({exc!r:.120})") from exc
        if response.status_code >= 400:
            raise StepFailed(f"{method} {path}: {_reason(response)}")
        payload = response.json()
        return payload.get("data", payload) if isinstance(payload, dict) else payload

    async def alive(self) -> bool:
        try:
            return (await self._http.get("/health", timeout=5)).status_code == 200
        except httpx.HTTPError:
            return False

    async def pair_locally(self, state_dir: Path, timeout_s: float) -> dict[str, Any]:
        """The real pairing path: an offer from loopback, the confirm, and the local
        approval over the control socket (as `codexremote devices approve CODE`)."""
        offer = await self.call("POST", "/v1/pairing/request", {}, auth=False)
        code = comparison_code(offer["nonce"], offer["pairingId"], DEVICE_NAME)
        body = {"pairingId": offer["pairingId"], "nonce": offer["nonce"], "deviceName": DEVICE_NAME}
        confirm = asyncio.create_task(self.call("POST", "/v1/pairing/confirm", body, auth=False))
        try:
            await self._approve(state_dir, code, timeout_s, confirm)
            result = await confirm
        finally:
            if not confirm.done():
                confirm.cancel()
                with contextlib.suppress(BaseException):
                    await confirm
        if result.get("comparisonCode") != code:
            raise StepFailed("the companion's comparison code differs from the offer's")
        self.token = result["token"]
        return {"deviceId": result["deviceId"], "comparisonCode": code}

    async def _approve(
        self, state_dir: Path, code: str, timeout_s: float, confirm: asyncio.Task[Any]
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not confirm.done():
            try:
                reply = await asyncio.to_thread(control_request, state_dir, {"cmd": "pending"})
            except CompanionNotRunning as exc:
                raise StepFailed(
                    f"no control socket in {state_dir} (pass the companion's --state-dir)"
                ) from exc
            if any(p.get("comparisonCode") == code for p in reply.get("pending", [])):
                answer = await asyncio.to_thread(
                    control_request, state_dir, {"cmd": "approve", "target": code}
                )
                if not answer.get("ok"):
                    raise StepFailed(f"approval refused: {answer.get('error')}")
                return
            await asyncio.sleep(APPROVE_POLL_S)
        if confirm.done():
            confirm.result()  # raises its StepFailed
        raise StepFailed("the pairing request never appeared for local approval")

    def stream_url(self, chat_id: str) -> str:
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, "/v1/stream", f"chatId={chat_id}", ""))

    async def send_and_collect(
        self, chat_id: str, text: str, timeout_s: float
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Open the stream, send ``text``, collect events until the turn completes.
        Returns (events, the send's answer); StepFailed on error events or timeout."""
        events: list[dict[str, Any]] = []
        try:
            async with connect(
                self.stream_url(chat_id), additional_headers=self._auth(), open_timeout=10
            ) as socket:
                sent = await self.call("POST", f"/v1/chats/{chat_id}/messages", {"text": text})
                async with asyncio.timeout(timeout_s):
                    async for raw in socket:
                        event = json.loads(raw)
                        if event.get("chatId") not in (None, chat_id):
                            continue
                        events.append(event)
                        name = event.get("event") or event.get("type")
                        if name == "error" and not (event.get("payload") or {}).get("willRetry"):
                            raise StepFailed(f"the stream reported an error: {event!s:.200}")
                        if name == "turn_completed":
                            return events, sent
        except TimeoutError as exc:
            raise StepFailed(
                f"no turn_completed within {timeout_s:.0f} s ({len(events)} events)"
            ) from exc
        except (OSError, ValueError, WebSocketException) as exc:
            raise StepFailed(f"stream: {exc!s:.160}") from exc
        raise StepFailed("the stream closed before the turn completed")
