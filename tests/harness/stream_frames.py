"""Generated bad WebSocket frames (T2): shared by tests/integration/test_stream_fuzz.py and
bench/_stream_attacker.py, which replays them from its own process."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from codexremote.server import WS_MAX_MESSAGE_BYTES

GENERATED_FRAMES = 400
CLOSE_WAIT_S = 10.0

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner)
)
KEYS = st.sampled_from(["type", "lastSeq", "token", "chatId", "maxFrameBytes", "x"])
WRONG_JSON = st.dictionaries(KEYS, JSON_VALUES, max_size=4).map(json.dumps) | JSON_VALUES.map(
    json.dumps
)
TYPES = st.sampled_from(["resume", "ping", "auth", "subscribe", "", "RESUME"])
UNKNOWN_OR_BAD_TYPE = st.builds(
    lambda t, seq: json.dumps({"type": t, "lastSeq": seq}),
    TYPES,
    st.integers(min_value=-(2**70), max_value=2**70) | st.text(max_size=5) | st.none(),
)


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def _bad_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


FRAME = st.one_of(
    st.tuples(st.just("binary"), st.binary(max_size=2048)),
    st.tuples(st.just("bad_utf8"), st.binary(min_size=1, max_size=256).filter(_bad_utf8)),
    st.tuples(st.just("not_json"), st.text(max_size=512).filter(_not_json)),
    st.tuples(st.just("wrong_json"), WRONG_JSON | UNKNOWN_OR_BAD_TYPE),
    st.tuples(
        st.just("oversize"),
        st.integers(WS_MAX_MESSAGE_BYTES + 1, 4 * WS_MAX_MESSAGE_BYTES).map(lambda n: "x" * n),
    ),
)


def generated_frames(count: int = GENERATED_FRAMES) -> list[tuple[str, Any]]:
    frames: list[tuple[str, Any]] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(frame=FRAME)
    def collect(frame: tuple[str, Any]) -> None:
        frames.append(frame)

    collect()
    return frames


async def send_frame(ws: ClientConnection, kind: str, data: Any) -> None:
    if kind == "bad_utf8":
        await ws.send(data, text=True)  # a text frame whose bytes are not UTF-8
    else:
        await ws.send(data)


async def close_code(ws: ClientConnection) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), CLOSE_WAIT_S)
    except ConnectionClosed:
        pass
    return ws.close_code
