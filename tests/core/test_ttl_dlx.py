from __future__ import annotations

from typing import Any

from fakebroker.core import Broker, Channel, Connection, VirtualClock
from fakebroker.core.events import ConfirmAck, ConfirmNack, Deliver

from .conftest import bodies, drain


def dlx_setup(ch: Channel, **args: Any) -> None:
    ch.exchange_declare("dlx", "fanout")
    ch.queue_declare("dead")
    ch.queue_bind("dead", "dlx")
    ch.queue_declare("q", arguments={"x-dead-letter-exchange": "dlx", **args})


def test_queue_ttl_expires_and_dead_letters(
    broker: Broker, clock: VirtualClock, ch: Channel
) -> None:
    dlx_setup(ch, **{"x-message-ttl": 1000})
    ch.basic_publish("", "q", b"x", {"expiration": "60000", "headers": {"h": 1}})
    clock.advance(0.999)
    assert len(broker.messages("q")) == 1
    clock.advance(0.001)
    assert broker.messages("q") == []
    [dead] = broker.messages("dead")
    headers = dead.headers
    death = headers["x-death"][0]
    assert death["reason"] == "expired" and death["queue"] == "q" and death["count"] == 1
    assert death["exchange"] == "" and death["routing-keys"] == ["q"]
    assert death["original-expiration"] == "60000"
    assert "expiration" not in dead.properties
    assert headers["x-first-death-reason"] == "expired"
    assert headers["x-first-death-queue"] == "q"
    assert headers["x-first-death-exchange"] == ""
    assert headers["h"] == 1


def test_per_message_expiration_only_at_head(
    broker: Broker, clock: VirtualClock, ch: Channel
) -> None:
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"long", {"expiration": "10000"})
    ch.basic_publish("", "q", b"short", {"expiration": "1000"})
    clock.advance(2)
    assert [m.body for m in broker.messages("q")] == [b"long", b"short"]
    clock.advance(8)
    # once the head expires, the expired one behind it goes on the next look
    assert broker.get_queue("q").message_count == 0


def test_ttl_zero_delivers_to_waiting_consumer(
    conn: Connection, ch: Channel, broker: Broker
) -> None:
    ch.queue_declare("q", arguments={"x-message-ttl": 0})
    ch.basic_publish("", "q", b"lost")
    assert broker.get_queue("q").message_count == 0
    ch.basic_consume("q", "c", no_ack=True)
    ch.basic_publish("", "q", b"taken")
    assert bodies(conn) == [b"taken"]


def test_a_requeued_message_whose_time_is_up_expires_in_the_same_instant(
    conn: Connection, ch: Channel, broker: Broker
) -> None:
    dlx_setup(ch)
    ch.basic_consume("q", "c")
    ch.basic_publish("", "q", b"zero", {"expiration": "0"})
    ch.basic_publish("", "q", b"later", {"expiration": "60000"})
    tags = [e.delivery_tag for e in drain(conn, Deliver)]  # type: ignore[union-attr]
    assert len(tags) == 2
    ch.basic_nack(tags[-1], multiple=True, requeue=True)  # the clock has not moved
    assert [m.body for m in broker.messages("dead")] == [b"zero"]
    assert bodies(conn) == [b"later"]


def test_an_expiration_behind_a_head_without_one_counts_when_it_reaches_the_head(
    broker: Broker, clock: VirtualClock, ch: Channel
) -> None:
    dlx_setup(ch)
    for body, props in ((b"m1", {}), (b"zero", {"expiration": "0"}), (b"m3", {})):
        ch.basic_publish("", "q", body, props)
    first = ch.basic_get("q", no_ack=True)
    assert first is not None and first.message_count == 1  # "zero" went as m1 left
    ch.basic_publish("", "q", b"short", {"expiration": "100"})
    second = ch.basic_get("q", no_ack=True)
    assert second is not None and second.message.body == b"m3"
    clock.advance(0.1)  # at the head now, and its timer runs with nobody looking
    assert [m.body for m in broker.messages("dead")] == [b"zero", b"short"]
    assert broker.get_queue("q").message_count == 0


def test_a_priority_queue_expires_only_at_its_head(
    broker: Broker, clock: VirtualClock, ch: Channel
) -> None:
    ch.queue_declare("q", arguments={"x-max-priority": 5})
    ch.basic_publish("", "q", b"low-exp", {"priority": 0, "expiration": "100"})
    ch.basic_publish("", "q", b"high", {"priority": 5})
    clock.advance(1)
    assert broker.get_queue("q").message_count == 2  # "high" is the head: nothing expires
    got = ch.basic_get("q", no_ack=True)
    assert got is not None and got.message.body == b"high" and got.message_count == 0


