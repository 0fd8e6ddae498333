"""Protocol header, connection.start/tune/open, auth, vhosts, handshake timeout."""

from __future__ import annotations

import struct

import pytest
from pamqp import commands as C

from fakebroker.amqp import Engine
from fakebroker.core import Broker, VirtualClock

from ._client import (
    PROTOCOL_HEADER,
    RawClient,
    method_frame,
    only_close,
    parse,
    start_ok,
    summary,
)
from ._rabbit import rabbit_raw, rabbit_session

BAD_HEADERS = [
    b"AMQP\x00\x00\x09\x00",
    b"HTTP/1.1",
    b"AMQP\x00\x01\x00\x00",  # AMQP 1.0
    b"AMQP\x03\x01\x00\x00",  # AMQP 1.0 SASL
    b"GET / HTTP/1.1\r\n\r\n",
]


@pytest.mark.parametrize("header", BAD_HEADERS)
def test_wrong_protocol_header_gets_ours_and_close(header: bytes) -> None:
    client = RawClient()
    client.engine.receive_data(header)
    assert client.engine.data_to_send() == PROTOCOL_HEADER
    assert client.engine.closed


@pytest.mark.parametrize("header", BAD_HEADERS[:3])
def test_wrong_protocol_header_rabbitmq(header: bytes) -> None:
    data, eof = rabbit_raw(header)
    assert data == PROTOCOL_HEADER and eof


def test_partial_header_is_need_more_data() -> None:
    client = RawClient()
    assert client.send(b"AMQ") == []
    assert not client.engine.closed
    frames = client.send(b"P\x00\x00\x09\x01")
    assert isinstance(frames[0][1], C.Connection.Start)


def test_header_byte_by_byte_then_start() -> None:
    client = RawClient()
    for byte in PROTOCOL_HEADER:
        client.engine.receive_data(bytes([byte]))
    assert summary(client.recv()) == [(0, "Connection.Start")]


def test_amqp_0_9_header_accepted() -> None:
    client = RawClient()
    assert summary(client.send(b"AMQP\x01\x01\x00\x09")) == [(0, "Connection.Start")]


def test_connection_start_contents() -> None:
    start = RawClient().send(PROTOCOL_HEADER)[0][1]
    assert (start.version_major, start.version_minor) == (0, 9)
    assert start.mechanisms == "PLAIN AMQPLAIN"
    assert start.locales == "en_US"
    props = start.server_properties
    assert props["product"] == "fakebroker"
    assert props["version"] == "0.1.0"
    assert {"platform", "copyright", "information"} <= set(props)
    assert props["capabilities"] == {
        "publisher_confirms": True,
        "exchange_exchange_bindings": True,
        "basic.nack": True,
        "consumer_cancel_notify": True,
        "connection.blocked": True,
        "authentication_failure_close": True,
        "per_consumer_qos": True,
        "direct_reply_to": True,
        "consumer_priorities": True,
    }


def test_capabilities_are_a_subset_of_rabbitmq() -> None:
    data, _ = rabbit_raw(PROTOCOL_HEADER, timeout=0.5)
    theirs = parse(data)[0][1].server_properties["capabilities"]
    ours = RawClient().send(PROTOCOL_HEADER)[0][1].server_properties["capabilities"]
    assert set(ours) <= set(theirs)
    assert parse(data)[0][1].mechanisms == "PLAIN AMQPLAIN"


def test_full_handshake_and_tune_values() -> None:
    client = RawClient()
    client.send(PROTOCOL_HEADER)
    tune = client.send(start_ok())[0][1]
    assert (tune.channel_max, tune.frame_max, tune.heartbeat) == (2047, 131072, 60)
    frames = client.send(
        method_frame(0, C.Connection.TuneOk(100, 8192, 0)),
        method_frame(0, C.Connection.Open(virtual_host="/")),
    )
    assert summary(frames) == [(0, "Connection.OpenOk")]
    assert (client.engine.channel_max, client.engine.frame_max, client.engine.heartbeat) == (
        100,
        8192,
        0,
    )
    conn = client.broker.connections[0]
    assert conn.name == "127.0.0.1:5555 -> 127.0.0.1:5672" == client.engine.name
    assert "consumer_cancel_notify" in conn.capabilities


def test_amqplain_login() -> None:
    client = RawClient()
    client.send(PROTOCOL_HEADER)
    table = b"\x05LOGINS\x00\x00\x00\x05guest\x08PASSWORDS\x00\x00\x00\x05guest"
    start_ok_ = C.Connection.StartOk({}, "AMQPLAIN", "", "en_US")
    raw = method_frame(0, start_ok_)
    # replace the empty response (4 zero bytes before the locale) with the table
    head, tail = raw.split(b"\x08AMQPLAIN\x00\x00\x00\x00")
    payload = head[7:] + b"\x08AMQPLAIN" + struct.pack(">I", len(table)) + table + tail[:-1]
    frame = struct.pack(">BHI", 1, 0, len(payload)) + payload + b"\xce"
    assert summary(client.send(frame)) == [(0, "Connection.Tune")]


REFUSED = (
    "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
    "For details see the broker logfile."
)


def test_auth_failure_with_capability_sends_403_then_closes_on_close_ok() -> None:
    client = RawClient()
    client.send(PROTOCOL_HEADER)
    close = only_close(client.send(start_ok(password="wrong")))
    assert (close.reply_code, close.reply_text) == (403, REFUSED)
    assert not client.engine.closed
    client.send(method_frame(0, C.Connection.CloseOk()))
    assert client.engine.closed


def test_auth_failure_with_capability_closes_after_3s_without_close_ok() -> None:
    client = RawClient()
    client.send(PROTOCOL_HEADER)
    client.send(start_ok(password="wrong"))
    client.clock.advance(2.9)
    assert not client.engine.closed
    client.clock.advance(0.2)
    assert client.engine.closed


