"""A binding's argument table is compared by content, not by its keys' order (RabbitMQ sorts it)."""

from __future__ import annotations

import kombu
import pytest
from kombu import Exchange, Queue


@pytest.mark.parametrize("unbind_first", [True, False])
def test_the_same_arguments_in_another_order_are_the_same_binding(
    url: str, qname: str, unbind_first: bool
) -> None:
    with kombu.Connection(url) as conn:
        channel = conn.channel()
        exchange = f"{qname}-h"
        channel.exchange_declare(exchange, "headers", auto_delete=False)
        channel.queue_declare(qname, exclusive=True)
        one = {"x-match": "any", "a": 1, "b": 2}
        other = {"b": 2, "a": 1, "x-match": "any"}
        channel.queue_bind(qname, exchange, arguments=one)
        channel.queue_bind(qname, exchange, arguments=other)  # a no-op: already bound
        channel.queue_unbind(qname, exchange, arguments=other if unbind_first else one)
        producer = conn.Producer(channel)
        producer.publish(b"x", exchange=exchange, headers={"a": 1})
        queue = Queue(qname, Exchange(exchange), no_declare=True)(channel)
        assert queue.get() is None  # one unbind removed the only binding
        channel.queue_bind(qname, exchange, arguments=other)
        producer.publish(b"y", exchange=exchange, headers={"a": 1})
        message = queue.get(no_ack=True)
        assert message is not None and message.body == b"y"
        channel.exchange_delete(exchange)
