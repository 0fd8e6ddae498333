"""AMQP 0-8 sessions answered as RabbitMQ 3.10.8 answers them (issue 16).

A client that sends ``AMQP 1 1 8 0`` (or ``AMQP 1 1 9 1``) gets a 0-8
connection: connection.start 8-0 with no capabilities, connection.close as
10/60, channel.open-ok with no argument, basic.consume with no table, and the
methods 0-8 lacks refused (fakebroker/amqp/_amqp08.py states the rules).
Each case runs on a fresh fakebroker engine and on the real RabbitMQ (skipped
when unreachable); both must give the answer probed on RabbitMQ below, frame
by frame as raw ids and arguments, since 0-8's ids are not pamqp's.
"""

from __future__ import annotations

import secrets
import struct
from typing import Any

import pytest
from pamqp import commands as C

from fakebroker.amqp._codec import decode_method

from ._client import method_frame, raw_method
from ._raw import BACKENDS, Frames, handshake, shortstr, text

HEADER_0_8 = b"AMQP\x01\x01\x08\x00"
HEADER_SITE = b"AMQP\x01\x01\x09\x01"


#: The four answers to :func:`handshake`: start, tune, open-ok, 0-8's bare channel.open-ok.
HANDSHAKE_IDS = [(0, 10, 10), (0, 10, 30), (0, 10, 41), (1, 20, 11)]


@pytest.mark.parametrize("run", BACKENDS)
@pytest.mark.parametrize("header", [HEADER_0_8, HEADER_SITE], ids=["0-8", "1-1-9-1"])
def test_a_0_8_header_starts_a_0_8_connection(run: Any, header: bytes) -> None:
    frames, end = run(handshake(header))
    assert [f[:3] for f in frames] == HANDSHAKE_IDS
    start = decode_method(struct.pack(">HH", 10, 10) + frames[0][3])
    assert isinstance(start, C.Connection.Start)
    assert (start.version_major, start.version_minor) == (8, 0)
    assert start.server_properties["capabilities"] == {}
    assert (start.mechanisms, start.locales) == ("PLAIN AMQPLAIN", "en_US")
    assert frames[3][3] == b"" and end == "open"


def _queue(token: str) -> bytes:
    return shortstr(token.encode())


def _declare(token: str) -> bytes:
    """queue.declare exclusive, auto-delete: gone with the connection on RabbitMQ."""
    return raw_method(1, 50, 10, b"\0\0" + _queue(token) + b"\x0c" + b"\0" * 4)


def _declare_ok(token: str) -> tuple[Any, ...]:
    return (1, 50, 11, _queue(token) + b"\0" * 8)


def _consume(token: str, *, table: bool) -> bytes:
    args = b"\0\0" + _queue(token) + shortstr(b"ct") + b"\x00"
    return raw_method(1, 60, 20, args + (b"\0\0\0\0" if table else b""))


CONNECTION_CLOSE = raw_method(0, 10, 60, text(200, "bye") + b"\0\0\0\0")
UNIMPLEMENTED = text(503, "COMMAND_INVALID - unimplemented method")