def test_auth_failure_rabbitmq_text() -> None:
    data, _ = rabbit_raw(PROTOCOL_HEADER + start_ok(password="wrong"), timeout=1.0)
    close = parse(data)[-1][1]
    assert (close.reply_code, close.reply_text) == (403, REFUSED)


@pytest.mark.parametrize(
    "frame",
    [
        start_ok(password="wrong", caps=False),
        start_ok(mechanism="FOO"),
        method_frame(0, C.Connection.StartOk({}, "PLAIN", "garbage", "en_US")),
    ],
    ids=["no-capability", "unknown-mechanism", "unreadable-response"],
)
def test_silent_login_failures_drop_after_3s(frame: bytes) -> None:
    client = RawClient()
    client.send(PROTOCOL_HEADER)
    assert client.send(frame) == []
    assert not client.engine.closed
    client.clock.advance(3.0)
    assert client.engine.closed
    assert client.recv() == []
    assert client.wakeups >= 1


def test_unknown_vhost_530() -> None:
    client = RawClient()
    close = only_close(client.handshake(vhost="nope"))
    assert (close.reply_code, close.reply_text) == (530, "NOT_ALLOWED - vhost nope not found")
    assert (close.class_id, close.method_id) == (10, 40)
    client.send(method_frame(0, C.Connection.CloseOk()))
    assert client.engine.closed
    assert client.broker.connections == []


def test_unknown_vhost_rabbitmq() -> None:
    from ._rabbit import HOST, PORT, _has_frames, _read_until, require_rabbit

    require_rabbit()
    import socket

    with socket.create_connection((HOST, PORT)) as sock:
        sock.sendall(PROTOCOL_HEADER)
        _read_until(sock, _has_frames(1), 2)
        sock.sendall(start_ok())
        _read_until(sock, _has_frames(1), 2)
        sock.sendall(
            method_frame(0, C.Connection.TuneOk(2047, 131072, 0))
            + method_frame(0, C.Connection.Open(virtual_host="nope"))
        )
        data, _ = _read_until(sock, _has_frames(1), 2)
    close = parse(data)[0][1]
    assert (close.reply_code, close.reply_text) == (530, "NOT_ALLOWED - vhost nope not found")
    assert (close.class_id, close.method_id) == (10, 40)


@pytest.mark.parametrize(
    "tune",
    [(2047, 0, 0), (2047, 4095, 0), (2047, 131073, 0), (0, 131072, 0), (2048, 131072, 0)],
)
def test_refused_tune_ok_is_silent(tune: tuple[int, int, int]) -> None:
    client = RawClient()
    client.send(PROTOCOL_HEADER)
    client.send(start_ok())
    assert client.send(method_frame(0, C.Connection.TuneOk(*tune))) == []
    client.clock.advance(3.0)
    assert client.engine.closed


@pytest.mark.parametrize("tune", [(2047, 4096, 0), (1, 131072, 600)])
def test_accepted_tune_ok(tune: tuple[int, int, int]) -> None:
    client = RawClient()
    assert summary(client.handshake(tune=tune)) == [(0, "Connection.OpenOk")]
    assert client.engine.heartbeat == tune[2]


def test_zero_means_no_limit_when_the_server_has_none() -> None:
    client = RawClient(frame_max=0, channel_max=0)
    assert summary(client.handshake(tune=(0, 0, 0))) == [(0, "Connection.OpenOk")]


def _start_ok_of_payload(size: int) -> bytes:
    base = method_frame(0, C.Connection.StartOk({"x": ""}, "PLAIN", "\0guest\0guest", "en_US"))
    pad = size - (len(base) - 8)
    return method_frame(
        0, C.Connection.StartOk({"x": "a" * pad}, "PLAIN", "\0guest\0guest", "en_US")
    )


def test_frame_max_before_tune_ok_is_4096() -> None:
    ok = RawClient()
    ok.send(PROTOCOL_HEADER)
    assert summary(ok.send(_start_ok_of_payload(4096))) == [(0, "Connection.Tune")]
    big = RawClient()
    big.send(PROTOCOL_HEADER)
    assert big.send(_start_ok_of_payload(4097)) == []
    big.clock.advance(3)
    assert big.engine.closed


def test_frame_max_before_tune_ok_rabbitmq() -> None:
    data, _ = rabbit_raw(PROTOCOL_HEADER + _start_ok_of_payload(4096), timeout=0.5)
    assert isinstance(parse(data)[-1][1], C.Connection.Tune)


def test_handshake_timeout_drops_silently() -> None:
    client = RawClient()
    client.send(PROTOCOL_HEADER)
    client.clock.advance(9.9)
    assert not client.engine.closed
    client.clock.advance(0.1)
    assert client.engine.closed
    assert client.recv() == []
    assert client.broker.connections == []


def test_handshake_timeout_before_any_byte() -> None:
    clock = VirtualClock()
    engine = Engine(broker=Broker(clock=clock), handshake_timeout=10.0)
    clock.advance(10)
    assert engine.closed


def test_no_handshake_timeout_once_open() -> None:
    client = RawClient()
    client.handshake()
    client.clock.advance(100)
    assert not client.engine.closed


def test_handshake_methods_out_of_order_are_silent() -> None:
    client = RawClient()
    client.send(PROTOCOL_HEADER)
    assert client.send(method_frame(0, C.Connection.Open(virtual_host="/"))) == []
    client.clock.advance(3)
    assert client.engine.closed


def test_rabbitmq_open_ok() -> None:
    frames = rabbit_session(method_frame(1, C.Channel.Open()))
    assert isinstance(frames[0][1], C.Channel.OpenOk)
