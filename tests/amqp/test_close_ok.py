"""After the close-ok to a client's connection.close, as RabbitMQ 3.10.8 (issue 16).

RabbitMQ leaves the socket for the client to close: what comes after is
ignored but connection.close (close-ok again) and close-ok (the socket is
reset at once), and the socket is reset after the negotiated heartbeat, at
most 30 s, if the client has not closed it. (A close the server began ends
at the client's close-ok: tests/amqp/test_session.py.) Each case runs on a
fresh engine and on the real RabbitMQ (skipped when unreachable).
"""

from __future__ import annotations

from typing import Any

import pytest
from pamqp import commands as C

from ._client import PROTOCOL_HEADER, close, method_frame
from ._raw import BACKENDS, handshake

CLOSE = method_frame(0, close())
CLOSE_OK = (0, 10, 51, b"")
#: start, tune, open-ok, then close-ok: what the client waits for before ``then``.
BEFORE = 4


@pytest.mark.parametrize("run", BACKENDS)
@pytest.mark.parametrize(
    ("then", "expected", "end"),
    [
        pytest.param(b"", [], "open", id="nothing"),
        pytest.param(CLOSE, [CLOSE_OK], "open", id="close-again"),
        pytest.param(method_frame(1, C.Channel.Open()) + CLOSE, [CLOSE_OK], "open", id="open"),
        pytest.param(b"garbage!" + CLOSE, [], "open", id="garbage"),
        pytest.param(method_frame(0, C.Connection.CloseOk()), [], "reset", id="close-ok"),
        pytest.param(
            method_frame(0, C.Connection.CloseOk()) + CLOSE,
            [CLOSE_OK],
            "reset",
            id="close-ok-close",
        ),
    ],
)
def test_after_close_ok(run: Any, then: bytes, expected: list[Any], end: str) -> None:
    frames, ended = run(handshake(PROTOCOL_HEADER, channel=False) + CLOSE, then, frames=BEFORE)
    assert frames[3] == CLOSE_OK
    assert (frames[BEFORE:], ended) == (expected, end)


@pytest.mark.parametrize("run", BACKENDS)
def test_the_socket_is_reset_after_the_heartbeat(run: Any) -> None:
    frames, ended = run(handshake(PROTOCOL_HEADER, heartbeat=1, channel=False) + CLOSE, wait=2.5)
    methods = [f for f in frames[3:] if f[1] != "type-8"]  # heartbeats go on until the reset
    assert methods == [CLOSE_OK] and ended == "reset"