def _cases(token: str) -> dict[str, tuple[bytes, Frames, str]]:
    """name: (bytes after the handshake, RabbitMQ's frames, how the socket ends)."""
    decl = _declare(token)
    consume_args = b"\0\0" + _queue(token) + shortstr(b"ct") + b"\x00" + b"\0\0\0\0"
    cannot = "FRAME_ERROR - cannot decode <<" + ",".join(map(str, consume_args)) + ">>"
    return {
        "close-10-60": (CONNECTION_CLOSE, [(0, 10, 61, b"")], "open"),  # held: see test_close_ok
        "close-10-50-is-redirect": (
            raw_method(0, 10, 50, text(200, "bye") + b"\0\0\0\0"),
            [(0, 10, 60, text(541, "INTERNAL_ERROR") + b"\0\0\0\0")],
            "open",
        ),
        "close-ok-10-51": (raw_method(0, 10, 51, b""), [], "eof"),
        "confirm-select": (raw_method(1, 85, 10, b"\x00"), [], "eof"),
        "exchange-bind": (
            raw_method(
                1, 40, 30, b"\0\0" + shortstr(b"amq.direct") + shortstr(b"amq.fanout")
                + shortstr(b"k") + b"\x00\0\0\0\0",
            ),
            [],
            "eof",
        ),
        "basic-nack": (raw_method(1, 60, 120, struct.pack(">QB", 5, 0)), [], "eof"),
        "file-qos": (
            raw_method(1, 70, 10, struct.pack(">IHB", 0, 1, 0)),
            [(0, 10, 60, UNIMPLEMENTED + struct.pack(">HH", 70, 10))],
            "open",
        ),
        "channel-alert": (
            raw_method(1, 20, 30, text(200, "x") + b"\0\0\0\0"),
            [(0, 10, 60, UNIMPLEMENTED + struct.pack(">HH", 20, 30))],
            "open",
        ),
        "consume-0-8": (
            decl + _consume(token, table=False),
            [_declare_ok(token), (1, 60, 21, shortstr(b"ct"))],
            "open",
        ),
        "consume-0-9-1-table": (
            decl + _consume(token, table=True),
            [_declare_ok(token), (0, 10, 60, text(501, cannot) + struct.pack(">HH", 60, 20))],
            "open",
        ),
        "recover": (raw_method(1, 60, 110, b"\x01"), [(1, 60, 111, b"")], "open"),
        "second-channel-open": (
            method_frame(1, C.Channel.Open()),
            [(0, 10, 60, text(504, "CHANNEL_ERROR - second 'channel.open' seen")
              + struct.pack(">HH", 20, 10))],
            "open",
        ),
        "reject-unknown-tag": (
            raw_method(1, 60, 90, struct.pack(">QB", 5, 0)),
            [(1, 20, 40, text(406, "PRECONDITION_FAILED - unknown delivery tag 5")
              + struct.pack(">HH", 60, 90))],
            "open",
        ),
    }  # fmt: skip


CASE_NAMES = list(_cases("t"))


@pytest.mark.parametrize("run", BACKENDS)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_a_0_8_session_gets_rabbitmqs_answer(run: Any, name: str) -> None:
    token = f"a08{secrets.token_hex(3)}"
    sent, expected, end = _cases(token)[name]
    frames, ended = run(handshake(HEADER_0_8), sent, frames=len(HANDSHAKE_IDS))
    ended = "eof" if ended == "reset" else ended
    assert [f[:3] for f in frames[:4]] == HANDSHAKE_IDS
    assert (frames[4:], ended) == (expected, end)


@pytest.mark.parametrize("run", BACKENDS)
def test_a_0_8_client_publishes_and_gets_a_message(run: Any) -> None:
    token = f"a08{secrets.token_hex(3)}"
    props = struct.pack(">HHQH", 60, 0, 3, 0x1000) + b"\x02"  # delivery_mode 2
    publish = raw_method(1, 60, 40, b"\0\0" + shortstr(b"") + _queue(token) + b"\x00")
    content = (
        struct.pack(">BHI", 2, 1, len(props)) + props + b"\xce"
        + struct.pack(">BHI", 3, 1, 3) + b"abc\xce"
    )  # fmt: skip
    get = raw_method(1, 60, 70, b"\0\0" + _queue(token) + b"\x00")
    frames, end = run(handshake(HEADER_0_8) + _declare(token) + publish + content + get)
    assert frames[4] == _declare_ok(token)
    get_ok = (1, 60, 71, struct.pack(">QB", 1, 0) + shortstr(b"") + _queue(token) + b"\0\0\0\0")
    assert frames[5:] == [get_ok, (1, "type-2", props), (1, "type-3", b"abc")]
    assert end == "open"
