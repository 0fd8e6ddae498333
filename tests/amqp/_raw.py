"""Raw bytes to a fresh fakebroker engine and to the real RabbitMQ, the answers as raw frames.

For cases whose frames pamqp cannot name (AMQP 0-8's ids) or whose timing is the
answer (a socket held after close-ok). Each runner sends ``data``, then ``then``
once ``frames`` frames have come back, and reads for ``wait`` seconds (virtual
on fakebroker): the frames as (channel, class, method, arguments) or (channel,
"type-N", payload), and how the socket ended: "open" (neither EOF nor reset
within the wait), "eof" or "reset".
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

import pytest
from pamqp import commands as C

from ._client import RawClient, method_frame, start_ok
from ._rabbit import reachable

Frames = list[tuple[Any, ...]]
WAIT = 1.0


def shortstr(raw: bytes) -> bytes:
    return bytes([len(raw)]) + raw


def text(code: int, words: str) -> bytes:
    """A reply code and text, as connection.close and channel.close carry them."""
    return struct.pack(">H", code) + shortstr(words.encode())


def handshake(header: bytes, *, heartbeat: int = 0, channel: bool = True) -> bytes:
    """Header, start-ok, tune-ok, connection.open (and channel.open on channel 1)."""
    return (
        header
        + start_ok()
        + method_frame(0, C.Connection.TuneOk(2047, 131072, heartbeat))
        + method_frame(0, C.Connection.Open(virtual_host="/"))
        + (method_frame(1, C.Channel.Open()) if channel else b"")
    )


def frames_of(data: bytes) -> Frames:
    """Each whole frame in ``data``."""
    out: Frames = []
    while len(data) >= 8:
        kind, channel, size = struct.unpack_from(">BHI", data)
        payload, data = data[7 : 7 + size], data[8 + size :]
        if kind == 1:
            out.append((channel, *struct.unpack_from(">HH", payload), payload[4:]))
        else:
            out.append((channel, f"type-{kind}", payload))
    return out


def fake(
    data: bytes, then: bytes = b"", *, wait: float = WAIT, frames: int = 0
) -> tuple[Frames, str]:
    """The exchange with a fresh engine on a virtual clock."""
    client = RawClient()
    eng, clock = client.engine, client.clock
    eng.receive_data(data)
    out = eng.data_to_send()
    if then:
        eng.receive_data(then)
        out += eng.data_to_send()
    stop = clock.now() + wait
    while not eng.closed:
        deadline = clock.next_deadline()
        if deadline is None or deadline > stop:
            break
        clock.advance(deadline - clock.now())
        out += eng.data_to_send()
    if not eng.closed:
        return frames_of(out), "open"
    return frames_of(out), "reset" if eng.reset_requested else "eof"


def rabbit(
    data: bytes, then: bytes = b"", *, wait: float = WAIT, frames: int = 0
) -> tuple[Frames, str]:
    """The exchange with RabbitMQ at 127.0.0.1:5672 (``then`` waits for ``frames`` frames:
    a reply from another RabbitMQ process, channel.open-ok say, is lost if the socket is
    dropped before it is written)."""
    sock = socket.create_connection(("127.0.0.1", 5672), timeout=5.0)
    try:
        sock.sendall(data)
        got = b""
        while then and len(frames_of(got)) < frames:
            chunk = sock.recv(65536)
            assert chunk, "RabbitMQ closed the socket before answering the first bytes"
            got += chunk
        if then:
            sock.sendall(then)
        stop = time.monotonic() + wait
        while (left := stop - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                return frames_of(got), "reset"
            if not chunk:
                return frames_of(got), "eof"
            got += chunk
        return frames_of(got), "open"
    finally:
        sock.close()


#: Both runners, RabbitMQ's skipped when it is not reachable.
BACKENDS = [
    pytest.param(fake, id="fakebroker"),
    pytest.param(
        rabbit,
        id="rabbitmq",
        marks=pytest.mark.skipif(not reachable(), reason="RabbitMQ is not reachable"),
    ),
]
