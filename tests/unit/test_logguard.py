"""SEC-20 repeated log lines are rate-limited; SEC-13 query strings never reach the log."""

from __future__ import annotations

import logging

import pytest

from codexremote.logguard import (
    ClientFaultsAreWarnings,
    RateLimitRepeats,
    ScrubQueryStrings,
    install,
    scrub_query,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> logging.Logger:
    result = logging.getLogger(f"test.logguard.{request.node.name}")
    result.propagate = False
    result.setLevel(logging.DEBUG)
    return result


def test_sec20_a_flood_of_one_line_is_cut_and_then_summarised(logger: logging.Logger) -> None:
    clock = Clock()
    handler = ListHandler()
    handler.addFilter(RateLimitRepeats(handler.handle, burst=3, interval_s=10, clock=clock))
    logger.addHandler(handler)
    for n in range(1000):
        logger.warning("connection from %s refused", f"10.0.0.{n}")
        if n < 2:
            logger.info("other line %d", n)  # another template: not limited
    assert len(handler.lines) == 3 + 2
    clock.now = 11
    logger.warning("connection from %s refused", "10.0.0.1")
    assert handler.lines[-2] == ("suppressed 997 similar lines in 10 s: connection from %s refused")
    assert handler.lines[-1] == "connection from 10.0.0.1 refused"


def test_sec20_install_is_idempotent() -> None:
    handler = ListHandler()
    install([handler])
    install([handler])
    assert len(handler.filters) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/v1/stream?token=abc&chatId=1", "/v1/stream"),
        ("/v1/stream", "/v1/stream"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("what? no path", "what? no path"),
    ],
)
def test_sec13_query_strings_are_scrubbed(value: str, expected: str) -> None:
    assert scrub_query(value) == expected


def test_sec13_uvicorns_websocket_line_loses_its_query(logger: logging.Logger) -> None:
    handler = ListHandler()
    logger.addHandler(handler)
    logger.addFilter(ScrubQueryStrings())
    logger.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", "/v1/stream?token=s3cret")
    assert handler.lines == ['127.0.0.1:5000 - "WebSocket /v1/stream" [accepted]']


def test_t2_a_clients_invalid_utf8_is_a_warning_without_traceback() -> None:
    """uvicorn logs a client's bad UTF-8 frame with logger.exception (issue 14 B2)."""
    records: list[logging.LogRecord] = []
    fault = ClientFaultsAreWarnings()
    try:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    except UnicodeDecodeError:
        import sys

        info = sys.exc_info()
    for message in ("Invalid UTF-8 sequence received from client.", "Exception in ASGI app"):
        record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, message, (), info)
        assert fault.filter(record)
        records.append(record)
    demoted, untouched = records
    assert (demoted.levelno, demoted.levelname, demoted.exc_info) == (
        logging.WARNING,
        "WARNING",
        None,
    )
    assert untouched.levelno == logging.ERROR and untouched.exc_info is not None
