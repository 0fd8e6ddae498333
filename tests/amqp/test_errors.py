"""Frame errors, channel errors and their replies, compared with RabbitMQ 3.10."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from pamqp import commands as C

from ._client import (
    RawClient,
    body_frame,
    header_frame,
    heartbeat_frame,
    method_frame,
    only_close,
    raw_method,
    summary,
)
from ._rabbit import rabbit_session

OPEN = method_frame(1, C.Channel.Open())
PUBLISH = method_frame(1, C.Basic.Publish(exchange="", routing_key="nowhere"))
QOS = method_frame(1, C.Basic.Qos())
TOO_LARGE = "{frame_too_large,1819222135,131064}"
NOT_BODY = "UNEXPECTED_FRAME - expected content body, got non content body frame instead"


def _close_triple(frames: list[tuple[int, Any]]) -> tuple[int, str, int, int]:
    close = only_close(frames)
    return close.reply_code, close.reply_text, close.class_id, close.method_id


# name -> (frames after the handshake, expected (code, text, class_id, method_id))
CASES: dict[str, tuple[list[bytes], tuple[int, str, int, int]]] = {
    "bad-frame-end": (
        [OPEN, QOS[:-1] + b"\x00"],
        (
            501,
            "FRAME_ERROR - type 1, all octets = <<0,60,0,10,0,0,0,0,0,0,0>>: "
            "{invalid_frame_end_marker,0}",
            0,
            0,
        ),
    ),
    "unknown-frame-type": (
        [OPEN, struct.pack(">BHI", 9, 1, 1) + b"x\xce"],
        (501, 'FRAME_ERROR - type 9, all octets = <<"x">>: unknown_frame', 0, 0),
    ),
    "garbage": (
        [b"hello world garbage bytes\r\n"],
        (
            501,
            "FRAME_ERROR - type 104, all octets = <<>>: {frame_too_large,1819222135,131064}",
            0,
            0,
        ),
    ),
    "short-header-frame": (
        [OPEN, PUBLISH, struct.pack(">BHI", 2, 1, 4) + b"\x00\x3c\x00\x00\xce"],
        (501, "FRAME_ERROR - type 2, all octets = <<0,60,0,0>>: unknown_frame", 0, 0),
    ),
    "body-without-header": (
        [OPEN, body_frame(1, b"abc")],
        (505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead", 0, 0),
    ),
    "header-without-method": (
        [OPEN, header_frame(1, 3)],
        (505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead", 0, 0),
    ),
    "method-instead-of-header": (
        [OPEN, PUBLISH, QOS],
        (
            505,
            "UNEXPECTED_FRAME - expected content header for class 60, "
            "got non content header frame instead",
            60,
            40,
        ),
    ),
    "method-mid-content": (
        [OPEN, PUBLISH, header_frame(1, 3), QOS],
        (
            505,
            "UNEXPECTED_FRAME - expected content body, got non content body frame instead",
            60,
            40,
        ),
    ),
    "body-too-long": (
        [OPEN, PUBLISH, header_frame(1, 3), body_frame(1, b"abcdef"), body_frame(1, b"x"), QOS],
        (
            505,
            "UNEXPECTED_FRAME - expected content body, got non content body frame instead",
            60,
            40,
        ),
    ),
    "header-of-other-class": (
        [OPEN, PUBLISH, header_frame(1, 3)[:7] + b"\x00\x32" + header_frame(1, 3)[9:]],
        (
            505,
            "UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead",
            60,
            40,
        ),
    ),
    "heartbeat-on-channel": (
        [OPEN, heartbeat_frame(1)],
        (505, "UNEXPECTED_FRAME - type 8, all octets = <<>>", 0, 0),
    ),
    "body-on-channel-0": (
        [body_frame(0, b"abc")],
        (505, 'UNEXPECTED_FRAME - type 3, all octets = <<"abc">>', 0, 0),
    ),
    # bytes 160-255 are printable latin-1: RabbitMQ prints them raw inside <<"...">>
    "utf8-body-on-channel-0": (
        [body_frame(0, "é".encode())],
        (505, 'UNEXPECTED_FRAME - type 3, all octets = <<"é">>', 0, 0),
    ),
    "long-body-on-channel-0": (
        [body_frame(0, b"\x01" * 100)],
        (
            505,
            "UNEXPECTED_FRAME - type 3, first 16 octets = <<1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1>>",
            0,
            0,
        ),
    ),
    "unopened-channel": (
        [QOS],
        (504, "CHANNEL_ERROR - expected 'channel.open'", 60, 10),
    ),
    "close-ok-on-unopened": (
        [method_frame(5, C.Channel.CloseOk())],
        (504, "CHANNEL_ERROR - expected 'channel.open'", 20, 41),
    ),
    "second-channel-open": (
        [OPEN, OPEN],
        (504, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10),
    ),
    "channel-method-on-channel-0": (
        [method_frame(0, C.Channel.Open())],
        (504, "CHANNEL_ERROR - unexpected method in connection state running", 20, 10),
    ),
    "connection-open-again": (
        [method_frame(0, C.Connection.Open())],
        (504, "CHANNEL_ERROR - unexpected method in connection state running", 10, 40),
    ),
    "server-only-method": (
        [OPEN, method_frame(1, C.Channel.OpenOk())],
        (503, "COMMAND_INVALID - unimplemented method", 20, 11),
    ),
    "client-cancel-ok": (
        [OPEN, method_frame(1, C.Basic.CancelOk(consumer_tag="x"))],
        (503, "COMMAND_INVALID - unimplemented method", 60, 31),
    ),
    "connection-method-on-channel": (
        [OPEN, method_frame(1, C.Connection.Open())],
        (503, "COMMAND_INVALID - unimplemented method", 10, 40),
    ),
    "client-deliver-with-content": (
        [
            OPEN,
            method_frame(
                1, C.Basic.Deliver(consumer_tag="x", delivery_tag=1, exchange="", routing_key="r")
            ),
            header_frame(1, 0),
        ],
        (503, "COMMAND_INVALID - unimplemented method", 60, 60),
    ),
    "truncated-arguments": (
        [OPEN, raw_method(1, 50, 10, b"\x00\x00")],
        (501, "FRAME_ERROR - cannot decode <<0,0>>", 50, 10),
    ),
    "trailing-arguments": (
        [OPEN, raw_method(1, 60, 10, b"\x00" * 9 + b"\x99\x99")],
        (501, "FRAME_ERROR - cannot decode <<0,0,0,0,0,0,0,0,0,153,153>>", 60, 10),
    ),
    "flow-active-false": (
        [OPEN, method_frame(1, C.Channel.Flow(active=False))],
        (540, "NOT_IMPLEMENTED - active=false", 20, 20),
    ),
    "recover-requeue-false": (
        [OPEN, method_frame(1, C.Basic.Recover(requeue=False))],
        (540, "NOT_IMPLEMENTED - requeue=false", 60, 110),
    ),
    "immediate": (
        [
            OPEN,
            method_frame(1, C.Basic.Publish(routing_key="q", immediate=True)),
            header_frame(1, 0),
        ],
        (540, "NOT_IMPLEMENTED - immediate=true", 60, 40),
    ),
    # RabbitMQ decodes channel 0's methods in its reader: a failure there is a crash
    "undecodable-on-channel-0": (
        [raw_method(0, 50, 10, b"\x00\x00\x05xxxxx\x00\x01\x00\x00\x00")],
        (541, "INTERNAL_ERROR", 0, 0),
    ),
    # a reply text longer than a short string: RabbitMQ's first 252 bytes, then "..."
    "long-reply-text": (
        [OPEN, raw_method(1, 50, 10, b"\x00\x00\xc8" + b"x" * 200 + b"\x00\x01\x00\x00\x00")],
        (
            501,
            "FRAME_ERROR - cannot decode <<0,0,200," + "120," * 53 + "12...",
            50,
            10,
        ),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_connection_error(name: str) -> None:
    chunks, expected = CASES[name]
    client = RawClient()
    client.open(channels=())
    assert _close_triple(client.send(b"".join(chunks))) == expected
    assert client.broker.connections == []
    assert not client.engine.closed
    client.send(method_frame(0, C.Connection.CloseOk()))
    if name == "garbage":  # an oversized frame loses the stream: only EOF or 30 s end it
        assert not client.engine.closed
        client.engine.receive_data(b"")
    assert client.engine.closed


@pytest.mark.parametrize("name", list(CASES))
def test_connection_error_rabbitmq(name: str) -> None:
    chunks, expected = CASES[name]
    frames = rabbit_session(*chunks, expect=len([c for c in chunks if c == OPEN][:1]) + 1)
    assert _close_triple(frames) == expected


def test_frames_split_anywhere_are_need_more_data() -> None:
    client = RawClient()
    client.open()
    data = method_frame(1, C.Queue.Declare(queue="q")) + method_frame(1, C.Basic.Qos())
    out = []
    for i in range(len(data)):
        out += client.send(data[i : i + 1])
    assert summary(out) == [(1, "Queue.DeclareOk"), (1, "Basic.QosOk")]


def test_oversized_frame_after_tune() -> None:
    client = RawClient()
    client.open(tune=(2047, 4096, 0))
    ok = client.publish(1, b"x" * 4096, routing_key="nowhere")
    assert ok == []
    frames = client.publish(1, b"x" * 4097, routing_key="nowhere")
    assert _close_triple(frames) == (
        501,
        "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}",
        0,
        0,
    )


def test_oversized_frame_rabbitmq() -> None:
    chunks = [OPEN, PUBLISH, header_frame(1, 4097), body_frame(1, b"x" * 4097)]
    frames = rabbit_session(*chunks, expect=2, tune=(2047, 4096, 0))
    assert _close_triple(frames)[:2] == (
        501,
        "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}",
    )


@pytest.mark.parametrize(
    "frame",
    [
        struct.pack(">BHI", 1, 1, 4) + struct.pack(">HH", 60, 99) + b"\xce",
        raw_method(1, 50, 10, b"\x00\x00\x01q\x00" + struct.pack(">I", 3) + b"\x01aZ"),
    ],
    ids=["unknown-method", "unknown-table-type"],
)
def test_parser_crashes_drop_the_socket_at_once(frame: bytes) -> None:
    client = RawClient()
    client.open()
    assert client.send(frame) == []
    assert client.engine.closed
    assert client.broker.connections == []


def test_channel_max_counts_open_channels() -> None:
    client = RawClient()
    client.open(channels=(1, 7), tune=(2, 131072, 0))
    frames = client.call(3, C.Channel.Open())
    assert _close_triple(frames) == (
        530,
        "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)",
        0,
        0,
    )


def test_channel_max_rabbitmq() -> None:
    opens = [method_frame(n, C.Channel.Open()) for n in (1, 2, 3)]
    frames = rabbit_session(*opens, expect=3, tune=(2, 131072, 0))
    assert _close_triple(frames)[:2] == (
        530,
        "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)",
    )


def test_channel_numbers_above_channel_max_are_fine() -> None:
    client = RawClient()
    client.open(channels=(11,), tune=(10, 131072, 0))


def test_after_connection_close_only_close_ok_counts() -> None:
    client = RawClient()
    client.open(channels=())
    only_close(client.send(QOS))
    assert client.send(OPEN, QOS, PUBLISH, header_frame(1, 1), body_frame(1, b"x")) == []
    assert not client.engine.closed
    client.send(method_frame(0, C.Connection.CloseOk()))
    assert client.engine.closed


def test_server_close_then_client_close_gets_close_ok() -> None:
    client = RawClient()
    client.open(channels=())
    only_close(client.send(QOS))
    frames = client.send(method_frame(0, C.Connection.Close(200, "bye", 0, 0)))
    assert summary(frames) == [(0, "Connection.CloseOk")]
    assert client.engine.closed


def test_close_ok_never_comes_closes_after_30s() -> None:
    client = RawClient()
    client.open(channels=())
    only_close(client.send(QOS))
    client.clock.advance(29.9)
    assert not client.engine.closed
    client.clock.advance(0.1)
    assert client.engine.closed


def test_input_after_a_frame_error_is_ignored() -> None:
    client = RawClient()
    client.open()
    only_close(client.send(b"\x01\x00\x01\x00\x00\x00\x01x\x00"))
    assert client.send(method_frame(0, C.Connection.CloseOk())) == []
    client.engine.receive_data(b"")
    assert client.engine.closed


@pytest.mark.parametrize("backend", ["fakebroker", "rabbitmq"])
def test_long_channel_error_texts_are_cut_to_255_bytes(backend: str) -> None:
    name = "y" * 229
    chunks = [OPEN, method_frame(1, C.Queue.Declare(queue=name, passive=True))]
    if backend == "rabbitmq":
        frames = rabbit_session(*chunks, expect=2)
    else:
        client = RawClient()
        client.open(channels=())
        frames = client.send(*chunks)
    close = frames[-1][1]
    assert isinstance(close, C.Channel.Close)
    assert close.reply_text == f"NOT_FOUND - no queue '{name}'..."
    assert len(close.reply_text) == 255


def test_latin1_bytes_that_are_not_utf8_go_on_the_wire_raw_as_rabbitmq_sends_them() -> None:
    """RabbitMQ 3.10.8 sends ``<<"caf\xe9">>`` raw (probed): not UTF-8, so pamqp cannot decode
    it; fakebroker sends the same bytes."""
    client = RawClient()
    client.open(channels=())
    client.engine.receive_data(body_frame(0, b"caf\xe9"))
    output = client.engine.data_to_send()
    assert b'UNEXPECTED_FRAME - type 3, all octets = <<"caf\xe9">>' in output
