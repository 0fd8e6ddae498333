"""Bad input over TCP: the right answer, that connection closed, every other one unaffected.

The served broker runs on a VirtualClock so the handshake timeout (10 s, as
RabbitMQ) and heartbeat timeouts are reached by advancing time, not by waiting.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator

import amqp
import pytest
from pamqp import commands, frame, header

from fakebroker import Server, VirtualClock, serve

TIMEOUT = 5.0
HEADER = b"AMQP\x00\x00\x09\x01"


@pytest.fixture
def server() -> Iterator[Server]:
    with serve(port=0, clock=VirtualClock()) as srv:
        yield srv


@pytest.fixture
def good(server: Server) -> Iterator[amqp.Connection]:
    conn = amqp.Connection(f"127.0.0.1:{server.port}", connect_timeout=TIMEOUT)
    conn.connect()
    yield conn
    with contextlib.suppress(Exception):  # the test may have broken it on purpose
        conn.close()


def _raw(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything until EOF (a reset counts as the end: unread input makes the close an RST)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _handshake(sock: socket.socket) -> None:
    """Header, start-ok, tune-ok, open: the connection is ready for channels."""
    sock.sendall(HEADER)
    start_ok = commands.Connection.StartOk(
        client_properties={}, mechanism="PLAIN", response="\0guest\0guest", locale="en_US"
    )
    sock.sendall(frame.marshal(start_ok, 0))
    sock.sendall(frame.marshal(commands.Connection.TuneOk(2047, 131072, 0), 0))
    sock.sendall(frame.marshal(commands.Connection.Open("/"), 0))


def _still_works(conn: amqp.Connection) -> None:
    ch = conn.channel()
    name = ch.queue_declare("", exclusive=True).queue
    ch.basic_publish(amqp.Message(b"alive"), "", name)
    msg = ch.basic_get(name, no_ack=True)
    assert msg is not None and msg.body == b"alive"
    ch.close()


def _expect_close(sock: socket.socket, server: Server | None = None) -> int:
    """Read until connection.close, answer close-ok, wait for EOF; the reply code.

    With ``server``, do not answer: let the 30 s close-ok timeout run out instead.
    """
    data = b""
    while True:
        chunk = sock.recv(65536)
        assert chunk, "closed without connection.close"
        data += chunk
        while data:
            try:
                consumed, _channel, value = frame.unmarshal(data)
            except Exception:
                break  # need more data
            data = data[consumed:]
            if isinstance(value, commands.Connection.Close):
                if server is None:
                    sock.sendall(frame.marshal(commands.Connection.CloseOk(), 0))
                else:
                    server.node.advance(30)
                _read_until_closed(sock)
                return int(value.reply_code)


def test_wrong_protocol_header(server: Server, good: amqp.Connection) -> None:
    with _raw(server) as sock:
        sock.sendall(b"HTTP/1.1 GET /\r\n\r\n")
        assert _read_until_closed(sock) == HEADER
    _still_works(good)


def test_garbage_frame_after_handshake(server: Server, good: amqp.Connection) -> None:
    with _raw(server) as sock:
        _handshake(sock)
        sock.sendall(b"\x01\x00\x01\x00\x00\x00\x04abcd\x00")  # bad frame-end octet
        assert _expect_close(sock) == 501
    _still_works(good)


def test_oversized_frame(server: Server, good: amqp.Connection) -> None:
    with _raw(server) as sock:
        _handshake(sock)
        sock.sendall(b"\x01\x00\x01" + struct.pack(">I", 10_000_000) + b"x" * 1024)
        # frame boundaries are lost: input is ignored until the close-ok wait times out
        assert _expect_close(sock, server) == 501
    _still_works(good)


def test_body_without_header(server: Server, good: amqp.Connection) -> None:
    with _raw(server) as sock:
        _handshake(sock)
        sock.sendall(frame.marshal(commands.Channel.Open(), 1))
        sock.sendall(b"\x03\x00\x01" + struct.pack(">I", 3) + b"abc\xce")
        assert _expect_close(sock) == 505
    _still_works(good)


def test_method_on_unopened_channel(server: Server, good: amqp.Connection) -> None:
    with _raw(server) as sock:
        _handshake(sock)
        sock.sendall(frame.marshal(commands.Queue.Declare(queue="x"), 5))
        assert _expect_close(sock) == 504
    _still_works(good)


def test_header_with_wrong_class(server: Server, good: amqp.Connection) -> None:
    with _raw(server) as sock:
        _handshake(sock)
        sock.sendall(frame.marshal(commands.Channel.Open(), 1))
        sock.sendall(frame.marshal(header.ContentHeader(0, 3), 1))
        assert _expect_close(sock) in (503, 505)
    _still_works(good)


def test_handshake_never_finished_is_dropped_after_ten_seconds(
    server: Server, good: amqp.Connection
) -> None:
    with _raw(server) as sock:
        sock.sendall(HEADER)
        sock.recv(4096)  # connection.start
        clock = server.broker.clock
        assert isinstance(clock, VirtualClock)
        with server.node.locked():
            clock.advance(9.9)
        sock.settimeout(0.2)
        with pytest.raises(socket.timeout):
            sock.recv(1)
        with server.node.locked():
            clock.advance(0.2)
        sock.settimeout(TIMEOUT)
        assert _read_until_closed(sock) == b""
    _still_works(good)


def test_client_stopping_mid_frame_during_handshake(server: Server, good: amqp.Connection) -> None:
    with _raw(server) as sock:
        sock.sendall(HEADER)
        sock.recv(4096)
        sock.sendall(b"\x01\x00\x00\x00\x00")  # half a frame header, then silence
        server.node.advance(11)
        assert _read_until_closed(sock) == b""
    _still_works(good)
