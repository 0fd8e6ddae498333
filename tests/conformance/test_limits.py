"""RabbitMQ's limits on what a client may send: max_message_size."""

from __future__ import annotations

from typing import Any

import amqp
import pytest

from fakebroker.core import AMQPChannelError, Broker, VirtualClock
from fakebroker.core.message import DEFAULT_MAX_MESSAGE_SIZE

from ._harness import Backend


def test_a_body_over_max_message_size_is_refused(b: Backend) -> None:
    """RabbitMQ 3.10's default limit (128 MiB): one byte more is refused with 406."""
    q = b.name("q")
    conn = b.connect()
    ch = b.channel(conn)
    ch.queue_declare(q)
    ch.basic_publish(amqp.Message(b"\0" * (DEFAULT_MAX_MESSAGE_SIZE + 1)), "", q)
    got = b.error(ch.basic_qos, 0, 1, False)
    b.expect(
        "too_large",
        got,
        {
            "code": 406,
            "text": f"PRECONDITION_FAILED - message size {DEFAULT_MAX_MESSAGE_SIZE + 1} is larger "
            f"than configured max size {DEFAULT_MAX_MESSAGE_SIZE}",
            "method": [60, 40],
            "closed": "channel",
        },
    )
    ch = b.channel(conn)  # the connection stays, and nothing was enqueued
    b.expect("left", ch.queue_declare(q, passive=True).message_count, 0)


def test_a_configured_limit_is_named_as_configured() -> None:
    channel = Broker(max_message_size=1024).connect().open_channel(1)
    channel.queue_declare("q")
    channel.basic_publish("", "q", b"x" * 1024)
    with pytest.raises(AMQPChannelError) as refused:
        channel.basic_publish("", "q", b"x" * 1025)
    assert refused.value.code == 406
    assert refused.value.text == "message size 1025 is larger than configured max size 1024"


def _open_raw(broker: Broker) -> Any:
    from pamqp import commands as C

    from tests.amqp._client import PROTOCOL_HEADER, RawClient, method_frame, start_ok

    client = RawClient(broker)
    client.send(PROTOCOL_HEADER, start_ok())
    client.send(method_frame(0, C.Connection.TuneOk(2047, 131072, 0)))
    client.send(method_frame(0, C.Connection.Open(virtual_host="/")))
    client.send(method_frame(1, C.Channel.Open()))
    return client


def _held_bytes(client: Any, channel: int) -> int:
    """What the engine keeps of the body it is assembling on ``channel``."""
    chan = client.engine.channels.get(channel)
    return sum(len(chunk) for chunk in chan.assembler.chunks)


def test_a_body_declared_over_the_limit_is_counted_not_kept() -> None:
    """A header declaring 2^62 bytes and 50 MiB of body frames: nothing is buffered.

    RabbitMQ 3.10.8 does not answer at the header (probed: tests/amqp/test_malformed.py's
    header-2-62-bodies); fakebroker counts the body without keeping it, and the
    connection still serves its other channels.
    """
    from pamqp import commands as C

    from tests.amqp import probe_malformed as P
    from tests.amqp._client import method_frame

    broker = Broker(clock=VirtualClock())
    client = _open_raw(broker)
    client.send(P.publish(1, b"", b"q") + P.header(1, 2**62, b"\x00\x00"))
    chunk = P.body(1, b"x" * 131_000)
    for _ in range(400):  # 52 MB
        assert client.send(chunk) == []
    assert _held_bytes(client, 1) == 0
    replies = client.send(method_frame(2, C.Channel.Open()))
    assert [type(m).__name__ for _, m in replies] == ["OpenOk"]


def test_a_discarded_body_gets_the_406_once_complete() -> None:
    """Over a configured limit: counted, then refused as RabbitMQ refuses it, with its size."""
    from tests.amqp import probe_malformed as P

    broker = Broker(clock=VirtualClock(), max_message_size=1024)
    client = _open_raw(broker)
    client.send(P.publish(1, b"", b"q") + P.header(1, 3000, b"\x00\x00"))
    assert client.send(P.body(1, b"x" * 2000)) == []
    assert _held_bytes(client, 1) == 0
    [(channel, close)] = client.send(P.body(1, b"x" * 1000))
    assert (channel, type(close).__name__) == (1, "Close")
    assert close.reply_code == 406
    assert close.reply_text == (
        "PRECONDITION_FAILED - message size 3000 is larger than configured max size 1024"
    )
    assert (close.class_id, close.method_id) == (60, 40)
