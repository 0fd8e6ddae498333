from __future__ import annotations

import pytest

from fakebroker.core import AMQPChannelError, Broker, Channel, Connection
from fakebroker.core.events import ConfirmAck, Deliver, Return

from .conftest import drain

RQ = "amq.rabbitmq.reply-to"


def test_request_reply_round_trip(broker: Broker, conn: Connection, ch: Channel) -> None:
    tag = ch.basic_consume(RQ, no_ack=True)
    server = broker.connect(name="server").open_channel(1)
    server.queue_declare("rpc")
    ch.basic_publish("", "rpc", b"req", {"reply_to": RQ})
    request = server.basic_get("rpc", no_ack=True)
    assert request is not None
    reply_to = request.message.properties["reply_to"]
    assert reply_to.startswith(RQ + ".") and len(reply_to) > len(RQ) + 10
    server.basic_publish("", reply_to, b"resp")
    [delivery] = drain(conn, Deliver)
    assert isinstance(delivery, Deliver)
    assert delivery.consumer_tag == tag and delivery.message.body == b"resp"
    assert delivery.routing_key == reply_to and not delivery.redelivered


def test_reply_consumer_must_be_no_ack(ch: Channel) -> None:
    with pytest.raises(AMQPChannelError) as info:
        ch.basic_consume(RQ, no_ack=False)
    assert info.value.reply_text == "PRECONDITION_FAILED - reply consumer cannot acknowledge"


def test_reply_consumer_only_once(ch: Channel) -> None:
    ch.basic_consume(RQ, no_ack=True)
    with pytest.raises(AMQPChannelError) as info:
        ch.basic_consume(RQ, no_ack=True)
    assert info.value.text == "reply consumer already set"


def test_publish_with_reply_to_needs_subscription(ch: Channel) -> None:
    with pytest.raises(AMQPChannelError) as info:
        ch.basic_publish("", "x", b"req", {"reply_to": RQ})
    assert info.value.text == "fast reply consumer does not exist"


def test_unknown_reply_key_is_unroutable(conn: Connection, ch: Channel) -> None:
    ch.confirm_select()
    ch.basic_publish("", RQ + ".bogus", b"x", mandatory=True)
    events = drain(conn)
    assert isinstance(events[0], Return) and events[0].reply_code == 312
    assert events[1] == ConfirmAck(1, 1)


def test_reply_goes_nowhere_after_channel_closes(broker: Broker, conn: Connection) -> None:
    ch = conn.open_channel(1)
    ch.basic_consume(RQ, no_ack=True)
    key = ch.reply_key
    assert key is not None
    ch.close()
    other = broker.connect().open_channel(1)
    other.basic_publish("", key, b"late", mandatory=True)
    assert [type(e) for e in other.conn.outbox] == [Return]


def test_pseudo_queue_declare(ch: Channel) -> None:
    ok = ch.queue_declare(RQ, passive=True)
    assert (ok.queue, ok.message_count, ok.consumer_count) == (RQ, 0, 1)


def test_a_missing_reply_consumer_is_named_before_a_bad_expiration(ch: Channel) -> None:
    with pytest.raises(AMQPChannelError) as info:
        ch.basic_publish("", "q", b"x", {"reply_to": RQ, "expiration": "abc"})
    assert info.value.text == "fast reply consumer does not exist"
