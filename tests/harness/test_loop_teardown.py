"""The harness's loopback servers close every connection when they stop.

A transport left open by a stopping server surfaces later, at garbage collection,
as ``ResourceWarning: unclosed transport`` in whichever test happens to run: CI
failed that way twice (loop_teardown.py explains the two causes). These tests stop
the fake model and the browser tests' proxy while clients keep connecting, then
collect garbage and count what the interpreter reports as unraisable.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.netproxy import NetProxy
from tests.harness.fake_model import FakeModel

ROUNDS = 12  # before the fix the fake model leaked in about one round of three
CLIENT_THREADS = 3
CONNECT_TIMEOUT_S = 0.1  # a full backlog drops SYNs: do not wait long
HAMMER_BEFORE_STOP_S = 0.02


@pytest.fixture
def unraisable() -> Iterator[list[str]]:
    """What the interpreter could not raise (a transport's __del__ warning) while the
    test ran, instead of letting pytest fail some later test with it."""
    seen: list[str] = []
    previous = sys.unraisablehook

    def hook(info: Any) -> None:
        seen.append(f"{info.exc_type.__name__}: {info.exc_value}")

    gc.collect()
    sys.unraisablehook = hook
    try:
        yield seen
    finally:
        gc.collect()
        sys.unraisablehook = previous


def _while_clients_connect(port: int, stop: Callable[[], None], request: bytes) -> None:
    """Stop the server while CLIENT_THREADS threads keep connecting to ``port``."""
    done = threading.Event()
    clients: list[socket.socket] = []
    lock = threading.Lock()

    def connect_forever() -> None:
        while not done.is_set():
            try:
                client = socket.create_connection(("127.0.0.1", port), CONNECT_TIMEOUT_S)
            except OSError:
                continue
            with lock:
                clients.append(client)
            if request:
                with contextlib.suppress(OSError):
                    client.sendall(request)

    threads = [threading.Thread(target=connect_forever) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(HAMMER_BEFORE_STOP_S)
        stop()
    finally:
        done.set()
        for thread in threads:
            thread.join()
        for client in clients:
            client.close()
    gc.collect()


def test_fake_model_stop_leaves_no_transport_open(unraisable: list[str]) -> None:
    for _ in range(ROUNDS):
        model = FakeModel()
        model.start()
        _while_clients_connect(model.port, model.stop, b"")
    assert unraisable == []


def test_netproxy_stop_leaves_no_transport_open(unraisable: list[str]) -> None:
    upstream = socket.create_server(("127.0.0.1", 0), backlog=1024)

    def accept_forever() -> None:  # an upstream that hangs up at once: answers are quick
        while True:
            try:
                upstream.accept()[0].close()
            except OSError:
                return

    acceptor = threading.Thread(target=accept_forever, daemon=True)
    acceptor.start()
    try:
        for _ in range(ROUNDS):
            proxy = NetProxy(upstream.getsockname()[1]).start()
            _while_clients_connect(proxy.port, proxy.stop, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    finally:
        upstream.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        upstream.close()
        acceptor.join(5)
    assert unraisable == []
