from __future__ import annotations

import pytest

from fakebroker.core import AMQPChannelError, AMQPConnectionError, Broker, Channel, Connection
from fakebroker.core.events import ConsumerCancelled, Deliver

from .conftest import bodies, drain


def publish_n(ch: Channel, queue: str, n: int) -> None:
    for i in range(1, n + 1):
        ch.basic_publish("", queue, b"m%d" % i)


def test_fifo_and_get_message_count(ch: Channel) -> None:
    ch.queue_declare("q")
    publish_n(ch, "q", 3)
    got = ch.basic_get("q", no_ack=True)
    assert got is not None
    assert got.message.body == b"m1" and got.message_count == 2 and got.delivery_tag == 1
    assert ch.basic_get("q", no_ack=True).message.body == b"m2"  # type: ignore[union-attr]


def test_get_empty(ch: Channel) -> None:
    ch.queue_declare("q")
    assert ch.basic_get("q") is None


def test_round_robin_between_consumers(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    t1 = ch.basic_consume("q", "a", no_ack=True)
    t2 = ch.basic_consume("q", "b", no_ack=True)
    publish_n(ch, "q", 4)
    tags = [e.consumer_tag for e in drain(conn, Deliver)]  # type: ignore[union-attr]
    assert tags == [t1, t2, t1, t2]


def test_consumer_tag_generated(ch: Channel) -> None:
    ch.queue_declare("q")
    tag = ch.basic_consume("q")
    assert tag.startswith("amq.ctag-") and len(tag) == len("amq.ctag-") + 22


def test_exclusive_consume_refused_when_others_consume(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.basic_consume("q")
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(2).basic_consume("q", exclusive=True)
    assert info.value.code == 403
    ch3 = conn.open_channel(3)
    ch3.queue_declare("q2")
    ch3.basic_consume("q2", exclusive=True)
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(4).basic_consume("q2")
    assert info.value.code == 403


def test_reusing_consumer_tag_closes_connection(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.basic_consume("q", "tag")
    with pytest.raises(AMQPConnectionError) as info:
        ch.basic_consume("q", "tag")
    assert info.value.code == 530
    assert conn.closed


def test_delete_queue_cancels_consumers(broker: Broker, conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    tag = ch.basic_consume("q")
    other = broker.connect().open_channel(1)
    other.queue_delete("q")
    assert drain(conn, ConsumerCancelled) == [ConsumerCancelled(1, tag)]


def test_delivery_tags_per_channel_from_one(conn: Connection) -> None:
    a, b = conn.open_channel(1), conn.open_channel(2)
    a.queue_declare("q")
    publish_n(a, "q", 3)
    assert a.basic_get("q").delivery_tag == 1  # type: ignore[union-attr]
    assert b.basic_get("q").delivery_tag == 1  # type: ignore[union-attr]
    assert a.basic_get("q").delivery_tag == 2  # type: ignore[union-attr]


def test_unknown_and_double_ack_close_channel(conn: Connection) -> None:
    ch = conn.open_channel(1)
    ch.queue_declare("q")
    publish_n(ch, "q", 1)
    got = ch.basic_get("q")
    assert got is not None
    ch.basic_ack(got.delivery_tag)
    with pytest.raises(AMQPChannelError) as info:
        ch.basic_ack(got.delivery_tag)
    assert info.value.reply_text == "PRECONDITION_FAILED - unknown delivery tag 1"
    assert ch.closed
    ch2 = conn.open_channel(2)
    with pytest.raises(AMQPChannelError):
        ch2.basic_reject(99)


def test_requeue_goes_back_to_original_place(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    publish_n(ch, "q", 5)
    tags = [ch.basic_get("q").delivery_tag for _ in range(3)]  # type: ignore[union-attr]
    ch.basic_nack(tags[1], requeue=True)
    ch.basic_reject(tags[0], requeue=True)
    order = []
    while (got := ch.basic_get("q", no_ack=True)) is not None:
        order.append((got.message.body, got.redelivered))
    assert order == [(b"m1", True), (b"m2", True), (b"m4", False), (b"m5", False)]


def test_ack_multiple(ch: Channel) -> None:
    ch.queue_declare("q")
    publish_n(ch, "q", 4)
    for _ in range(4):
        ch.basic_get("q")
    ch.basic_ack(3, multiple=True)
    assert list(ch.unacked) == [4]
    ch.basic_ack(0, multiple=True)
    assert not ch.unacked


def test_nack_multiple_requeue_false_discards(ch: Channel, broker: Broker) -> None:
    ch.queue_declare("q")
    publish_n(ch, "q", 3)
    for _ in range(3):
        ch.basic_get("q")
    ch.basic_nack(2, multiple=True, requeue=False)
    assert broker.get_queue("q").message_count == 0
    assert broker.get_queue("q").unacked == 1


def test_closing_channel_requeues_unacked(conn: Connection) -> None:
    ch = conn.open_channel(1)
    ch.queue_declare("q")
    ch.basic_qos(prefetch_count=10)
    ch.basic_consume("q", "c")
    publish_n(ch, "q", 3)
    drain(conn)
    ch.close()
    ch2 = conn.open_channel(2)
    got = ch2.basic_get("q")
    assert got is not None and got.redelivered and got.message.body == b"m1"
    assert got.message_count == 2


def test_closing_connection_requeues_unacked(broker: Broker, conn: Connection) -> None:
    ch = conn.open_channel(1)
    ch.queue_declare("q")
    publish_n(ch, "q", 2)
    ch.basic_get("q")
    conn.close()
    assert broker.get_queue("q").message_count == 2


def test_recover_requeues(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    publish_n(ch, "q", 2)
    ch.basic_get("q")
    ch.basic_recover(requeue=True)
    got = ch.basic_get("q", no_ack=True)
    assert got is not None and got.redelivered and got.message.body == b"m1"


def test_prefetch_per_consumer(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.basic_qos(prefetch_count=2)
    ch.basic_consume("q", "a")
    publish_n(ch, "q", 5)
    delivered = drain(conn, Deliver)
    assert len(delivered) == 2
    ch.basic_ack(1)
    assert bodies(conn) == [b"m3"]


def test_prefetch_global_limits_channel(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.basic_qos(prefetch_count=3, global_=True)
    ch.basic_consume("q", "a")
    ch.basic_consume("q", "b")
    publish_n(ch, "q", 6)
    assert len(drain(conn, Deliver)) == 3
    ch.basic_ack(2, multiple=True)
    assert len(drain(conn, Deliver)) == 2


def test_prefetch_applies_to_later_consumers_only(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.basic_consume("q", "a")
    ch.basic_qos(prefetch_count=1)
    publish_n(ch, "q", 3)
    assert len(drain(conn, Deliver)) == 3


def test_prefetch_size_not_implemented(ch: Channel) -> None:
    with pytest.raises(AMQPConnectionError) as info:
        ch.basic_qos(prefetch_size=10)
    assert info.value.code == 540


def test_no_ack_consumer_ignores_prefetch(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.basic_qos(prefetch_count=1)
    ch.basic_consume("q", "a", no_ack=True)
    publish_n(ch, "q", 3)
    assert bodies(conn) == [b"m1", b"m2", b"m3"]


def test_flow_active_false_is_not_implemented(conn: Connection, ch: Channel) -> None:
    assert ch.flow(True) is True
    with pytest.raises(AMQPConnectionError) as info:
        ch.flow(False)
    assert info.value.reply_text == "NOT_IMPLEMENTED - active=false"
    assert conn.closed


def test_recover_without_requeue_is_not_implemented(conn: Connection, ch: Channel) -> None:
    with pytest.raises(AMQPConnectionError) as info:
        ch.basic_recover(requeue=False)
    assert info.value.reply_text == "NOT_IMPLEMENTED - requeue=false"


def test_single_active_consumer(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q", arguments={"x-single-active-consumer": True})
    ch.basic_consume("q", "a", no_ack=True)
    ch.basic_consume("q", "b", no_ack=True)
    publish_n(ch, "q", 2)
    assert [e.consumer_tag for e in drain(conn, Deliver)] == ["a", "a"]  # type: ignore[union-attr]
    ch.basic_cancel("a")
    publish_n(ch, "q", 1)
    assert [e.consumer_tag for e in drain(conn, Deliver)] == ["b"]  # type: ignore[union-attr]


def test_priority_queue_orders_by_priority(ch: Channel) -> None:
    ch.queue_declare("q", arguments={"x-max-priority": 10})
    for body, prio in [(b"p0", 0), (b"p5", 5), (b"p10", 10), (b"p20", 20), (b"none", None)]:
        props = {} if prio is None else {"priority": prio}
        ch.basic_publish("", "q", body, props)
    order = []
    while (got := ch.basic_get("q", no_ack=True)) is not None:
        order.append(got.message.body)
    assert order == [b"p10", b"p20", b"p5", b"p0", b"none"]


def test_consumer_timeout_closes_channel_on_the_next_tick(clock, conn: Connection) -> None:  # type: ignore[no-untyped-def]
    """RabbitMQ 3.10.8 with consumer_timeout=1000 closed the channel 60 s after channel.open."""
    from fakebroker.core.events import ChannelClosed

    conn.broker.consumer_timeout = 1.0
    ch = conn.open_channel(1)
    ch.queue_declare("q")
    publish_n(ch, "q", 1)
    ch.basic_consume("q", "a")
    drain(conn)
    clock.advance(59.9)
    assert not ch.closed
    clock.advance(0.1)
    closed = drain(conn, ChannelClosed)
    assert len(closed) == 1 and closed[0].error.code == 406  # type: ignore[union-attr]
    assert closed[0].error.text == (  # type: ignore[union-attr]
        "delivery acknowledgement on channel 1 timed out. Timeout value used: 1000 ms. "
        "This timeout value can be configured, see consumers doc guide to learn more"
    )
    assert ch.closed
    assert conn.broker.get_queue("q").message_count == 1


def test_default_consumer_timeout_is_thirty_minutes(clock, conn: Connection) -> None:  # type: ignore[no-untyped-def]
    from fakebroker.core.events import ChannelClosed

    ch = conn.open_channel(1)
    ch.queue_declare("q")
    publish_n(ch, "q", 1)
    ch.basic_consume("q", "a")
    drain(conn)
    clock.advance(1799.9)
    assert not ch.closed
    clock.advance(60.1)
    assert len(drain(conn, ChannelClosed)) == 1


@pytest.mark.parametrize("sac", [False, True])
def test_closing_channel_requeues_before_other_consumers_get_more(
    broker: Broker, sac: bool
) -> None:
    """RabbitMQ 3.10.8: the closing channel's unacked message is requeued first, so the
    remaining consumer gets u0, u1, u2 in order (found by the conformance suite)."""
    conn_a = broker.connect(name="a")
    conn_b = broker.connect(name="b")
    ca, cb = conn_a.open_channel(1), conn_b.open_channel(1)
    ca.queue_declare("q", arguments={"x-single-active-consumer": True} if sac else None)
    ca.basic_qos(prefetch_count=1)
    ca.basic_consume("q", "A")
    cb.basic_qos(prefetch_count=1 if not sac else 0)
    publish_n(ca, "q", 1)
    cb.basic_consume("q", "B", no_ack=True)
    ca.basic_publish("", "q", b"m2")
    ca.basic_publish("", "q", b"m3")
    drain(conn_b, Deliver)
    ca.close()
    got = [e.message.body for e in drain(conn_b, Deliver)]  # type: ignore[union-attr]
    assert got[0] == b"m1"


def test_consumer_priorities(conn: Connection, ch: Channel) -> None:
    """x-priority: the highest-priority consumer with room first, round-robin within a level."""
    ch.queue_declare("q")
    ch.basic_qos(prefetch_count=1)
    ch.basic_consume("q", "low", arguments={"x-priority": 0})
    ch.basic_consume("q", "high-a", arguments={"x-priority": 10})
    ch.basic_consume("q", "high-b", arguments={"x-priority": 10})
    publish_n(ch, "q", 4)
    got = [(e.consumer_tag, e.message.body) for e in drain(conn, Deliver)]  # type: ignore[union-attr]
    assert got == [("high-a", b"m1"), ("high-b", b"m2"), ("low", b"m3")]
    ch.basic_ack(3)  # low's message: low takes the next one only if the highs are full
    assert [e.consumer_tag for e in drain(conn, Deliver)] == ["low"]  # type: ignore[union-attr]
    ch.basic_cancel("high-a")
    ch.basic_cancel("high-b")
    assert len(conn.broker.list_consumers()) == 1
