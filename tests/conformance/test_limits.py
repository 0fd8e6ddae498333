"""RabbitMQ's limits on what a client may send: max_message_size."""

from __future__ import annotations

import amqp
import pytest

from fakebroker.core import AMQPChannelError, Broker
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
