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


def _answers(backend: str, *chunks: bytes) -> list[tuple[str, int | None, str | None]]:
    if backend == "rabbitmq":
        frames = rabbit_session(method_frame(1, C.Channel.Open()), *chunks, expect=len(chunks) + 1)
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