def test_reject_dead_letters_with_routing_key(broker: Broker, ch: Channel) -> None:
    ch.exchange_declare("dlx", "direct")
    ch.queue_declare("dead")
    ch.queue_bind("dead", "dlx", "rk2")
    ch.queue_declare(
        "q", arguments={"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "rk2"}
    )
    ch.basic_publish("", "q", b"x")
    got = ch.basic_get("q")
    assert got is not None
    ch.basic_reject(got.delivery_tag, requeue=False)
    [dead] = broker.messages("dead")
    assert dead.routing_key == "rk2" and dead.exchange == "dlx"
    assert dead.headers["x-death"][0]["reason"] == "rejected"


def test_x_death_count_increments(broker: Broker, ch: Channel) -> None:
    ch.queue_declare(
        "q", arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "q"}
    )
    ch.basic_publish("", "q", b"x")
    for _ in range(3):
        got = ch.basic_get("q")
        assert got is not None
        ch.basic_reject(got.delivery_tag, requeue=False)
    [msg] = broker.messages("q")
    assert len(msg.headers["x-death"]) == 1
    assert msg.headers["x-death"][0]["count"] == 3


def test_expiry_cycle_is_dropped(broker: Broker, clock: VirtualClock, ch: Channel) -> None:
    ch.queue_declare(
        "q",
        arguments={
            "x-message-ttl": 100,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "q",
        },
    )
    ch.basic_publish("", "q", b"x")
    clock.advance(0.1)
    assert broker.messages("q") == []


def test_max_length_drop_head_dead_letters_maxlen(broker: Broker, ch: Channel) -> None:
    dlx_setup(ch, **{"x-max-length": 2})
    for i in range(3):
        ch.basic_publish("", "q", b"%d" % i)
    assert [m.body for m in broker.messages("q")] == [b"1", b"2"]
    [dead] = broker.messages("dead")
    assert dead.body == b"0" and dead.headers["x-death"][0]["reason"] == "maxlen"


def test_max_length_bytes(broker: Broker, ch: Channel) -> None:
    ch.queue_declare("q", arguments={"x-max-length-bytes": 10})
    for body in (b"aaaa", b"bbbb", b"cccc"):
        ch.basic_publish("", "q", body)
    assert [m.body for m in broker.messages("q")] == [b"bbbb", b"cccc"]


def test_reject_publish_nacks_confirm(conn: Connection, broker: Broker, ch: Channel) -> None:
    ch.queue_declare("q", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    ch.confirm_select()
    ch.basic_publish("", "q", b"1")
    ch.basic_publish("", "q", b"2")
    events = drain(conn)
    assert events == [ConfirmAck(1, 1), ConfirmNack(1, 2)]
    assert [m.body for m in broker.messages("q")] == [b"1"]


def test_reject_publish_dlx_dead_letters(broker: Broker, ch: Channel) -> None:
    dlx_setup(ch, **{"x-max-length": 1, "x-overflow": "reject-publish-dlx"})
    ch.basic_publish("", "q", b"1")
    ch.basic_publish("", "q", b"2")
    assert [m.body for m in broker.messages("q")] == [b"1"]
    assert [m.body for m in broker.messages("dead")] == [b"2"]


def test_x_expires_deletes_unused_queue(broker: Broker, clock: VirtualClock, ch: Channel) -> None:
    ch.queue_declare("q", arguments={"x-expires": 1000})
    clock.advance(0.5)
    ch.basic_get("q")  # use restarts the countdown
    clock.advance(0.9)
    assert "q" in broker.vhost().queues
    clock.advance(0.2)
    assert "q" not in broker.vhost().queues


def test_x_expires_waits_for_consumers(broker: Broker, clock: VirtualClock, ch: Channel) -> None:
    ch.queue_declare("q", arguments={"x-expires": 1000})
    tag = ch.basic_consume("q")
    clock.advance(5)
    assert "q" in broker.vhost().queues
    ch.basic_cancel(tag)
    clock.advance(1)
    assert "q" not in broker.vhost().queues


def test_quorum_delivery_limit(broker: Broker, ch: Channel) -> None:
    ch.exchange_declare("dlx", "fanout")
    ch.queue_declare("dead")
    ch.queue_bind("dead", "dlx")
    ch.queue_declare(
        "qq",
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": 1,
            "x-dead-letter-exchange": "dlx",
        },
    )
    ch.basic_publish("", "qq", b"x")
    first = ch.basic_get("qq")
    assert first is not None and first.message.headers["x-delivery-count"] == 0
    ch.basic_nack(first.delivery_tag, requeue=True)
    second = ch.basic_get("qq")
    assert second is not None and second.message.headers["x-delivery-count"] == 1
    ch.basic_nack(second.delivery_tag, requeue=True)
    assert ch.basic_get("qq") is None
    [dead] = broker.messages("dead")
    assert dead.headers["x-death"][0]["reason"] == "delivery_limit"


def test_quorum_requeue_goes_to_the_tail(ch: Channel) -> None:
    """RabbitMQ 3.10.8: [m4, m5, m2, m1] after nack(m2) then reject(m1), all requeued."""
    ch.queue_declare("qq", durable=True, arguments={"x-queue-type": "quorum"})
    for i in range(1, 6):
        ch.basic_publish("", "qq", b"m%d" % i)
    tags = [ch.basic_get("qq").delivery_tag for _ in range(3)]  # type: ignore[union-attr]
    ch.basic_nack(tags[1], requeue=True)
    ch.basic_reject(tags[0], requeue=True)
    order = []
    while (got := ch.basic_get("qq", no_ack=True)) is not None:
        order.append((got.message.body, got.redelivered, got.message.headers["x-delivery-count"]))
    assert order == [(b"m4", False, 0), (b"m5", False, 0), (b"m2", True, 1), (b"m1", True, 1)]
