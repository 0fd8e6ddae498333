"""A delivery carries the publisher's content header as it was sent, as RabbitMQ does.

RabbitMQ keeps a message's encoded properties and re-sends them unchanged
unless it changes the properties itself (dead-lettering, direct reply-to,
quorum queues' x-delivery-count): field types a client chose (a short-short
int, a 64-bit int, a float) reach the consumer as they were published.
"""

from __future__ import annotations

import struct
import uuid

import pytest
from pamqp import commands as C

from ._client import RawClient, body_frame, method_frame
from ._rabbit import rabbit_session_bytes

BODY = b"hello"


def _entry(key: bytes, kind: bytes, value: bytes) -> bytes:
    return bytes([len(key)]) + key + kind + value


TABLE = b"".join(
    [
        _entry(b"short-short", b"b", struct.pack(">b", -5)),
        _entry(b"short", b"s", struct.pack(">h", 700)),
        _entry(b"long-long", b"l", struct.pack(">q", 3)),
        _entry(b"float", b"f", struct.pack(">f", 1.5)),
        _entry(b"unsigned", b"i", struct.pack(">I", 9)),
    ]
)
# flags: content_type (bit 15) and headers (bit 13); then their values in wire order
PROPERTIES = (
    struct.pack(">H", 0x8000 | 0x2000) + b"\x0atext/plain" + struct.pack(">I", len(TABLE)) + TABLE
)
HEADER_PAYLOAD = struct.pack(">HHQ", 60, 0, len(BODY)) + PROPERTIES


def _frames(data: bytes) -> list[tuple[int, bytes]]:
    """(type, payload) of each frame in ``data``."""
    out = []
    while data:
        kind, _channel, size = struct.unpack_from(">BHI", data)
        out.append((kind, data[7 : 7 + size]))
        data = data[8 + size :]
    return out


def _session(queue: str) -> list[bytes]:
    header = struct.pack(">BHI", 2, 1, len(HEADER_PAYLOAD)) + HEADER_PAYLOAD + b"\xce"
    return [
        method_frame(1, C.Channel.Open()),
        method_frame(1, C.Queue.Declare(queue=queue, exclusive=True)),
        method_frame(1, C.Basic.Publish(exchange="", routing_key=queue)),
        header,
        body_frame(1, BODY),
        method_frame(1, C.Basic.Get(queue=queue, no_ack=True)),
    ]


@pytest.mark.parametrize("backend", ["fakebroker", "rabbitmq"])
def test_the_delivered_content_header_is_the_published_one(backend: str) -> None:
    queue = f"wire-{uuid.uuid4().hex[:8]}"
    if backend == "rabbitmq":
        data = rabbit_session_bytes(*_session(queue), expect=5)
    else:
        client = RawClient()
        client.handshake()
        for chunk in _session(queue):
            client.engine.receive_data(chunk)
        data = client.engine.data_to_send()
    frames = _frames(data)
    assert [kind for kind, _ in frames][-3:] == [1, 2, 3]  # get-ok, header, body
    assert frames[-2][1] == HEADER_PAYLOAD
    assert frames[-1][1] == BODY
