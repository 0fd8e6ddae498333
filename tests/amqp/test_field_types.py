"""Field types a client chose are kept, as RabbitMQ keeps them.

Clients encode integers differently (py-amqp and pika as 32-bit ``I``,
pamqp / aio-pika in the smallest type that fits, Java as ``l``). RabbitMQ
compares arguments within a type class (any integer equals any integer of
the same value) but names the received type in its error texts.
"""

from __future__ import annotations

import struct
import uuid

import pytest
from pamqp import commands as C

from ._client import RawClient, method_frame, raw_method
from ._rabbit import rabbit_session


def _table(*entries: tuple[str, bytes]) -> bytes:
    raw = b"".join(bytes([len(k)]) + k.encode() + v for k, v in entries)
    return struct.pack(">I", len(raw)) + raw


def _declare(queue: str, table: bytes) -> bytes:
    name = queue.encode()
    exclusive = 0b100
    args = struct.pack(">H", 0) + bytes([len(name)]) + name + bytes([exclusive]) + table
    return raw_method(1, 50, 10, args)


TTL_1000_I = _table(("x-message-ttl", b"I" + struct.pack(">i", 1000)))
TTL_1000_S = _table(("x-message-ttl", b"s" + struct.pack(">h", 1000)))
TTL_5_B = _table(("x-message-ttl", b"b" + struct.pack(">b", 5)))
TTL_7_L = _table(("x-message-ttl", b"l" + struct.pack(">q", 7)))


def _answers(
    backend: str, *chunks: bytes, replies: int | None = None
) -> list[tuple[str, int | None, str | None]]:
    """The answers after channel.open; ``replies``: how many to wait for (one per chunk)."""
    if backend == "rabbitmq":
        expect = 1 + (len(chunks) if replies is None else replies)
        frames = rabbit_session(method_frame(1, C.Channel.Open()), *chunks, expect=expect)
    else:
        client = RawClient()
        client.open(channels=())
        frames = client.send(method_frame(1, C.Channel.Open()), *chunks)
    return [
        (v.name, getattr(v, "reply_code", None), getattr(v, "reply_text", None))
        for _, v in frames[1:]
    ]


NO_ARGS = _table()


@pytest.mark.parametrize("backend", ["fakebroker", "rabbitmq"])
@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (TTL_1000_I, TTL_1000_S, None),  # same class, same value: equivalent
        (TTL_1000_I, TTL_5_B, "received '5' but current is '1000'"),
        (NO_ARGS, TTL_5_B, "received the value '5' of type 'byte' but current is none"),
        (NO_ARGS, TTL_7_L, "received the value '7' of type 'long' but current is none"),
        (TTL_1000_S, NO_ARGS, "received none but current is the value '1000' of type 'short'"),
    ],
    ids=["short-equals-signedint", "both-present", "byte-named", "long-named", "short-kept"],
)
def test_redeclare_names_the_received_field_type(
    backend: str, first: bytes, second: bytes, expected: str | None
) -> None:
    queue = f"ft-{uuid.uuid4().hex[:8]}"
    answers = _answers(backend, _declare(queue, first), _declare(queue, second))
    assert answers[0][0] == "Queue.DeclareOk"
    if expected is None:
        assert answers[1][0] == "Queue.DeclareOk"
        return
    name, code, text = answers[1]
    prefix = (
        f"PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '{queue}' in vhost '/': "
    )
    assert (name, code, text) == ("Channel.Close", 406, prefix + expected)


def _bind_headers(queue: str, table: bytes) -> bytes:
    name, exchange = queue.encode(), b"amq.headers"
    args = (
        struct.pack(">H", 0)
        + bytes([len(name)])
        + name
        + bytes([len(exchange)])
        + exchange
        + b"\x00"  # routing key ""
        + b"\x00"  # nowait off
        + table
    )
    return raw_method(1, 50, 20, args)


def _publish_with_headers(table: bytes) -> list[bytes]:
    publish = method_frame(1, C.Basic.Publish(exchange="amq.headers", routing_key=""))
    properties = struct.pack(">H", 0x2000) + table  # headers only
    payload = struct.pack(">HHQ", 60, 0, 1) + properties
    header = struct.pack(">BHI", 2, 1, len(payload)) + payload + b"\xce"
    body = struct.pack(">BHI", 3, 1, 1) + b"m" + b"\xce"
    return [publish, header, body]


def _nested(tag: bytes, value: bytes) -> bytes:
    return b"F" + _table(("b", tag + value))


@pytest.mark.parametrize("backend", ["fakebroker", "rabbitmq"])
@pytest.mark.parametrize(
    ("published", "routed"),
    [
        (b"I" + struct.pack(">i", 1), True),  # the same type in a nested table
        (b"b" + struct.pack(">b", 1), False),  # a byte 1 is not a signedint 1 in a nested table
    ],
    ids=["same-type", "other-type"],
)
def test_nested_header_tables_compare_with_their_types(
    backend: str, published: bytes, routed: bool
) -> None:
    queue = f"ft-{uuid.uuid4().hex[:8]}"
    binding = _table(
        ("x-match", b"S" + struct.pack(">I", 3) + b"all"),
        ("a", _nested(b"I", struct.pack(">i", 1))),
    )
    message = _table(("a", b"F" + _table(("b", published))))
    chunks = [
        _declare(queue, NO_ARGS),
        _bind_headers(queue, binding),
        *_publish_with_headers(message),
        method_frame(1, C.Basic.Get(queue=queue, no_ack=True)),
    ]
    answers = _answers(backend, *chunks, replies=3)  # declare-ok, bind-ok, get-ok or get-empty
    names = [name for name, _, _ in answers]
    assert names[:2] == ["Queue.DeclareOk", "Queue.BindOk"]
    assert ("Basic.GetOk" in names) == routed, answers
    assert ("Basic.GetEmpty" in names) == (not routed), answers
