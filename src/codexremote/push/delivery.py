"""Sending pushes: a bounded queue, a rate limit and retries per device.

Lifecycle: one worker task per device, started by the first message for it and
cancelled when the device is revoked or the companion stops. Each job is one
message for one subscription; a newer message for the same subscription and chat
replaces a queued older one (one notification per chat at a time). pywebpush is
blocking (``requests``), so the VAPID signing, the aes128gcm encryption and the
POST run in a worker thread (``asyncio.to_thread``); the event loop never waits.

Answers of the push service (RFC 8030):

| answer | what happens |
| --- | --- |
| 2xx | delivered; ``lastSuccessAt`` is stored for ``doctor`` |
| 404, 410 | the subscription is dead: dropped from the store, never retried |
| 429 | retried after ``Retry-After`` (default/limits below), not lost |
| 5xx, no connection | retried with exponential backoff and jitter |
| other 4xx | logged and given up (a retry would get the same answer) |

An unreachable push service (no internet, a firewall) is logged once per device
until a delivery to it succeeds again; the companion keeps serving either way.
Trust comes from the usual CA-bundle variables: ``REQUESTS_CA_BUNDLE`` (or
``CURL_CA_BUNDLE``), else ``SSL_CERT_FILE``, else the certifi bundle.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import os
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from codexremote.push.keys import VapidKeys
from codexremote.push.messages import Content, PushMessage
from codexremote.push.subscriptions import Subscription, SubscriptionStore

if TYPE_CHECKING:
    import requests

log = logging.getLogger("codexremote.push")

QUEUE_MAX = 32  # jobs waiting per device; beyond, the oldest is dropped
RATE_BURST = 10  # pushes a device may get at once ...
RATE_REFILL_S = 6.0  # ... then one more every 6 s (10 a minute)
MAX_ATTEMPTS = 5  # per job, the first try included
BACKOFF_BASE_S = 1.0  # 5xx / no connection: 1, 2, 4, 8 s (+ up to 25 % jitter)
BACKOFF_MAX_S = 60.0
RETRY_AFTER_DEFAULT_S = 30.0  # a 429 without a usable Retry-After
RETRY_AFTER_MAX_S = 600.0  # never hold a job longer than this per attempt
POST_TIMEOUT_S = 10.0  # connect + read timeout of one POST to the push service
VAPID_TOKEN_LIFETIME_S = 12 * 3600  # RFC 8292 allows 24 h; Apple wants at most about 12 h
LATENCY_SAMPLES = 1000  # recent "raised → request leaves" figures kept


@dataclass
class PushStats:
    sent: int = 0
    gone: int = 0  # subscriptions dropped on 404/410
    retried: int = 0
    failed: int = 0  # jobs given up
    overflowed: int = 0
    suppressed_visible: int = 0  # messages not sent: a visible client was open
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))


@dataclass
class _Job:
    endpoint: str
    message: PushMessage
    attempts: int = 0


@dataclass(frozen=True)
class _Result:
    status: int | None  # None: no connection / timeout
    retry_after: str | None = None
    error: str = ""


def ca_bundle_session() -> requests.Session:
    """A session that trusts the usual CA-bundle variables. requests itself reads
    REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE at every request (they win); SSL_CERT_FILE,
    OpenSSL's variable, it does not, so that one becomes the session's default.

    requests and pywebpush (with aiohttp) cost ~0.5 s to import, so they are imported
    here and in ``_post``, in the worker thread of the first push, not at startup."""
    import requests

    session = requests.Session()
    cafile = os.environ.get("SSL_CERT_FILE")
    if cafile:
        session.verify = cafile
    return session


@dataclass
class _DeviceQueue:
    jobs: OrderedDict[tuple[str, str], _Job] = field(default_factory=OrderedDict)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    tokens: float = RATE_BURST
    refilled_at: float = field(default_factory=time.monotonic)
    session: requests.Session | None = None  # made in the worker thread, on first use
    task: asyncio.Task[None] | None = None


def retry_after_seconds(value: str | None) -> float:
    if value:
        value = value.strip()
        if value.isdigit():
            return min(max(float(value), 1.0), RETRY_AFTER_MAX_S)
        with contextlib.suppress(TypeError, ValueError):
            when = email.utils.parsedate_to_datetime(value).timestamp()
            return min(max(when - time.time(), 1.0), RETRY_AFTER_MAX_S)
    return RETRY_AFTER_DEFAULT_S


class Delivery:
    def __init__(
        self,
        store: SubscriptionStore,
        keys: VapidKeys,
        *,
        contact: str,
        content: Content,
        ttl_s: int,
        is_paired: Callable[[str], bool],
    ) -> None:
        self.store = store
        self.is_paired = is_paired
        self.keys = keys
        self.contact = contact
        self.content: Content = content
        self.ttl_s = ttl_s
        self.stats = PushStats()
        self._queues: dict[str, _DeviceQueue] = {}
        self._unreachable: set[str] = set()  # devices whose service we logged as down

    def enqueue(self, device_id: str, message: PushMessage) -> int:
        """Queue ``message`` for every subscription of the device; returns how many."""
        subscriptions = self.store.for_device(device_id)
        if not subscriptions:
            return 0
        queue = self._queues.get(device_id)
        if queue is None:
            queue = self._queues[device_id] = _DeviceQueue()
        for sub in subscriptions:
            key = (sub.endpoint, message.tag)
            queue.jobs.pop(key, None)  # a newer message for the chat replaces the older
            queue.jobs[key] = _Job(sub.endpoint, message)
            while len(queue.jobs) > QUEUE_MAX:
                queue.jobs.popitem(last=False)
                self.stats.overflowed += 1
                log.warning("push queue full for device %s; dropped the oldest", device_id)
        queue.wakeup.set()
        if queue.task is None or queue.task.done():
            queue.task = asyncio.get_running_loop().create_task(self._work(device_id, queue))
        return len(subscriptions)

    def pending(self) -> int:
        return sum(len(q.jobs) for q in self._queues.values())

    async def cancel_device(self, device_id: str) -> None:
        queue = self._queues.pop(device_id, None)
        self._unreachable.discard(device_id)
        if queue is not None:
            await self._stop(queue)

    async def aclose(self) -> None:
        queues, self._queues = list(self._queues.values()), {}
        await asyncio.gather(*(self._stop(q) for q in queues))

    @staticmethod
    async def _stop(queue: _DeviceQueue) -> None:
        queue.jobs.clear()
        if queue.task is not None:
            queue.task.cancel()
            with contextlib.suppress(BaseException):
                await queue.task
        if queue.session is not None:
            queue.session.close()

    # ------------------------------------------------------------ the worker

    async def _work(self, device_id: str, queue: _DeviceQueue) -> None:
        while True:
            if not queue.jobs:
                queue.wakeup.clear()
                await queue.wakeup.wait()
                continue
            await self._take_token(queue)
            if not queue.jobs:
                continue
            key, job = queue.jobs.popitem(last=False)
            subscription = self.store.get(job.endpoint)
            if (
                subscription is None
                or subscription.deviceId != device_id
                or not self.is_paired(device_id)
            ):
                continue  # unsubscribed or revoked meanwhile: nothing to send
            job.attempts += 1
            try:
                result = await asyncio.to_thread(
                    self._post, queue, subscription, job.message, job.attempts == 1
                )
                delay = await self._settle(device_id, subscription, job, result)
            except Exception:  # e.g. the state dir became unwritable: keep the worker
                log.exception("push to device %s failed unexpectedly", device_id)
                delay = None
            if delay is None:
                continue
            self.stats.retried += 1
            await asyncio.sleep(delay)
            if key not in queue.jobs:  # not superseded by a newer message meanwhile
                queue.jobs[key] = job
                queue.jobs.move_to_end(key, last=False)

    async def _take_token(self, queue: _DeviceQueue) -> None:
        while True:
            now = time.monotonic()
            queue.tokens = min(RATE_BURST, queue.tokens + (now - queue.refilled_at) / RATE_REFILL_S)
            queue.refilled_at = now
            if queue.tokens >= 1:
                queue.tokens -= 1
                return
            await asyncio.sleep((1 - queue.tokens) * RATE_REFILL_S)

    async def _settle(
        self, device_id: str, subscription: Subscription, job: _Job, result: _Result
    ) -> float | None:
        """Book the answer; returns the delay before a retry, or None when done."""
        status = result.status
        if status is not None and 200 <= status < 300:
            self.stats.sent += 1
            if device_id in self._unreachable:
                self._unreachable.discard(device_id)
                log.info("push service reachable again for device %s", device_id)
            await asyncio.to_thread(
                self.store.record_success, subscription.endpoint, int(time.time() * 1000)
            )
            return None
        if status in (404, 410):
            self.stats.gone += 1
            await asyncio.to_thread(self.store.drop, subscription.endpoint)
            log.info("push subscription of device %s is gone (%s); dropped", device_id, status)
            return None
        retryable = status is None or status == 429 or status >= 500
        if status is None and device_id not in self._unreachable:
            self._unreachable.add(device_id)
            log.warning("push service unreachable for device %s: %s", device_id, result.error)
        if not retryable or job.attempts >= MAX_ATTEMPTS:
            self.stats.failed += 1
            if status is not None:
                log.warning(
                    "push to device %s failed with HTTP %s after %d attempt(s)",
                    device_id,
                    status,
                    job.attempts,
                )
            return None
        if status == 429:
            return retry_after_seconds(result.retry_after)
        backoff = min(BACKOFF_MAX_S, BACKOFF_BASE_S * float(2 ** (job.attempts - 1)))
        return backoff * (1 + random.random() / 4)

    def _post(
        self,
        queue: _DeviceQueue,
        subscription: Subscription,
        message: PushMessage,
        first_attempt: bool,
    ) -> _Result:
        """Runs in a worker thread: sign, encrypt, POST (pywebpush)."""
        import requests
        from pywebpush import WebPusher

        if queue.session is None:
            queue.session = ca_bundle_session()
        session = queue.session
        parts = urlsplit(subscription.endpoint)
        claims = {
            "sub": self.contact,
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + VAPID_TOKEN_LIFETIME_S,
        }
        headers = dict(self.keys.signer.sign(claims))
        headers["Urgency"] = message.urgency
        headers["Topic"] = message.topic
        pusher = WebPusher(subscription.subscription_info(), requests_session=session)
        if first_attempt and message.raised_at:  # the figure: raised → request leaves
            self.stats.latencies_ms.append((time.monotonic() - message.raised_at) * 1000)
        try:
            response = pusher.send(
                message.encoded(self.content),
                headers,
                ttl=self.ttl_s,
                content_encoding="aes128gcm",
                timeout=POST_TIMEOUT_S,
            )
        except requests.RequestException as exc:
            return _Result(None, error=type(exc).__name__)
        except Exception as exc:  # a key pywebpush cannot use: give up, never crash the worker
            log.warning("push to %s could not be prepared: %s", parts.hostname, exc)
            return _Result(0, error=type(exc).__name__)
        assert isinstance(response, requests.Response)
        return _Result(response.status_code, response.headers.get("Retry-After"))
